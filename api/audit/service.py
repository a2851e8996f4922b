"""The audit log: every read or change of personal data and every override."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from api.audit.tables import AuditEntry
from api.auth.access import Caller, Role, require_role
from api.db.base import utcnow
from api.encoding import iso


def record(session: Session, caller: Caller | None, action: str, *, household_id: int | None = None,
           assessment_id: int | None = None, **details) -> None:
    """Add one entry to the audit log, in the caller's transaction (never plaintext personal data)."""
    session.add(AuditEntry(user_id=caller.id if caller else None, action=action, household_id=household_id,
                           assessment_id=assessment_id, details=details))


def record_reads(session: Session, caller: Caller, household_ids: list[int], action: str = "read_personal") -> None:
    """One entry per household, written as one multi-row INSERT."""
    if household_ids:
        at = utcnow()
        session.execute(insert(AuditEntry), [{"user_id": caller.id, "action": action, "household_id": household_id,
                                              "details": {}, "at": at} for household_id in household_ids])


def audit_view(entry: AuditEntry) -> dict:
    return {"id": entry.id, "at": iso(entry.at), "user_id": entry.user_id, "action": entry.action,
            "household_id": entry.household_id, "assessment_id": entry.assessment_id, "details": entry.details}


def list_entries(*, session: Session, caller: Caller, household_id: int | None = None, user_id: int | None = None,
                 action: str | None = None, limit: int = 100, offset: int = 0) -> list[dict]:
    """Newest first; admins only."""
    require_role(caller, Role.admin)
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit).offset(offset)
    for column, value in ((AuditEntry.household_id, household_id), (AuditEntry.user_id, user_id),
                          (AuditEntry.action, action)):
        if value is not None:
            query = query.where(column == value)
    return [audit_view(entry) for entry in session.scalars(query)]
