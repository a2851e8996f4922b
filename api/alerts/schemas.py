"""Request bodies and responses of the alerts routes."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.schemas import Day, View

# Responses


class LatestRow(View):
    household_id: int
    station_id: int
    town_id: int
    assessment_id: int
    assessed_on: Day
    index: float
    tier: str
    verified_tier: str | None = Field(description="the tier a supervisor verified for the assessment, if any")
    completeness: float
    provisional: bool
    critical: bool
    previous_assessment_id: int | None
    previous_index: float | None
    previous_tier: str | None
    due_on: Day


class Alert(LatestRow):
    reasons: list[Literal["index_rose", "tier_worsened", "critical_indicator", "model_disagrees"]]
    model_version: str | None


class AlertPage(View):
    index_rise: float
    total: int
    limit: int
    offset: int
    items: list[Alert]


class DuePage(View):
    due_before: Day
    total: int
    limit: int
    offset: int
    items: list[LatestRow]


class StationOverdue(View):
    station_id: int
    town_id: int
    households: int
    overdue: int
    as_of: Day


class NewInformationReason(View):
    rule: str = Field(description="the discovery rule the department record passed")
    reason_zh: str
    reason_en: str
    indicator: str | None = Field(description="the catalog's indicator the signal touches (shown only)")
    source: str
    signal: str
    detail: str | None
    recorded_on: Day
    record_id: int


class NewInformation(View):
    household_id: int
    station_id: int
    town_id: int
    alert: Literal["reassess_new_information"]
    assessed_on: Day | None = Field(description="the latest assessment's date; null when never assessed")
    reasons: list[NewInformationReason]


class NewInformationPage(View):
    as_of: Day
    total: int
    limit: int
    offset: int
    items: list[NewInformation]
