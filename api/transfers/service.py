"""Transfers between stations: requested by the sending side (the station serving the household), accepted or
refused by the receiving side, or cancelled by the sender while waiting; each step audited.

An accepted transfer of kind `residence` (人户分离) moves the household's serving station only: the station where it
lives serves it (scope, rankings, due lists), the station where it is registered still reads it. Kind `move`
moves both. While a transfer waits, the receiving side may read the household, to decide.
"""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from api.assessments.store import refresh_latest
from api.audit import service as audit
from api.auth.access import Caller, Role, in_scope, require_household_reader, require_write
from api.db.base import utcnow
from api.encoding import iso
from api.errors import Conflict, Invalid, forbidden, not_found
from api.geography.tables import Station
from api.households.service import load_household
from api.transfers.tables import Transfer

KINDS = ("move", "residence")
# Who takes each decision (the receiving side accepts or refuses, the sending side cancels), and its audit action.
DECISIONS = {"accepted": ("to", "accept_transfer"), "refused": ("to", "refuse_transfer"),
             "cancelled": ("from", "cancel_transfer")}
_FROM, _TO = aliased(Station), aliased(Station)


def transfer_view(transfer: Transfer) -> dict:
    return {"id": transfer.id, "household_id": transfer.household_id, "kind": transfer.kind,
            "from_station_id": transfer.from_station_id, "to_station_id": transfer.to_station_id,
            "status": transfer.status, "reason": transfer.reason, "decision_reason": transfer.decision_reason,
            "requested_by": transfer.requested_by, "requested_at": iso(transfer.requested_at),
            "decided_by": transfer.decided_by, "decided_at": iso(transfer.decided_at)}


def _station(session: Session, station_id: int, path: str) -> Station:
    station = session.get(Station, station_id)
    if station is None:
        raise not_found(f"Station {station_id}", f"驿站 {station_id}", path)
    return station


def _refuse_second(session: Session, household_id: int) -> None:
    waiting = session.scalar(select(Transfer.id).where(Transfer.household_id == household_id,
                                                       Transfer.open_slot.is_(True)))
    if waiting is not None:
        raise Conflict("transfer_pending", f"Transfer {waiting} of household {household_id} is waiting for a decision.",
                       f"家庭 {household_id} 的转移申请 {waiting} 尚待处理。", path="household_id",
                       extra={"existing_transfer_id": waiting})


def request_transfer(*, session: Session, caller: Caller, household_id: int, to_station_id: int, kind: str,
                     reason: str) -> dict:
    """The sending side (a caseworker of the serving station, a supervisor of its town) asks another station to
    take the household on. One transfer may wait per household (409 `transfer_pending`)."""
    household, station = load_household(session, household_id)
    require_write(caller, station.id, station.town_id)
    if kind not in KINDS:
        raise Invalid("invalid_kind", f"kind must be one of {', '.join(KINDS)}.", f"类型必须为 {'、'.join(KINDS)} 之一。",
                      path="kind")
    reason = reason.strip()
    if not reason:
        raise Invalid("reason_required", "A transfer needs a reason.", "转移申请须说明理由。", path="reason")
    target = _station(session, to_station_id, "to_station_id")
    if target.id == household.station_id:
        raise Invalid("same_station", f"Household {household_id} is served by station {target.id} already.",
                      f"家庭 {household_id} 已由驿站 {target.id} 服务。", path="to_station_id")
    _refuse_second(session, household_id)
    transfer = Transfer(household_id=household_id, kind=kind, from_station_id=household.station_id,
                        to_station_id=target.id, status="requested", open_slot=True, reason=reason,
                        requested_by=caller.id)
    session.add(transfer)
    try:
        session.flush()
    except IntegrityError:  # a concurrent request asked first
        session.rollback()
        _refuse_second(session, household_id)
        raise
    audit.record(session, caller, "request_transfer", household_id=household_id, transfer_id=transfer.id,
                 kind=kind, from_station_id=transfer.from_station_id, to_station_id=target.id, reason=reason)
    return transfer_view(transfer)


def _load(session: Session, transfer_id: int) -> tuple[Transfer, Station, Station]:
    row = session.execute(select(Transfer, _FROM, _TO).join(_FROM, Transfer.from_station_id == _FROM.id)
                          .join(_TO, Transfer.to_station_id == _TO.id).where(Transfer.id == transfer_id)).first()
    if row is None:
        raise not_found(f"Transfer {transfer_id}", f"转移申请 {transfer_id}")
    return row[0], row[1], row[2]


