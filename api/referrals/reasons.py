"""Decision reasons: why a provider declines, why a referral failed, was cancelled or paused.

The defaults are data (api/referrals/workflow.yaml) and are added to the `referral_reasons` table when the
service starts; an administrator adds more, renames them and retires them. A decision stores the reason's
text as it was at that moment, so renaming or retiring a reason later changes no history.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit import service as audit
from api.auth.access import Caller, Role, require_role
from api.errors import Conflict, Invalid, not_found
from api.encoding import iso
from api.referrals.tables import ReferralReason
from api.referrals.workflow import workflow

CODE = re.compile(r"[a-z][a-z0-9_]{1,63}")


def reason_view(reason: ReferralReason) -> dict:
    return {"id": reason.id, "status": reason.status, "code": reason.code, "label_zh": reason.label_zh,
            "label_en": reason.label_en, "system": reason.system, "active": reason.active,
            "updated_at": iso(reason.updated_at)}


def sync_reasons(*, session: Session) -> None:
    """Add the default reasons of the workflow table that the database lacks (by status and code); reasons an
    administrator renamed or retired stay as they are."""
    stored = set(session.execute(select(ReferralReason.status, ReferralReason.code)).all())
    for status, reasons in workflow().reasons.items():
        for code, label in reasons.items():
            if (status, code) not in stored:
                session.add(ReferralReason(status=status, code=code, label_zh=label.zh, label_en=label.en,
                                           system=label.system, active=True))
    session.flush()


def list_reasons(*, session: Session, status: str | None = None, include_retired: bool = False) -> list[dict]:
    """The reasons by status and id; the retired ones too when asked (an administrator's list)."""
    query = select(ReferralReason).order_by(ReferralReason.status, ReferralReason.id)
    if status is not None:
        query = query.where(ReferralReason.status == status)
    if not include_retired:
        query = query.where(ReferralReason.active.is_(True))
    return [reason_view(r) for r in session.scalars(query)]


def _check_status(status: str) -> None:
    needing = sorted(workflow().reason_required)
    if status not in needing:
        raise Invalid("unknown_status",
                      f"status must be one of {', '.join(needing)} (the statuses that need a reason).",
                      f"status 必须为 {'、'.join(needing)} 之一(需要原因的状态)。", path="status")


def add_reason(*, session: Session, caller: Caller | None, status: str, code: str, label_zh: str,
               label_en: str) -> dict:
    """A new reason for one status (admins); its code is unique within the status."""
    if caller is not None:
        require_role(caller, Role.admin)
    _check_status(status)
    for field, label in (("label_zh", label_zh), ("label_en", label_en)):
        if not label.strip():
            raise Invalid("value_required", f"{field} cannot be blank.", f"{field} 不能为空白。", path=field)
    if not CODE.fullmatch(code):
        raise Invalid("invalid_code", "code must be 2-64 lower-case letters, digits or _, starting with a letter.",
                      "code 须为 2-64 位小写字母、数字或下划线,以字母开头。", path="code")
    existing = session.scalar(select(ReferralReason.id).where(ReferralReason.status == status,
                                                                ReferralReason.code == code))
    if existing is not None:
        raise Conflict("duplicate_reason", f"The reason {code!r} exists already for {status}.",
                       f"状态 {status} 已有原因 {code!r}。", path="code", extra={"existing_reason_id": existing})
    reason = ReferralReason(status=status, code=code, label_zh=label_zh.strip(), label_en=label_en.strip(),
                            system=False, active=True)
    session.add(reason)
    session.flush()
    audit.record(session, caller, "add_referral_reason", reason_id=reason.id, status=status, code=code)
    return reason_view(reason)


def update_reason(*, session: Session, caller: Caller | None, reason_id: int, changes: dict) -> dict:
    """Rename (`label_zh`, `label_en`) or retire (`active: false`) a reason, or bring it back (admins). The
    service's own reasons (`system`) cannot be changed."""
    if caller is not None:
        require_role(caller, Role.admin)
    reason = session.get(ReferralReason, reason_id)
    if reason is None:
        raise not_found(f"Reason {reason_id}", f"原因 {reason_id}")
    if reason.system:
        raise Conflict("system_reason", "The service's own reasons cannot be changed.", "系统原因不能修改。",
                       path="code")
    for field in ("label_zh", "label_en", "active"):
        if field in changes and changes[field] is None:
            raise Invalid("value_required", f"{field} cannot be cleared.", f"{field} 不能为空。", path=field)
    for field in ("label_zh", "label_en"):
        if isinstance(changes.get(field), str) and not changes[field].strip():
            raise Invalid("value_required", f"{field} cannot be blank.", f"{field} 不能为空白。", path=field)
    changed = sorted(field for field in ("label_zh", "label_en", "active")
                     if field in changes and changes[field] != getattr(reason, field))
    for field in changed:
        value = changes[field]
        setattr(reason, field, value.strip() if isinstance(value, str) else value)
    session.flush()
    if changed:
        audit.record(session, caller, "update_referral_reason", reason_id=reason.id, fields=changed)
    return reason_view(reason)


def chosen_reason(session: Session, status: str, code: str | None, *, system: bool = False) -> ReferralReason:
    """The active reason `code` of a move into `status`; a 422 naming `reason` (with the codes offered) when
    there is none or it is not offered. Only the service itself gives a `system` reason."""
    label = workflow().status_label(status)
    offered = session.scalars(select(ReferralReason).where(
        ReferralReason.status == status, ReferralReason.active.is_(True), ReferralReason.system.is_(system))
        .order_by(ReferralReason.id)).all()
    if not code or not code.strip():
        raise Invalid("reason_required", f"Moving to “{label.en}” needs a reason.", f"变为“{label.zh}”须选择原因。",
                      path="reason", extra={"reasons": [r.code for r in offered]})
    found = next((r for r in offered if r.code == code), None)
    if found is None:
        raise Invalid("unknown_reason", f"reason must be one of {', '.join(r.code for r in offered)} for “{label.en}”.",
                      f"“{label.zh}”的原因必须为 {'、'.join(r.label_zh for r in offered)} 之一。", path="reason",
                      extra={"reasons": [r.code for r in offered]})
    return found
