"""Regions, towns and stations."""

from __future__ import annotations

from fastapi import APIRouter

from api import responses
from api.deps import Context, CurrentCaller
from api.intake import CheckedRoute
from api.schemas import RowId, StationCreate, TownCreate, problems
from api.services import geography

router = APIRouter(tags=["geography"], responses=problems(401, 413), route_class=CheckedRoute)


@router.get("/regions", response_model=list[responses.Region], summary="Regions of the catalog")
def list_regions(context: Context, caller: CurrentCaller) -> list[dict]:
    with context.database.session() as session:
        return geography.list_regions(session=session)


@router.get("/towns", response_model=list[responses.Town], responses=problems(422), summary="Towns (镇街)")
def list_towns(context: Context, caller: CurrentCaller, region_id: str | None = None) -> list[dict]:
    with context.database.session() as session:
        return geography.list_towns(session=session, region_id=region_id)


@router.post("/towns", status_code=201, response_model=responses.Town, responses=problems(403, 404, 422),
             summary="Add a town (admin)")
def create_town(body: TownCreate, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return geography.create_town(session=session, caller=caller, name=body.name, region_id=body.region_id)


@router.get("/stations", response_model=list[responses.Station], responses=problems(422),
            summary="Referral stations (驿站)")
def list_stations(context: Context, caller: CurrentCaller, town_id: RowId | None = None) -> list[dict]:
    with context.database.session() as session:
        return geography.list_stations(session=session, town_id=town_id)


@router.post("/stations", status_code=201, response_model=responses.Station, responses=problems(403, 404, 422),
             summary="Add a station (admin)")
def create_station(body: StationCreate, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return geography.create_station(session=session, caller=caller, name=body.name, town_id=body.town_id)
