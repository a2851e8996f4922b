"""Providers and referrals: the closed loop from a recommended service to its completion.

Statuses move along the table in api/referrals/workflow.yaml; any other move is a 409 naming the allowed
ones. Every change is kept in `referral_events`. A household has at most one open referral per service
(a UNIQUE constraint decides, also under concurrent requests).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.assessments.tables import Assessment
from api.audit import service as audit
from api.auth.access import Caller, Role, personal_view, require_household_reader, require_role, require_write
from api.db.base import utcnow
from api.encoding import iso
from api.errors import Conflict, Forbidden, Invalid, not_found
from api.geography.tables import Station, Town
from api.households.scope import household_scope
from api.households.service import load_household
from api.households.tables import Household
from api.referrals.tables import Provider, Referral, ReferralEvent
from api.referrals.workflow import workflow

PROVIDER_EDITORS = (Role.supervisor, Role.admin)


def provider_view(provider: Provider) -> dict:
    return {"id": provider.id, "name": provider.name, "kind": provider.kind, "services": provider.services,
            "capacity": provider.capacity, "town_id": provider.town_id, "contact": provider.contact,
            "active": provider.active, "created_at": iso(provider.created_at)}


def referral_view(referral: Referral, events: list[ReferralEvent] | None = None) -> dict:
    view = {"id": referral.id, "household_id": referral.household_id, "service_id": referral.service_id,
            "provider_id": referral.provider_id, "assessment_id": referral.assessment_id,
            "status": referral.status, "open": referral.open_slot is True, "reason": referral.reason,
            "note": referral.note,
            "feedback": None if referral.satisfaction is None else {"satisfaction": referral.satisfaction,
                                                                    "note": referral.feedback_note},
            "allowed": list(workflow().transitions.get(referral.status, ())),
            "created_by": referral.created_by, "created_at": iso(referral.created_at),
            "changed_at": iso(referral.changed_at)}
    if events is not None:
        view["history"] = [{"from": e.from_status, "to": e.to_status, "reason": e.reason,
                            "provider_id": e.provider_id, "user_id": e.user_id, "at": iso(e.at)} for e in events]
    return view


def _check_service(catalog, service_id: str, path: str = "service_id") -> None:
    if service_id not in catalog.service_by_id:
        raise Invalid("unknown_service", f"Unknown service item {service_id!r}.", f"未知服务项目 {service_id!r}。",
                      path=path)


def create_provider(*, session: Session, caller: Caller | None, catalog, name: str, kind: str,
                    services: list[str], capacity: int | None = None, town_id: int | None = None,
                    contact: str | None = None) -> dict:
    """A provider of the whole city (no town), or of one town: a supervisor's provider serves one of their
    towns or the whole city."""
    if caller is not None:
        require_role(caller, *PROVIDER_EDITORS)
    if town_id is not None:
        if session.get(Town, town_id) is None:
            raise not_found(f"Town {town_id}", f"镇街 {town_id}", "town_id")
        if caller is not None and caller.role is Role.supervisor and town_id not in caller.town_ids:
            raise Forbidden("out_of_scope", f"Town {town_id} is not one of your towns.",
                            f"镇街 {town_id} 不在您负责的镇街之内。", path="town_id")
    if kind not in workflow().provider_kinds:
        raise Invalid("unknown_provider_kind", f"kind must be one of {', '.join(workflow().provider_kinds)}.",
                      f"机构类型必须为 {'、'.join(workflow().provider_kinds)} 之一。", path="kind")
    for position, service_id in enumerate(services):
        _check_service(catalog, service_id, f"services.{position}")
    if town_id is not None and session.get(Town, town_id) is None:
        raise not_found(f"Town {town_id}", f"镇街 {town_id}", "town_id")
    if session.scalar(select(Provider.id).where(Provider.name == name)) is not None:
        raise Conflict("duplicate_provider", f"A provider named {name!r} exists already.",
                       f"名为 {name!r} 的服务机构已存在。", path="name")
    provider = Provider(name=name, kind=kind, services=list(dict.fromkeys(services)), capacity=capacity,
                        town_id=town_id, contact=contact, active=True)
    session.add(provider)
    session.flush()
    audit.record(session, caller, "create_provider", provider_id=provider.id)
    return provider_view(provider)


def list_providers(*, session: Session, service_id: str | None = None) -> list[dict]:
    providers = session.scalars(select(Provider).order_by(Provider.id)).all()
    return [provider_view(p) for p in providers if service_id is None or service_id in p.services]


def _provider(session: Session, provider_id: int, service_id: str) -> Provider:
    provider = session.get(Provider, provider_id)
    if provider is None:
        raise not_found(f"Provider {provider_id}", f"服务机构 {provider_id}", "provider_id")
    if service_id not in provider.services or not provider.active:
        raise Invalid("provider_does_not_offer", f"Provider {provider_id} does not offer {service_id!r}.",
                      f"服务机构 {provider_id} 不提供 {service_id!r}。", path="provider_id")
    if provider.capacity is not None:
        taken = session.scalar(select(func.count(Referral.id)).where(
            Referral.provider_id == provider.id, Referral.open_slot.is_(True), Referral.status != "recommended"))
        if taken >= provider.capacity:
            raise Conflict("provider_full", f"Provider {provider_id} has no free capacity ({provider.capacity}).",
                           f"服务机构 {provider_id} 已满额({provider.capacity})。", path="provider_id",
                           extra={"capacity": provider.capacity, "open": taken})
    return provider


def _event(session: Session, caller: Caller | None, referral: Referral, from_status: str | None,
           reason: str | None = None) -> None:
    session.add(ReferralEvent(referral_id=referral.id, from_status=from_status, to_status=referral.status,
                              reason=reason, provider_id=referral.provider_id, user_id=caller.id if caller else None))


def _load(session: Session, caller: Caller, referral_id: int, *, write: bool) -> Referral:
    if not write:
        require_household_reader(caller)
    referral = session.get(Referral, referral_id)
    if referral is None:
        raise not_found(f"Referral {referral_id}", f"转介 {referral_id}")
    _, station = load_household(session, referral.household_id)
    (require_write if write else personal_view)(caller, station.id, station.town_id)
    return referral


def create_referral(*, session: Session, caller: Caller, catalog, household_id: int, service_id: str,
                    provider_id: int | None = None, assessment_id: int | None = None,
                    note: str | None = None) -> dict:
    """Open a referral: `recommended` without a provider, `referred` with one."""
    household, station = load_household(session, household_id)
    require_write(caller, station.id, station.town_id)
    _check_service(catalog, service_id)
    if household.status != "active":
        raise Conflict("household_exited", f"Household {household_id} has exited.",
                       f"家庭 {household_id} 已退出。", path="household_id")
    if provider_id is not None:
        _provider(session, provider_id, service_id)
    if assessment_id is not None and session.scalar(select(Assessment.household_id).where(
            Assessment.id == assessment_id)) != household_id:
        raise not_found(f"Assessment {assessment_id} of household {household_id}",
                        f"家庭 {household_id} 的评估 {assessment_id}", "assessment_id")
    _refuse_duplicate(session, household_id, service_id)
    referral = Referral(household_id=household_id, service_id=service_id, provider_id=provider_id,
                        assessment_id=assessment_id, status="referred" if provider_id else "recommended",
                        open_slot=True, note=note, created_by=caller.id)
    session.add(referral)
    try:
        session.flush()
    except IntegrityError:  # a concurrent request opened the same service first
        session.rollback()
        _refuse_duplicate(session, household_id, service_id)
        raise
    _event(session, caller, referral, None)
    session.flush()
    return referral_view(referral, _history(session, referral.id))


def _refuse_duplicate(session: Session, household_id: int, service_id: str) -> None:
    existing = session.scalar(select(Referral.id).where(
        Referral.household_id == household_id, Referral.service_id == service_id, Referral.open_slot.is_(True)))
    if existing is not None:
        raise Conflict("duplicate_referral",
                       f"Household {household_id} already has open referral {existing} for {service_id!r}.",
                       f"家庭 {household_id} 已有服务 {service_id!r} 的未结转介 {existing}。", path="service_id",
                       extra={"existing_referral_id": existing})


def _history(session: Session, referral_id: int) -> list[ReferralEvent]:
    return list(session.scalars(select(ReferralEvent).where(ReferralEvent.referral_id == referral_id)
                                .order_by(ReferralEvent.id)))


def move(session: Session, caller: Caller | None, referral: Referral, to: str, *, reason: str | None = None,
         provider_id: int | None = None) -> None:
    """One status change along the table; 409 naming the allowed moves otherwise."""
    rules = workflow()
    if to not in rules.statuses:
        raise Invalid("unknown_status", f"to must be one of {', '.join(rules.statuses)}.",
                      f"to 必须为 {'、'.join(rules.statuses)} 之一。", path="to")
    allowed = rules.transitions.get(referral.status, ())
    if to not in allowed:
        current, wanted = rules.status_label(referral.status), rules.status_label(to)
        labels = [rules.status_label(status) for status in allowed]
        raise Conflict("transition_not_allowed",
                       f"A referral cannot move from “{current.en}” to “{wanted.en}”; allowed: "
                       f"{', '.join(label.en for label in labels) or 'none (final status)'}.",
                       f"转介不能从“{current.zh}”变为“{wanted.zh}”;允许:"
                       f"{'、'.join(label.zh for label in labels) or '无(终态)'}。",
                       path="to", extra={"from": referral.status, "allowed": list(allowed)})
    if to in rules.reason_required and not (reason and reason.strip()):
        label = rules.status_label(to)
        raise Invalid("reason_required", f"Moving to “{label.en}” needs a reason.", f"变为“{label.zh}”须填写原因。",
                      path="reason")
    if provider_id is not None:
        _provider(session, provider_id, referral.service_id)
        referral.provider_id = provider_id
    if to in rules.provider_required and referral.provider_id is None:
        raise Invalid("provider_required", f"Moving to {to} needs a provider.", f"变为 {to} 须指定服务机构。",
                      path="provider_id")
    from_status = referral.status
    referral.status, referral.changed_at = to, utcnow()
    referral.open_slot = True if to in rules.open else None
    if to in rules.reason_required:
        referral.reason = reason
    _event(session, caller, referral, from_status, reason)


def transition(*, session: Session, caller: Caller, referral_id: int, to: str, reason: str | None = None,
               provider_id: int | None = None) -> dict:
    referral = _load(session, caller, referral_id, write=True)
    move(session, caller, referral, to, reason=reason, provider_id=provider_id)
    session.flush()
    return referral_view(referral, _history(session, referral.id))


def add_feedback(*, session: Session, caller: Caller, referral_id: int, satisfaction: int,
                 note: str | None = None) -> dict:
    """The household's feedback on a completed referral (satisfaction 1-5)."""
    referral = _load(session, caller, referral_id, write=True)
    if referral.status != "completed":
        raise Conflict("not_completed", "Feedback can be given on a completed referral only.",
                       "只能对已完成的转介填写反馈。", path="satisfaction",
                       extra={"referral_status": referral.status})
    if not 1 <= satisfaction <= 5:
        raise Invalid("out_of_range", "satisfaction must be 1-5.", "满意度须为 1-5。", path="satisfaction")
    referral.satisfaction, referral.feedback_note = satisfaction, note
    session.flush()
    audit.record(session, caller, "referral_feedback", household_id=referral.household_id, referral_id=referral.id)
    return referral_view(referral, _history(session, referral.id))


