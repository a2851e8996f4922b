"""Transfers of households between stations."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from api.deps import Context, CurrentCaller
from api.request_checks import CheckedRoute
from api.schemas import Offset, RowId, page_limit, problem_responses
from api.transfers import schemas
from api.transfers import service as transfers
from api.transfers.schemas import TransferDecision, TransferRequest

router = APIRouter(tags=["transfers"], responses=problem_responses(401, 413), route_class=CheckedRoute)


@router.post("/households/{household_id}/transfers", status_code=201, response_model=schemas.Transfer,
             responses=problem_responses(403, 404, 409, 422), summary="Ask another station to take a household on",
             description="The sending side (the serving station's caseworker, a supervisor of its town). `move`: it "
                         "moves, and is registered there too; `residence` (人户分离): it lives there and stays "
                         "registered here, which still reads it. One transfer waits per household (409 "
                         "`transfer_pending`); the household's own station is a 422 `same_station`. Audited.")
def request_transfer(household_id: RowId, body: TransferRequest, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return transfers.request_transfer(session=session, caller=caller, household_id=household_id,
                                          to_station_id=body.to_station_id, kind=body.kind, reason=body.reason)


@router.get("/transfers", response_model=schemas.TransferPage, responses=problem_responses(403, 422),
            summary="Transfers the caller's scope sends or receives",
            description="`direction`: `incoming` (to accept or refuse) or `outgoing`; both when absent. Newest first. "
                        "Caseworkers, supervisors; admins see all.")
def list_transfers(context: Context, caller: CurrentCaller, direction: Literal["incoming", "outgoing"] | None = None,
                   status: Literal["requested", "accepted", "refused", "cancelled"] | None = None,
                   limit: page_limit(500) = 50, offset: Offset = 0) -> dict:
    with context.database.session() as session:
        return transfers.list_transfers(session=session, caller=caller, direction=direction, status=status,
                                        limit=limit, offset=offset)


@router.get("/transfers/{transfer_id}", response_model=schemas.Transfer, responses=problem_responses(403, 404, 422),
            summary="One transfer")
def get_transfer(transfer_id: RowId, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session() as session:
        return transfers.get_transfer(session=session, caller=caller, transfer_id=transfer_id)


@router.post("/transfers/{transfer_id}/decision", response_model=schemas.Transfer,
             responses=problem_responses(403, 404, 409, 422), summary="Accept, refuse or cancel a transfer",
             description="The receiving side accepts (the household's serving station, and for `move` its registered "
                         "one, become the receiving station) or refuses with a reason; the sending side cancels. A "
                         "transfer decided already is a 409 `transfer_decided`. Audited.")
def decide(transfer_id: RowId, body: TransferDecision, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return transfers.decide(session=session, caller=caller, catalog=context.scorer.catalog,
                                transfer_id=transfer_id, decision=body.decision, reason=body.reason)
