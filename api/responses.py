"""The success responses of every route, as pydantic models: the OpenAPI document describes each of them, and
FastAPI checks each route's answer against its model (the submission route, which sends pre-rendered JSON,
is described but not re-checked).

The views the API builds (households, referrals, users, ...) forbid unknown fields, so a field the service
adds without its model is an error in the tests instead of a silent omission. What the scoring core returns
(results, impact previews) allows fields the core may add later.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.services.access import Role
from assessment.catalog import ScoringConfig

Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"},
                                 examples=["2026-03-15T08:30:00.000000+00:00"])]
Day = Annotated[str, Field(json_schema_extra={"format": "date"}, examples=["2026-03-15"])]


class View(BaseModel):
    """A view the API builds: exactly these fields."""

    model_config = ConfigDict(extra="forbid")


class CoreView(BaseModel):
    """A figure set of the scoring core: these fields, and any the core adds."""

    model_config = ConfigDict(extra="allow")


# Geography, users, tokens, health

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
    town_id: int


class User(View):
    id: int
    name: str
    role: Role
    station_id: int | None
    town_ids: list[int]
    active: bool
    created_at: Timestamp


class Me(View):
    id: int
    name: str
    role: Role
    station_id: int | None
    town_ids: list[int]
    token_expires_at: Timestamp | None = Field(description="null: valid until revoked")


class IssuedToken(View):
    token: str = Field(description="shown only in this response; stored as its SHA-256 alone")
    expires_at: Timestamp | None = Field(description="null: valid until revoked")


class UserCreated(View):
    user: User
    token: str = Field(description="shown only in this response")
    token_expires_at: Timestamp | None


class Revoked(View):
    revoked: int = Field(description="how many tokens were revoked")


class CatalogVersion(View):
    id: str
    version: str
    hash: str


class Health(View):
    status: Literal["ok"]
    catalog: CatalogVersion
    model: str | None = Field(description="the model version in use; null when scoring by the index alone")


# Households

class PersonalData(View):
    """Name, ID number and phone: in full for caseworkers and supervisors in scope, masked for admins."""

    name: str | None
    id_number: str | None
    phone: str | None


class MemberView(View):
    relation: str
    birth_year: int | None = None  # members patched before every field was stored lack it
    sex: Literal["female", "male"] | None = None


class Household(View):
    id: int
    station_id: int
    town_id: int
    status: Literal["active", "exited"]
    members: list[MemberView]
    personal: PersonalData | None = Field(description="null when withheld (analysts)")
    personal_view: Literal["full", "masked", "withheld"]
    created_at: Timestamp
    updated_at: Timestamp


class HouseholdPage(View):
    total: int
    limit: int
    offset: int
    items: list[Household]


class NameSearchResult(View):
    items: list[Household]
    limit: int
    truncated: bool = Field(description="more households matched than `limit`")


class Change(View):
    since: int = Field(description="the assessment it is compared with")
    index: float = Field(description="index points since that assessment")
    tier_from: str
    tier_to: str
    tier_direction: Literal["up", "down", "same"]


class FileEntry(View):
    id: int
    assessed_on: Day
    index: float
    tier: str
    completeness: float
    provisional: bool
    corrects: int | None
    corrected_by: int | None
    config_version: str
    catalog_version: str
    model_version: str | None
    needs_review: bool | None
    created_at: Timestamp
    change: Change | None = Field(description="null for the first current assessment and for corrected ones")


class HouseholdFile(View):
    household: Household
    assessments: list[FileEntry]


class Exited(View):
    household_id: int
    status: Literal["exited"]
    reason: str
    closed_referrals: list[int] = Field(description="the open referrals cancelled with the reason")


# Assessments and scoring

class Reason(CoreView):
    indicator: str
    label_zh: str
    label_en: str
    score: float = Field(description="deprivation in [0, 1]")
    contribution: float = Field(description="index points")


class Recommendation(CoreView):
    service: str
    category: str
    label_zh: str
    label_en: str
    need: float
    reasons: list[Reason]


class Finding(CoreView):
    code: str
    path: str
    indicator: str | None
    severity: Literal["error", "warning"]
    message_zh: str
    message_en: str


class Result(CoreView):
    """Every figure the scoring core gives for one household's answers."""

    catalog_id: str
    catalog_version: str
    catalog_hash: str
    config_version: str
    method: str
    index: float
    index_low: float
    index_high: float
    completeness: float
    provisional: bool
    tier: str
    tier_from_index: str
    raised_by: list[str]
    dimension_scores: dict[str, float | None]
    deprivations: dict[str, float]
    contributions: dict[str, float]
    missing: list[str]
    not_applicable: list[str]
    af_score: float
    af_poor: bool
    top_reasons: list[Reason]
    recommendations: list[Recommendation]
    warnings: list[Finding]


class Opinion(CoreView):
    model_version: str
    probabilities: dict[str, float]
    predicted_tier: str
    index_tier: str
    needs_review: bool
    review_reasons: list[str]


class ModelOpinion(View):
    version: str
    needs_review: bool | None
    opinion: Opinion | None


class Preview(Result):
    """A scoring preview: the result, and the model's opinion when a model is in use."""

    model: ModelOpinion | None


class Assessment(View):
    """A stored assessment, frozen with the versions that scored it."""

    id: int
    household_id: int
    submission_id: str
    assessed_on: Day
    region_id: str
    corrects: int | None
    index: float
    tier: str
    completeness: float
    provisional: bool
    catalog: CatalogVersion
    config_version: str
    model: ModelOpinion | None
    answers: dict[str, Any]
    result: Result
    created_by: int
    created_at: Timestamp


# Rankings

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


# Providers and referrals

class Provider(View):
    id: int
    name: str
    kind: str
    services: list[str]
    capacity: int | None
    town_id: int | None
    contact: str | None
    active: bool
    created_at: Timestamp


class ReferralFeedback(View):
    satisfaction: int
    note: str | None


class Referral(View):
    id: int
    household_id: int
    service_id: str
    provider_id: int | None
    assessment_id: int | None
    status: str
    open: bool
    reason: str | None
    note: str | None
    feedback: ReferralFeedback | None
    allowed: list[str] = Field(description="the statuses it may move to")
    created_by: int | None
    created_at: Timestamp
    changed_at: Timestamp


class ReferralEvent(View):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_status: str | None = Field(alias="from")
    to: str
    reason: str | None
    provider_id: int | None
    user_id: int | None
    at: Timestamp


class ReferralWithHistory(Referral):
    history: list[ReferralEvent]


class ReferralPage(View):
    total: int
    limit: int
    offset: int
    items: list[Referral]


class PipelineRow(View):
    provider_id: int | None
    service_id: str
    open: int
    overdue: int
    completed: int
    declined: int
    cancelled: int
    declined_reasons: dict[str, int]


class Pipeline(View):
    overdue_days: int
    as_of: Timestamp
    items: list[PipelineRow]


# Alerts and re-assessments

class LatestRow(View):
    household_id: int
    station_id: int
    town_id: int
    assessment_id: int
    assessed_on: Day
    index: float
    tier: str
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


# Scoring configurations and re-scoring

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


# The audit log

class AuditEntry(View):
    id: int
    at: Timestamp
    user_id: int | None
    action: str
    household_id: int | None
    assessment_id: int | None
    details: dict[str, Any]
