"""A household's status in the programme: changing it, and exiting with a reason, which also closes its
open referrals and keeps its latest row in step (rankings and due lists filter on the status)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from sqlalchemy.orm import Session

from api.assessments.store import refresh_latest
from api.audit import service as audit
from api.auth.access import Caller, require_write
from api.errors import Invalid
from api.households import service as households
from api.households.service import load_household
from api.referrals.service import close_open
from api.security import Keys

STATUSES = ("active", "exited")


@lru_cache(maxsize=1)
def exit_reasons() -> tuple[str, ...]:
    """The reasons of api/households/lifecycle.yaml."""
    data = yaml.safe_load(Path(__file__).with_name("lifecycle.yaml").read_text(encoding="utf-8"))
    return tuple(data["exit_reasons"])


def _status_changed(session: Session, caller: Caller | None, household, *, catalog, reason: str | None) -> list[int]:
    refresh_latest(session, household_ids=[household.id], catalog=catalog)
    if household.status != "exited":
        return []
    return close_open(session, caller, household_id=household.id, reason=f"household_exited:{reason or 'unspecified'}")


def update_household(*, session: Session, caller: Caller, keys: Keys, catalog, household_id: int,
                     changes: dict) -> dict:
    """Change name, phone, members or status (an exit this way cancels the open referrals too)."""
    changes = dict(changes)
    status = changes.pop("status", None)
    if status is not None and status not in STATUSES:
        raise Invalid("invalid_status", f"status must be one of {', '.join(STATUSES)}.",
                      f"状态必须为 {'、'.join(STATUSES)} 之一。", path="status")
    view, changed = households.update_household(session=session, caller=caller, keys=keys,
                                                household_id=household_id, changes=changes, status=status)
    if changed:
        household, _ = load_household(session, household_id)
        _status_changed(session, caller, household, catalog=catalog, reason=None)
    return view


def exit_household(*, session: Session, caller: Caller, catalog, household_id: int, reason: str,
                   note: str | None = None) -> dict:
    """Mark a household exited (no longer in hardship, moved, deceased) and close its open referrals."""
    if reason not in exit_reasons():
        raise Invalid("unknown_exit_reason", f"reason must be one of {', '.join(exit_reasons())}.",
                      f"退出原因必须为 {'、'.join(exit_reasons())} 之一。", path="reason")
    household, station = load_household(session, household_id)
    require_write(caller, station.id, station.town_id)
    household.status = "exited"
    session.flush()
    closed = _status_changed(session, caller, household, catalog=catalog, reason=reason)
    audit.record(session, caller, "exit_household", household_id=household.id, reason=reason, note=note,
                 closed_referrals=closed)
    return {"household_id": household.id, "status": household.status, "reason": reason,
            "closed_referrals": closed}