def decide(*, session: Session, caller: Caller, catalog, transfer_id: int, decision: str,
           reason: str | None = None) -> dict:
    """`accepted` or `refused` (with a reason) by the receiving side, `cancelled` by the sending side, while the
    transfer waits (else a 409 `transfer_decided`). Accepting moves the household's serving station (and, for
    kind `move`, where it is registered) and brings its latest row in step."""
    if decision not in DECISIONS:
        raise Invalid("invalid_decision", f"decision must be one of {', '.join(DECISIONS)}.",
                      f"决定必须为 {'、'.join(DECISIONS)} 之一。", path="decision")
    transfer, sender, receiver = _load(session, transfer_id)
    taker, action = DECISIONS[decision]
    side = receiver if taker == "to" else sender
    require_write(caller, side.id, side.town_id)
    reason = reason.strip() if reason else None
    if decision == "refused" and not reason:
        raise Invalid("reason_required", "A refusal needs a reason.", "拒绝转移须说明理由。", path="reason")
    if transfer.status != "requested":
        raise Conflict("transfer_decided", f"Transfer {transfer_id} is {transfer.status} already.",
                       f"转移申请 {transfer_id} 已处理({transfer.status})。", path="decision",
                       extra={"transfer_status": transfer.status})
    transfer.status, transfer.open_slot, transfer.decision_reason = decision, None, reason
    transfer.decided_by, transfer.decided_at = caller.id, utcnow()
    if decision == "accepted":
        household, _ = load_household(session, transfer.household_id)
        household.station_id = receiver.id
        if transfer.kind == "move":
            household.registered_station_id = receiver.id
        session.flush()
        refresh_latest(session, household_ids=[household.id], catalog=catalog)
    session.flush()
    audit.record(session, caller, action, household_id=transfer.household_id, transfer_id=transfer.id, reason=reason)
    return transfer_view(transfer)


def _visible(caller: Caller):
    """A filter on transfers (joined with both stations) to those the caller's scope sends or receives."""
    if caller.role is Role.caseworker:
        return or_(Transfer.from_station_id == caller.station_id, Transfer.to_station_id == caller.station_id)
    return or_(_FROM.town_id.in_(caller.town_ids), _TO.town_id.in_(caller.town_ids))


def _require_reader(caller: Caller) -> None:
    require_household_reader(caller)
    if caller.role not in (Role.caseworker, Role.supervisor, Role.admin):
        raise forbidden()


def get_transfer(*, session: Session, caller: Caller, transfer_id: int) -> dict:
    _require_reader(caller)
    transfer, sender, receiver = _load(session, transfer_id)
    if caller.role is not Role.admin and not (in_scope(caller, sender.id, sender.town_id)
                                              or in_scope(caller, receiver.id, receiver.town_id)):
        raise forbidden()
    return transfer_view(transfer)


def list_transfers(*, session: Session, caller: Caller, direction: str | None = None, status: str | None = None,
                   limit: int = 50, offset: int = 0) -> dict:
    """Transfers the caller's scope sends (`outgoing`) or receives (`incoming`), or both; newest first. Admins see
    every transfer (they hold no personal data)."""
    _require_reader(caller)
    query = (select(Transfer).join(_FROM, Transfer.from_station_id == _FROM.id)
             .join(_TO, Transfer.to_station_id == _TO.id))
    if caller.role is not Role.admin:
        query = query.where(_visible(caller))
    if direction is not None:
        side = _TO if direction == "incoming" else _FROM
        if caller.role is Role.caseworker:
            query = query.where(side.id == caller.station_id)
        elif caller.role is Role.supervisor:
            query = query.where(side.town_id.in_(caller.town_ids))
    if status is not None:
        query = query.where(Transfer.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(Transfer.id.desc()).limit(limit).offset(offset)).all()
    return {"total": total, "limit": limit, "offset": offset, "items": [transfer_view(t) for t in rows]}


def household_transfers(session: Session, household_id: int) -> list[dict]:
    """A household's transfers, oldest first (for its file)."""
    return [transfer_view(t) for t in session.scalars(select(Transfer).where(Transfer.household_id == household_id)
                                                      .order_by(Transfer.id))]
