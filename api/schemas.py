"""What every domain's schemas share: the bounded integers of ids, offsets and page sizes, the strict base of
request bodies, the bases of the views the routes answer with, and the problem-details shape every failure
has."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from api.problems import MEDIA_TYPE

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
    400: "A request body that cannot be parsed (a malformed multipart form)",
    401: "Missing, invalid, revoked or expired bearer token",
    403: "Outside the caller's role or scope",
    404: "A record named in the path or the body does not exist",
    409: "Conflicts with what is stored (the problem names it)",
    413: "The request body is larger than the service accepts (ASSESS_MAX_BODY_BYTES); the connection is closed",
    422: "Invalid request: every problem listed with its field",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses for these statuses, each an RFC 9457 problem (`application/problem+json`)."""
    return {status: {"description": PROBLEM_DESCRIPTIONS[status], "content": {MEDIA_TYPE: {
        "schema": {"$ref": "#/components/schemas/ProblemDetails"}}}} for status in statuses}


def problem_schemas() -> dict[str, Any]:
    """The component schemas `problem_responses` refers to."""
    _, schemas = models_json_schema([(ProblemDetails, "serialization")], ref_template="#/components/schemas/{model}")
    return schemas["$defs"]


Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"},
                                 examples=["2026-03-15T08:30:00.000000+00:00"])]
Day = Annotated[str, Field(json_schema_extra={"format": "date"}, examples=["2026-03-15"])]


class View(BaseModel):
    """A view the API builds: exactly these fields."""

    model_config = ConfigDict(extra="forbid")


class CoreView(BaseModel):
    """A figure set of the scoring core: these fields, and any the core adds."""

    model_config = ConfigDict(extra="allow")


class CatalogVersion(View):
    id: str
    version: str
    hash: str


class Health(View):
    status: Literal["ok"]
    catalog: CatalogVersion
    model: str | None = Field(description="the model version in use; null when scoring by the index alone")
