"""Request bodies and responses of the geography routes."""

from __future__ import annotations

from pydantic import Field

from api.schemas import RowId, Strict, View


class TownCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    region_id: str


class StationCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    town_id: RowId


# Responses


class Region(View):
    id: str
    name_zh: str
    name_en: str
    parent_id: str | None


class Town(View):
    id: int
    name: str
    region_id: str


class Station(View):
    id: int
    name: str
    town_id: RowId
