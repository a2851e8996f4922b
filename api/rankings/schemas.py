"""Request bodies of the ranking routes."""

from __future__ import annotations

from datetime import date
from typing import Literal

from api.schemas import Strict


class RankingQuery(Strict):
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
