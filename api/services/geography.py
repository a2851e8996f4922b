"""Regions (from the catalog), towns and stations."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.services import audit
from api.services.access import Caller, Role, require_role
from api.services.errors import not_found
from api.services.views import region_view, station_view, town_view
from api.tables import Region, Station, Town


def sync_regions(*, session: Session, catalog) -> None:
    """Insert the catalog's regions that the database does not have yet (parents first)."""
    known = set(session.scalars(select(Region.id)))
    pending = [r for r in catalog.regions if r.id not in known]
    while pending:
        ready = [r for r in pending if r.parent is None or r.parent in known]
        if not ready:  # a parent outside the catalog: store without it rather than fail
            ready = pending[:1]
        for region in ready:
            parent = region.parent if region.parent in known else None
            session.add(Region(id=region.id, name_zh=region.label.zh, name_en=region.label.en, parent_id=parent))
            known.add(region.id)
            pending.remove(region)
        session.flush()


def list_regions(*, session: Session) -> list[dict]:
    return [region_view(r) for r in session.scalars(select(Region).order_by(Region.id))]


def list_towns(*, session: Session, region_id: str | None = None) -> list[dict]:
    query = select(Town).order_by(Town.id)
    if region_id is not None:
        query = query.where(Town.region_id == region_id)
    return [town_view(t) for t in session.scalars(query)]


def list_stations(*, session: Session, town_id: int | None = None) -> list[dict]:
    query = select(Station).order_by(Station.id)
    if town_id is not None:
        query = query.where(Station.town_id == town_id)
    return [station_view(s) for s in session.scalars(query)]


def create_town(*, session: Session, caller: Caller | None, name: str, region_id: str) -> dict:
    if caller is not None:
        require_role(caller, Role.admin)
    if session.get(Region, region_id) is None:
        raise not_found(f"Region {region_id!r}", f"地区 {region_id!r}", "region_id")
    town = Town(name=name, region_id=region_id)
    session.add(town)
    session.flush()
    audit.record(session, caller, "create_town", town_id=town.id)
    return town_view(town)


def create_station(*, session: Session, caller: Caller | None, name: str, town_id: int) -> dict:
    if caller is not None:
        require_role(caller, Role.admin)
    if session.get(Town, town_id) is None:
        raise not_found(f"Town {town_id}", f"镇街 {town_id}", "town_id")
    station = Station(name=name, town_id=town_id)
    session.add(station)
    session.flush()
    audit.record(session, caller, "create_station", station_id=station.id)
    return station_view(station)
