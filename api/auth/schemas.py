"""Request bodies and responses of the user routes."""

from __future__ import annotations

from pydantic import Field

from api.auth.access import Role
from api.schemas import RowId, Strict, Timestamp, View


class UserCreate(Strict):
    name: str = Field(min_length=1, max_length=200, examples=["li.na"])
    role: Role
    station_id: RowId | None = Field(None, description="a caseworker's station")
    town_ids: list[RowId] = Field(default_factory=list, max_length=1000, description="a supervisor's towns")
    provider_id: RowId | None = Field(None, description="the provider a provider's user acts for")


# Responses


class User(View):
    id: int
    name: str
    role: Role
    station_id: int | None
    town_ids: list[int]
    provider_id: int | None
    active: bool
    created_at: Timestamp


class Me(View):
    id: int
    name: str
    role: Role
    station_id: int | None
    town_ids: list[int]
    provider_id: int | None
    token_expires_at: Timestamp | None = Field(description="null: valid until revoked")


class IssuedToken(View):
    token: str = Field(description="shown only in this response; stored as its SHA-256 alone")
    expires_at: Timestamp | None = Field(description="null: valid until revoked")


class UserCreated(View):
    user: User
    token: str = Field(description="shown only in this response")
    token_expires_at: Timestamp | None


class Revoked(View):
    revoked: int = Field(description="how many tokens were revoked")
