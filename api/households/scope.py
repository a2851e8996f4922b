"""The caller's scope as filters on queries of households."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, or_, select, true
from sqlalchemy.orm import aliased

from api.auth.access import Caller, Role, require_not_provider, scope_filter
from api.geography.tables import Station
from api.households.tables import Household


def household_scope(caller: Caller) -> ColumnElement[bool]:
    """A filter on households (joined with their serving stations) to what the caller may list; 403 for providers,
    who list none."""
    require_not_provider(caller)
    return scope_filter(caller, Household.station_id, Station.town_id)


_REGISTERED_AT = aliased(Station)


def household_read_scope(caller: Caller) -> ColumnElement[bool]:
    """A filter on households (joined with their serving stations) to what the caller may read: those their
    scope serves, and those registered in their scope but living elsewhere (read-only)."""
    if caller.role is Role.caseworker:
        return or_(Household.station_id == caller.station_id, Household.registered_station_id == caller.station_id)
    if caller.role is Role.supervisor:
        registered_here = select(_REGISTERED_AT.id).where(_REGISTERED_AT.town_id.in_(caller.town_ids))
        return or_(Station.town_id.in_(caller.town_ids), Household.registered_station_id.in_(registered_here))
    return true()


def readable_households(caller: Caller) -> Select:
    return select(Household).join(Station, Household.station_id == Station.id).where(household_read_scope(caller))
