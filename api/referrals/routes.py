"""Service providers and referrals."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import Context, CurrentCaller
from api.referrals import schemas
from api.referrals import service as referrals
from api.referrals.schemas import Feedback, ProviderCreate, ReferralCreate, Transition
from api.request_checks import CheckedRoute
from api.schemas import Offset, RowId, page_limit, problem_responses

router = APIRouter(tags=["referrals"], responses=problem_responses(401, 413), route_class=CheckedRoute)


@router.get("/providers", response_model=list[schemas.Provider], responses=problem_responses(422),
            summary="Service providers (optionally those offering one service item)")
def list_providers(context: Context, caller: CurrentCaller, service_id: str | None = None) -> list[dict]:
    with context.database.session() as session:
        return referrals.list_providers(session=session, service_id=service_id)


@router.post("/providers", status_code=201, response_model=schemas.Provider,
             responses=problem_responses(403, 404, 409, 422), summary="Add a provider (supervisor, admin)")
def create_provider(body: ProviderCreate, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return referrals.create_provider(session=session, caller=caller, catalog=context.scorer.catalog,
                                         **body.model_dump())


@router.post("/households/{household_id}/referrals", status_code=201,
             response_model=schemas.ReferralWithHistory,
             responses=problem_responses(403, 404, 409, 422), summary="Open a referral",
             description="409 `duplicate_referral` when the same service is already open for the household.")
def create_referral(household_id: RowId, body: ReferralCreate, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return referrals.create_referral(session=session, caller=caller, catalog=context.scorer.catalog,
                                         household_id=household_id, **body.model_dump())


@router.get("/referrals", response_model=schemas.ReferralPage, responses=problem_responses(403, 422),
            summary="Referrals of the households in scope, newest first")
def list_referrals(context: Context, caller: CurrentCaller, household_id: RowId | None = None,
                   status: str | None = None, provider_id: RowId | None = None, service_id: str | None = None,
                   limit: page_limit(500) = 100, offset: Offset = 0) -> dict:
    with context.database.session() as session:
        return referrals.list_referrals(session=session, caller=caller, household_id=household_id, status=status,
                                        provider_id=provider_id, service_id=service_id, limit=limit, offset=offset)


@router.get("/referrals/pipeline", response_model=schemas.Pipeline, responses=problem_responses(403),
            summary="Open, overdue, completed and declined referrals by provider and service")
def pipeline(context: Context, caller: CurrentCaller) -> dict:
    with context.database.session() as session:
        return referrals.pipeline(session=session, caller=caller,
                                  overdue_days=context.settings.referral_overdue_days)


@router.get("/referrals/{referral_id}", response_model=schemas.ReferralWithHistory,
            responses=problem_responses(403, 404, 422), summary="One referral with its history")
def get_referral(referral_id: RowId, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session() as session:
        return referrals.get_referral(session=session, caller=caller, referral_id=referral_id)


@router.post("/referrals/{referral_id}/transitions", response_model=schemas.ReferralWithHistory,
             responses=problem_responses(403, 404, 409, 422), summary="Move a referral to another status",
             description="Only the moves of the transition table; anything else is a 409 naming the allowed ones.")
def transition(referral_id: RowId, body: Transition, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return referrals.transition(session=session, caller=caller, referral_id=referral_id, **body.model_dump())


@router.post("/referrals/{referral_id}/feedback", response_model=schemas.ReferralWithHistory,
             responses=problem_responses(403, 404, 409, 422), summary="The household's feedback on a completed referral")
def feedback(referral_id: RowId, body: Feedback, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return referrals.add_feedback(session=session, caller=caller, referral_id=referral_id, **body.model_dump())
