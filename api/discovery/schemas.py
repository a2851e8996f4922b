"""Request bodies and responses of the discovery routes."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from api.schemas import Day, RowId, Strict, Timestamp, View


class Refused(View):
    file: str
    row: int = Field(description="the row's number in the file (the header is row 1)")
    column: str
    code: str
    message_zh: str
    message_en: str


class Matching(View):
    matched_by_id_number: int
    matched_by_name_to_confirm: int
    candidates_new: int
    candidates_updated: int


class ImportReport(View):
    source: str
    file_name: str
    rows: int
    added: int = Field(description="new records; 0 when every row was loaded before")
    already_known: int
    refused: list[Refused]
    matching: Matching | None = Field(description="what matching did after the import; null when nothing was added")


class SourceColumns(View):
    id_number: str
    name: str
    birth_date: str
    town: str
    recorded_on: str
    detail: str | None


class SourceView(View):
    id: str
    label_zh: str
    label_en: str
    signal: str
    fresh_days: int
    detail_type: Literal["text", "number"] | None
    columns: SourceColumns


class MatchToConfirm(View):
    record_id: int
    source: str
    signal: str
    detail: str | None
    recorded_on: Day
    household_id: int
    member_id: int | None
    station_id: int
    name: str | None = Field(description="the record's name (masked for a masked view)")
    birth_date: str | None = Field(description="the record's birth date (masked for a masked view)")


class MatchDecision(Strict):
    confirmed: bool = Field(description="true: the record is this household's person; false: someone else")


class MatchDecided(View):
    record_id: int
    household_id: int
    confirmed: bool


class CandidateReason(View):
    rule: str
    reason_zh: str
    reason_en: str
    priority: int


class CandidateView(View):
    id: int
    station_id: int
    town_id: int
    priority: int = Field(description="the sum of the priorities of the rules passed (each once)")
    reasons: list[CandidateReason]
    status: Literal["to_visit", "registered", "not_eligible", "not_found"]
    due_on: Day = Field(description="to visit by this date (the rules' visit_days after they were found)")
    overdue: bool
    name: str | None
    id_number: str | None
    birth_date: str | None
    household_id: int | None = Field(description="the household registered for them (status registered)")
    note: str | None
    visited_by: int | None
    visited_at: Timestamp | None


class CandidatePage(View):
    total: int
    limit: int
    offset: int
    items: list[CandidateView]


class Visit(Strict):
    outcome: Literal["registered", "not_eligible", "not_found"]
    household_id: int | None = Field(None, ge=1, le=2**31 - 1,
                                     description="with `registered`: the household registered for the candidate")
    note: str | None = Field(None, max_length=2000)


class RegistrationPrefill(View):
    candidate_id: int
    station_id: int
    name: str | None
    id_number: str | None
    birth_year: int | None


class StationVisits(View):
    station_id: int
    town_id: int
    to_visit: int
    registered: int
    not_eligible: int
    not_found: int
    overdue: int
    as_of: Day


class DiscoveryOrigin(View):
    candidate_id: int
    reasons: list[str] = Field(description="the discovery rules that found the household")
    visited_by: int | None
    visited_at: Timestamp | None
    found_at: Timestamp


class WarningDeclaration(Strict):
    kind: str = Field(max_length=32, description="an event of warning.yaml: cold_wave, heat_wave, typhoon, flood")
    town_ids: list[RowId] = Field(min_length=1, max_length=500)
    starts_on: date
    ends_on: date
    note: str | None = Field(None, max_length=2000)


class WarningEventView(View):
    id: int
    kind: str
    label_zh: str
    label_en: str
    town_ids: list[int]
    starts_on: Day
    ends_on: Day
    note: str | None
    declared_by: int | None
    declared_at: Timestamp


class WarningDeclared(WarningEventView):
    households: int = Field(description="households at risk on the frozen list")


class StationProgress(View):
    station_id: int
    town_id: int
    households: int
    contacted: int
    visited: int
    supplies_delivered: int


class WarningProgress(WarningEventView):
    stations: list[StationProgress]


class WarningReason(View):
    rule: str
    reason_zh: str
    reason_en: str
    risk: int


class ChecklistStep(View):
    done: bool
    at: Timestamp | None
    by: int | None


class HouseholdAtRisk(View):
    household_id: int
    station_id: int
    town_id: int
    risk: int = Field(description="the sum of the risks of the rules passed")
    reasons: list[WarningReason]
    name: str | None
    phone: str | None
    contacted: ChecklistStep
    visited: ChecklistStep
    supplies_delivered: ChecklistStep


class HouseholdsAtRisk(View):
    event_id: int
    total: int
    limit: int | None
    offset: int
    items: list[HouseholdAtRisk]


class Checklist(Strict):
    contacted: bool | None = None
    visited: bool | None = None
    supplies_delivered: bool | None = None


class Assignment(Strict):
    station_id: RowId = Field(description="a station of the candidate's town")
