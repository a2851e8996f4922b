"""The caller's scope as a filter on the households' latest rows."""

from __future__ import annotations

from api.assessments.tables import HouseholdLatest
from api.auth.access import Caller, Role, require_not_provider


def latest_scope(caller: Caller):
    """The caller's households, as a filter on household_latest; 403 for providers, who have none."""
    require_not_provider(caller)
    if caller.role is Role.caseworker:
        return HouseholdLatest.station_id == caller.station_id
    if caller.role is Role.supervisor:
        return HouseholdLatest.town_id.in_(caller.town_ids)
    return HouseholdLatest.household_id.isnot(None)
