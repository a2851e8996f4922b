"""Request bodies and responses of the ranking routes."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import ConfigDict, Field

from api.schemas import Day, RowId, Strict, Timestamp, View


class RankingFilters(Strict):
    """What narrows a ranking; every field is optional (`status` is "active" unless given)."""

    town_id: RowId | None = None
    station_id: RowId | None = None
    region_id: str | None = None
    tier: str | None = None
    dimension: str | None = None
    min_score: float | None = None
    service: str | None = None
    status: Literal["active", "exited"] | None = "active"
    assessed_from: date | None = None
    assessed_to: date | None = None

    def as_dict(self) -> dict:
        """The filters given, as JSON values (what a snapshot records)."""
        return self.model_dump(mode="json", exclude_none=True)


# Responses


class RankingItem(View):
    """One household's place in the ranking. `name` and `phone` are there for every role but analysts;
    beside the fields listed, `dim_<dimension id>` gives each dimension's score in [0, 1] (null when none
    of its questions was answered)."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, float | None]

    rank: int
    household_id: int
    name: str | None = None
    phone: str | None = None
    station_id: int
    town_id: int
    status: Literal["active", "exited"]
    assessed_on: Day
    index: float
    tier: str
    verified_tier: str | None = Field(description="the tier a supervisor verified for the assessment, if any")
    completeness: float
    provisional: bool
    critical: bool
    recommended_services: list[str]
    config_version: str
    due_on: Day
    assessment_id: int


class RankingPage(View):
    total: int | None = Field(description="the whole filtered ranking; null unless `count`")
    limit: int
    offset: int
    next_offset: int | None = Field(description="null on the last page")
    filters: dict[str, Any]
    items: list[RankingItem]


class Snapshot(View):
    id: int
    kind: Literal["export", "published"]
    format: str
    user_id: int | None
    at: Timestamp
    filters: dict[str, Any]
    config_versions: list[str]
    catalog_version: str
    total: int


class SnapshotPlace(View):
    snapshot: Snapshot
    household_id: int
    rank: int
    of: int
    assessment_id: int
    index: float
    tier: str
    assessment: str = Field(description="the assessment's URL")
