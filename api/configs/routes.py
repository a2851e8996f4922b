"""Scoring configurations (analysts): drafts, impact previews, publishing, re-scoring jobs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Query

from api.deps import Context, CurrentCaller
from api.request_checks import CheckedRoute
from api.configs import rescoring, schemas
from api.configs import service as configs
from api.schemas import RowId, problem_responses

router = APIRouter(tags=["configurations"], responses=problem_responses(401, 413), route_class=CheckedRoute)


@router.get("/configs", response_model=list[schemas.ScoringConfiguration], responses=problem_responses(403),
            summary="Scoring configurations: drafts, the published one, retired ones")
def list_configs(context: Context, caller: CurrentCaller) -> list[dict]:
    with context.database.session() as session:
        return configs.list_configs(session=session, caller=caller)


@router.post("/configs", status_code=201, response_model=schemas.ScoringConfiguration,
             responses=problem_responses(403, 409, 422), summary="Create a draft (analyst)",
             description="The body is the draft: any of id, version, label, method, indicator_weights, "
                         "dimension_weights, tier_cutoffs, af_deprivation_cutoff, af_poverty_cutoff, "
                         "completeness_threshold, merged over the published configuration. A bad field is a 422 "
                         "naming it (e.g. `indicator_weights.<id>`).")
def create_draft(context: Context, caller: CurrentCaller,
                 document: dict[str, Any] = Body(examples=[{"version": "2026.2", "tier_cutoffs": {"severe": 45}}])
                 ) -> dict:
    with context.database.session(write=True) as session:
        return configs.create_draft(session=session, caller=caller, catalog=context.scorer.catalog,
                                    document=document)


@router.get("/configs/{config_id}", response_model=schemas.ScoringConfiguration, responses=problem_responses(403, 404, 422),
            summary="One configuration")
def get_config(config_id: RowId, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session() as session:
        return configs.get_config(session=session, caller=caller, config_id=config_id)


@router.get("/configs/{config_id}/impact", response_model=schemas.Impact, response_model_exclude_unset=True,
            responses=problem_responses(403, 404, 422),
            summary="Impact preview of a configuration against the published one",
            description="Over the stored latest assessments: tier from-to table, largest rank movers (household "
                        "ids for analysts only), Spearman and Kendall correlation, change per station.")
def impact(config_id: RowId, context: Context, caller: CurrentCaller, movers: int = Query(20, ge=0, le=1000)) -> dict:
    with context.database.session() as session:
        return configs.impact(session=session, caller=caller, catalog=context.scorer.catalog, config_id=config_id,
                              movers=movers)


@router.post("/configs/{config_id}/publish", response_model=schemas.ScoringConfiguration,
             responses=problem_responses(403, 404, 409, 422), summary="Publish a draft: new assessments use it from now on")
def publish(config_id: RowId, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return configs.publish(session=session, caller=caller, catalog=context.scorer.catalog, config_id=config_id)


@router.post("/rescoring-jobs", status_code=202, response_model=schemas.RescoringJob, responses=problem_responses(403),
             summary="Re-score every stored assessment under the published configuration (background job)")
def start_job(context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        job = rescoring.create_job(session=session, caller=caller, catalog=context.scorer.catalog)
    rescoring.start_in_background(context.database, context.scorer.catalog, job["id"],
                                  batch_size=context.settings.rescoring_batch_size)
    return job


@router.get("/rescoring-jobs", response_model=list[schemas.RescoringJob], responses=problem_responses(403),
            summary="Re-scoring jobs, newest first")
def list_jobs(context: Context, caller: CurrentCaller) -> list[dict]:
    with context.database.session() as session:
        return rescoring.list_jobs(session=session, caller=caller)


@router.get("/rescoring-jobs/{job_id}", response_model=schemas.RescoringJob, responses=problem_responses(403, 404, 422),
            summary="A job's status and progress")
def get_job(job_id: RowId, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session() as session:
        return rescoring.get_job(session=session, caller=caller, job_id=job_id)


@router.post("/rescoring-jobs/{job_id}/resume", status_code=202, response_model=schemas.RescoringJob,
             responses=problem_responses(403, 404, 409, 422),
             summary="Resume an unfinished job from its cursor (after a crash or failure)")
def resume_job(job_id: RowId, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session() as session:
        job = rescoring.check_resumable(session=session, caller=caller, job_id=job_id)
    rescoring.start_in_background(context.database, context.scorer.catalog, job_id,
                                  batch_size=context.settings.rescoring_batch_size)
    return job
