"""Household pages for caseworkers (supervisors use them too, within their towns): the list, the search,
registration, the household's file with its referrals and actions, its print view, and editing it. Reads call
the service functions; scripts post to the JSON API."""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse

from api import id_numbers
from api.alerts.service import next_due
from api.auth.access import Caller, Role, in_scope
from api.deps import Context, PageCaller
from api.discovery.visits import registration_prefill
from api.errors import Invalid
from api.geography import service as geography
from api.households import proposals
from api.households import service as households
from api.households.file import household_file as household_file_of
from api.households.lifecycle import lifecycle
from api.referrals import service as referrals
from api.referrals.pages import referral_context
from api.schemas import RowId
from api.security import listed_id_number
from api.web.charts import line_chart
from api.web.i18n import translate
from api.web.offline import keep_offline
from api.web.session import PAGES, check_csrf, language
from api.web.templating import pick_label, render

router = APIRouter()
PAGE_SIZE = 20
SEARCH_LIMIT = 100
MAX_PAGE = 1_000_000  # keeps the offset a number the database takes
PERSONAL_ROLES = (Role.caseworker, Role.supervisor)
PRINT_LIMIT = 50
# Templates of more sections of the household's file, included in this order after its referrals (each gets
# the page's context: `file`, `household`, `caller`...).
FILE_SECTIONS: list[str] = []


@router.get("/households")
def household_list(request: Request, context: Context, caller: PageCaller, page: int = 1):
    page = max(page, 1)
    with context.database.session(write=True) as session:  # listing personal data is audited
        stations = _station_names(session)
        listed = households.list_households(session=session, caller=caller, keys=context.keys, limit=PAGE_SIZE,
                                            offset=(page - 1) * PAGE_SIZE)
    return keep_offline(_households_page(request, caller, stations, listed["items"], total=listed["total"],
                                         page=page, pages=max(1, math.ceil(listed["total"] / PAGE_SIZE))), caller)


@router.post("/households")
def household_search(request: Request, context: Context, caller: PageCaller, q: Annotated[str, Form()] = "",
                     csrf: Annotated[str, Form()] = ""):
    """A search posted from the form, so that no name or ID number is written into a URL or an access log."""
    check_csrf(request, csrf)
    q = q.strip()
    if not q or caller.role not in PERSONAL_ROLES:
        return RedirectResponse(f"{PAGES}/households", status_code=303)
    truncated = False
    with context.database.session(write=True) as session:  # the households found are audited as read
        stations = _station_names(session)
        if id_numbers.has_shape(id_numbers.normalise(q)):
            items = households.find_by_id_number(session=session, caller=caller, keys=context.keys, id_number=q)
        else:
            found = households.search_by_name(session=session, caller=caller, keys=context.keys, name=q,
                                              limit=SEARCH_LIMIT)
            items, truncated = found["items"], found["truncated"]
    return _households_page(request, caller, stations, items, q=q, truncated=truncated, total=len(items))


def _station_names(session) -> dict:
    """Every station by id: a list shows households registered in the caller's scope but served elsewhere too."""
    return {station["id"]: station for station in geography.list_stations(session=session)}


def _households_page(request: Request, caller: Caller, stations: dict, items: list[dict], *, total: int,
                     q: str = "", truncated: bool = False, page: int = 1, pages: int = 1):
    """A list shows ID numbers masked (`3710**********6433`); the whole number is shown on request, audited."""
    for item in items:
        if item["personal"] is not None and item["personal_view"] == "full":
            item["personal"] = {**item["personal"], "id_number": listed_id_number(item["personal"]["id_number"])}
    return render(request, "households.html", caller=caller, items=items, q=q, truncated=truncated, total=total,
                  page=page, pages=pages, searchable=caller.role in PERSONAL_ROLES, stations=stations,
                  can_register=caller.role in PERSONAL_ROLES, can_print=caller.role in PERSONAL_ROLES and bool(items))


@router.get("/households/new")
def new_household(request: Request, context: Context, caller: PageCaller, candidate: int | None = None):
    """The registration form; `candidate`: a visit list's candidate (api/discovery), whose name, ID number and
    station it starts with, and whose visit it records as registered once the household is stored."""
    prefill = None
    with context.database.session(write=candidate is not None) as session:  # reading a candidate is audited
        stations = geography.stations_in_scope(session=session, caller=caller)
        if candidate is not None and 1 <= candidate < 2**31:
            prefill = registration_prefill(session=session, caller=caller, keys=context.keys, candidate_id=candidate)
    return render(request, "household_new.html", caller=caller, stations=stations,
                  can_register=caller.role in PERSONAL_ROLES, prefill=prefill)


