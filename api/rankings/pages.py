"""The supervisor's ranking page: filters, sorting, paging, and CSV/Excel export."""

from __future__ import annotations

import math
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from api.auth.access import Role, require_role
from api.deps import Context, PageCaller
from api.errors import Invalid
from api.exports import MEDIA
from api.geography import service as geography
from api.problems import validation_problems
from api.rankings import service as rankings
from api.rankings.schemas import RankingFilters
from api.web.templating import render

router = APIRouter()
PAGE_SIZE = 25
FILTER_FIELDS = tuple(RankingFilters.model_fields)
RANKING_ROLES = (Role.supervisor, Role.admin, Role.analyst)


def _filters(request: Request) -> tuple[dict, RankingFilters | None, list]:
    """The typed filter values, the filters (None when a value is malformed), and the problems found."""
    typed = {name: request.query_params.get(name, "").strip() for name in FILTER_FIELDS}
    given = {name: value for name, value in typed.items() if value}
    if "status" not in request.query_params:
        given["status"] = typed["status"] = "active"
    if given.get("status") == "all":
        given.pop("status")
    try:
        filters = RankingFilters.model_validate({"status": None, **given})
    except ValidationError as invalid:
        return typed, None, validation_problems(invalid.errors())
    return typed, filters, []


@router.get("/ranking")
def ranking(request: Request, context: Context, caller: PageCaller, page: int = 1):
    require_role(caller, *RANKING_ROLES)
    typed, filters, problems = _filters(request)
    page = max(page, 1)
    listed = {"total": 0, "items": []}
    with context.database.session(write=True) as session:  # listing personal data is audited
        towns = geography.towns_in_scope(session=session, caller=caller)
        stations = geography.stations_in_scope(session=session, caller=caller)
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
def export(request: Request, context: Context, caller: PageCaller, format: str = "csv"):
    """The whole filtered ranking as the API exports it (and records it as a snapshot)."""
    _, filters, _ = _filters(request)
    if filters is None or format not in MEDIA:
        raise Invalid("invalid_export", "The export filters are not valid.", "导出条件无效。", path="format")
    with context.database.session(write=True) as session:
        content, snapshot_id = rankings.export(session=session, caller=caller, keys=context.keys,
                                               catalog=context.scorer.catalog, filters=filters, fmt=format)
    return Response(content, media_type=MEDIA[format], headers={
        "Content-Disposition": f'attachment; filename="ranking-{snapshot_id}.{format}"',
        "X-Snapshot-Id": str(snapshot_id)})
