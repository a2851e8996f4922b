"""Referrals: the closed loop from a recommended service to its delivery and the household's feedback.

A referral moves along the table of api/referrals/workflow.yaml (FHIR Task status codes): the household's
station (its caseworker, its town's supervisor) refers and cancels; the provider it is sent to receives,
accepts or declines, schedules, records deliveries, pauses, completes or fails it. A declined or failed
referral goes back to the station with its reason, to refer elsewhere (the new referral follows the old one)
or to close. Every move is a row of `referral_events` (who, when, why) and an audit entry, and raises the
referral's `version`: a move names the version it was made on, and a move on an older version is a 409, so
two moves made at once never both succeed. A referral with no move by its `due_at` is overdue.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import and_, case, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import set_committed_value

from api.assessments.tables import Assessment
from api.audit import service as audit
from api.auth.access import Caller, Role, in_scope, require_household_reader, require_role
from api.auth.tables import User
from api.db.base import utcnow
from api.encoding import iso
from api.errors import Conflict, Forbidden, Invalid, forbidden, not_found
from api.exports import table_file
from api.geography.tables import Station
from api.households.scope import household_scope
from api.households.service import load_household
from api.households.tables import Household
from api.referrals.providers import check_service, provider_for
from api.referrals.reasons import chosen_reason
from api.referrals.tables import Provider, Referral, ReferralDelivery, ReferralEvent
from api.referrals.workflow import Side, workflow
from api.security import Keys, decrypt_json, listed_id_number, mask, masked_personal

PIPELINE_ROLES = (Role.supervisor, Role.admin, Role.analyst)
SCHEDULE_AHEAD = timedelta(days=366)
FOLLOWER = aliased(Referral)


def _aware(moment: datetime | None) -> datetime | None:
    return moment if moment is None or moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _returned(referral: Referral, followed_by: int | None) -> bool:
    """Declined or failed, and the station has neither referred elsewhere nor closed it yet."""
    return referral.status in workflow().returned and followed_by is None and referral.acknowledged_at is None


def caller_actions(referral: Referral, side: Side | None, followed_by: int | None) -> tuple[list[str], list[str]]:
    """The statuses the caller may move the referral to, and the other moves they may make on it."""
    rules = workflow()
    moves = [to for to, by in rules.moves.get(referral.status, {}).items() if by is side]
    actions = []
    if side is Side.provider:
        actions += ["schedule"] if referral.status in rules.schedule_in else []
        actions += ["delivery"] if referral.status in rules.deliveries_in else []
    if side is Side.station:
        actions += ["feedback"] if referral.status in rules.feedback_in else []
        actions += ["refer_elsewhere", "close_returned"] if _returned(referral, followed_by) else []
    return moves, actions


def referral_view(referral: Referral, *, side: Side | None, contact: dict | None, followed_by: int | None = None,
                  now: datetime | None = None) -> dict:
    now = now or utcnow()
    moves, actions = caller_actions(referral, side, followed_by)
    due_at = _aware(referral.due_at)
    return {"id": referral.id, "household_id": referral.household_id, "service_id": referral.service_id,
            "provider_id": referral.provider_id, "assessment_id": referral.assessment_id,
            "follows_id": referral.follows_id, "followed_by": followed_by, "status": referral.status,
            "version": referral.version, "open": referral.open_slot is True, "due_at": iso(due_at),
            "overdue": due_at is not None and due_at < now, "returned": _returned(referral, followed_by),
            "reason_code": referral.reason_code, "reason": referral.reason, "reason_en": referral.reason_en,
            "note": referral.note,
            "scheduled_on": referral.scheduled_on.isoformat() if referral.scheduled_on else None,
            "outcome": referral.outcome, "outcome_note": referral.outcome_note,
            "feedback": None if referral.satisfaction is None else {
                "satisfaction": referral.satisfaction, "outcome": referral.feedback_outcome,
                "note": referral.feedback_note},
            "acknowledged_at": iso(referral.acknowledged_at), "contact": contact,
            "allowed": list(workflow().allowed(referral.status)), "caller_moves": moves, "caller_actions": actions,
            "created_by": referral.created_by, "created_at": iso(referral.created_at),
            "changed_at": iso(referral.changed_at)}


def _side(caller: Caller, referral: Referral, station_id: int, town_id: int) -> Side | None:
    """Which side of the referral the caller is on: its household's station, its provider, or neither."""
    if caller.role is Role.provider:
        return Side.provider if caller.provider_id is not None and referral.provider_id == caller.provider_id \
            and referral.status != "draft" else None
    return Side.station if in_scope(caller, station_id, town_id) else None


