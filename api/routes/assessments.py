"""Assessment submission, reading, and scoring previews."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import BearerToken, Context, CurrentCaller
from api.intake import CheckedRoute
from api.encoding import FastJSONResponse
from api.schemas import PROBLEM_RESPONSES, RowId, AssessmentSubmission, ScorePreview
from api.services import assessments

router = APIRouter(tags=["assessments"], responses=PROBLEM_RESPONSES, route_class=CheckedRoute)


@router.post("/households/{household_id}/assessments", status_code=201, summary="Submit an assessment",
             description="Validates, scores, recommends and stores in one transaction. A retry with the same "
                         "submission_id returns the first response and stores nothing; the same submission_id "
                         "with a different payload is a 409.")
async def submit(household_id: RowId, body: AssessmentSubmission, context: Context,
                 token: BearerToken) -> FastJSONResponse:
    stored = await assessments.submit_from_loop(
        database=context.database, scorer=context.scorer, token=token, household_id=household_id,
        submission_id=str(body.submission_id), answers=body.answers, assessed_on=body.assessed_on,
        corrects=body.corrects)
    return FastJSONResponse(stored, status_code=201)


@router.get("/assessments/{assessment_id}", summary="One stored assessment")
def get_assessment(assessment_id: RowId, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session() as session:
        return assessments.get_assessment(session=session, caller=caller, assessment_id=assessment_id)


@router.post("/score", summary="Score answers without storing them (preview)")
def preview(body: ScorePreview, context: Context, caller: CurrentCaller) -> FastJSONResponse:
    with context.database.session() as session:
        return FastJSONResponse(assessments.preview(session=session, scorer=context.scorer, answers=body.answers,
                                                region_id=body.region_id, assessed_on=body.assessed_on))
