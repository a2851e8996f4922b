"""Request bodies and responses of the assessment routes."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from api.schemas import INT32_MAX, CatalogVersion, CoreView, Day, RowId, Strict, Timestamp, View


class AssessmentSubmission(Strict):
    """One questionnaire for one household. `submission_id` is the idempotency key: generate it once on the
    device and resend it unchanged on every retry."""

    submission_id: UUID = Field(examples=["6f1c2a7e-3b8d-4c1e-9a55-0d7b7f6f2c11"])
    answers: dict[str, Any] = Field(description="indicator id -> answer; a missing answer is absent or null")
    assessed_on: date = Field(description="date of the interview; its year picks the regional parameters",
                              examples=["2026-03-15"])
    corrects: RowId | None = Field(None, description="id of an earlier assessment of this household that this one "
                                                     "corrects; the earlier one is kept")
    based_on: int | None = Field(None, ge=0, le=INT32_MAX,
                                 description="the id of the household's latest current assessment the device saw "
                                             "when it opened the questionnaire (0: it saw none); a different latest "
                                             "is a 409 `household_changed`. Absent: not checked", examples=[0])


class ScorePreview(Strict):
    answers: dict[str, Any]
    region_id: str = Field(description="a region of the catalog", examples=["weihai_huancui"])
    assessed_on: date | None = Field(None, description="its year picks the regional parameters; latest when absent")


# Responses


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


class Difference(View):
    path: str = Field(description="the indexed column (`index`, `tier`, ...) or the result's figure "
                                  "(`result.<key>...`)")
    stored: Any
    computed: Any


class Headline(View):
    index: float
    tier: str
    completeness: float
    provisional: bool


class Reproduction(View):
    """A stored assessment computed again from its stored answers under its own catalog and configuration."""

    assessment_id: int
    catalog: CatalogVersion
    config_version: str
    reproduced: bool = Field(description="true when the computed result equals the stored one (figures to 1e-9)")
    differences: list[Difference]
    stored: Headline
    computed: Headline
