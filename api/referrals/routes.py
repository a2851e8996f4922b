"""Service providers, referrals and their moves, decision reasons, and the providers' directory."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import Context, CurrentCaller
from api.exports import MEDIA
from api.referrals import directory, providers, reasons, schemas
from api.referrals import service as referrals
from api.referrals.schemas import (CloseReturned, DeliveryCreate, DirectoryDocument, Feedback, ProviderCreate,
                                   ProviderUpdate, ReasonCreate, ReasonUpdate, ReferElsewhere, ReferralCreate,
                                   Schedule, Transition)
from api.request_checks import CheckedRoute
from api.schemas import Offset, RowId, page_limit, problem_responses

router = APIRouter(tags=["referrals"], responses=problem_responses(401, 413), route_class=CheckedRoute)
MOVE_PROBLEMS = problem_responses(403, 404, 409, 422)
EXPORTS = {200: {"description": "A page of referrals (JSON), or every filtered referral as a file (`format`)",
                 "content": {MEDIA["csv"].split(";")[0]: {"schema": {"type": "string"}},
                             MEDIA["xlsx"]: {"schema": {"type": "string", "format": "binary"}}}}}


@router.get("/providers", response_model=list[schemas.Provider], responses=problem_responses(422),
            summary="Service providers (optionally those offering one service item, or the active ones)")
def list_providers(context: Context, caller: CurrentCaller, service_id: str | None = None,
                   active: bool | None = None) -> list[dict]:
    with context.database.session() as session:
        return providers.list_providers(session=session, service_id=service_id, active=active)


@router.post("/providers", status_code=201, response_model=schemas.Provider,
             responses=problem_responses(403, 404, 409, 422), summary="Add a provider (supervisor, admin)")
def create_provider(body: ProviderCreate, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return providers.create_provider(session=session, caller=caller, catalog=context.scorer.catalog,
                                         **body.model_dump())


@router.get("/providers/{provider_id}", response_model=schemas.Provider, responses=problem_responses(404, 422),
            summary="One provider")
def get_provider(provider_id: RowId, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session() as session:
        return providers.get_provider(session=session, provider_id=provider_id)


@router.patch("/providers/{provider_id}", response_model=schemas.Provider,
              responses=problem_responses(403, 404, 409, 422),
              summary="Change or deactivate a provider (supervisor: their towns' and the city-wide ones; admin)",
              description="`active: false` deactivates it: it takes no new referral, its open ones go on.")
def update_provider(provider_id: RowId, body: ProviderUpdate, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return providers.update_provider(session=session, caller=caller, catalog=context.scorer.catalog,
                                         provider_id=provider_id, changes=body.model_dump(exclude_unset=True))


@router.get("/directory", response_model=schemas.Directory, response_model_exclude_none=True,
            summary="The providers and the service catalog as an Open Referral HSDS 3 directory",
            description="Organizations, services (with their capacity and service area) and the taxonomies of "
                        "the catalog's items and of the kinds of providers; no personal data.")
def export_directory(context: Context, caller: CurrentCaller) -> dict:
    with context.database.session() as session:
        return directory.export_directory(session=session, catalog=context.scorer.catalog)


@router.post("/directory", response_model=schemas.ImportReport, responses=problem_responses(403, 422),
             summary="Add or update providers from an Open Referral HSDS 3 directory (admin)",
             description="A provider is found again by its directory id (the organization's `id`), so the same "
                         "file twice adds nothing; every entry that cannot be read is listed with its reason.")
def import_directory(body: DirectoryDocument, context: Context, caller: CurrentCaller,
                     default_kind: str | None = Query(None, description="the kind of an organization that names "
                                                                        "none")) -> dict:
    with context.database.session(write=True) as session:
        return directory.import_directory(session=session, caller=caller, catalog=context.scorer.catalog,
                                          document=body.model_dump(), default_kind=default_kind)


@router.get("/referral-reasons", response_model=list[schemas.Reason], responses=problem_responses(422),
            summary="Decision reasons by status (declining, failing, cancelling, pausing)")
def list_reasons(context: Context, caller: CurrentCaller, status: str | None = None,
                 include_retired: bool = False) -> list[dict]:
    with context.database.session() as session:
        return reasons.list_reasons(session=session, status=status, include_retired=include_retired)


@router.post("/referral-reasons", status_code=201, response_model=schemas.Reason,
             responses=problem_responses(403, 409, 422), summary="Add a decision reason (admin)")
def add_reason(body: ReasonCreate, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return reasons.add_reason(session=session, caller=caller, **body.model_dump())


@router.patch("/referral-reasons/{reason_id}", response_model=schemas.Reason,
              responses=problem_responses(403, 404, 409, 422),
              summary="Rename or retire a decision reason (admin); decisions keep the text they were made with")
def update_reason(reason_id: RowId, body: ReasonUpdate, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return reasons.update_reason(session=session, caller=caller, reason_id=reason_id,
                                     changes=body.model_dump(exclude_unset=True))


@router.post("/households/{household_id}/referrals", status_code=201, response_model=schemas.ReferralDetail,
             responses=MOVE_PROBLEMS, summary="Refer a household to a provider (or record a recommended service)",
             description="With a provider the referral is `requested`, without one `draft`. 409 `duplicate_referral` "
                         "when the same service is already open for the household.")
def create_referral(household_id: RowId, body: ReferralCreate, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return referrals.create_referral(session=session, caller=caller, keys=context.keys,
                                         catalog=context.scorer.catalog, household_id=household_id,
                                         **body.model_dump())


@router.get("/referrals", response_model=schemas.ReferralPage, responses={**EXPORTS, **problem_responses(403, 422)},
            summary="Referrals in scope, newest first: a provider's are those sent to it",
            description="`format=csv|xlsx` exports every filtered referral (ids and labels in `lang`, no personal "
                        "data), audited as `export_referrals`.")
def list_referrals(context: Context, caller: CurrentCaller, household_id: RowId | None = None,
                   status: str | None = None, provider_id: RowId | None = None, service_id: str | None = None,
                   open: bool | None = None, overdue: bool | None = None,
                   returned: bool | None = Query(None, description="declined or failed, not yet followed up"),
                   limit: page_limit(500) = 100, offset: Offset = 0,
                   format: Literal["json", "csv", "xlsx"] = "json", lang: Literal["zh", "en"] = "zh"):
    with context.database.session(write=True) as session:  # writes the audit log
        if format == "json":
            return referrals.list_referrals(session=session, caller=caller, keys=context.keys,
                                            household_id=household_id, status=status, provider_id=provider_id,
                                            service_id=service_id, open=open, overdue=overdue, returned=returned,
                                            limit=limit, offset=offset)
        content = referrals.export_referrals(session=session, caller=caller, catalog=context.scorer.catalog,
                                             fmt=format, lang=lang, household_id=household_id, status=status,
                                             provider_id=provider_id, service_id=service_id, open=open,
                                             overdue=overdue, returned=returned)
    return Response(content, media_type=MEDIA[format],
                    headers={"Content-Disposition": f'attachment; filename="referrals.{format}"'})


@router.get("/referrals/pipeline", response_model=schemas.Pipeline, responses=problem_responses(403),
            summary="Referrals by provider and service: by status, open, overdue, and the reasons of closed ones")
def pipeline(context: Context, caller: CurrentCaller) -> dict:
    with context.database.session() as session:
        return referrals.pipeline(session=session, caller=caller)


@router.get("/referrals/{referral_id}", response_model=schemas.ReferralDetail,
            responses=problem_responses(403, 404, 422), summary="One referral with its history and deliveries")
def get_referral(referral_id: RowId, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:  # writes the audit log
        return referrals.get_referral(session=session, caller=caller, keys=context.keys, referral_id=referral_id)


@router.post("/referrals/{referral_id}/transitions", response_model=schemas.ReferralDetail, responses=MOVE_PROBLEMS,
             summary="Move a referral to another status",
             description="Only the moves of the table, each by its side (the station or the provider); another "
                         "move is a 409 naming the allowed ones, the other side's a 403 `not_your_move`, a move "
                         "on an older `version` a 409 `stale_version`.")
def transition(referral_id: RowId, body: Transition, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return referrals.move_referral(session=session, caller=caller, keys=context.keys, referral_id=referral_id,
                                       **body.model_dump())


@router.post("/referrals/{referral_id}/schedule", response_model=schemas.ReferralDetail, responses=MOVE_PROBLEMS,
             summary="The provider's appointment date")
def schedule(referral_id: RowId, body: Schedule, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return referrals.schedule(session=session, caller=caller, keys=context.keys, referral_id=referral_id,
                                  **body.model_dump())


@router.post("/referrals/{referral_id}/deliveries", status_code=201, response_model=schemas.ReferralDetail,
             responses=MOVE_PROBLEMS, summary="Record a delivery: the date, what was delivered, the units (provider)")
def record_delivery(referral_id: RowId, body: DeliveryCreate, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return referrals.record_delivery(session=session, caller=caller, keys=context.keys,
                                         referral_id=referral_id, **body.model_dump())


@router.post("/referrals/{referral_id}/feedback", response_model=schemas.ReferralDetail, responses=MOVE_PROBLEMS,
             summary="The household's feedback on a completed referral: satisfaction and outcome (station)")
def feedback(referral_id: RowId, body: Feedback, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return referrals.add_feedback(session=session, caller=caller, keys=context.keys, referral_id=referral_id,
                                      **body.model_dump())


@router.post("/referrals/{referral_id}/refer-elsewhere", status_code=201, response_model=schemas.ReferralDetail,
             responses=MOVE_PROBLEMS, summary="Refer a declined or failed referral to another provider (station)",
             description="Answers with the new referral, which follows the returned one.")
def refer_elsewhere(referral_id: RowId, body: ReferElsewhere, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return referrals.refer_elsewhere(session=session, caller=caller, keys=context.keys,
                                         catalog=context.scorer.catalog, referral_id=referral_id, **body.model_dump())


@router.post("/referrals/{referral_id}/close-returned", response_model=schemas.ReferralDetail,
             responses=MOVE_PROBLEMS, summary="Close a declined or failed referral without referring elsewhere")
def close_returned(referral_id: RowId, body: CloseReturned, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return referrals.close_returned(session=session, caller=caller, keys=context.keys, referral_id=referral_id,
                                        **body.model_dump())
