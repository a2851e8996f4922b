"""Request bodies of the ranking routes."""

from __future__ import annotations

from datetime import date
from typing import Literal

from api.schemas import Strict


class RankingFilters(Strict):
    """What narrows a ranking; every field is optional (`status` is "active" unless given)."""

    town_id: int | None = None
    station_id: int | None = None
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