def _contact(keys: Keys, household: Household, side: Side | None) -> tuple[dict, bool]:
    """What a referral shows of its household, and whether it shows name and phone in full (an audited read):
    the least a provider needs to deliver (name, phone; the ID number masked but its last 4 characters), the
    station the same with the ID number as its lists show it, an administrator everything masked."""
    personal = decrypt_json(keys, household.personal)
    if side is Side.provider:
        return {"name": personal.get("name"), "phone": personal.get("phone"),
                "id_number": mask(personal.get("id_number"), 0, 4)}, True
    if side is Side.station:
        return {"name": personal.get("name"), "phone": personal.get("phone"),
                "id_number": listed_id_number(personal.get("id_number"))}, True
    return masked_personal(personal), False


def _history(session: Session, referral_id: int) -> list[dict]:
    rows = session.execute(select(ReferralEvent, User.name).outerjoin(User, User.id == ReferralEvent.user_id)
                           .where(ReferralEvent.referral_id == referral_id).order_by(ReferralEvent.id)).all()
    return [{"kind": e.kind, "from": e.from_status, "to": e.to_status, "reason_code": e.reason_code,
             "reason": e.reason, "reason_en": e.reason_en, "note": e.note, "details": e.details,
             "provider_id": e.provider_id, "user_id": e.user_id, "user_name": name, "at": iso(e.at)}
            for e, name in rows]


def _deliveries(session: Session, referral_id: int) -> list[dict]:
    rows = session.scalars(select(ReferralDelivery).where(ReferralDelivery.referral_id == referral_id)
                           .order_by(ReferralDelivery.delivered_on, ReferralDelivery.id))
    return [{"id": d.id, "delivered_on": d.delivered_on.isoformat(), "description": d.description, "units": d.units,
             "recorded_by": d.recorded_by, "recorded_at": iso(d.recorded_at)} for d in rows]


def histories(*, session: Session, referral_ids: list[int]) -> dict[int, list[dict]]:
    """The history of each of these referrals (no personal data: for pages that list them with their history)."""
    return {referral_id: _history(session, referral_id) for referral_id in referral_ids}


def _followers(session: Session, referral_ids: list[int]) -> dict[int, int]:
    """The referral that follows each of these (a referral elsewhere after a decline or a failure)."""
    if not referral_ids:
        return {}
    return dict(session.execute(select(Referral.follows_id, Referral.id)
                                .where(Referral.follows_id.in_(referral_ids))).all())


def _load(session: Session, caller: Caller, referral_id: int) -> tuple[Referral, Household, Side | None]:
    """The referral, its household and the caller's side; 403 when the caller may not see it (the same answer
    whatever the referral), 404 when there is none."""
    if caller.role is not Role.provider:
        require_household_reader(caller)
    referral = session.get(Referral, referral_id)
    if referral is None:
        raise not_found(f"Referral {referral_id}", f"转介 {referral_id}")
    household, station = load_household(session, referral.household_id)
    side = _side(caller, referral, station.id, station.town_id)
    if side is None and caller.role is not Role.admin:
        raise forbidden()
    return referral, household, side


def _detail(session: Session, caller: Caller, keys: Keys, referral: Referral, household: Household,
            side: Side | None) -> dict:
    """The referral with its history and deliveries, as the caller sees it (a read of personal data audited)."""
    contact, full = _contact(keys, household, side)
    if full:
        audit.record(session, caller, "read_personal", household_id=household.id, referral_id=referral.id)
    view = referral_view(referral, side=side, contact=contact, followed_by=_followers(session, [referral.id])
                         .get(referral.id))
    return {**view, "history": _history(session, referral.id), "deliveries": _deliveries(session, referral.id)}


