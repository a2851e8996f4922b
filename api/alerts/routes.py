"""Alerts and re-assessment due lists."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query

from api.alerts import service as alerts
from api.deps import Context, CurrentCaller
from api.schemas import PROBLEM_RESPONSES

router = APIRouter(tags=["alerts"], responses=PROBLEM_RESPONSES)


@router.get("/alerts", summary="Households whose index rose, whose tier worsened, or with a critical indicator")
def list_alerts(context: Context, caller: CurrentCaller, station_id: int | None = None,
                limit: int = Query(100, ge=1, le=500), offset: int = Query(0, ge=0)) -> dict:
    with context.database.session() as session:
        return alerts.alerts(session=session, caller=caller, catalog=context.scorer.catalog,
                             index_rise=context.settings.alert_index_rise, station_id=station_id, limit=limit,
                             offset=offset)


@router.get("/reassessments", summary="Households due for re-assessment before a date (default: today = overdue)")
def due(context: Context, caller: CurrentCaller, due_before: date | None = None, station_id: int | None = None,
        limit: int = Query(100, ge=1, le=500), offset: int = Query(0, ge=0)) -> dict:
    with context.database.session() as session:
        return alerts.reassessments(session=session, caller=caller, catalog=context.scorer.catalog,
                                    due_before=due_before or date.today(), station_id=station_id, limit=limit,
                                    offset=offset)


@router.get("/reassessments/overdue", summary="Overdue re-assessments per station in scope")
def overdue(context: Context, caller: CurrentCaller) -> list[dict]:
    with context.database.session() as session:
        return alerts.overdue_by_station(session=session, caller=caller, today=date.today())
