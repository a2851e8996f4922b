"""Regions (from the catalog), towns and stations."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit import service as audit
from api.auth.access import Caller, Role, require_role
from api.errors import not_found
from api.geography.tables import Region, Station, Town


def region_view(region: Region) -> dict:
    return {"id": region.id, "name_zh": region.name_zh, "name_en": region.name_en, "parent_id": region.parent_id}


def town_view(town: Town) -> dict:
    return {"id": town.id, "name": town.name, "region_id": town.region_id}


def station_view(station: Station) -> dict:
    return {"id": station.id, "name": station.name, "town_id": station.town_id}


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


def stations_in_scope(*, session: Session, caller: Caller) -> dict[int, dict]:
    """Stations the caller works in, by id (every station for roles without a station or town scope)."""
    stations = {s["id"]: s for s in list_stations(session=session)}
    if caller.role is Role.caseworker:
        return {caller.station_id: stations[caller.station_id]}
    if caller.role is Role.supervisor:
        return {i: s for i, s in stations.items() if s["town_id"] in caller.town_ids}
    if caller.role is Role.provider:
        return {}
    return stations


def towns_in_scope(*, session: Session, caller: Caller) -> dict[int, dict]:
    """Towns the caller oversees, by id (every town for roles without a town scope)."""
    towns = {t["id"]: t for t in list_towns(session=session)}
    if caller.role is Role.caseworker:
        station = session.get(Station, caller.station_id)
        return {station.town_id: towns[station.town_id]}
    if caller.role is Role.supervisor:
        return {i: t for i, t in towns.items() if i in caller.town_ids}
    if caller.role is Role.provider:
        return {}
    return towns


def region_of_town(*, session: Session, town_id: int) -> str:
    return session.scalar(select(Town.region_id).where(Town.id == town_id))
