"""Early warning before extreme weather: a supervisor declares an event (kind, towns, dates); the households on
file at risk in those towns are listed by the rules of `warning.yaml` from their latest assessment's answers,
frozen at declaration, per station, highest risk first with the reasons; each has a checklist (contacted, visited,
supplies delivered) whose progress is tracked."""

from __future__ import annotations

import io
from datetime import date

import pandas as pd
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from api.assessments.frames import latest_frame
from api.assessments.tables import HouseholdLatest
from api.audit import service as audit
from api.auth.access import (Caller, PersonalView, Role, personal_view, require_role, require_write,
                             scope_filter)
from api.db.base import utcnow
from api.discovery.definitions import WarningRules
from api.discovery.service import insert_frame
from api.discovery.tables import WarningEvent, WarningHousehold
from api.encoding import iso
from api.errors import Invalid, forbidden, not_found
from api.discovery import logic
from api.geography.tables import Town
from api.households.tables import Household
from api.security import Keys, decrypt_json, masked_personal

STEPS = ("contacted", "visited", "supplies_delivered")


def _event_view(event: WarningEvent, rules: WarningRules) -> dict:
    label = rules.events.get(event.kind)
    return {"id": event.id, "kind": event.kind, "label_zh": label.zh if label else event.kind,
            "label_en": label.en if label else event.kind, "town_ids": list(event.town_ids),
            "starts_on": event.starts_on.isoformat(), "ends_on": event.ends_on.isoformat(), "note": event.note,
            "declared_by": event.declared_by, "declared_at": iso(event.declared_at)}


def _check_towns(session: Session, caller: Caller, town_ids: list[int]) -> list[int]:
    towns = sorted(set(town_ids))
    if not towns:
        raise Invalid("towns_required", "Name at least one town.", "请至少指定一个镇街。", path="town_ids")
    known = set(session.scalars(select(Town.id).where(Town.id.in_(towns))))
    for position, town in enumerate(town_ids):
        if town not in known:
            raise not_found(f"Town {town}", f"镇街 {town}", f"town_ids.{position}")
    if caller.role is Role.supervisor and not set(towns) <= caller.town_ids:
        raise forbidden()
    return towns


def declare(*, session: Session, caller: Caller, rules: WarningRules, catalog, kind: str, town_ids: list[int],
            starts_on: date, ends_on: date, note: str | None) -> dict:
    """Declare an event (supervisors for their towns, admins) and freeze its list: every active household served
    in those towns whose latest assessment passes a rule for the event, with its risk and reasons. Audited."""
    require_role(caller, Role.supervisor, Role.admin)
    if kind not in rules.events:
        raise Invalid("unknown_event", f"kind must be one of {', '.join(rules.events)}.",
                      f"事件类型必须为 {'、'.join(rules.events)} 之一。", path="kind")
    if ends_on < starts_on:
        raise Invalid("dates_reversed", "The event cannot end before it starts.", "结束日期不能早于开始日期。",
                      path="ends_on")
    towns = _check_towns(session, caller, town_ids)
    event = WarningEvent(kind=kind, town_ids=towns, starts_on=starts_on, ends_on=ends_on,
                         note=(note or "").strip() or None, declared_by=caller.id)
    session.add(event)
    session.flush()
    at_risk = households_at_risk(session=session, rules=rules, catalog=catalog, kind=kind, town_ids=towns)
    insert_frame(session, WarningHousehold.__table__, at_risk.assign(event_id=event.id))
    audit.record(session, caller, "declare_warning", event_id=event.id, kind=kind, towns=towns,
                 households=int(len(at_risk)))
    return {**_event_view(event, rules), "households": int(len(at_risk))}


def households_at_risk(*, session: Session, rules: WarningRules, catalog, kind: str,
                       town_ids: list[int]) -> pd.DataFrame:
    """The households at risk now (not frozen): household_id, station_id, town_id, risk, reasons; highest risk
    first. The latest answers are read column-wise (api.assessments.frames) and the rules applied set-wise."""
    scope = and_(HouseholdLatest.town_id.in_(town_ids), HouseholdLatest.status == "active")
    frame = latest_frame(session, catalog, scope=scope)
    return logic.warning_risks(frame, rules.rules, kind)


def _event(session: Session, caller: Caller, event_id: int) -> WarningEvent:
    event = session.get(WarningEvent, event_id)
    if event is None:
        raise not_found(f"Event {event_id}", f"预警事件 {event_id}", "event_id")
    if caller.role is Role.caseworker and not _station_in_towns(session, caller.station_id, event.town_ids):
        raise forbidden()
    if caller.role is Role.supervisor and not set(event.town_ids) & caller.town_ids:
        raise forbidden()
    if caller.role is Role.analyst:
        raise forbidden()
    return event


def _station_in_towns(session: Session, station_id: int | None, town_ids) -> bool:
    from api.geography.tables import Station

    if station_id is None:
        return False
    return session.scalar(select(Station.town_id).where(Station.id == station_id)) in set(town_ids)


def _list_scope(caller: Caller):
    return scope_filter(caller, WarningHousehold.station_id, WarningHousehold.town_id)


def list_events(*, session: Session, caller: Caller, rules: WarningRules) -> list[dict]:
    """The events whose towns touch the caller's scope (admins: all), newest first."""
    require_role(caller, Role.caseworker, Role.supervisor, Role.admin)
    events = session.scalars(select(WarningEvent).order_by(WarningEvent.id.desc())).all()
    if caller.role is Role.supervisor:
        events = [e for e in events if set(e.town_ids) & caller.town_ids]
    elif caller.role is Role.caseworker:
        events = [e for e in events if _station_in_towns(session, caller.station_id, e.town_ids)]
    return [_event_view(e, rules) for e in events]


