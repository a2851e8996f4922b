"""What every domain's schemas share: the strict base of request bodies, and the problem-details shape every
failure has."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProblemItem(BaseModel):
    path: str = Field(examples=["answers.<indicator id>"])
    code: str = Field(examples=["out_of_range"])
    message_zh: str
    message_en: str


class ProblemDetails(BaseModel):
    """RFC 9457 problem details, with every problem listed in `errors`."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[ProblemItem]


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ProblemDetails, "content": {"application/problem+json": {}}, "description": text}
    for status, text in ((401, "Missing or invalid bearer token"), (403, "Outside the caller's role or scope"),
                         (404, "Not found"), (409, "Conflict"), (422, "Invalid request; every problem listed"))
}
