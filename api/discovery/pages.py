"""Discovery pages: the station's visit list (caseworkers, supervisors) with its outcomes and export, the
supervisor's upload of a department's file with its report, and early-warning events with their printable lists."""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from api.auth.access import Role, require_role
from api.deps import Context, PageCaller
from api.discovery import service as discovery
from api.discovery import early_warning, visits
from api.discovery.definitions import discovery_of, warning_rules_of
from api.errors import Invalid
from api.geography import service as geography
from api.web.session import PAGES, check_csrf
from api.web.templating import render

router = APIRouter()
PAGE_SIZE = 25
MAX_PAGE = 1_000_000
VISIT_ROLES = (Role.caseworker, Role.supervisor)


@router.get("/discovery/visits")
def visit_list(request: Request, context: Context, caller: PageCaller, page: int = 1, status: str = "to_visit",
               overdue: bool = False):
    """The visit list in scope, highest priority first; a supervisor also sees the count per station."""
    require_role(caller, *VISIT_ROLES)
    page = min(max(page, 1), MAX_PAGE)
    status = status if status in visits.STATUSES else "to_visit"
    with context.database.session(write=True) as session:  # the names shown are audited
        listed = visits.list_candidates(session=session, caller=caller, keys=context.keys,
                                        discovery=discovery_of(context), today=date.today(), status=status,
                                        overdue=overdue, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        by_station = visits.visits_by_station(session=session, caller=caller, today=date.today())
        stations = {s["id"]: s for s in geography.list_stations(session=session)}
    return render(request, "visits.html", caller=caller, listed=listed, by_station=by_station, stations=stations,
                  status=status, overdue=overdue, page=page, pages=max(1, math.ceil(listed["total"] / PAGE_SIZE)),
                  statuses=visits.STATUSES)


@router.get("/discovery/visits.csv")
def visit_export(context: Context, caller: PageCaller, status: str | None = None, overdue: bool = False):
    require_role(caller, *VISIT_ROLES)
    status = status if status in visits.STATUSES else None
    with context.database.session(write=True) as session:
        content = visits.export_candidates(session=session, caller=caller, keys=context.keys,
                                           discovery=discovery_of(context), today=date.today(), status=status,
                                           overdue=overdue)
    return Response(content, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="visit-list.csv"'})


@router.post("/discovery/candidates/{candidate_id}/visit")
def visit_outcome(request: Request, candidate_id: int, context: Context, caller: PageCaller,
                  outcome: Annotated[str, Form()] = "", note: Annotated[str, Form()] = "",
                  csrf: Annotated[str, Form()] = ""):
    """Not eligible or not found, from the list (registered goes through the registration form)."""
    check_csrf(request, csrf)
    if outcome not in ("not_eligible", "not_found"):
        raise Invalid("invalid_outcome", "Choose not eligible or not found.", "请选择不符合条件或未找到。", path="outcome")
    with context.database.session(write=True) as session:
        visits.record_visit(session=session, caller=caller, keys=context.keys, discovery=discovery_of(context),
                            candidate_id=candidate_id, outcome=outcome, household_id=None, note=note,
                            today=date.today())
    return RedirectResponse(f"{PAGES}/discovery/visits", status_code=303)


@router.get("/discovery/import")
def import_form(request: Request, context: Context, caller: PageCaller):
    require_role(caller, Role.supervisor, Role.admin)
    return render(request, "discovery_import.html", caller=caller,
                  sources=discovery.source_views(discovery_of(context)), report=None, problem=None)


@router.post("/discovery/import")
def import_upload(request: Request, context: Context, caller: PageCaller, source: Annotated[str, Form()] = "",
                  csrf: Annotated[str, Form()] = "", skip_refused: Annotated[bool, Form()] = False,
                  file: Annotated[UploadFile | None, File()] = None):
    """The upload: the report on the same page (what was added and matched, or every refused row)."""
    check_csrf(request, csrf)
    require_role(caller, Role.supervisor, Role.admin)
    sources = discovery.source_views(discovery_of(context))
    if file is None or not file.filename:
        raise Invalid("file_required", "Choose a file.", "请选择文件。", path="file")
    report, problem = None, None
    try:
        with context.database.session(write=True) as session:
            report = discovery.import_records(session=session, keys=context.keys, discovery=discovery_of(context),
                                              caller=caller, source_id=source, content=file.file.read(),
                                              file_name=file.filename, today=date.today(), skip_refused=skip_refused)
    except Invalid as exc:
        problem = {"message_zh": exc.problems[0].message_zh, "message_en": exc.problems[0].message_en,
                   "refused": exc.extra.get("refused", []), "missing": exc.extra.get("missing_columns", [])}
    return render(request, "discovery_import.html", caller=caller, sources=sources, report=report, problem=problem,
                  status_code=200 if problem is None else 422)


@router.get("/warnings")
def warning_events(request: Request, context: Context, caller: PageCaller):
    """The events in scope, and for supervisors the form to declare one."""
    require_role(caller, *VISIT_ROLES, Role.admin)
    with context.database.session() as session:
        events = early_warning.list_events(session=session, caller=caller, rules=warning_rules_of(context))
        towns = geography.towns_in_scope(session=session, caller=caller)
    return render(request, "warnings.html", caller=caller, events=events, towns=towns,
                  kinds=warning_rules_of(context).events, today=date.today().isoformat())


@router.post("/warnings")
def warning_declare(request: Request, context: Context, caller: PageCaller, kind: Annotated[str, Form()] = "",
                    town_ids: Annotated[list[int], Form()] = (), starts_on: Annotated[date | None, Form()] = None,
                    ends_on: Annotated[date | None, Form()] = None, note: Annotated[str, Form()] = "",
                    csrf: Annotated[str, Form()] = ""):
    check_csrf(request, csrf)
    if starts_on is None or ends_on is None:
        raise Invalid("dates_required", "Give the first and last day.", "请填写开始和结束日期。", path="starts_on")
    with context.database.session(write=True) as session:
        event = early_warning.declare(session=session, caller=caller, rules=warning_rules_of(context),
                                      catalog=context.scorer.catalog, kind=kind, town_ids=list(town_ids),
                                      starts_on=starts_on, ends_on=ends_on, note=note)
    return RedirectResponse(f"{PAGES}/warnings/{event['id']}", status_code=303)


@router.get("/warnings/{event_id}.csv")
def warning_export(event_id: int, context: Context, caller: PageCaller):
    if not 1 <= event_id < 2**31:
        raise Invalid("invalid_id", "Not an event id.", "事件编号无效。", path="event_id")
    with context.database.session(write=True) as session:
        content = early_warning.export_households(session=session, caller=caller, keys=context.keys,
                                                  rules=warning_rules_of(context), event_id=event_id)
    return Response(content, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="warning-{event_id}.csv"'})


@router.get("/warnings/{event_id}")
def warning_list(request: Request, event_id: int, context: Context, caller: PageCaller, print_view: bool = False):
    """An event's frozen list per station, highest risk first, with the checklist; `print_view`: the printable
    sheet (one table per station, boxes to tick by hand)."""
    rules = warning_rules_of(context)
    if not 1 <= event_id < 2**31:
        raise Invalid("invalid_id", "Not an event id.", "事件编号无效。", path="event_id")
    with context.database.session(write=True) as session:  # the names shown are audited
        event = early_warning.progress(session=session, caller=caller, rules=rules, event_id=event_id)
        listed = early_warning.event_households(session=session, caller=caller, keys=context.keys, rules=rules,
                                                event_id=event_id, limit=None)
        stations = {s["id"]: s for s in geography.list_stations(session=session)}
    by_station: dict[int, list] = {}
    for item in listed["items"]:
        by_station.setdefault(item["station_id"], []).append(item)
    return render(request, "warning_print.html" if print_view else "warning.html", caller=caller, event=event,
                  by_station=by_station, stations=stations, steps=early_warning.STEPS)


@router.post("/warnings/{event_id}/households/{household_id}/checklist")
def warning_tick(request: Request, event_id: int, household_id: int, context: Context, caller: PageCaller,
                 step: Annotated[str, Form()] = "", done: Annotated[bool, Form()] = True,
                 csrf: Annotated[str, Form()] = ""):
    check_csrf(request, csrf)
    if step not in early_warning.STEPS:
        raise Invalid("invalid_step", "Unknown checklist step.", "未知的清单项目。", path="step")
    with context.database.session(write=True) as session:
        early_warning.tick(session=session, caller=caller, keys=context.keys, rules=warning_rules_of(context),
                           event_id=event_id, household_id=household_id, steps={step: done})
    return RedirectResponse(f"{PAGES}/warnings/{event_id}#household-{household_id}", status_code=303)


@router.get("/discovery/matches")
def matches_page(request: Request, context: Context, caller: PageCaller):
    """Records matched by name and birth date, waiting for a person to confirm them."""
    require_role(caller, *VISIT_ROLES)
    with context.database.session(write=True) as session:  # the names shown are audited
        items = discovery.matches_to_confirm(session=session, caller=caller, keys=context.keys, limit=200)
        stations = {s["id"]: s for s in geography.list_stations(session=session)}
    return render(request, "matches.html", caller=caller, items=items, stations=stations)


@router.post("/discovery/matches/{record_id}")
def match_decision(request: Request, record_id: int, context: Context, caller: PageCaller,
                   confirmed: Annotated[bool, Form()] = False, csrf: Annotated[str, Form()] = ""):
    check_csrf(request, csrf)
    if not 1 <= record_id < 2**31:
        raise Invalid("invalid_id", "Not a record id.", "记录编号无效。", path="record_id")
    with context.database.session(write=True) as session:
        discovery.decide_match(session=session, caller=caller, discovery=discovery_of(context), record_id=record_id,
                               confirmed=confirmed, today=date.today())
    return RedirectResponse(f"{PAGES}/discovery/matches", status_code=303)
