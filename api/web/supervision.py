"""Supervisor pages: the ranking (filters, sorting, paging, CSV/Excel export), alerts and overdue
re-assessments, and the referral pipeline by provider. Each calls the issue's service functions."""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError

from api import errors
from api.routes.rankings import MEDIA, RankingQuery
from api.services import alerts, geography, rankings, referrals
from api.services.access import Caller, Role, require_role
from api.services.errors import Invalid
from api.services.rankings import RankingFilters
from api.web.session import page_caller
from api.web.templating import render

router = APIRouter()
PageCaller = Annotated[Caller, Depends(page_caller)]
PAGE_SIZE = 25
MAX_PAGE = 1_000_000  # keeps the offset a number the database takes
FILTER_FIELDS = tuple(RankingQuery.model_fields)
OVERSIGHT_ROLES = (Role.supervisor, Role.admin)


def _context(request: Request):
    return request.app.state.context


def _filters(request: Request) -> tuple[dict, RankingFilters | None, list]:
    """The typed filter values, the filters (None when a value is malformed), and the problems found."""
    typed = {name: request.query_params.get(name, "").strip() for name in FILTER_FIELDS}
    given = {name: value for name, value in typed.items() if value}
    if "status" not in request.query_params:
        given["status"] = typed["status"] = "active"
    if given.get("status") == "all":
        given.pop("status")
    try:
        query = RankingQuery.model_validate({"status": None, **given})
    except ValidationError as invalid:
        return typed, None, errors._validation_problems(RequestValidationError(invalid.errors()))
    return typed, RankingFilters(**query.model_dump()), []


def _scope_names(session, caller: Caller) -> tuple[dict, dict]:
    towns = {t["id"]: t for t in geography.list_towns(session=session)}
    stations = {s["id"]: s for s in geography.list_stations(session=session)}
    if caller.role is Role.supervisor:
        towns = {i: t for i, t in towns.items() if i in caller.town_ids}
        stations = {i: s for i, s in stations.items() if s["town_id"] in caller.town_ids}
    return towns, stations


@router.get("/ranking")
def ranking(request: Request, caller: PageCaller, page: int = 1):
    require_role(caller, *OVERSIGHT_ROLES, Role.analyst)
    context = _context(request)
    typed, filters, problems = _filters(request)
    page = max(page, 1)
    listed = {"total": 0, "items": []}
    with context.database.session(write=True) as session:  # listing personal data is audited
        towns, stations = _scope_names(session, caller)
        if filters is not None:
            try:
                listed = rankings.ranking_page(session=session, caller=caller, keys=context.keys,
                                               catalog=context.scorer.catalog, filters=filters, limit=PAGE_SIZE,
                                               offset=(page - 1) * PAGE_SIZE)
            except Invalid as invalid:
                problems = invalid.problems
    query = urlencode({name: value for name, value in typed.items() if value})
    return render(request, "ranking.html", caller=caller, typed=typed, problems=problems, listed=listed,
                  page=page, pages=max(1, math.ceil(listed["total"] / PAGE_SIZE)), query=query, towns=towns,
                  stations=stations, catalog=context.scorer.catalog)


@router.get("/ranking/export")
def export(request: Request, caller: PageCaller, format: str = "csv"):
    """The whole filtered ranking as the API exports it (and records it as a snapshot)."""
    context = _context(request)
    _, filters, _ = _filters(request)
    if filters is None or format not in MEDIA:
        raise Invalid("invalid_export", "The export filters are not valid.", "导出条件无效。", path="format")
    with context.database.session(write=True) as session:
        content, snapshot_id = rankings.export(session=session, caller=caller, keys=context.keys,
                                               catalog=context.scorer.catalog, filters=filters, fmt=format)
    return Response(content, media_type=MEDIA[format], headers={
        "Content-Disposition": f'attachment; filename="ranking-{snapshot_id}.{format}"',
        "X-Snapshot-Id": str(snapshot_id)})


@router.get("/alerts")
def alert_lists(request: Request, caller: PageCaller, alerts_page: int = 1, overdue_page: int = 1):
    """Alerts and overdue re-assessments, each paged on its own (`alerts_page`, `overdue_page`)."""
    require_role(caller, *OVERSIGHT_ROLES)
    context = _context(request)
    catalog = context.scorer.catalog
    alerts_page, overdue_page = (min(max(number, 1), MAX_PAGE) for number in (alerts_page, overdue_page))
    with context.database.session() as session:
        towns, stations = _scope_names(session, caller)
        raised = alerts.alerts(session=session, caller=caller, catalog=catalog,
                               index_rise=context.settings.alert_index_rise, limit=PAGE_SIZE,
                               offset=(alerts_page - 1) * PAGE_SIZE)
        overdue = alerts.reassessments(session=session, caller=caller, catalog=catalog, due_before=date.today(),
                                       limit=PAGE_SIZE, offset=(overdue_page - 1) * PAGE_SIZE)
        by_station = alerts.overdue_by_station(session=session, caller=caller, today=date.today())
    pages = {"alerts": _pager(alerts_page, raised["total"], "alerts_page", overdue_page=overdue_page),
             "overdue": _pager(overdue_page, overdue["total"], "overdue_page", alerts_page=alerts_page)}
    return render(request, "alerts.html", caller=caller, raised=raised, overdue=overdue, by_station=by_station,
                  stations=stations, towns=towns, tiers={t.id: t for t in catalog.tiers}, pages=pages)


def _pager(page: int, total: int, parameter: str, **others: int) -> dict:
    """Page `page` of a list of `total` items: its number, the number of pages, and the query strings of the
    previous and next pages (None when there is none), keeping the other lists' pages (`others`)."""
    pages = max(1, math.ceil(total / PAGE_SIZE))

    def link(number: int) -> str | None:
        return urlencode({**others, parameter: number}) if 1 <= number <= pages else None

    return {"page": page, "pages": pages, "total": total, "previous": link(min(page - 1, pages)),
            "next": link(page + 1)}


@router.get("/referrals")
def referral_pipeline(request: Request, caller: PageCaller):
    context = _context(request)
    with context.database.session() as session:
        pipeline = referrals.pipeline(session=session, caller=caller,
                                      overdue_days=context.settings.referral_overdue_days)
        providers = {p["id"]: p for p in referrals.list_providers(session=session)}
    groups: dict = {}
    for item in pipeline["items"]:
        groups.setdefault(item["provider_id"], []).append(item)
    return render(request, "referrals.html", caller=caller, pipeline=pipeline, groups=groups, providers=providers,
                  services=context.scorer.catalog.service_by_id)
