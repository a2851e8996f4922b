"""Roles and scope: who may see and change which households, and how much personal data they see. Pure
rules on a `Caller`; the filters that apply them to queries live with the tables they filter."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from sqlalchemy import true

from api.errors import Forbidden, forbidden


class Role(str, Enum):
    caseworker = "caseworker"
    supervisor = "supervisor"
    analyst = "analyst"
    admin = "admin"
    provider = "provider"


class PersonalView(str, Enum):
    full = "full"
    masked = "masked"
    withheld = "withheld"


@dataclass(frozen=True)
class Caller:
    """The authenticated user a service function acts for."""

    id: int
    name: str
    role: Role
    station_id: int | None = None
    town_ids: frozenset[int] = field(default_factory=frozenset)
    provider_id: int | None = None  # a provider's user: the provider organisation they act for


def in_scope(caller: Caller, station_id: int, town_id: int) -> bool:
    """Whether a station falls inside a caseworker's station or a supervisor's towns."""
    if caller.role is Role.caseworker:
        return caller.station_id == station_id
    if caller.role is Role.supervisor:
        return town_id in caller.town_ids
    return False


def scope_filter(caller: Caller, station_column, town_column):
    """`in_scope` as a SQL condition on rows with these station and town columns; every row for the other roles
    (what those may see at all is their callers' own check)."""
    if caller.role is Role.caseworker:
        return station_column == caller.station_id
    if caller.role is Role.supervisor:
        return town_column.in_(caller.town_ids)
    return true()


def require_household_reader(caller: Caller) -> None:
    """Analysts see aggregates and pseudonymised rows (rankings, alerts, impact previews) only: no single
    household, its file, answers or referrals, and no look-up, which would tie a person to a household id.
    Providers see the referrals sent to them, and nothing else of any household."""
    if caller.role is Role.analyst:
        raise Forbidden("household_reads_not_allowed",
                        "Analysts see aggregates and pseudonymised rows only, not single households.",
                        "分析员只能查看汇总数据和假名化的记录,不能查看单个家庭。")
    require_not_provider(caller)


def require_not_provider(caller: Caller) -> None:
    """A provider's users see the referrals sent to their provider only: no household list, ranking or alert."""
    if caller.role is Role.provider:
        raise Forbidden("household_reads_not_allowed", "Providers see only the referrals sent to them.",
                        "服务机构只能查看转给本机构的转介。")


def personal_view(caller: Caller, station_id: int, town_id: int, *,
                  also: tuple[tuple[int, int], ...] = ()) -> PersonalView:
    """How much personal data the caller sees of a household served by that station; 403 when they may not see
    it at all (out of scope, or an analyst). `also`: other (station, town) places whose scope may read it (where
    it is registered, the receiving side of a transfer waiting for a decision); writing stays with the serving
    station's (`require_write`)."""
    require_household_reader(caller)
    if caller.role in (Role.caseworker, Role.supervisor):
        if not any(in_scope(caller, station, town) for station, town in ((station_id, town_id), *also)):
            raise forbidden()
        return PersonalView.full
    return PersonalView.masked


def require_write(caller: Caller, station_id: int, town_id: int) -> None:
    """Only a caseworker of the station or a supervisor of its town may change its households."""
    if not in_scope(caller, station_id, town_id):
        raise forbidden()


def require_role(caller: Caller, *roles: Role) -> None:
    if caller.role not in roles:
        raise forbidden()
