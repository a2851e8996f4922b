"""Request bodies of the assessment routes."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from pydantic import Field

from api.schemas import Strict


class AssessmentSubmission(Strict):
    """One questionnaire for one household. `submission_id` is the idempotency key: generate it once on the
    device and resend it unchanged on every retry."""

    submission_id: UUID = Field(examples=["6f1c2a7e-3b8d-4c1e-9a55-0d7b7f6f2c11"])
    answers: dict[str, Any] = Field(description="indicator id -> answer; a missing answer is absent or null")
    assessed_on: date = Field(description="date of the interview; its year picks the regional parameters",
                              examples=["2026-03-15"])
    corrects: int | None = Field(None, description="id of an earlier assessment of this household that this one "
                                                   "corrects; the earlier one is kept")


class ScorePreview(Strict):
    answers: dict[str, Any]
    region_id: str = Field(description="a region of the catalog", examples=["weihai_huancui"])
    assessed_on: date | None = Field(None, description="its year picks the regional parameters; latest when absent")
