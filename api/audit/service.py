"""The audit log: every read or change of personal data and every override."""

from __future__ import annotations

from datetime import date, datetime, time, timezone

from sqlalchemy import JSON, Integer, String, bindparam, func, insert, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from api.audit.tables import AuditEntry
from api.auth.access import Caller, Role, require_role
from api.db.base import utcnow
from api.encoding import iso
from api.errors import Invalid


def record(session: Session, caller: Caller | None, action: str, *, household_id: int | None = None,
           assessment_id: int | None = None, **details) -> None:
    """Add one entry to the audit log, in the caller's transaction (never plaintext personal data)."""
    session.add(AuditEntry(user_id=caller.id if caller else None, action=action, household_id=household_id,
                           assessment_id=assessment_id, details=details))


def record_reads(session: Session, caller: Caller, household_ids: list[int], action: str = "read_personal",
                 **details) -> None:
    """One entry per household (with the same `details`), written by one INSERT ... SELECT over the ids
    passed as one array parameter: one statement and one round trip also for an export of 100,000 rows."""
    if not household_ids:
        return
    if session.get_bind().dialect.name == "postgresql":
        ids = func.unnest(bindparam("ids", type_=ARRAY(Integer))).table_valued("value").render_derived()
    else:
        ids = func.json_each(bindparam("ids", type_=JSON)).table_valued("value")
    entries = select(literal(caller.id, Integer), literal(action, String), ids.c.value,
                     literal(details, JSON), literal(utcnow(), AuditEntry.at.type))
    columns = ["user_id", "action", "household_id", "details", "at"]
    session.execute(insert(AuditEntry.__table__).from_select(columns, entries), {"ids": list(household_ids)})


def audit_view(entry: AuditEntry) -> dict:
    return {"id": entry.id, "at": iso(entry.at), "user_id": entry.user_id, "action": entry.action,
            "household_id": entry.household_id, "assessment_id": entry.assessment_id, "details": entry.details}


def list_entries(*, session: Session, caller: Caller, household_id: int | None = None, user_id: int | None = None,
                 action: str | None = None, date_from: date | None = None, date_to: date | None = None,
                 limit: int = 100, offset: int = 0) -> list[dict]:
    """Newest first; admins only. `date_from` and `date_to` are days (UTC), both included."""
    require_role(caller, Role.admin)
    if date_from is not None and date_to is not None and date_from > date_to:
        raise Invalid("invalid_range", "date_from is after date_to.", "开始日期晚于结束日期。", path="date_from")
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit).offset(offset)
    for column, value in ((AuditEntry.household_id, household_id), (AuditEntry.user_id, user_id),
                          (AuditEntry.action, action)):
        if value is not None:
            query = query.where(column == value)
    if date_from is not None:
        query = query.where(AuditEntry.at >= datetime.combine(date_from, time(), timezone.utc))
    if date_to is not None:
        query = query.where(AuditEntry.at <= datetime.combine(date_to, time.max, timezone.utc))
    return [audit_view(entry) for entry in session.scalars(query)]
