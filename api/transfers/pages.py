"""Transfer pages for caseworkers and supervisors: asking another station to take a household on, and the
transfers waiting for the caller's station (to accept or refuse) or sent by it (to cancel). The forms post to the
JSON API."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.auth.access import in_scope
from api.deps import Context, PageCaller
from api.geography import service as geography
from api.households import service as households
from api.transfers import service as transfers
from api.web.templating import render

router = APIRouter()


def _places(session) -> tuple[dict, dict]:
    return ({s["id"]: s for s in geography.list_stations(session=session)},
            {t["id"]: t for t in geography.list_towns(session=session)})


@router.get("/households/{household_id}/transfer")
def transfer_form(request: Request, household_id: int, context: Context, caller: PageCaller):
    with context.database.session(write=True) as session:  # showing the household is audited
        household = households.get_household(session=session, caller=caller, keys=context.keys,
                                             household_id=household_id)
        stations, towns = _places(session)
        history = transfers.household_transfers(session, household_id)
    return render(request, "transfer_request.html", caller=caller, household=household, stations=stations,
                  towns=towns, waiting=[t for t in history if t["status"] == "requested"],
                  can_send=in_scope(caller, household["station_id"], household["town_id"]))


@router.get("/transfers")
def transfer_lists(request: Request, context: Context, caller: PageCaller):
    with context.database.session() as session:
        incoming = transfers.list_transfers(session=session, caller=caller, direction="incoming", status="requested",
                                            limit=200)
        outgoing = transfers.list_transfers(session=session, caller=caller, direction="outgoing", status="requested",
                                            limit=200)
        recent = transfers.list_transfers(session=session, caller=caller, limit=50)
        stations, towns = _places(session)
    decided = [t for t in recent["items"] if t["status"] != "requested"]
    return render(request, "transfers.html", caller=caller, incoming=incoming["items"], outgoing=outgoing["items"],
                  decided=decided, stations=stations, towns=towns)
