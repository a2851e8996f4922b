"""The supervisor's alerts and overdue re-assessments."""

from __future__ import annotations

import math
from datetime import date
from urllib.parse import urlencode

from fastapi import APIRouter, Request

from api.alerts import service as alerts
from api.auth.access import Role, require_role
from api.deps import Context, PageCaller
from api.discovery import service as discovery
from api.discovery.definitions import discovery_of
from api.geography import service as geography
from api.web.templating import render

router = APIRouter()
OVERSIGHT_ROLES = (Role.supervisor, Role.admin)
PAGE_SIZE = 25
MAX_PAGE = 1_000_000  # keeps the offset a number the database takes


@router.get("/alerts")
def alert_lists(request: Request, context: Context, caller: PageCaller, alerts_page: int = 1, overdue_page: int = 1):
    """Alerts and overdue re-assessments, each paged on its own (`alerts_page`, `overdue_page`)."""
    require_role(caller, *OVERSIGHT_ROLES)
    catalog = context.scorer.catalog
    alerts_page, overdue_page = (min(max(number, 1), MAX_PAGE) for number in (alerts_page, overdue_page))
    with context.database.session() as session:
        towns = geography.towns_in_scope(session=session, caller=caller)
        stations = geography.stations_in_scope(session=session, caller=caller)
        raised = alerts.alerts(session=session, caller=caller, catalog=catalog,
                               index_rise=context.settings.alert_index_rise, limit=PAGE_SIZE,
                               offset=(alerts_page - 1) * PAGE_SIZE)
        overdue = alerts.reassessments(session=session, caller=caller, catalog=catalog, due_before=date.today(),
                                       limit=PAGE_SIZE, offset=(overdue_page - 1) * PAGE_SIZE)
        by_station = alerts.overdue_by_station(session=session, caller=caller, today=date.today())
        informed = discovery.new_information(session=session, caller=caller, discovery=discovery_of(context),
                                          today=date.today(), limit=PAGE_SIZE)
    pages = {"alerts": _pager(alerts_page, raised["total"], "alerts_page", overdue_page=overdue_page),
             "overdue": _pager(overdue_page, overdue["total"], "overdue_page", alerts_page=alerts_page)}
    return render(request, "alerts.html", caller=caller, raised=raised, overdue=overdue, by_station=by_station,
                  informed=informed,
                  stations=stations, towns=towns, tiers={t.id: t for t in catalog.tiers}, pages=pages)


def _pager(page: int, total: int, parameter: str, **others: int) -> dict:
    """Page `page` of a list of `total` items: its number, the number of pages, and the query strings of the
    previous and next pages (None when there is none), keeping the other lists' pages (`others`)."""
    pages = max(1, math.ceil(total / PAGE_SIZE))

    def link(number: int) -> str | None:
        return urlencode({**others, parameter: number}) if 1 <= number <= pages else None

    return {"page": page, "pages": pages, "total": total, "previous": link(min(page - 1, pages)),
            "next": link(page + 1)}
