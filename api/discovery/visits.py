"""Visit lists: the candidates of a station ranked by priority (each rule a reason), their visits (registered,
not eligible, not found), the overdue ones per station, the registration form's prefill, and the export."""

from __future__ import annotations

import io
from datetime import date

import pandas as pd
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from api.audit import service as audit
from api.auth.access import (Caller, PersonalView, Role, personal_view, require_household_reader, require_write,
                             scope_filter)
from api.db.base import utcnow
from api.discovery.definitions import Discovery
from api.discovery.tables import Candidate, DiscoveryRecord
from api.encoding import iso
from api.errors import Conflict, Invalid, forbidden, not_found
from api.households.tables import Household
from api.geography.tables import Station
from api.security import Keys, decrypt_json, mask

STATUSES = ("to_visit", "registered", "not_eligible", "not_found")
OUTCOMES = STATUSES[1:]


def candidate_scope(caller: Caller):
    """A filter on candidates to the caller's station (caseworker) or towns (supervisor); admins all."""
    require_household_reader(caller)
    return scope_filter(caller, Candidate.station_id, Candidate.town_id)


def _reasons(discovery: Discovery, ids: list[str]) -> list[dict]:
    rules = {rule.id: rule for rule in discovery.rules}
    return [{"rule": i, "reason_zh": rules[i].reason.zh if i in rules else i,
             "reason_en": rules[i].reason.en if i in rules else i,
             "priority": rules[i].priority if i in rules else 0} for i in ids]


def candidate_view(candidate: Candidate, personal: dict | None, view: PersonalView, discovery: Discovery,
                   today: date) -> dict:
    personal = personal or {}
    name, number, born = personal.get("name"), personal.get("id_number"), personal.get("birth_date")
    if view is PersonalView.masked:
        name, number, born = mask(name, 1, 0), mask(number, 0, 4), mask(born, 4, 0)
    return {"id": candidate.id, "station_id": candidate.station_id, "town_id": candidate.town_id,
            "priority": candidate.priority, "reasons": _reasons(discovery, list(candidate.reasons)),
            "status": candidate.status, "due_on": candidate.due_on.isoformat(),
            "overdue": candidate.status == "to_visit" and candidate.due_on < today,
            "name": name, "id_number": number, "birth_date": born, "household_id": candidate.household_id,
            "note": candidate.note, "visited_by": candidate.visited_by, "visited_at": iso(candidate.visited_at)}


def _rows(session: Session, condition, limit: int | None, offset: int):
    query = select(Candidate, DiscoveryRecord.personal).join(
        DiscoveryRecord, DiscoveryRecord.id == Candidate.contact_record_id).where(condition) \
        .order_by(Candidate.priority.desc(), Candidate.id).offset(offset)
    return session.execute(query if limit is None else query.limit(limit)).all()


def _condition(caller: Caller, station_id: int | None, status: str | None, overdue: bool, today: date):
    condition = candidate_scope(caller)
    if station_id is not None:
        condition = and_(condition, Candidate.station_id == station_id)
    if status is not None:
        condition = and_(condition, Candidate.status == status)
    if overdue:
        condition = and_(condition, Candidate.status == "to_visit", Candidate.due_on < today)
    return condition


def _view_of(caller: Caller, candidate: Candidate) -> PersonalView:
    return personal_view(caller, candidate.station_id, candidate.town_id)


def list_candidates(*, session: Session, caller: Caller, keys: Keys, discovery: Discovery, today: date,
                    station_id: int | None = None, status: str | None = None, overdue: bool = False,
                    limit: int = 100, offset: int = 0) -> dict:
    """The candidates in scope, highest priority first (then oldest); `overdue`: still to visit after their time
    limit. Caseworkers and supervisors see names in full, admins masked; the read is audited."""
    condition = _condition(caller, station_id, status, overdue, today)
    total = session.scalar(select(func.count()).select_from(Candidate).where(condition))
    rows = _rows(session, condition, limit, offset)
    items = [candidate_view(c, decrypt_json(keys, p) if p else None, _view_of(caller, c), discovery, today)
             for c, p in rows]
    if items:
        audit.record(session, caller, "read_candidates", candidate_ids=[item["id"] for item in items])
    return {"total": total, "limit": limit, "offset": offset, "items": items}