def get_referral(*, session: Session, caller: Caller, keys: Keys, referral_id: int) -> dict:
    referral, household, side = _load(session, caller, referral_id)
    return _detail(session, caller, keys, referral, household, side)


def _acting(session: Session, caller: Caller, referral_id: int, side: Side, action_en: str,
            action_zh: str) -> tuple[Referral, Household]:
    """The referral the caller acts on, when they are on `side` of it (else 403 naming who acts)."""
    referral, household, caller_side = _load(session, caller, referral_id)
    if caller_side is not side:
        raise _not_yours(side, action_en, action_zh)
    return referral, household


def _not_yours(side: Side, action_en: str, action_zh: str, path: str = "") -> Forbidden:
    who = ("the provider it is sent to", "接收转介的服务机构") if side is Side.provider else \
        ("the household's station", "家庭所在驿站")
    return Forbidden("not_your_move", f"Only {who[0]} may {action_en}.", f"只有{who[1]}可以{action_zh}。", path=path,
                     extra={"by": side.value})


def _stale(version: int, current: int) -> Conflict:
    return Conflict("stale_version", f"The referral changed since it was shown (version {version}, now {current}); "
                                     "reload it and try again.",
                    f"转介在显示后已被修改(版本 {version},当前 {current}),请刷新后重试。", path="version",
                    extra={"current_version": current})


