"""The caller's scope as a filter on the households' latest rows."""

from __future__ import annotations

from api.assessments.tables import HouseholdLatest
from api.auth.access import Caller, require_not_provider, scope_filter


def latest_scope(caller: Caller):
    """The caller's households, as a filter on household_latest; 403 for providers, who have none."""
    require_not_provider(caller)
    return scope_filter(caller, HouseholdLatest.station_id, HouseholdLatest.town_id)
