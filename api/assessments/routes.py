"""Assessment submission, reading, and scoring previews."""

from __future__ import annotations

from fastapi import APIRouter

from api.assessments import reproduction, schemas, service, submission
from api.assessments.schemas import AssessmentSubmission, ScorePreview
from api.deps import Context, CurrentCaller, WritingCaller
from api.encoding import FastJSONResponse
from api.request_checks import CheckedRoute
from api.schemas import RowId, problem_responses

router = APIRouter(tags=["assessments"], responses=problem_responses(401, 413), route_class=CheckedRoute)


# The stored record is sent as orjson renders it: `response_model` documents it without a second rendering.
@router.post("/households/{household_id}/assessments", status_code=201, response_model=schemas.Assessment,
             responses=problem_responses(403, 404, 409, 422), summary="Submit an assessment",
             description="Validates, scores, recommends and stores in one transaction. A retry with the same "
                         "submission_id returns the first response and stores nothing; the same submission_id "
                         "with a different payload is a 409. `based_on` (optional): the household's latest "
                         "assessment the device saw (0: none); a different latest is a 409 `household_changed` "
                         "naming `based_on`, with `latest_assessment_id`.")
async def submit(household_id: RowId, body: AssessmentSubmission, context: Context,
                 caller: WritingCaller) -> FastJSONResponse:
    stored = await context.database.write(
        submission.submit, caller=caller, scorer=context.scorer, household_id=household_id,
        submission_id=str(body.submission_id), answers=body.answers, assessed_on=body.assessed_on,
        earliest_assessed_on=context.settings.earliest_assessed_on, corrects=body.corrects,
        based_on=body.based_on)
    return FastJSONResponse(stored, status_code=201)


@router.get("/assessments/{assessment_id}", response_model=schemas.Assessment,
            responses=problem_responses(403, 404, 422), summary="One stored assessment")
def get_assessment(assessment_id: RowId, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session() as session:
        return service.get_assessment(session=session, caller=caller, assessment_id=assessment_id)


@router.get("/assessments/{assessment_id}/reproduction", response_model=schemas.Reproduction,
            responses=problem_responses(403, 404, 409, 422), summary="Compute a stored result again and compare",
            description="From the stored answers, under the catalog and configuration versions the result recorded "
                        "(every catalog the service used is kept): `reproduced`, and each figure that differs. A "
                        "version that is not kept is a 409 (`catalog_unknown`, `config_unknown`).")
def reproduce(assessment_id: RowId, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session() as session:
        return reproduction.reproduce(session=session, caller=caller, catalog=context.scorer.catalog,
                                      assessment_id=assessment_id)


@router.post("/score", response_model=schemas.Preview, responses=problem_responses(422),
             summary="Score answers without storing them (preview)")
def preview(body: ScorePreview, context: Context, caller: CurrentCaller) -> FastJSONResponse:
    with context.database.session() as session:
        return FastJSONResponse(service.preview(session=session, scorer=context.scorer, answers=body.answers,
                                                region_id=body.region_id, assessed_on=body.assessed_on,
                                                earliest_assessed_on=context.settings.earliest_assessed_on))
