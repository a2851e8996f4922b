"""Households: personal data encrypted at rest, found by a keyed hash of the ID number, shown by role."""

from __future__ import annotations

import json
import logging
import re
import unicodedata

from cryptography.fernet import InvalidToken
from sqlalchemy import Select, bindparam, delete, func, select, text, update
from sqlalchemy.orm import Session, joinedload

from api import id_numbers
from api.audit import service as audit
from api.auth.access import Caller, PersonalView, Role, personal_view, require_household_reader, require_write
from api.encoding import iso
from api.errors import Conflict, Forbidden, Invalid, not_found
from api.geography.tables import Station
from api.households.scope import household_scope, scoped_households
from api.households.tables import Household, MaintenanceTask
from api.security import Keys, decrypt_json, encrypt_json, id_number_hash, masked_personal

PHONE_SHAPE = re.compile(r"\+?[0-9]+(?:[ -][0-9]+)*")
PHONE_DIGITS = (5, 15)  # a short service number to E.164's longest
NORMALISE_ID_NUMBERS = "normalise_id_numbers"
log = logging.getLogger(__name__)


def check_id_number(id_number: str, path: str = "personal.id_number") -> str:
    """The normalised ID number (`api.id_numbers`), or Invalid naming what is wrong."""
    number = id_numbers.normalise(id_number)
    if not id_numbers.has_shape(number):
        raise Invalid("invalid_id_number", "The ID number must be 18 characters: 17 digits and a digit or X.",
                      "身份证号码须为 18 位:17 位数字加 1 位数字或 X。", path=path)
    if not id_numbers.is_valid(number):
        raise Invalid("invalid_id_number", "The ID number's check character is wrong.",
                      "身份证号码校验位错误。", path=path)
    return number


def check_name(name, path: str = "personal.name") -> str:
    """A household's name without the spaces around it: required, and not blank."""
    if not isinstance(name, str) or not name.strip():
        raise Invalid("name_required", "The name is required and cannot be empty.", "姓名为必填项,不能为空。",
                      path=path)
    return name.strip()


def check_phone(phone: str | None, path: str = "personal.phone") -> str | None:
    """A phone number in its normal form (NFKC, outer spaces removed), None for none: digits, an optional
    leading +, single spaces or hyphens between digits, 5 to 15 digits."""
    if phone is None or not phone.strip():
        return None
    number = unicodedata.normalize("NFKC", phone).strip()
    digits = sum(c.isdigit() for c in number)
    if not PHONE_SHAPE.fullmatch(number) or not PHONE_DIGITS[0] <= digits <= PHONE_DIGITS[1]:
        raise Invalid("invalid_phone",
                      f"The phone number must be {PHONE_DIGITS[0]} to {PHONE_DIGITS[1]} digits, optionally after a "
                      "+, with single spaces or hyphens between them (e.g. 13800001234, +86 138 0000 1234, "
                      "0631-5201234).",
                      f"电话号码须为 {PHONE_DIGITS[0]}–{PHONE_DIGITS[1]} 位数字,可以 + 开头,数字之间可用单个空格或连字符"
                      "(如 13800001234、+86 138 0000 1234、0631-5201234)。", path=path)
    return number


def household_view(household: Household, town_id: int, view: PersonalView, keys: Keys) -> dict:
    personal = decrypt_json(keys, household.personal)
    if view is PersonalView.masked:
        personal = masked_personal(personal)
    return {"id": household.id, "station_id": household.station_id, "town_id": town_id,
            "status": household.status, "members": household.members, "personal": personal,
            "personal_view": view.value, "created_at": iso(household.created_at),
            "updated_at": iso(household.updated_at)}


def _station(session: Session, station_id: int) -> Station:
    station = session.get(Station, station_id)
    if station is None:
        raise not_found(f"Station {station_id}", f"驿站 {station_id}", "station_id")
    return station


def load_household(session: Session, household_id: int) -> tuple[Household, Station]:
    """The household and its station (with the station's town loaded, for its region), for the scope checks;
    a 404 when there is none."""
    row = session.execute(select(Household, Station).join(Station, Household.station_id == Station.id)
                          .options(joinedload(Station.town)).where(Household.id == household_id)).first()
    if row is None:
        raise not_found(f"Household {household_id}", f"家庭 {household_id}")
    return row[0], row[1]


