"""The caller's scope as filters on queries of households."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, select, true

from api.auth.access import Caller, Role
from api.geography.tables import Station
from api.households.tables import Household


def household_scope(caller: Caller) -> ColumnElement[bool]:
    """A filter on households (joined with stations) to what the caller may list."""
    if caller.role is Role.caseworker:
        return Household.station_id == caller.station_id
    if caller.role is Role.supervisor:
        return Station.town_id.in_(caller.town_ids)
    return true()


def scoped_households(caller: Caller) -> Select:
    return select(Household).join(Station, Household.station_id == Station.id).where(household_scope(caller))