def get_referral(*, session: Session, caller: Caller, referral_id: int) -> dict:
    referral = _load(session, caller, referral_id, write=False)
    return referral_view(referral, _history(session, referral.id))


def _scoped(caller: Caller):
    return (select(Referral).join(Household, Referral.household_id == Household.id)
            .join(Station, Household.station_id == Station.id).where(household_scope(caller)))


def list_referrals(*, session: Session, caller: Caller, household_id: int | None = None,
                   status: str | None = None, provider_id: int | None = None, service_id: str | None = None,
                   limit: int = 100, offset: int = 0) -> dict:
    """Referrals of the households in the caller's scope, newest first (not for analysts: the pipeline is
    theirs)."""
    require_household_reader(caller)
    query = _scoped(caller)
    for column, value in ((Referral.household_id, household_id), (Referral.status, status),
                          (Referral.provider_id, provider_id), (Referral.service_id, service_id)):
        if value is not None:
            query = query.where(column == value)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(Referral.id.desc()).limit(limit).offset(offset)).all()
    return {"total": total, "limit": limit, "offset": offset, "items": [referral_view(r) for r in rows]}


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def pipeline(*, session: Session, caller: Caller, overdue_days: int, now: datetime | None = None) -> dict:
    """Per provider and service item: open, overdue (open with no change for `overdue_days`), completed,
    declined (with the reasons and their counts), cancelled; scoped to the caller's households."""
    require_role(caller, Role.supervisor, Role.admin, Role.analyst)
    now = now or datetime.now(timezone.utc)
    limit = now - timedelta(days=overdue_days)
    rows = session.execute(_scoped(caller).with_only_columns(
        Referral.provider_id, Referral.service_id, Referral.status, Referral.open_slot, Referral.reason,
        Referral.changed_at)).all()
    groups: dict[tuple, dict] = {}
    reasons: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for provider_id, service_id, status, open_slot, reason, changed_at in rows:
        key = (provider_id, service_id)
        group = groups.setdefault(key, {"provider_id": provider_id, "service_id": service_id, "open": 0,
                                        "overdue": 0, "completed": 0, "declined": 0, "cancelled": 0})
        if open_slot:
            group["open"] += 1
            group["overdue"] += _aware(changed_at) < limit
        elif status in group:
            group[status] += 1
        if status == "declined":
            reasons[key][reason or ""] += 1
    items = []
    for key in sorted(groups, key=lambda k: (k[0] is None, k[0] or 0, k[1])):
        items.append({**groups[key], "declined_reasons": dict(sorted(reasons[key].items()))})
    return {"overdue_days": overdue_days, "as_of": iso(now), "items": items}


def close_open(session: Session, caller: Caller | None, *, household_id: int, reason: str) -> list[int]:
    """Cancel every open referral of a household with a reason (when it exits)."""
    open_ones = session.scalars(select(Referral).where(Referral.household_id == household_id,
                                                       Referral.open_slot.is_(True))).all()
    for referral in open_ones:
        move(session, caller, referral, "cancelled", reason=reason)
    session.flush()
    return [r.id for r in open_ones]
