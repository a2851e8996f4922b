"""Requests and responses of the intake API."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import Field

from api.schemas import ProblemItem, RowId, Strict, Timestamp, View


class IntakeTokenRequest(Strict):
    station_id: RowId
    label: str = Field(min_length=1, max_length=200, description="what the token is for, e.g. the Kobo project")
    user_id: RowId | None = Field(None, description="the caseworker or supervisor its submissions are stored as "
                                                    "(default: the supervisor creating it; an administrator names one)")


class IntakeToken(View):
    id: int
    station_id: int
    user_id: int
    label: str
    created_at: Timestamp
    revoked_at: Timestamp | None


class IntakeTokenCreated(IntakeToken):
    token: str = Field(description="shown once; give it to KoboToolbox's REST service as a bearer token (or as "
                                   "the password of basic authentication)")


class IntakeSubmission(View):
    id: int
    instance_id: str = Field(description="meta/instanceID (or __id, _uuid) without its `uuid:` prefix")
    station_id: int
    source: Literal["kobo", "odk_central"]
    form_version: str | None
    status: Literal["queued", "stored", "rejected"]
    household_id: int | None
    assessment_id: int | None = Field(description="the stored assessment, once stored")
    errors: list[ProblemItem] = Field(description="why it waits in the queue (the last attempt's problems)")
    reason: str | None = Field(description="why it was rejected")
    received_at: Timestamp
    decided_at: Timestamp | None


class QueuedSubmission(IntakeSubmission):
    answers: dict[str, Any] = Field(description="indicator id -> answer, as read from the submission")
    assessed_on: str = Field(description="the interview date read from it (`today`), else the day it came in")


class IntakeQueue(View):
    items: list[QueuedSubmission]
    limit: int
    offset: int


class IntakeFix(Strict):
    household_id: RowId | None = Field(None, description="the household, when the submission named none or "
                                                         "the wrong one")
    answers: dict[str, Any] | None = Field(None, description="indicator id -> corrected answer (null removes one)")
    assessed_on: date | None = None


class IntakeReject(Strict):
    reason: str = Field(min_length=1, max_length=2000)
