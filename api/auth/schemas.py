"""Request bodies of the user routes."""

from __future__ import annotations

from pydantic import Field

from api.auth.access import Role
from api.schemas import Strict


class UserCreate(Strict):
    name: str = Field(min_length=1, max_length=200, examples=["li.na"])
    role: Role
    station_id: int | None = None
    town_ids: list[int] = Field(default_factory=list)