def export_candidates(*, session: Session, caller: Caller, keys: Keys, discovery: Discovery, today: date,
                      station_id: int | None = None, status: str | None = None, overdue: bool = False) -> bytes:
    """The whole filtered visit list as CSV (UTF-8 with BOM, for spreadsheets): the JSON items' columns, the
    reasons joined with ';'. Audited."""
    condition = _condition(caller, station_id, status, overdue, today)
    items = [candidate_view(c, decrypt_json(keys, p) if p else None, _view_of(caller, c), discovery, today)
             for c, p in _rows(session, condition, None, 0)]
    audit.record(session, caller, "export_candidates", rows=len(items))
    columns = ["id", "station_id", "town_id", "priority", "reasons", "status", "due_on", "overdue", "name",
               "id_number", "birth_date", "household_id", "note", "visited_by", "visited_at"]
    frame = pd.DataFrame([{**item, "reasons": ";".join(f"{r['rule']} {r['reason_zh']}" for r in item["reasons"])}
                          for item in items], columns=columns)
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _candidate(session: Session, candidate_id: int) -> Candidate:
    candidate = session.get(Candidate, candidate_id)
    if candidate is None:
        raise not_found(f"Candidate {candidate_id}", f"候选对象 {candidate_id}", "candidate_id")
    return candidate


def get_candidate(*, session: Session, caller: Caller, keys: Keys, discovery: Discovery, candidate_id: int,
                  today: date) -> dict:
    candidate = _candidate(session, candidate_id)
    view = _view_of(caller, candidate)
    record = session.get(DiscoveryRecord, candidate.contact_record_id)
    audit.record(session, caller, "read_candidates", candidate_ids=[candidate.id])
    return candidate_view(candidate, decrypt_json(keys, record.personal) if record.personal else None, view,
                          discovery, today)


def registration_prefill(*, session: Session, caller: Caller, keys: Keys, candidate_id: int) -> dict:
    """What the registration form starts with for a candidate visited and found eligible: the station, the name,
    the ID number and the birth year (the caller's station or towns only). Audited."""
    candidate = _candidate(session, candidate_id)
    require_write(caller, candidate.station_id, candidate.town_id)
    record = session.get(DiscoveryRecord, candidate.contact_record_id)
    personal = decrypt_json(keys, record.personal) if record.personal else {}
    audit.record(session, caller, "read_candidates", candidate_ids=[candidate.id], purpose="registration")
    born = personal.get("birth_date")
    return {"candidate_id": candidate.id, "station_id": candidate.station_id, "name": personal.get("name"),
            "id_number": personal.get("id_number"), "birth_year": int(born[:4]) if born else None}


def record_visit(*, session: Session, caller: Caller, keys: Keys, discovery: Discovery, candidate_id: int,
                 outcome: str, household_id: int | None, note: str | None, today: date) -> dict:
    """A visit's outcome, by a caseworker of the candidate's station or a supervisor of its town: `registered`
    (with the household registered for them, at a station of the caller's scope: its file then shows where it
    came from), `not_eligible` or `not_found`. A candidate visited already is a 409. Audited."""
    candidate = _candidate(session, candidate_id)
    require_write(caller, candidate.station_id, candidate.town_id)
    if outcome not in OUTCOMES:
        raise Invalid("invalid_outcome", f"outcome must be one of {', '.join(OUTCOMES)}.",
                      f"走访结果必须为 {'、'.join(OUTCOMES)} 之一。", path="outcome")
    if candidate.status != "to_visit":
        raise Conflict("candidate_visited", f"Candidate {candidate_id} was visited already ({candidate.status}).",
                       f"候选对象 {candidate_id} 已走访({candidate.status})。", path="candidate_id")
    if (outcome == "registered") != (household_id is not None):
        raise Invalid("household_for_registered", "household_id is given with the outcome registered, and only then.",
                      "仅当走访结果为 registered 时须填写 household_id。", path="household_id")
    if household_id is not None:
        household = session.get(Household, household_id)
        if household is None:
            raise not_found(f"Household {household_id}", f"家庭 {household_id}", "household_id")
        station = session.get(Station, household.station_id)
        require_write(caller, station.id, station.town_id)
        taken = session.scalar(select(Candidate.id).where(Candidate.household_id == household_id))
        if taken is not None:
            raise Conflict("household_has_candidate", f"Household {household_id} came from candidate {taken} already.",
                           f"家庭 {household_id} 已关联候选对象 {taken}。", path="household_id")
    candidate.status, candidate.household_id = outcome, household_id
    candidate.note = (note or "").strip() or None
    candidate.visited_by, candidate.visited_at = caller.id, utcnow()
    session.flush()
    audit.record(session, caller, "visit_candidate", household_id=household_id, candidate_id=candidate.id,
                 outcome=outcome)
    record = session.get(DiscoveryRecord, candidate.contact_record_id)
    return candidate_view(candidate, decrypt_json(keys, record.personal) if record.personal else None,
                          _view_of(caller, candidate), discovery, today)


