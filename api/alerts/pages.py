"""The supervisor's alerts and overdue re-assessments."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request

from api.alerts import service as alerts
from api.auth.access import Role, require_role
from api.deps import Context, PageCaller
from api.geography import service as geography
from api.web.templating import render

router = APIRouter()
OVERSIGHT_ROLES = (Role.supervisor, Role.admin)


@router.get("/alerts")
def alert_lists(request: Request, context: Context, caller: PageCaller):
    require_role(caller, *OVERSIGHT_ROLES)
    catalog = context.scorer.catalog
    with context.database.session() as session:
        towns = geography.towns_in_scope(session=session, caller=caller)
        stations = geography.stations_in_scope(session=session, caller=caller)
        raised = alerts.alerts(session=session, caller=caller, catalog=catalog,
                               index_rise=context.settings.alert_index_rise, limit=200)
        overdue = alerts.reassessments(session=session, caller=caller, catalog=catalog, due_before=date.today(),
                                       limit=200)
        by_station = alerts.overdue_by_station(session=session, caller=caller, today=date.today())
    return render(request, "alerts.html", caller=caller, raised=raised, overdue=overdue, by_station=by_station,
                  stations=stations, towns=towns, tiers={t.id: t for t in catalog.tiers})
