"""Alerts, re-assessment due lists, and exits."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from pydantic import Field

from api import responses
from api.deps import Context, CurrentCaller
from api.intake import CheckedRoute
from api.schemas import Offset, RowId, Strict, page_limit, problems
from api.services import alerts

router = APIRouter(tags=["alerts"], responses=problems(401, 413), route_class=CheckedRoute)


class Exit(Strict):
    reason: str = Field(examples=["moved"], description="no_longer_in_hardship, moved or deceased")
    note: str | None = Field(None, max_length=500)


@router.get("/alerts", response_model=responses.AlertPage, responses=problems(422),
            summary="Households whose index rose, whose tier worsened, or with a critical indicator")
def list_alerts(context: Context, caller: CurrentCaller, station_id: RowId | None = None,
                limit: page_limit(500) = 100, offset: Offset = 0) -> dict:
    with context.database.session() as session:
        return alerts.alerts(session=session, caller=caller, catalog=context.scorer.catalog,
                             index_rise=context.settings.alert_index_rise, station_id=station_id, limit=limit,
                             offset=offset)


@router.get("/reassessments", response_model=responses.DuePage, responses=problems(422),
            summary="Households due for re-assessment before a date (default: today = overdue)")
def due(context: Context, caller: CurrentCaller, due_before: date | None = None, station_id: RowId | None = None,
        limit: page_limit(500) = 100, offset: Offset = 0) -> dict:
    with context.database.session() as session:
        return alerts.reassessments(session=session, caller=caller, catalog=context.scorer.catalog,
                                    due_before=due_before or date.today(), station_id=station_id, limit=limit,
                                    offset=offset)


@router.get("/reassessments/overdue", response_model=list[responses.StationOverdue],
            summary="Overdue re-assessments per station in scope")
def overdue(context: Context, caller: CurrentCaller) -> list[dict]:
    with context.database.session() as session:
        return alerts.overdue_by_station(session=session, caller=caller, today=date.today())


@router.post("/households/{household_id}/exit", response_model=responses.Exited, responses=problems(403, 404, 422),
             summary="A household leaves the programme",
             description="Sets the status to exited and cancels its open referrals with the reason.")
def exit_household(household_id: RowId, body: Exit, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return alerts.exit_household(session=session, caller=caller, household_id=household_id, reason=body.reason,
                                     note=body.note)
