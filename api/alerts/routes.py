"""Alerts and re-assessment due lists."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from api.alerts import schemas
from api.alerts import service as alerts
from api.deps import Context, CurrentCaller
from api.discovery import service as discovery
from api.discovery.definitions import discovery_of
from api.request_checks import CheckedRoute
from api.schemas import Offset, RowId, page_limit, problem_responses

router = APIRouter(tags=["alerts"], responses=problem_responses(401, 413), route_class=CheckedRoute)


@router.get("/alerts", response_model=schemas.AlertPage, responses=problem_responses(403, 422),
            summary="Households whose index rose, whose tier worsened, or with a critical indicator")
def list_alerts(context: Context, caller: CurrentCaller, station_id: RowId | None = None,
                limit: page_limit(500) = 100, offset: Offset = 0) -> dict:
    with context.database.session() as session:
        return alerts.alerts(session=session, caller=caller, catalog=context.scorer.catalog,
                             index_rise=context.settings.alert_index_rise, station_id=station_id, limit=limit,
                             offset=offset)


@router.get("/alerts/new-information", response_model=schemas.NewInformationPage,
            responses=problem_responses(403, 422), summary="Re-assess: new information from department records",
            description="Active households in scope with fresh department records (api/discovery) dated after "
                        "their latest assessment that pass a discovery rule, each rule a reason with the indicator "
                        "it touches (shown only). Records matched by name and birth date count once confirmed.")
def list_new_information(context: Context, caller: CurrentCaller, station_id: RowId | None = None,
                         limit: page_limit(500) = 100, offset: Offset = 0) -> dict:
    with context.database.session() as session:
        return discovery.new_information(session=session, caller=caller, discovery=discovery_of(context),
                                      today=date.today(), station_id=station_id, limit=limit, offset=offset)


@router.get("/reassessments", response_model=schemas.DuePage, responses=problem_responses(403, 422),
            summary="Households due for re-assessment before a date (default: today = overdue)")
def due(context: Context, caller: CurrentCaller, due_before: date | None = None, station_id: RowId | None = None,
        limit: page_limit(500) = 100, offset: Offset = 0) -> dict:
    with context.database.session() as session:
        return alerts.reassessments(session=session, caller=caller, catalog=context.scorer.catalog,
                                    due_before=due_before or date.today(), station_id=station_id, limit=limit,
                                    offset=offset)


@router.get("/reassessments/overdue", response_model=list[schemas.StationOverdue],
            responses=problem_responses(403),
            summary="Overdue re-assessments per station in scope")
def overdue(context: Context, caller: CurrentCaller) -> list[dict]:
    with context.database.session() as session:
        return alerts.overdue_by_station(session=session, caller=caller, today=date.today())
