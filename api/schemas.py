"""Request bodies (with OpenAPI examples), the bounded integers every route shares, and the problem-details
shape."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from api.errors import MEDIA_TYPE
from api.services.access import Role

# The integer columns are 32-bit (PostgreSQL's `integer`): every id, offset and count a request carries stays
# within them, so a larger number is a 422 naming its parameter instead of an overflow in the database.
INT32_MAX = 2**31 - 1
RowId = Annotated[int, Field(ge=1, le=INT32_MAX, description="an id (1 to 2^31-1)", examples=[1])]
Offset = Annotated[int, Field(ge=0, le=INT32_MAX, description="rows to skip (0 to 2^31-1)")]


def page_limit(maximum: int) -> Any:
    """The type of a page size: 1 to `maximum`."""
    return Annotated[int, Field(ge=1, le=maximum, description=f"rows per page (1 to {maximum})")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProblemItem(BaseModel):
    path: str = Field(examples=["answers.<indicator id>"])
    code: str = Field(examples=["out_of_range"])
    message_zh: str
    message_en: str


class ProblemDetails(BaseModel):
    """RFC 9457 problem details, with every problem listed in `errors`. Some problems add members: `warnings`
    (invalid answers), `existing_household_id` (a duplicate ID number), `allowed` (a referral move), ..."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[ProblemItem]


PROBLEM_DESCRIPTIONS = {
    401: "Missing, invalid, revoked or expired bearer token",
    403: "Outside the caller's role or scope",
    404: "A record named in the path or the body does not exist",
    409: "Conflicts with what is stored (the problem names it)",
    413: "The request body is larger than the service accepts (ASSESS_MAX_BODY_BYTES); the connection is closed",
    422: "Invalid request: every problem listed with its field",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses for these statuses, each an RFC 9457 problem (`application/problem+json`)."""
    return {status: {"description": PROBLEM_DESCRIPTIONS[status], "content": {MEDIA_TYPE: {
        "schema": {"$ref": "#/components/schemas/ProblemDetails"}}}} for status in statuses}


def problem_schemas() -> dict[str, Any]:
    """The component schemas `problems` refers to."""
    _, schemas = models_json_schema([(ProblemDetails, "serialization")], ref_template="#/components/schemas/{model}")
    return schemas["$defs"]


class AssessmentSubmission(Strict):
    """One questionnaire for one household. `submission_id` is the idempotency key: generate it once on the
    device and resend it unchanged on every retry."""

    submission_id: UUID = Field(examples=["6f1c2a7e-3b8d-4c1e-9a55-0d7b7f6f2c11"])
    answers: dict[str, Any] = Field(description="indicator id -> answer; a missing answer is absent or null")
    assessed_on: date = Field(description="date of the interview; its year picks the regional parameters",
                              examples=["2026-03-15"])
    corrects: RowId | None = Field(None, description="id of an earlier assessment of this household that this one "
                                                   "corrects; the earlier one is kept")


class ScorePreview(Strict):
    answers: dict[str, Any]
    region_id: str = Field(description="a region of the catalog", examples=["weihai_huancui"])
    assessed_on: date | None = Field(None, description="its year picks the regional parameters; latest when absent")


class Personal(Strict):
    name: str = Field(min_length=1, max_length=100, examples=["王秀兰"])
    id_number: str = Field(min_length=1, max_length=32, examples=["110101195003071227"])
    phone: str | None = Field(None, max_length=32, examples=["13800001234"])


class Member(Strict):
    relation: str = Field(max_length=40, examples=["spouse"])
    birth_year: int | None = Field(None, ge=1900, le=2100)
    sex: Literal["female", "male"] | None = None


class Override(Strict):
    reason: str = Field(min_length=5, max_length=500, examples=["Moved from station 3; confirmed by phone"])


class HouseholdCreate(Strict):
    station_id: RowId | None = Field(None, description="defaults to the caseworker's station")
    personal: Personal
    members: list[Member] = Field(default_factory=list, max_length=30)
    override: Override | None = Field(None, description="supervisors only: register despite the same ID number "
                                                        "at another station (audited)")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "station_id": 1,
        "personal": {"name": "王秀兰", "id_number": "110101195003071227", "phone": "13800001234"},
        "members": [{"relation": "head", "birth_year": 1950, "sex": "female"}]}]})


class HouseholdUpdate(Strict):
    """The fields to change; an absent one stays as it is. Name and status cannot be cleared (null is a 422)."""

    name: str = Field(None, min_length=1, max_length=100)
    phone: str | None = Field(None, max_length=32)
    status: Literal["active", "exited"] = None
    members: list[Member] | None = Field(None, max_length=30)


class IdNumberLookup(Strict):
    id_number: str = Field(min_length=1, max_length=32, examples=["110101195003071227"])


class NameSearch(Strict):
    name: str = Field(min_length=1, max_length=100, description="text the household's name contains",
                      examples=["王"])
    limit: page_limit(200) = 50


class UserCreate(Strict):
    name: str = Field(min_length=1, max_length=200, examples=["li.na"])
    role: Role
    station_id: RowId | None = None
    town_ids: list[RowId] = Field(default_factory=list, max_length=1000)


class TownCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    region_id: str


class StationCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    town_id: RowId
