"""Caseworker pages (supervisors use them too, within their towns): households, the questionnaire,
results and household files. Reads call the service functions; scripts post to the JSON API."""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from api import id_numbers
from api.services import assessments, geography, households, referrals
from api.services.access import Caller, Role
from api.web.charts import Bar, bar_chart, line_chart
from api.web.i18n import translate
from api.web.session import PAGES, check_csrf, language, page_caller
from api.web.templating import pick_label, render

router = APIRouter()
PageCaller = Annotated[Caller, Depends(page_caller)]
PAGE_SIZE = 20
SEARCH_LIMIT = 100
PERSONAL_ROLES = (Role.caseworker, Role.supervisor)


def _context(request: Request):
    return request.app.state.context


def _stations(session, caller: Caller) -> dict[int, dict]:
    """Stations the caller works in (every station for roles without a station scope)."""
    stations = {s["id"]: s for s in geography.list_stations(session=session)}
    if caller.role is Role.caseworker:
        return {caller.station_id: stations[caller.station_id]}
    if caller.role is Role.supervisor:
        return {i: s for i, s in stations.items() if s["town_id"] in caller.town_ids}
    return stations


@router.get("/households")
def household_list(request: Request, caller: PageCaller, page: int = 1):
    context = _context(request)
    page = max(page, 1)
    with context.database.session(write=True) as session:  # listing personal data is audited
        stations = _stations(session, caller)
        listed = households.list_households(session=session, caller=caller, keys=context.keys, limit=PAGE_SIZE,
                                            offset=(page - 1) * PAGE_SIZE)
    return _households_page(request, caller, stations, listed["items"], total=listed["total"], page=page,
                            pages=max(1, math.ceil(listed["total"] / PAGE_SIZE)))


@router.post("/households")
def household_search(request: Request, caller: PageCaller, q: Annotated[str, Form()] = "",
                     csrf: Annotated[str, Form()] = ""):
    """A search posted from the form, so that no name or ID number is written into a URL or an access log."""
    check_csrf(request, csrf)
    q = q.strip()
    if not q or caller.role not in PERSONAL_ROLES:
        return RedirectResponse(f"{PAGES}/households", status_code=303)
    context = _context(request)
    truncated = False
    with context.database.session(write=True) as session:  # the households found are audited as read
        stations = _stations(session, caller)
        if id_numbers.has_shape(id_numbers.normalise(q)):
            items = households.find_by_id_number(session=session, caller=caller, keys=context.keys, id_number=q)
        else:
            found = households.search_by_name(session=session, caller=caller, keys=context.keys, name=q,
                                              limit=SEARCH_LIMIT)
            items, truncated = found["items"], found["truncated"]
    return _households_page(request, caller, stations, items, q=q, truncated=truncated, total=len(items))


def _households_page(request: Request, caller: Caller, stations: dict, items: list[dict], *, total: int,
                     q: str = "", truncated: bool = False, page: int = 1, pages: int = 1):
    return render(request, "households.html", caller=caller, items=items, q=q, truncated=truncated, total=total,
                  page=page, pages=pages, searchable=caller.role in PERSONAL_ROLES, stations=stations,
                  can_register=caller.role in PERSONAL_ROLES)


@router.get("/households/new")
def new_household(request: Request, caller: PageCaller):
    with _context(request).database.session() as session:
        stations = _stations(session, caller)
    return render(request, "household_new.html", caller=caller, stations=stations,
                  can_register=caller.role in PERSONAL_ROLES)


def _region_of(session, town_id: int) -> str:
    return next(t["region_id"] for t in geography.list_towns(session=session) if t["id"] == town_id)


@router.get("/households/{household_id}")
def household_file(request: Request, household_id: int, caller: PageCaller):
    context = _context(request)
    with context.database.session(write=True) as session:
        file = assessments.household_file(session=session, caller=caller, keys=context.keys, scorer=context.scorer,
                                          household_id=household_id)
        station = geography.list_stations(session=session, town_id=file["household"]["town_id"])
    lang = language(request)
    catalog = context.scorer.catalog
    current = [a for a in file["assessments"] if a["corrected_by"] is None]
    chart = line_chart([(date.fromisoformat(a["assessed_on"]), a["index"]) for a in current],
                       title=translate("index_over_time", lang),
                       guides=[(t.min_index, pick_label(t.label, lang)) for t in catalog.tiers if t.min_index > 0])
    return render(request, "household_file.html", caller=caller, file=file, household=file["household"],
                  chart=chart, tiers={t.id: t for t in catalog.tiers},
                  station={s["id"]: s for s in station}.get(file["household"]["station_id"]),
                  can_assess=caller.role in PERSONAL_ROLES)


def _questionnaire_data(catalog) -> dict:
    """What the questionnaire script needs: each question's answer type and when it applies."""
    return {"indicators": [{"id": i.id, "type": i.answer.type, "required": i.required,
                            "applies_when": [c.model_dump(exclude_none=True) for c in i.applies_when]}
                           for i in catalog.indicators]}


@router.get("/households/{household_id}/assess")
def questionnaire(request: Request, household_id: int, caller: PageCaller):
    context = _context(request)
    with context.database.session(write=True) as session:
        household = households.get_household(session=session, caller=caller, keys=context.keys,
                                             household_id=household_id)
        region_id = _region_of(session, household["town_id"])
    catalog = context.scorer.catalog
    groups = [(d, [i for i in catalog.indicators if i.dimension == d.id]) for d in catalog.dimensions]
    return render(request, "questionnaire.html", caller=caller, household=household, region_id=region_id,
                  groups=groups, data=_questionnaire_data(catalog), today=date.today().isoformat())


@router.get("/assessments/{assessment_id}")
def assessment_result(request: Request, assessment_id: int, caller: PageCaller):
    context = _context(request)
    can_refer = caller.role in PERSONAL_ROLES
    with context.database.session() as session:
        stored = assessments.get_assessment(session=session, caller=caller, assessment_id=assessment_id)
        providers, open_referrals = {}, {}
        if can_refer:
            for provider in referrals.list_providers(session=session):
                for service_id in provider["services"]:
                    providers.setdefault(service_id, []).append(provider)
            listed = referrals.list_referrals(session=session, caller=caller, household_id=stored["household_id"],
                                              limit=500)
            open_referrals = {r["service_id"]: r for r in listed["items"] if r["open"]}
    lang = language(request)
    catalog = context.scorer.catalog
    result = stored["result"]
    chart = bar_chart([Bar(pick_label(d.label, lang), result["dimension_scores"].get(d.id))
                       for d in catalog.dimensions], title=translate("dimension_scores", lang))
    return render(request, "result.html", caller=caller, stored=stored, result=result, chart=chart,
                  tiers={t.id: t for t in catalog.tiers}, indicators=catalog.indicator_by_id,
                  can_refer=can_refer, providers=providers, referrals=open_referrals)
