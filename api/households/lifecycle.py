"""A household's status in the programme: exits with a reason (which close its open referrals), re-entries, and
their history; each keeps the household's latest row in step (rankings and due lists filter on the status).

The rules are data (api/households/lifecycle.yaml): exit and re-entry reasons, and the entry threshold that exit
proposals (api.households.proposals) compare the last two assessments with.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.assessments.store import refresh_latest
from api.audit import service as audit
from api.auth.access import Caller, require_write
from api.encoding import iso
from api.errors import Conflict, Invalid
from api.households import service as households
from api.households.service import load_household
from api.households.tables import Household, StatusEvent
from api.referrals.service import close_open
from api.security import Keys

STATUSES = ("active", "exited")
UNSPECIFIED = "unspecified"  # a status set by PATCH, without a reason
NEW_ASSESSMENT = "new_assessment"  # an exited household assessed again


class Threshold(BaseModel):
    """The entry threshold: below a tier (by its position from the lowest) or below an index cut-off."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    tier_position: int | None = Field(None, ge=1)
    index: float | None = Field(None, gt=0, le=100)

    @model_validator(mode="after")
    def _one_of_them(self) -> "Threshold":
        if (self.tier_position is None) == (self.index is None):
            raise ValueError("give either tier_position or index")
        return self


class Lifecycle(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    exit_reasons: tuple[str, ...]
    reentry_reasons: tuple[str, ...]
    entry_threshold: Threshold
    proposal_exit_reason: str

    @model_validator(mode="after")
    def _known_reason(self) -> "Lifecycle":
        if self.proposal_exit_reason not in self.exit_reasons:
            raise ValueError(f"proposal_exit_reason {self.proposal_exit_reason!r} is not one of the exit reasons")
        return self


@lru_cache(maxsize=1)
def lifecycle() -> Lifecycle:
    """api/households/lifecycle.yaml, validated."""
    text = Path(__file__).with_name("lifecycle.yaml").read_text(encoding="utf-8")
    return Lifecycle.model_validate(yaml.safe_load(text))


def _check_reason(reason: str, allowed: tuple[str, ...], what_en: str, what_zh: str) -> None:
    if reason not in allowed:
        raise Invalid(f"unknown_{what_en.replace(' ', '_')}_reason", f"reason must be one of {', '.join(allowed)}.",
                      f"{what_zh}原因必须为 {'、'.join(allowed)} 之一。", path="reason")


def set_status(session: Session, caller: Caller | None, household: Household, status: str, *, catalog, reason: str,
               note: str | None = None, assessment_id: int | None = None) -> list[int]:
    """Move a household to `status`, recording why (and the assessment that brought it back, when one did), and
    bring its latest row in step; an exit also cancels its open referrals (returned)."""
    household.status = status
    session.add(StatusEvent(household_id=household.id, status=status, reason=reason, note=note,
                            assessment_id=assessment_id, user_id=caller.id if caller else None))
    session.flush()
    refresh_latest(session, household_ids=[household.id], catalog=catalog)
    if status != "exited":
        return []
    return close_open(session, caller, household_id=household.id, reason=f"household_exited:{reason}")


def update_household(*, session: Session, caller: Caller, keys: Keys, catalog, household_id: int,
                     changes: dict) -> dict:
    """Change name, phone, members or status (an exit this way cancels the open referrals too; either way the
    change is kept in the household's history with the reason `unspecified`)."""
    changes = dict(changes)
    status = changes.pop("status", None)
    override = changes.pop("override", None)
    if status is not None and status not in STATUSES:
        raise Invalid("invalid_status", f"status must be one of {', '.join(STATUSES)}.",
                      f"状态必须为 {'、'.join(STATUSES)} 之一。", path="status")
    if status is not None:
        household, station = load_household(session, household_id)
        require_write(caller, station.id, station.town_id)
        if status != household.status:
            set_status(session, caller, household, status, catalog=catalog, reason=UNSPECIFIED)
    return households.update_household(session=session, caller=caller, keys=keys, household_id=household_id,
                                       changes=changes, override_reason=override["reason"] if override else None,
                                       also_changed=("status",) if status is not None else ())


def exit_household(*, session: Session, caller: Caller, catalog, household_id: int, reason: str,
                   note: str | None = None) -> dict:
    """Mark a household exited (no longer in hardship, moved, deceased) and close its open referrals."""
    _check_reason(reason, lifecycle().exit_reasons, "exit", "退出")
    household, station = load_household(session, household_id)
    require_write(caller, station.id, station.town_id)
    if household.status == "exited":
        raise Conflict("already_exited", f"Household {household_id} has exited already.",
                       f"家庭 {household_id} 已经退出。", path="status")
    closed = set_status(session, caller, household, "exited", catalog=catalog, reason=reason, note=note)
    audit.record(session, caller, "exit_household", household_id=household.id, reason=reason, note=note,
                 closed_referrals=closed)
    return {"household_id": household.id, "status": household.status, "reason": reason,
            "closed_referrals": closed}


def reenter_household(*, session: Session, caller: Caller, catalog, household_id: int, reason: str,
                      note: str | None = None) -> dict:
    """Bring an exited household back into the programme; its history (assessments, exits) stays."""
    _check_reason(reason, lifecycle().reentry_reasons, "reentry", "重新纳入")
    household, station = load_household(session, household_id)
    require_write(caller, station.id, station.town_id)
    if household.status != "exited":
        raise Conflict("not_exited", f"Household {household_id} is in the programme.",
                       f"家庭 {household_id} 仍在册,无需重新纳入。", path="status")
    set_status(session, caller, household, "active", catalog=catalog, reason=reason, note=note)
    audit.record(session, caller, "reenter_household", household_id=household.id, reason=reason, note=note)
    return {"household_id": household.id, "status": household.status, "reason": reason}


def status_history(session: Session, household_id: int) -> list[dict]:
    """A household's exits and re-entries, oldest first."""
    events = session.scalars(select(StatusEvent).where(StatusEvent.household_id == household_id)
                             .order_by(StatusEvent.id))
    return [{"id": e.id, "status": e.status, "reason": e.reason, "note": e.note, "assessment_id": e.assessment_id,
             "user_id": e.user_id, "at": iso(e.at)} for e in events]