def _claim(session: Session, referral: Referral, version: int) -> None:
    """Take the referral's next version for this move, or 409 when the move was made on an older one. The
    UPDATE only matches the version read: of two moves at once, the second finds the version gone (on
    PostgreSQL it waits for the first to commit, then matches no row) and changes nothing."""
    if version != referral.version:
        raise _stale(version, referral.version)
    claimed = session.execute(update(Referral).where(Referral.id == referral.id, Referral.version == version)
                              .values(version=version + 1).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        session.refresh(referral)
        raise _stale(version, referral.version)
    set_committed_value(referral, "version", version + 1)


def _record(session: Session, caller: Caller | None, referral: Referral, kind: str, from_status: str | None, *,
            reason=None, note: str | None = None, details: dict | None = None, action: str, moved_at: datetime) -> None:
    """One move in the history and the audit log; the referral's clock starts again (its due date moves on)."""
    referral.changed_at = moved_at
    referral.due_at = workflow().due_at(referral.status, moved_at)
    if referral.scheduled_on is not None and referral.due_at is not None:
        after_appointment = datetime.combine(referral.scheduled_on + timedelta(days=1), time(), timezone.utc)
        referral.due_at = max(referral.due_at, after_appointment)
    session.add(ReferralEvent(
        referral_id=referral.id, kind=kind, from_status=from_status, to_status=referral.status,
        reason_code=reason.code if reason else None, reason=reason.label_zh if reason else None,
        reason_en=reason.label_en if reason else None, note=note, details=details or {},
        provider_id=referral.provider_id, user_id=caller.id if caller else None, at=moved_at))
    audit.record(session, caller, action, household_id=referral.household_id, referral_id=referral.id, kind=kind,
                 status=referral.status, **({"from": from_status} if kind == "status" else {}),
                 **({"reason": reason.code} if reason else {}), **(details or {}))


def create_referral(*, session: Session, caller: Caller, keys: Keys, catalog, household_id: int, service_id: str,
                    provider_id: int | None = None, assessment_id: int | None = None, note: str | None = None,
                    follows: Referral | None = None) -> dict:
    """Open a referral: `requested` of a provider, or `draft` (a recommended service no provider has been
    asked for yet). Only the household's station refers."""
    household, station = load_household(session, household_id)
    if not in_scope(caller, station.id, station.town_id):
        raise forbidden()
    check_service(catalog, service_id)
    if household.status != "active":
        raise Conflict("household_exited", f"Household {household_id} has exited.",
                       f"家庭 {household_id} 已退出。", path="household_id")
    if provider_id is not None:
        provider_for(session, provider_id, service_id)
    if assessment_id is not None and session.scalar(select(Assessment.household_id).where(
            Assessment.id == assessment_id)) != household_id:
        raise not_found(f"Assessment {assessment_id} of household {household_id}",
                        f"家庭 {household_id} 的评估 {assessment_id}", "assessment_id")
    _refuse_duplicate(session, household_id, service_id)
    now = utcnow()
    status = "requested" if provider_id else "draft"
    referral = Referral(household_id=household_id, service_id=service_id, provider_id=provider_id,
                        assessment_id=assessment_id, follows_id=follows.id if follows else None, status=status,
                        version=1, open_slot=True, note=note, created_by=caller.id, created_at=now, changed_at=now)
    session.add(referral)
    try:
        session.flush()
    except IntegrityError:  # a concurrent request opened the same service first
        session.rollback()
        _refuse_duplicate(session, household_id, service_id)
        raise
    _record(session, caller, referral, "status", None, note=note, action="create_referral", moved_at=now,
            details={"follows": follows.id} if follows else None)
    session.flush()
    return _detail(session, caller, keys, referral, household, Side.station)


def _refuse_duplicate(session: Session, household_id: int, service_id: str) -> None:
    existing = session.scalar(select(Referral.id).where(
        Referral.household_id == household_id, Referral.service_id == service_id, Referral.open_slot.is_(True)))
    if existing is not None:
        raise Conflict("duplicate_referral",
                       f"Household {household_id} already has open referral {existing} for {service_id!r}.",
                       f"家庭 {household_id} 已有服务 {service_id!r} 的未结转介 {existing}。", path="service_id",
                       extra={"existing_referral_id": existing})


def _check_move(session: Session, referral: Referral, side: Side | None, to: str, *, reason_code: str | None,
                provider_id: int | None, outcome: str | None, system: bool = False):
    """The reason a move into `to` needs (None when it needs none), after checking the move against the table:
    a status that is none is a 422, a move the table does not have a 409 naming the allowed ones, a move made
    by the other side a 403, a missing reason, provider or outcome a 422 naming it."""
    rules = workflow()
    if to not in rules.statuses:
        raise Invalid("unknown_status", f"to must be one of {', '.join(rules.statuses)}.",
                      f"to 必须为 {'、'.join(rules.statuses)} 之一。", path="to")
    allowed = rules.allowed(referral.status)
    if to not in allowed:
        current, wanted = rules.status_label(referral.status), rules.status_label(to)
        labels = [rules.status_label(status) for status in allowed]
        raise Conflict("transition_not_allowed",
                       f"A referral cannot move from “{current.en}” to “{wanted.en}”; allowed: "
                       f"{', '.join(label.en for label in labels) or 'none (final status)'}.",
                       f"转介不能从“{current.zh}”变为“{wanted.zh}”;允许:"
                       f"{'、'.join(label.zh for label in labels) or '无(终态)'}。",
                       path="to", extra={"from": referral.status, "allowed": list(allowed)})
    by = rules.moves[referral.status][to]
    if not system and by is not side:
        wanted = rules.status_label(to)
        raise _not_yours(by, f"move a referral to “{wanted.en}”", f"将转介变为“{wanted.zh}”", path="to")
    reason = chosen_reason(session, to, reason_code, system=system) if to in rules.reason_required else None
    if provider_id is not None and to not in rules.provider_required:
        raise Invalid("provider_not_expected", "A provider is named only when referring.",
                      "只有转介时才指定服务机构。", path="provider_id")
    if to in rules.provider_required and provider_id is None and referral.provider_id is None:
        raise Invalid("provider_required", f"Moving to “{rules.status_label(to).en}” needs a provider.",
                      f"变为“{rules.status_label(to).zh}”须指定服务机构。", path="provider_id")
    if to in rules.outcome_required and outcome not in rules.outcomes:
        raise Invalid("outcome_required" if outcome is None else "unknown_outcome",
                      f"Moving to “{rules.status_label(to).en}” needs an outcome: {', '.join(rules.outcomes)}.",
                      f"变为“{rules.status_label(to).zh}”须选择结果:"
                      f"{'、'.join(label.zh for label in rules.outcomes.values())}。", path="outcome")
    if outcome is not None and to not in rules.outcome_required:
        raise Invalid("outcome_not_expected", "An outcome is given only on completion.", "只有完成时才填写结果。",
                      path="outcome")
    return reason


def _apply(session: Session, caller: Caller | None, referral: Referral, to: str, reason, *, note: str | None,
           provider_id: int | None, outcome: str | None, details: dict | None = None) -> None:
    rules = workflow()
    if provider_id is not None:
        provider_for(session, provider_id, referral.service_id)
        referral.provider_id = provider_id
    from_status = referral.status
    referral.status = to
    referral.open_slot = True if to in rules.open else None
    referral.reason_code, referral.reason, referral.reason_en = \
        (reason.code, reason.label_zh, reason.label_en) if reason else (None, None, None)
    if to in rules.outcome_required:
        referral.outcome, referral.outcome_note = outcome, note
    _record(session, caller, referral, "status", from_status, reason=reason, note=note, details=details,
            action="move_referral", moved_at=utcnow())


def move_referral(*, session: Session, caller: Caller, keys: Keys, referral_id: int, version: int, to: str,
                  reason: str | None = None, note: str | None = None, provider_id: int | None = None,
                  outcome: str | None = None) -> dict:
    """One status change along the table, made on `version` of the referral."""
    referral, household, side = _load(session, caller, referral_id)
    if side is None:
        raise forbidden()
    _claim(session, referral, version)
    chosen = _check_move(session, referral, side, to, reason_code=reason, provider_id=provider_id, outcome=outcome)
    _apply(session, caller, referral, to, chosen, note=note, provider_id=provider_id, outcome=outcome)
    session.flush()
    return _detail(session, caller, keys, referral, household, side)


def _check_day(value: date, *, earliest: date, latest: date, path: str, what_en: str, what_zh: str) -> None:
    if not earliest <= value <= latest:
        raise Invalid("date_out_of_range", f"{what_en} must be between {earliest} and {latest}.",
                      f"{what_zh}须在 {earliest} 至 {latest} 之间。", path=path,
                      extra={"earliest": earliest.isoformat(), "latest": latest.isoformat()})


def _in_status(referral: Referral, statuses: frozenset[str], action_en: str, action_zh: str, path: str) -> None:
    if referral.status not in statuses:
        rules = workflow()
        label = rules.status_label(referral.status)
        names = [rules.status_label(s) for s in rules.statuses if s in statuses]
        raise Conflict("not_in_status", f"A referral “{label.en}” cannot {action_en}; only one "
                                        f"{' or '.join(f'“{n.en}”' for n in names)}.",
                       f"“{label.zh}”的转介不能{action_zh},只有{'或'.join(f'“{n.zh}”' for n in names)}的可以。",
                       path=path, extra={"referral_status": referral.status})


def schedule(*, session: Session, caller: Caller, keys: Keys, referral_id: int, version: int, scheduled_on: date,
             note: str | None = None) -> dict:
    """The provider's appointment date; the referral is not overdue before the day after it."""
    referral, household = _acting(session, caller, referral_id, Side.provider, "schedule a referral", "安排转介")
    _claim(session, referral, version)
    _in_status(referral, workflow().schedule_in, "be scheduled", "安排", "scheduled_on")
    _check_day(scheduled_on, earliest=_aware(referral.created_at).date(), latest=utcnow().date() + SCHEDULE_AHEAD,
               path="scheduled_on", what_en="The appointment date", what_zh="预约日期")
    referral.scheduled_on = scheduled_on
    _record(session, caller, referral, "schedule", referral.status, note=note, action="schedule_referral",
            details={"scheduled_on": scheduled_on.isoformat()}, moved_at=utcnow())
    session.flush()
    return _detail(session, caller, keys, referral, household, Side.provider)


def record_delivery(*, session: Session, caller: Caller, keys: Keys, referral_id: int, version: int,
                    delivered_on: date, description: str, units: float) -> dict:
    """A delivery under the referral (the provider's): the day, what was delivered, how many units."""
    referral, household = _acting(session, caller, referral_id, Side.provider, "record a delivery", "登记服务")
    _claim(session, referral, version)
    _in_status(referral, workflow().deliveries_in, "record a delivery", "登记服务", "delivered_on")
    if not description.strip():
        raise Invalid("description_required", "Say what was delivered.", "请填写提供了什么服务。", path="description")
    _check_day(delivered_on, earliest=_aware(referral.created_at).date(), latest=utcnow().date() + timedelta(days=1),
               path="delivered_on", what_en="The delivery date", what_zh="服务日期")
    delivery = ReferralDelivery(referral_id=referral.id, delivered_on=delivered_on, description=description.strip(),
                                units=units, recorded_by=caller.id)
    session.add(delivery)
    session.flush()
    _record(session, caller, referral, "delivery", referral.status, action="record_delivery", moved_at=utcnow(),
            details={"delivery_id": delivery.id, "delivered_on": delivered_on.isoformat(), "units": units})
    session.flush()
    return _detail(session, caller, keys, referral, household, Side.provider)


def add_feedback(*, session: Session, caller: Caller, keys: Keys, referral_id: int, version: int, satisfaction: int,
                 outcome: str, note: str | None = None) -> dict:
    """The household's feedback (satisfaction 1-5, and whether the need was met), recorded by the station."""
    referral, household = _acting(session, caller, referral_id, Side.station, "record feedback", "填写反馈")
    _claim(session, referral, version)
    _in_status(referral, workflow().feedback_in, "take feedback", "填写反馈", "satisfaction")
    if outcome not in workflow().outcomes:
        raise Invalid("unknown_outcome", f"outcome must be one of {', '.join(workflow().outcomes)}.",
                      f"结果必须为 {'、'.join(label.zh for label in workflow().outcomes.values())} 之一。",
                      path="outcome")
    referral.satisfaction, referral.feedback_outcome, referral.feedback_note = satisfaction, outcome, note
    _record(session, caller, referral, "feedback", referral.status, note=note, action="referral_feedback",
            details={"satisfaction": satisfaction, "outcome": outcome}, moved_at=utcnow())
    session.flush()
    return _detail(session, caller, keys, referral, household, Side.station)


def _returned_one(session: Session, caller: Caller, referral_id: int, action_en: str,
                  action_zh: str) -> tuple[Referral, Household]:
    """A declined or failed referral the station has not followed up yet (else 409 saying what happened)."""
    referral, household = _acting(session, caller, referral_id, Side.station, action_en, action_zh)
    _in_status(referral, workflow().returned, action_en, action_zh, "")
    followed_by = _followers(session, [referral.id]).get(referral.id)
    if followed_by is not None or referral.acknowledged_at is not None:
        raise Conflict("already_followed_up", "This referral has been followed up already.", "该转介已处理过。",
                       extra={"followed_by": followed_by})
    return referral, household


def refer_elsewhere(*, session: Session, caller: Caller, keys: Keys, catalog, referral_id: int, version: int,
                    provider_id: int, note: str | None = None) -> dict:
    """After a decline or a failure, the same service from another provider: a new referral that follows the
    returned one (whose history stays, linked both ways)."""
    referral, _ = _returned_one(session, caller, referral_id, "refer elsewhere", "改转其他机构")
    if provider_id == referral.provider_id:
        raise Invalid("same_provider", "Choose another provider than the one that declined or failed.",
                      "请选择其他服务机构。", path="provider_id")
    _claim(session, referral, version)
    created = create_referral(session=session, caller=caller, keys=keys, catalog=catalog,
                              household_id=referral.household_id, service_id=referral.service_id,
                              provider_id=provider_id, assessment_id=referral.assessment_id, note=note,
                              follows=referral)
    _record(session, caller, referral, "referred_elsewhere", referral.status, note=note, action="refer_elsewhere",
            details={"next_referral_id": created["id"], "provider_id": provider_id}, moved_at=utcnow())
    session.flush()
    return created


def close_returned(*, session: Session, caller: Caller, keys: Keys, referral_id: int, version: int,
                   note: str | None = None) -> dict:
    """The station takes note of a declined or failed referral without referring elsewhere."""
    referral, household = _returned_one(session, caller, referral_id, "close a returned referral", "关闭退回的转介")
    _claim(session, referral, version)
    referral.acknowledged_at = utcnow()
    _record(session, caller, referral, "closed_return", referral.status, note=note, action="close_returned_referral",
            moved_at=referral.acknowledged_at)
    session.flush()
    return _detail(session, caller, keys, referral, household, Side.station)


def close_open(session: Session, caller: Caller | None, *, household_id: int, reason: str) -> list[int]:
    """Cancel every open referral of a household that exits, with the service's own reason (`reason`, the
    exit's, is kept in the history's details)."""
    open_ones = session.scalars(select(Referral).where(Referral.household_id == household_id,
                                                       Referral.open_slot.is_(True)).order_by(Referral.id)).all()
    for referral in open_ones:
        chosen = _check_move(session, referral, None, "cancelled", reason_code="household_exited", provider_id=None,
                             outcome=None, system=True)
        _claim(session, referral, referral.version)
        _apply(session, caller, referral, "cancelled", chosen, note=None, provider_id=None, outcome=None,
               details={"exit": reason})
    session.flush()
    return [r.id for r in open_ones]


# Lists, the pipeline and exports


def _scoped(caller: Caller):
    """Referrals the caller may list, with their household and station: a provider's are those sent to it; the
    others', those of their households (analysts none: the pipeline is theirs)."""
    query = (select(Referral, Household, Station.town_id).join(Household, Referral.household_id == Household.id)
             .join(Station, Household.station_id == Station.id))
    if caller.role is Role.provider:
        return query.where(Referral.provider_id == caller.provider_id, Referral.status != "draft")
    require_household_reader(caller)
    return query.where(household_scope(caller))


def _filtered(query, *, household_id=None, status=None, statuses=None, provider_id=None, service_id=None, open=None,
              overdue=None, returned=None, now: datetime):
    for column, value in ((Referral.household_id, household_id), (Referral.status, status),
                          (Referral.provider_id, provider_id), (Referral.service_id, service_id)):
        if value is not None:
            query = query.where(column == value)
    if statuses is not None:
        query = query.where(Referral.status.in_(statuses))
    if open is not None:
        query = query.where(Referral.open_slot.is_(True) if open else Referral.open_slot.is_(None))
    if overdue is not None:
        late = and_(Referral.open_slot.is_(True), Referral.due_at < now)
        query = query.where(late if overdue else ~late)
    if returned is not None:
        waiting = and_(Referral.status.in_(workflow().returned), Referral.acknowledged_at.is_(None),
                       ~exists().where(FOLLOWER.follows_id == Referral.id))
        query = query.where(waiting if returned else ~waiting)
    return query


def _check_status_filter(status: str | None) -> None:
    if status is not None and status not in workflow().statuses:
        raise Invalid("unknown_status", f"status must be one of {', '.join(workflow().statuses)}.",
                      f"status 必须为 {'、'.join(workflow().statuses)} 之一。", path="status")


def list_referrals(*, session: Session, caller: Caller, keys: Keys, household_id: int | None = None,
                   status: str | None = None, statuses: tuple[str, ...] | None = None, provider_id: int | None = None,
                   service_id: str | None = None, open: bool | None = None, overdue: bool | None = None,
                   returned: bool | None = None, limit: int = 100, offset: int = 0, with_contact: bool = True) -> dict:
    """Referrals in the caller's scope, newest first, each with its household's contact as the caller may see
    it (every one shown in full audited as a read); without contacts (`with_contact` false: a page that shows
    none) nothing is read."""
    _check_status_filter(status)
    now = utcnow()
    query = _filtered(_scoped(caller), household_id=household_id, status=status, statuses=statuses,
                      provider_id=provider_id, service_id=service_id, open=open, overdue=overdue, returned=returned,
                      now=now)
    total = session.scalar(select(func.count()).select_from(query.with_only_columns(Referral.id).subquery()))
    rows = session.execute(query.order_by(Referral.id.desc()).limit(limit).offset(offset)).all()
    followers = _followers(session, [referral.id for referral, _, _ in rows])
    items, shown = [], []
    for referral, household, town_id in rows:
        side = _side(caller, referral, household.station_id, town_id)
        contact, full = _contact(keys, household, side) if with_contact else (None, False)
        if full:
            shown.append(household.id)
        items.append(referral_view(referral, side=side, contact=contact, followed_by=followers.get(referral.id),
                                   now=now))
    audit.record_reads(session, caller, list(dict.fromkeys(shown)), referrals=True)
    return {"total": total, "limit": limit, "offset": offset, "items": items}


def count_by_status(*, session: Session, caller: Caller) -> dict[str, int]:
    """How many referrals in the caller's scope are in each status."""
    query = _scoped(caller).with_only_columns(Referral.status, func.count()).group_by(Referral.status)
    return dict(session.execute(query).all())


EXPORT_COLUMNS = ("id", "household_id", "station_id", "town_id", "service_id", "service", "provider_id", "provider",
                  "status", "status_label", "open", "overdue", "due_at", "reason", "follows_id", "scheduled_on",
                  "outcome", "satisfaction", "created_at", "changed_at")


def export_referrals(*, session: Session, caller: Caller, catalog, fmt: str, lang: str = "zh",
                     **filters) -> bytes:
    """The referrals in scope (every one, with the filters of `list_referrals`) as CSV (UTF-8 with a byte order
    mark) or Excel, with the labels in `lang`; household ids, no personal data. Audited as `export_referrals`."""
    _check_status_filter(filters.get("status"))
    now = utcnow()
    query = _filtered(_scoped(caller), now=now, **filters)
    query = query.with_only_columns(Referral, Household.station_id, Station.town_id, Provider.name) \
        .outerjoin(Provider, Provider.id == Referral.provider_id)
    rules = workflow()
    table = []
    for referral, station_id, town_id, provider_name in session.execute(query.order_by(Referral.id)).all():
        service = catalog.service_by_id.get(referral.service_id)
        due_at = _aware(referral.due_at)
        table.append([referral.id, referral.household_id, station_id, town_id, referral.service_id,
                      getattr(service.label, lang) if service else None, referral.provider_id, provider_name,
                      referral.status, getattr(rules.status_label(referral.status), lang),
                      referral.open_slot is True, due_at is not None and due_at < now, iso(due_at),
                      referral.reason_en if lang == "en" and referral.reason_en else referral.reason,
                      referral.follows_id, referral.scheduled_on.isoformat() if referral.scheduled_on else None,
                      referral.outcome, referral.satisfaction, iso(referral.created_at), iso(referral.changed_at)])
    audit.record(session, caller, "export_referrals", rows=len(table), format=fmt,
                 filters={key: value for key, value in filters.items() if value is not None})
    return table_file(fmt, list(EXPORT_COLUMNS), table, sheet="referrals")


def pipeline(*, session: Session, caller: Caller, now: datetime | None = None) -> dict:
    """Per provider and service item: referrals by status, the open and the overdue ones, and the reasons of the
    closed ones with their counts; scoped to the caller's households."""
    require_role(caller, *PIPELINE_ROLES)
    now = now or utcnow()
    scoped = (select(Referral.provider_id, Referral.service_id).join(Household, Referral.household_id == Household.id)
              .join(Station, Household.station_id == Station.id).where(household_scope(caller)))
    late = case((and_(Referral.open_slot.is_(True), Referral.due_at < now), 1), else_=0)
    counts = session.execute(scoped.add_columns(Referral.status, func.count(), func.sum(late))
                             .group_by(Referral.provider_id, Referral.service_id, Referral.status)).all()
    reasons = session.execute(scoped.add_columns(Referral.reason, func.count())
                              .where(Referral.open_slot.is_(None), Referral.reason.isnot(None))
                              .group_by(Referral.provider_id, Referral.service_id, Referral.reason)).all()
    rules, groups = workflow(), {}
    for provider_id, service_id, status, count, overdue in counts:
        group = groups.setdefault((provider_id, service_id), {
            "provider_id": provider_id, "service_id": service_id, "open": 0, "overdue": 0,
            "by_status": dict.fromkeys(rules.statuses, 0), "reasons": {}})
        group["by_status"][status] = group["by_status"].get(status, 0) + count
        group["open"] += count if status in rules.open else 0
        group["overdue"] += int(overdue or 0)
    for provider_id, service_id, reason, count in reasons:
        groups[(provider_id, service_id)]["reasons"][reason] = count
    items = [{**groups[key], "reasons": dict(sorted(groups[key]["reasons"].items()))}
             for key in sorted(groups, key=lambda k: (k[0] is None, k[0] or 0, k[1]))]
    return {"due_days": dict(rules.due_days), "as_of": iso(now), "items": items}