def _lock_id_number(session: Session, hashed: str) -> None:
    """On PostgreSQL, serialise creations with the same ID number (SQLite already writes one at a time)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": int(hashed[:15], 16)})


def create_household(*, session: Session, caller: Caller, keys: Keys, name: str, id_number: str,
                     phone: str | None = None, station_id: int | None = None, members: list[dict] | None = None,
                     override_reason: str | None = None) -> dict:
    """Register a household. The same ID number elsewhere is a 409 pointing to the existing household,
    unless a supervisor overrides with a reason (audited)."""
    station_id = station_id if station_id is not None else caller.station_id
    if station_id is None:
        raise Invalid("missing_station", "station_id is required.", "必须指定驿站(station_id)。", path="station_id")
    station = _station(session, station_id)
    require_write(caller, station.id, station.town_id)
    name, phone = check_name(name), check_phone(phone)
    number = check_id_number(id_number)
    hashed = id_number_hash(keys, number)
    _lock_id_number(session, hashed)
    existing = session.execute(select(Household.id, Household.station_id)
                               .where(Household.id_number_hash == hashed).order_by(Household.id)).all()
    if existing:
        same_station = [row for row in existing if row.station_id == station.id]
        if override_reason is None or same_station:
            first = (same_station or existing)[0]
            raise Conflict("duplicate_id_number",
                           f"A household with this ID number is registered as household {first.id} at station "
                           f"{first.station_id}.",
                           f"该身份证号码已登记为驿站 {first.station_id} 的家庭 {first.id}。",
                           path="personal.id_number",
                           extra={"existing_household_id": first.id, "existing_station_id": first.station_id,
                                  "existing_household": f"/v1/households/{first.id}"})
        if caller.role is not Role.supervisor:
            raise Forbidden("override_not_allowed", "Only a supervisor may override a duplicate ID number.",
                            "只有督导可以越过身份证号码重复的限制。", path="override")
    household = Household(station_id=station.id, status="active", id_number_hash=hashed, members=members or [],
                          personal=encrypt_json(keys, {"name": name, "id_number": number, "phone": phone}),
                          created_by=caller.id)
    session.add(household)
    session.flush()
    audit.record(session, caller, "create_household", household_id=household.id, station_id=station.id)
    if existing:
        audit.record(session, caller, "override_duplicate_id_number", household_id=household.id,
                     reason=override_reason, existing_household_ids=[row.id for row in existing])
    return household_view(household, station.town_id, PersonalView.full, keys)


def get_household(*, session: Session, caller: Caller, keys: Keys, household_id: int) -> dict:
    require_household_reader(caller)
    household, station = load_household(session, household_id)
    view = personal_view(caller, station.id, station.town_id)
    if view is PersonalView.full:
        audit.record(session, caller, "read_personal", household_id=household.id)
    return household_view(household, station.town_id, view, keys)


def list_households(*, session: Session, caller: Caller, keys: Keys, station_id: int | None = None,
                    status: str | None = None, limit: int = 50, offset: int = 0) -> dict:
    """The households in the caller's scope, newest first, with a total for paging."""
    require_household_reader(caller)
    query = scoped_households(caller)
    if station_id is not None:
        query = query.where(Household.station_id == station_id)
    if status is not None:
        query = query.where(Household.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.execute(query.add_columns(Station.town_id).order_by(Household.id.desc())
                           .limit(limit).offset(offset)).all()
    items = []
    for household, town_id in rows:
        view = personal_view(caller, household.station_id, town_id)
        items.append(household_view(household, town_id, view, keys))
    audit.record_reads(session, caller, [item["id"] for item in items if item["personal_view"] == "full"])
    return {"total": total, "limit": limit, "offset": offset, "items": items}


def find_by_id_number(*, session: Session, caller: Caller, keys: Keys, id_number: str) -> list[dict]:
    """The caller's households with this ID number (the number itself is never stored or logged)."""
    require_household_reader(caller)
    hashed = id_number_hash(keys, check_id_number(id_number, path="id_number"))
    rows = session.execute(scoped_households(caller).add_columns(Station.town_id)
                           .where(Household.id_number_hash == hashed).order_by(Household.id)).all()
    items = [household_view(h, town_id, personal_view(caller, h.station_id, town_id), keys) for h, town_id in rows]
    audit.record(session, caller, "lookup_id_number", matches=[item["id"] for item in items])
    audit.record_reads(session, caller, [item["id"] for item in items if item["personal_view"] == "full"])
    return items


def scoped_names(caller: Caller) -> Select:
    """Id and encrypted personal data of the caller's households, newest first: no ORM objects, since a
    search reads them all."""
    return (select(Household.id, Household.personal).join(Station, Household.station_id == Station.id)
            .where(household_scope(caller)).order_by(Household.id.desc()))


def search_by_name(*, session: Session, caller: Caller, keys: Keys, name: str, limit: int = 50) -> dict:
    """The caller's households, newest first, whose name contains `name` (letters compared without case),
    at most `limit` of them; `truncated` says whether more matched. Names are encrypted, so every name in
    the scope is decrypted here; only the matches count as read (the text itself is not logged). Only
    the roles that see names in full may search them."""
    if caller.role not in (Role.caseworker, Role.supervisor):
        raise Forbidden("name_search_not_allowed", "Only caseworkers and supervisors may search households by name.",
                        "只有社工和督导可以按姓名查找家庭。", path="name")
    wanted = name.strip().casefold()
    if not wanted:
        raise Invalid("invalid_name", "The name to search for is empty.", "要查找的姓名为空。", path="name")
    matches, truncated = [], False
    result = session.execute(scoped_names(caller).execution_options(yield_per=2000))
    for household_id, personal in result:
        stored = decrypt_json(keys, personal).get("name")
        if isinstance(stored, str) and wanted in stored.casefold():
            if len(matches) == limit:
                truncated = True
                break
            matches.append(household_id)
    result.close()
    rows = session.execute(scoped_households(caller).add_columns(Station.town_id)
                           .where(Household.id.in_(matches)).order_by(Household.id.desc())).all()
    items = [household_view(household, town_id, PersonalView.full, keys) for household, town_id in rows]
    audit.record(session, caller, "search_name", matches=matches, truncated=truncated)
    audit.record_reads(session, caller, matches)
    return {"items": items, "limit": limit, "truncated": truncated}


def update_household(*, session: Session, caller: Caller, keys: Keys, household_id: int, changes: dict,
                     status: str | None = None) -> tuple[dict, bool]:
    """Change name, phone, members or status; the ID number is fixed (register a new household instead) and
    the name cannot be cleared. The response shows the personal data in full, so it is audited as a read.
    Returns the view and whether the status changed: api.households.lifecycle, which calls this, then does
    what a status change involves."""
    household, station = load_household(session, household_id)
    require_write(caller, station.id, station.town_id)
    personal_changes = {}
    if "name" in changes:
        personal_changes["name"] = check_name(changes["name"], path="name")
    if "phone" in changes:
        personal_changes["phone"] = check_phone(changes["phone"], path="phone")
    if personal_changes:
        household.personal = encrypt_json(keys, {**decrypt_json(keys, household.personal), **personal_changes})
    if "members" in changes:
        household.members = changes["members"]
    status_changed = status is not None and status != household.status
    if status is not None:
        household.status = status
    session.flush()
    audit.record(session, caller, "update_household", household_id=household.id,
                 fields=sorted([*changes, *(["status"] if status is not None else [])]))
    audit.record(session, caller, "read_personal", household_id=household.id)
    return household_view(household, station.town_id, PersonalView.full, keys), status_changed


class KeysDoNotFit(RuntimeError):
    """Stored personal data that none of the configured data keys decrypts."""


def rotate_keys(*, session: Session, keys: Keys, batch_size: int = 2000, action: str = "rotate_keys") -> dict:
    """Re-encrypt every household's personal data with the first data key, its ID number in the normal form
    (`api.id_numbers.normalise`), and re-hash that number with the hash key, in the session's one
    transaction: all households or none. Run it after putting a new data key first (keeping the old ones
    after it) or changing the hash key; then the old data keys may go. It also does the pending keyed step
    of migration 0006 (`run_pending_maintenance`). Returns how many households were re-encrypted, how many
    hashes changed and how many stored numbers were rewritten in the normal form; audited as `action`."""
    cipher, table = keys.cipher, Household.__table__
    rewrite = (update(table).where(table.c.id == bindparam("row_id"))
               .values(personal=bindparam("row_personal"), id_number_hash=bindparam("row_hash")))
    households = rehashed = normalised = last = 0
    while rows := session.execute(select(table.c.id, table.c.personal, table.c.id_number_hash)
                                  .where(table.c.id > last).order_by(table.c.id).limit(batch_size)).all():
        changes = []
        for household_id, personal, old_hash in rows:
            try:
                plain = cipher.decrypt(personal.encode("ascii"))
            except InvalidToken:
                raise KeysDoNotFit(f"household {household_id}: no configured data key decrypts its personal data; "
                                   "put the key it was written with after the new one") from None
            values = json.loads(plain)
            number = id_numbers.normalise(values["id_number"])
            if number != values["id_number"]:
                normalised += 1
                values["id_number"] = number
            hashed = id_number_hash(keys, number)
            rehashed += hashed != old_hash
            changes.append({"row_id": household_id, "row_personal": encrypt_json(keys, values), "row_hash": hashed})
        session.connection().execute(rewrite, changes)
        households, last = households + len(rows), rows[-1][0]
    session.execute(delete(MaintenanceTask).where(MaintenanceTask.name == NORMALISE_ID_NUMBERS))
    audit.record(session, None, action, households=households, rehashed=rehashed, normalised=normalised)
    return {"households": households, "rehashed": rehashed, "normalised": normalised}


def run_pending_maintenance(*, session: Session, keys: Keys) -> dict | None:
    """The keyed step migration 0006 left pending (migrations run without the keys): ID numbers stored in
    another form than the normal one, and their hashes, rewritten by `rotate_keys`. The service runs it when
    it starts, before serving; `assess keys rotate` does it too. Several processes starting at once do it
    once: deleting the task's row locks it until the transaction ends, and the others then find it gone.
    Returns `rotate_keys`'s counts, or None when nothing was pending."""
    pending = session.execute(delete(MaintenanceTask).where(MaintenanceTask.name == NORMALISE_ID_NUMBERS))
    if not pending.rowcount:
        return None
    log.warning("re-hashing every household's ID number in its normal form (migration 0006), once")
    done = rotate_keys(session=session, keys=keys, action=NORMALISE_ID_NUMBERS)
    log.warning("%(households)d households re-encrypted, %(rehashed)d hashes changed, %(normalised)d ID numbers "
                "rewritten in the normal form", done)
    return done