def _file(session, context: Context, caller: Caller, household_id: int) -> dict:
    """What the file page and its print view show: the file (an audited read), the station, the next
    re-assessment date, the referrals with their history, and the latest current assessment."""
    file = household_file_of(session=session, caller=caller, keys=context.keys, catalog=context.scorer.catalog,
                             household_id=household_id)
    household = file["household"]
    stations = _station_names(session)
    listed = referrals.list_referrals(session=session, caller=caller, keys=context.keys, household_id=household_id,
                                      limit=500, with_contact=False)["items"]
    history = referrals.histories(session=session, referral_ids=[r["id"] for r in listed])
    current = [a for a in file["assessments"] if a["corrected_by"] is None]
    return {"file": file, "household": household, "stations": stations,
            "station": stations.get(household["station_id"]),
            "can_write": in_scope(caller, household["station_id"], household["town_id"]),  # not where only registered
            "due_on": next_due(session=session, household_id=household_id),
            "referrals": [{**r, "history": history[r["id"]]} for r in listed],
            "current": current, "last": max(current, key=lambda a: (a["assessed_on"], a["id"]), default=None)}


@router.get("/households/print")
def print_files(request: Request, context: Context, caller: PageCaller, id: Annotated[list[RowId], Query()] = ()):
    """Household files to print, each on a page of its own, without the navigation."""
    if not id or len(id) > PRINT_LIMIT:
        raise Invalid("invalid_print", f"Give 1 to {PRINT_LIMIT} households to print.",
                      f"请选择 1 至 {PRINT_LIMIT} 户打印。", path="id")
    with context.database.session(write=True) as session:  # each file is an audited read
        files = [_file(session, context, caller, household_id) for household_id in dict.fromkeys(id)]
        parts = referral_context(session, context.scorer.catalog)
    return render(request, "household_print.html", caller=caller, files=files, today=date.today().isoformat(),
                  tiers={t.id: t for t in context.scorer.catalog.tiers}, **parts)


@router.get("/households/{household_id}")
def household_file_page(request: Request, household_id: RowId, context: Context, caller: PageCaller):
    with context.database.session(write=True) as session:
        shown = _file(session, context, caller, household_id)
        parts = referral_context(session, context.scorer.catalog)
    lang = language(request)
    catalog = context.scorer.catalog
    chart = line_chart([(date.fromisoformat(a["assessed_on"]), a["index"]) for a in shown["current"]],
                       title=translate("index_over_time", lang),
                       guides=[(t.min_index, pick_label(t.label, lang)) for t in catalog.tiers if t.min_index > 0])
    return render(request, "household_file.html", caller=caller, chart=chart, tiers={t.id: t for t in catalog.tiers},
                  can_assess=caller.role in PERSONAL_ROLES and shown["can_write"], today=date.today(),
                  sections=FILE_SECTIONS, **shown, **parts)


@router.get("/households/{household_id}/edit")
def edit_household(request: Request, household_id: RowId, context: Context, caller: PageCaller):
    """Name, phone and members, sent to PATCH /v1/households/{id} (the ID number is fixed)."""
    with context.database.session(write=True) as session:  # the form shows the personal data: an audited read
        household = households.get_household(session=session, caller=caller, keys=context.keys,
                                             household_id=household_id)
    return render(request, "household_edit.html", caller=caller, household=household,
                  can_edit=caller.role in PERSONAL_ROLES and household["personal_view"] == "full"
                  and in_scope(caller, household["station_id"], household["town_id"]))


@router.get("/households/{household_id}/exit")
def exit_page(request: Request, household_id: RowId, context: Context, caller: PageCaller):
    """Exit with a reason, or, for an exited household, bring it back."""
    with context.database.session(write=True) as session:  # showing the household is audited
        household = households.get_household(session=session, caller=caller, keys=context.keys,
                                             household_id=household_id)
    rules = lifecycle()
    return render(request, "exit.html", caller=caller, household=household, exit_reasons=rules.exit_reasons,
                  reentry_reasons=rules.reentry_reasons,
                  can_write=in_scope(caller, household["station_id"], household["town_id"]))


@router.get("/exit-proposals")
def exit_proposal_list(request: Request, context: Context, caller: PageCaller, page: int = 1):
    page = min(max(page, 1), MAX_PAGE)
    with context.database.session() as session:
        listed = proposals.exit_proposals(session=session, caller=caller, catalog=context.scorer.catalog,
                                          limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        stations = geography.stations_in_scope(session=session, caller=caller)
    return render(request, "exit_proposals.html", caller=caller, listed=listed, stations=stations, page=page,
                  pages=max(1, math.ceil(listed["total"] / PAGE_SIZE)),
                  tiers={t.id: t for t in context.scorer.catalog.tiers}, can_decide=caller.role is Role.supervisor)
