"""Request bodies of the geography routes."""

from __future__ import annotations

from pydantic import Field

from api.schemas import Strict


class TownCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    region_id: str


class StationCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    town_id: int