def progress(*, session: Session, caller: Caller, rules: WarningRules, event_id: int) -> dict:
    """The event and, per station in scope, the households at risk and how many have each step done."""
    event = _event(session, caller, event_id)
    done = [func.sum(case((getattr(WarningHousehold, f"{step}_at").isnot(None), 1), else_=0)).label(step)
            for step in STEPS]
    rows = session.execute(select(WarningHousehold.station_id, WarningHousehold.town_id,
                                  func.count().label("households"), *done)
                           .where(WarningHousehold.event_id == event_id, _list_scope(caller))
                           .group_by(WarningHousehold.station_id, WarningHousehold.town_id)
                           .order_by(WarningHousehold.station_id)).all()
    stations = [{"station_id": r.station_id, "town_id": r.town_id, "households": r.households,
                 **{step: int(getattr(r, step) or 0) for step in STEPS}} for r in rows]
    return {**_event_view(event, rules), "stations": stations}


def _reasons(rules: WarningRules, ids) -> list[dict]:
    by_id = {rule.id: rule for rule in rules.rules}
    return [{"rule": i, "reason_zh": by_id[i].reason.zh if i in by_id else i,
             "reason_en": by_id[i].reason.en if i in by_id else i, "risk": by_id[i].risk if i in by_id else 0}
            for i in ids]


def _item(row: WarningHousehold, personal: dict, rules: WarningRules) -> dict:
    return {"household_id": row.household_id, "station_id": row.station_id, "town_id": row.town_id,
            "risk": row.risk, "reasons": _reasons(rules, row.reasons), "name": personal.get("name"),
            "phone": personal.get("phone"),
            **{step: {"done": getattr(row, f"{step}_at") is not None, "at": iso(getattr(row, f"{step}_at")),
                      "by": getattr(row, f"{step}_by")} for step in STEPS}}


def event_households(*, session: Session, caller: Caller, keys: Keys, rules: WarningRules, event_id: int,
                     station_id: int | None = None, limit: int | None = 100, offset: int = 0) -> dict:
    """The frozen list of an event in scope: highest risk first (then household id), with the reasons, the name
    and phone to reach them (masked for admins) and the checklist. Audited."""
    _event(session, caller, event_id)
    condition = and_(WarningHousehold.event_id == event_id, _list_scope(caller))
    if station_id is not None:
        condition = and_(condition, WarningHousehold.station_id == station_id)
    total = session.scalar(select(func.count()).select_from(WarningHousehold).where(condition))
    query = select(WarningHousehold, Household.personal) \
        .join(Household, Household.id == WarningHousehold.household_id).where(condition) \
        .order_by(WarningHousehold.risk.desc(), WarningHousehold.household_id).offset(offset)
    rows = session.execute(query if limit is None else query.limit(limit)).all()
    items = []
    for row, encrypted in rows:
        personal = decrypt_json(keys, encrypted)
        view = personal_view(caller, row.station_id, row.town_id)
        items.append(_item(row, masked_personal(personal) if view is PersonalView.masked else personal, rules))
    audit.record_reads(session, caller, [item["household_id"] for item in items], action="read_warning_list",
                       event_id=event_id)
    return {"event_id": event_id, "total": total, "limit": limit, "offset": offset, "items": items}


def export_households(*, session: Session, caller: Caller, keys: Keys, rules: WarningRules, event_id: int,
                      station_id: int | None = None) -> bytes:
    """The whole list (in scope) as CSV, UTF-8 with BOM: one column per checklist step."""
    listed = event_households(session=session, caller=caller, keys=keys, rules=rules, event_id=event_id,
                              station_id=station_id, limit=None)
    frame = pd.DataFrame([{"household_id": i["household_id"], "station_id": i["station_id"], "risk": i["risk"],
                           "reasons": ";".join(r["reason_zh"] for r in i["reasons"]), "name": i["name"],
                           "phone": i["phone"], **{step: "✓" if i[step]["done"] else "" for step in STEPS}}
                          for i in listed["items"]],
                         columns=["household_id", "station_id", "risk", "reasons", "name", "phone", *STEPS])
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def tick(*, session: Session, caller: Caller, keys: Keys, rules: WarningRules, event_id: int, household_id: int,
         steps: dict[str, bool]) -> dict:
    """Tick (or untick) checklist steps of a household on an event's list: a caseworker of its station or a
    supervisor of its town. Audited."""
    _event(session, caller, event_id)
    row = session.get(WarningHousehold, (event_id, household_id))
    if row is None:
        raise not_found(f"Household {household_id} on the list of event {event_id}",
                        f"预警事件 {event_id} 清单中的家庭 {household_id}", "household_id")
    require_write(caller, row.station_id, row.town_id)
    now = utcnow()
    for step, done in steps.items():
        if done and getattr(row, f"{step}_at") is None:
            setattr(row, f"{step}_at", now)
            setattr(row, f"{step}_by", caller.id)
        elif not done:
            setattr(row, f"{step}_at", None)
            setattr(row, f"{step}_by", None)
    session.flush()
    audit.record(session, caller, "warning_checklist", household_id=household_id, event_id=event_id,
                 steps={k: bool(v) for k, v in steps.items()})
    personal = decrypt_json(keys, session.get(Household, household_id).personal)
    view = personal_view(caller, row.station_id, row.town_id)
    return _item(row, masked_personal(personal) if view is PersonalView.masked else personal, rules)
