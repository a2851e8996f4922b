"""Intake tokens, collected submissions (KoboToolbox, ODK Central) and the intake queue."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Query

from api.deps import Context, CurrentCaller
from api.encoding import FastJSONResponse
from api.intake import schemas, service
from api.request_checks import CheckedRoute
from api.schemas import Offset, RowId, page_limit, problem_responses

router = APIRouter(prefix="/intake", tags=["intake"], responses=problem_responses(401, 413), route_class=CheckedRoute)


def intake_token(authorization: str | None) -> str | None:
    """The token of `Authorization: Bearer <token>`, or the password of basic authentication (KoboToolbox's
    REST service sends either)."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


@router.post("/tokens", status_code=201, response_model=schemas.IntakeTokenCreated,
             responses=problem_responses(403, 404, 422), summary="Create a station's intake token",
             description="By an administrator, or a supervisor of the station's town. The token is shown once and "
                         "stored hashed; its submissions are stored as `user_id`.")
def create_token(body: schemas.IntakeTokenRequest, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return service.create_token(session=session, caller=caller, station_id=body.station_id, label=body.label,
                                    user_id=body.user_id)


@router.get("/tokens", response_model=list[schemas.IntakeToken], responses=problem_responses(403, 422),
            summary="The intake tokens (an administrator's: all; a supervisor's: its towns' stations)")
def list_tokens(context: Context, caller: CurrentCaller, station_id: RowId | None = None) -> list[dict]:
    with context.database.session() as session:
        return service.list_tokens(session=session, caller=caller, station_id=station_id)


@router.delete("/tokens/{token_id}", response_model=schemas.IntakeToken, responses=problem_responses(403, 404, 422),
               summary="Revoke an intake token")
def revoke_token(token_id: RowId, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return service.revoke_token(session=session, caller=caller, token_id=token_id)


@router.post("/submissions", status_code=201, response_model=schemas.IntakeSubmission,
             responses=problem_responses(403, 422),
             summary="Take a collected submission (KoboToolbox REST service, ODK Central export)",
             description="Authenticated with a station's intake token (bearer, or the password of basic "
                         "authentication). Stored as an assessment when it can be (`status: stored`), else kept in "
                         "the station's intake queue with its errors (`status: queued`); once per instance id: a "
                         "retry, or the same instance from another source, gets the record as it is and stores "
                         "nothing.")
async def receive(body: Annotated[dict[str, Any], Body()], context: Context,
                  authorization: Annotated[str | None, Header()] = None) -> FastJSONResponse:
    record, _new = await context.database.write(
        service.receive, token=intake_token(authorization), keys=context.keys, scorer=context.scorer, body=body,
        earliest_assessed_on=context.settings.earliest_assessed_on)
    return FastJSONResponse(record, status_code=201)


@router.get("/queue", response_model=schemas.IntakeQueue, responses=problem_responses(403, 422),
            summary="The intake queue of the caller's stations")
def queue(context: Context, caller: CurrentCaller, station_id: RowId | None = None,
          status: Literal["queued", "stored", "rejected"] = "queued",
          limit: Annotated[page_limit(200), Query()] = 50, offset: Offset = 0) -> dict:
    with context.database.session(write=True) as session:  # the answers shown are audited as read
        return service.list_queue(session=session, caller=caller, keys=context.keys, catalog=context.scorer.catalog,
                                  station_id=station_id, status=status, limit=limit, offset=offset)


@router.post("/submissions/{submission_id}/fix", response_model=schemas.IntakeSubmission,
             responses=problem_responses(403, 404, 409, 422), summary="Fix a queued submission and store it",
             description="The corrections (household, answers, date) apply over what was received; a 422 lists every "
                         "problem left, and the submission stays queued.")
def fix(submission_id: RowId, body: schemas.IntakeFix, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return service.fix(session=session, caller=caller, keys=context.keys, scorer=context.scorer,
                           submission_id=submission_id, household_id=body.household_id, answers=body.answers,
                           assessed_on=body.assessed_on, earliest_assessed_on=context.settings.earliest_assessed_on)


@router.post("/submissions/{submission_id}/reject", response_model=schemas.IntakeSubmission,
             responses=problem_responses(403, 404, 409, 422), summary="Reject a queued submission, with a reason")
def reject(submission_id: RowId, body: schemas.IntakeReject, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return service.reject(session=session, caller=caller, submission_id=submission_id, reason=body.reason)
