"""Request bodies of the household routes."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from api.schemas import Strict


class Personal(Strict):
    name: str = Field(min_length=1, max_length=100, examples=["王秀兰"])
    id_number: str = Field(min_length=1, max_length=32, examples=["110101195003071227"])
    phone: str | None = Field(None, max_length=32, examples=["13800001234"])


class Member(Strict):
    relation: str = Field(max_length=40, examples=["spouse"])
    birth_year: int | None = Field(None, ge=1900, le=2100)
    sex: Literal["female", "male"] | None = None


class Override(Strict):
    reason: str = Field(min_length=5, max_length=500, examples=["Moved from station 3; confirmed by phone"])


class HouseholdCreate(Strict):
    station_id: int | None = Field(None, description="defaults to the caseworker's station")
    personal: Personal
    members: list[Member] = Field(default_factory=list, max_length=30)
    override: Override | None = Field(None, description="supervisors only: register despite the same ID number "
                                                        "at another station (audited)")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "station_id": 1,
        "personal": {"name": "王秀兰", "id_number": "110101195003071227", "phone": "13800001234"},
        "members": [{"relation": "head", "birth_year": 1950, "sex": "female"}]}]})


class HouseholdUpdate(Strict):
    name: str | None = Field(None, min_length=1, max_length=100)
    phone: str | None = Field(None, max_length=32)
    status: Literal["active", "exited"] | None = None
    members: list[Member] | None = Field(None, max_length=30)


class IdNumberLookup(Strict):
    id_number: str = Field(min_length=1, max_length=32, examples=["110101195003071227"])


class NameSearch(Strict):
    name: str = Field(min_length=1, max_length=100, description="text the household's name contains",
                      examples=["王"])
    limit: int = Field(50, ge=1, le=200)


class Exit(Strict):
    reason: str = Field(examples=["moved"], description="no_longer_in_hardship, moved or deceased")
    note: str | None = Field(None, max_length=500)