def visits_by_station(*, session: Session, caller: Caller, today: date) -> list[dict]:
    """Per station in scope: candidates to visit, overdue, and each outcome (the supervisor's list)."""
    counts = [func.sum(case((Candidate.status == s, 1), else_=0)).label(s) for s in STATUSES]
    overdue = func.sum(case((and_(Candidate.status == "to_visit", Candidate.due_on < today), 1), else_=0))
    rows = session.execute(select(Candidate.station_id, Candidate.town_id, *counts, overdue.label("overdue"))
                           .where(candidate_scope(caller)).group_by(Candidate.station_id, Candidate.town_id)
                           .order_by(Candidate.station_id)).all()
    return [{"station_id": r.station_id, "town_id": r.town_id, **{s: int(getattr(r, s) or 0) for s in STATUSES},
             "overdue": int(r.overdue or 0), "as_of": today.isoformat()} for r in rows]


def household_origin(session: Session, household_id: int) -> dict | None:
    """Where a household registered from a visit list came from: the candidate, the rules that found them, when."""
    candidate = session.scalar(select(Candidate).where(Candidate.household_id == household_id))
    if candidate is None:
        return None
    return {"candidate_id": candidate.id, "reasons": list(candidate.reasons), "visited_by": candidate.visited_by,
            "visited_at": iso(candidate.visited_at), "found_at": iso(candidate.created_at)}


def assign_station(*, session: Session, caller: Caller, keys: Keys, discovery: Discovery, candidate_id: int,
                   station_id: int, today: date) -> dict:
    """A supervisor of the candidate's town (or an admin) gives a candidate still to visit to another station of
    the same town (candidates join their town's first station). Audited."""
    candidate = _candidate(session, candidate_id)
    if caller.role not in (Role.supervisor, Role.admin):
        raise forbidden()
    require_write(caller, candidate.station_id, candidate.town_id)
    station = session.get(Station, station_id)
    if station is None:
        raise not_found(f"Station {station_id}", f"驿站 {station_id}", "station_id")
    if station.town_id != candidate.town_id:
        raise Invalid("other_town", f"Station {station_id} is not in the candidate's town.",
                      f"驿站 {station_id} 不在该候选对象所在镇街。", path="station_id")
    if candidate.status != "to_visit":
        raise Conflict("candidate_visited", f"Candidate {candidate_id} was visited already ({candidate.status}).",
                       f"候选对象 {candidate_id} 已走访({candidate.status})。", path="candidate_id")
    previous, candidate.station_id = candidate.station_id, station_id
    session.flush()
    audit.record(session, caller, "assign_candidate", candidate_id=candidate.id, from_station_id=previous,
                 to_station_id=station_id)
    record = session.get(DiscoveryRecord, candidate.contact_record_id)
    return candidate_view(candidate, decrypt_json(keys, record.personal) if record.personal else None,
                          _view_of(caller, candidate), discovery, today)
