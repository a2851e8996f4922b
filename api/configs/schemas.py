"""Request bodies and responses of the configs routes."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.schemas import CoreView, Timestamp, View
from assessment.catalog import ScoringConfig

# Responses


class ScoringConfiguration(View):
    id: int
    name: str
    version: str
    label: str | None
    status: Literal["draft", "published", "retired"]
    document: ScoringConfig
    created_by: int | None
    created_at: Timestamp
    published_at: Timestamp | None
    published_by: int | None


class ConfigRef(CoreView):
    id: str
    version: str
    method: str


class CatalogRef(CoreView):
    id: str
    version: str


class Mover(CoreView):
    household_id: str | None = Field(None, description="analysts only")
    rank_before: int
    rank_after: int
    places_up: int
    index_before: float
    index_after: float
    tier_before: str
    tier_after: str


class StationImpact(CoreView):
    station_id: int
    households: int
    mean_index_before: float
    mean_index_after: float
    changed_tier: int
    tier_up: int
    tier_down: int
    share_top_tiers_before: float
    share_top_tiers_after: float


class Impact(CoreView):
    catalog: CatalogRef
    published: ConfigRef
    draft: ConfigRef
    compared: int
    invalid: int
    changed_tier: int
    tier_up: int
    tier_down: int
    spearman: float | None = Field(description="null when undefined (fewer than two households, constant indices)")
    kendall: float | None
    mean_abs_index_change: float | None
    median_abs_index_change: float | None
    tier_changes: dict[str, dict[str, int]] = Field(description="published tier -> draft tier -> households")
    movers: list[Mover]
    scope_column: str | None
    by_scope: list[StationImpact] | None


class RescoringJob(View):
    id: int
    config_version: str
    status: Literal["queued", "running", "completed", "failed"]
    total: int
    done: int
    written: int
    cursor: int
    progress: float
    error: str | None
    created_by: int | None
    created_at: Timestamp
    started_at: Timestamp | None
    finished_at: Timestamp | None
