"""Regions, towns and stations."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import Context, CurrentCaller
from api.request_checks import CheckedRoute
from api.geography import schemas
from api.geography import service as geography
from api.geography.schemas import StationCreate, TownCreate
from api.schemas import RowId, problem_responses

router = APIRouter(tags=["geography"], responses=problem_responses(401, 413), route_class=CheckedRoute)


@router.get("/regions", response_model=list[schemas.Region], summary="Regions of the catalog")
def list_regions(context: Context, caller: CurrentCaller) -> list[dict]:
    with context.database.session() as session:
        return geography.list_regions(session=session)


@router.get("/towns", response_model=list[schemas.Town], responses=problem_responses(422), summary="Towns (镇街)")
def list_towns(context: Context, caller: CurrentCaller, region_id: str | None = None) -> list[dict]:
    with context.database.session() as session:
        return geography.list_towns(session=session, region_id=region_id)


@router.post("/towns", status_code=201, response_model=schemas.Town, responses=problem_responses(403, 404, 422),
             summary="Add a town (admin)")
def create_town(body: TownCreate, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return geography.create_town(session=session, caller=caller, name=body.name, region_id=body.region_id)


@router.get("/stations", response_model=list[schemas.Station], responses=problem_responses(422),
            summary="Referral stations (驿站)")
def list_stations(context: Context, caller: CurrentCaller, town_id: RowId | None = None) -> list[dict]:
    with context.database.session() as session:
        return geography.list_stations(session=session, town_id=town_id)


@router.post("/stations", status_code=201, response_model=schemas.Station, responses=problem_responses(403, 404, 422),
             summary="Add a station (admin)")
def create_station(body: StationCreate, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return geography.create_station(session=session, caller=caller, name=body.name, town_id=body.town_id)
