"""Verified tiers, the labels they give, and appeals."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import Response

from api.deps import Context, CurrentCaller
from api.exports import MEDIA, to_csv
from api.request_checks import CheckedRoute
from api.reviews import appeals, schemas, verification
from api.reviews.schemas import AppealDecision, AppealRequest, VerificationRequest
from api.schemas import Offset, RowId, page_limit, problem_responses

router = APIRouter(tags=["reviews"], responses=problem_responses(401, 413), route_class=CheckedRoute)
LABEL_FILE = {200: {"description": "A page of labels (JSON), or every label as the CSV `assess train` reads",
                    "content": {MEDIA["csv"].split(";")[0]: {"schema": {"type": "string"}}}}}


@router.post("/assessments/{assessment_id}/verification", status_code=201, response_model=schemas.Verification,
             responses=problem_responses(403, 404, 409, 422), summary="Confirm or override an assessment's tier",
             description="Supervisors of the household's town (机查 + 人查): the computed tier confirms it, another "
                         "overrides it; a reason is required. Replaces any check before. A corrected assessment is a "
                         "409 `assessment_corrected`. Audited.")
def verify(assessment_id: RowId, body: VerificationRequest, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return verification.verify_tier(session=session, caller=caller, catalog=context.scorer.catalog,
                                        assessment_id=assessment_id, tier=body.tier, reason=body.reason)


@router.get("/verified-labels", response_model=schemas.LabelPage,
            responses={**LABEL_FILE, **problem_responses(403, 422)},
            summary="Verified tiers as labels for the learning side (analysts)",
            description="Each assessment of the catalog in use with a verified tier in force: its stored answers and "
                        "the tier. `format=csv` gives every label as the table `assess train --input` reads "
                        "(household_id, assessment_id, region, year, one column per indicator, computed_tier, "
                        "verified_tier).")
def labels(context: Context, caller: CurrentCaller, format: Literal["json", "csv"] = "json",
           limit: page_limit(500) = 100, offset: Offset = 0):
    catalog = context.scorer.catalog
    with context.database.session() as session:
        if format == "json":
            return verification.labels_page(session=session, caller=caller, catalog=catalog, limit=limit,
                                            offset=offset)
        table = verification.labels(session=session, caller=caller, catalog=catalog)
    rows = table.astype(object).where(table.notna(), None).to_numpy().tolist()
    return Response(to_csv(list(table.columns), rows), media_type=MEDIA["csv"],
                    headers={"Content-Disposition": 'attachment; filename="verified-labels.csv"'})


@router.post("/assessments/{assessment_id}/appeals", status_code=201, response_model=schemas.AppealDetail,
             responses=problem_responses(403, 404, 409, 422), summary="Appeal an assessment's result",
             description="The household's caseworker (or a supervisor of its town), on the stored answers or corrected "
                         "ones. Re-scored at once under the catalog and configuration in force on the assessment's "
                         "date, not today's. One open appeal per assessment (409 `appeal_pending`); a corrected "
                         "assessment is a 409 `already_corrected`. Audited.")
def lodge(assessment_id: RowId, body: AppealRequest, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return appeals.lodge(session=session, caller=caller, catalog=context.scorer.catalog,
                             assessment_id=assessment_id, reason=body.reason, answers=body.answers)


@router.get("/appeals", response_model=schemas.AppealPage, responses=problem_responses(403, 422),
            summary="Appeals in the caller's scope", description="Open ones first, then newest first.")
def list_appeals(context: Context, caller: CurrentCaller, status: Literal["open", "decided"] | None = None,
                 station_id: RowId | None = None, limit: page_limit(500) = 50, offset: Offset = 0) -> dict:
    with context.database.session() as session:
        return appeals.list_appeals(session=session, caller=caller, status=status, station_id=station_id,
                                    limit=limit, offset=offset)


@router.get("/appeals/{appeal_id}", response_model=schemas.AppealDetail, responses=problem_responses(403, 404, 422),
            summary="One appeal, with its re-scored result")
def get_appeal(appeal_id: RowId, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session() as session:
        return appeals.get_appeal(session=session, caller=caller, appeal_id=appeal_id)


@router.post("/appeals/{appeal_id}/decision", response_model=schemas.AppealDetail,
             responses=problem_responses(403, 404, 409, 422), summary="Decide an appeal",
             description="Supervisors of the household's town, with a reason: `upheld` keeps the result; `changed` "
                         "stores the re-scored result as a correction of the assessment (the original stays). "
                         "`changed` with nothing changed is a 409 `result_unchanged`. Audited.")
def decide(appeal_id: RowId, body: AppealDecision, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return appeals.decide(session=session, caller=caller, catalog=context.scorer.catalog, appeal_id=appeal_id,
                              decision=body.decision, reason=body.reason)
