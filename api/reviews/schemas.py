"""Request bodies and responses of the verification, label and appeal routes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from api.assessments.schemas import Result
from api.schemas import Day, Strict, Timestamp, View


class VerificationRequest(Strict):
    tier: str = Field(examples=["moderate"], description="the tier found by the check: the computed one confirms it")
    reason: str = Field(min_length=1, max_length=500, examples=["Home visit: the daughter pays the rent"])


class AppealRequest(Strict):
    reason: str = Field(min_length=1, max_length=500, examples=["The income counted a pension stopped in January"])
    answers: dict[str, Any] | None = Field(
        None, description="corrected answers, the whole set (indicator id -> answer); absent: the stored answers")


class AppealDecision(Strict):
    decision: Literal["upheld", "changed"] = Field(
        description="`upheld`: the result stands; `changed`: the re-scored result is stored as a correction")
    reason: str = Field(min_length=1, max_length=500)


# Responses


class Verification(View):
    id: int
    assessment_id: int
    household_id: int
    computed_tier: str
    verified_tier: str
    decision: Literal["confirmed", "overridden"]
    reason: str
    current: bool = Field(description="the check in force (a later one replaces it)")
    user_id: int
    at: Timestamp


class LabelCatalog(View):
    id: str
    version: str


class Label(View):
    assessment_id: int
    household_id: int
    region: str
    year: int
    computed_tier: str
    verified_tier: str
    answers: dict[str, Any]


class LabelPage(View):
    catalog: LabelCatalog
    total: int
    limit: int
    offset: int
    items: list[Label]


class Figures(View):
    index: float
    tier: str
    config_version: str
    catalog_version: str


class Rescored(Figures):
    catalog_hash: str


class Appeal(View):
    id: int
    assessment_id: int
    household_id: int
    status: Literal["open", "decided"]
    reason: str
    answers_corrected: bool
    in_force_on: Day = Field(description="the assessment's date: the versions in force then re-scored it")
    original: Figures
    rescored: Rescored
    lodged_by: int
    lodged_at: Timestamp
    decision: Literal["upheld", "changed"] | None
    decision_reason: str | None
    decided_by: int | None
    decided_at: Timestamp | None
    correction_id: int | None = Field(description="the correction stored when the result changed")


class AppealDetail(Appeal):
    answers: dict[str, Any] | None = Field(description="the corrected answers; null: the stored ones")
    result: Result = Field(description="the re-scored result, every figure")


class AppealPage(View):
    total: int
    limit: int
    offset: int
    items: list[Appeal]
