"""Households: personal data encrypted at rest, found by a keyed hash of the ID number, shown by role."""

from __future__ import annotations

import json
import logging
import re
import unicodedata

from cryptography.fernet import InvalidToken
from sqlalchemy import Select, bindparam, delete, func, or_, select, text, update
from sqlalchemy.orm import Session, aliased, joinedload

from api import id_numbers
from api.audit import service as audit
from api.auth.access import Caller, PersonalView, Role, personal_view, require_household_reader, require_write
from api.db.base import utcnow
from api.encoding import iso
from api.errors import Conflict, Forbidden, Invalid, not_found
from api.geography.tables import Station
from api.households.members import check_id_number, checked_members, member_hashes, member_view, write_members
from api.households.scope import household_read_scope, readable_households
from api.households.tables import Household, HouseholdMember, MaintenanceTask
from api.persons import person_hash
from api.security import Keys, decrypt_json, encrypt_json, id_number_hash, masked_personal
from api.transfers.tables import Transfer

PHONE_SHAPE = re.compile(r"\+?[0-9]+(?:[ -][0-9]+)*")
PHONE_DIGITS = (5, 15)  # a short service number to E.164's longest
NORMALISE_ID_NUMBERS = "normalise_id_numbers"
PERSON_KEYS = "person_keys"
KEYED_STEPS = (NORMALISE_ID_NUMBERS, PERSON_KEYS)  # left by migrations 0006 and 0011
log = logging.getLogger(__name__)


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
            "registered_station_id": household.registered_station_id, "status": household.status,
            "members": [member_view(member, view, keys) for member in household.members], "personal": personal,
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


def reading_places(session: Session, household: Household) -> tuple[tuple[int, int], ...]:
    """The (station, town) places besides the serving station whose scope may read a household: where it is
    registered, and the receiving station of a transfer waiting for a decision (which reads what it accepts)."""
    waiting = select(Transfer.to_station_id).where(Transfer.household_id == household.id, Transfer.open_slot.is_(True))
    rows = session.execute(select(Station.id, Station.town_id).where(or_(
        Station.id == household.registered_station_id, Station.id.in_(waiting)), Station.id != household.station_id))
    return tuple((row.id, row.town_id) for row in rows)


def reader_view(session: Session, caller: Caller, household: Household, station: Station) -> PersonalView:
    """How much of a household the caller sees (api.auth.access.personal_view), from any place that may read it."""
    require_household_reader(caller)
    return personal_view(caller, station.id, station.town_id, also=reading_places(session, household))


def _lock_id_numbers(session: Session, hashes) -> None:
    """On PostgreSQL, serialise registrations and changes that bring in the same ID numbers (SQLite already
    writes one at a time); in one order, so two never wait for each other."""
    if session.get_bind().dialect.name == "postgresql":
        for hashed in sorted(set(hashes)):
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": int(hashed[:15], 16)})


def _holders(session: Session, hashed: str, other_than: int | None) -> list:
    """The households (id, station) whose own ID number, or a member's, has this hash; but `other_than`."""
    own = select(Household.id, Household.station_id).where(Household.id_number_hash == hashed)
    member = (select(Household.id, Household.station_id)
              .join(HouseholdMember, HouseholdMember.household_id == Household.id)
              .where(HouseholdMember.id_number_hash == hashed))
    found = {row.id: row for row in session.execute(own.union(member).subquery().select())}
    return [found[key] for key in sorted(found) if key != other_than]


def check_duplicates(session: Session, caller: Caller, *, station: Station, hashes: dict[str, str],
                     household_id: int | None = None, override_reason: str | None = None) -> list[int]:
    """The households other than `household_id` that already hold one of these ID numbers (their keyed hashes,
    by the field's path) as their own or a member's: a 409 naming the first such field and household, unless a
    supervisor overrides with a reason. A number held at the same station is never overridden (it is the same
    household twice). Returns the households overridden, for the audit log."""
    _lock_id_numbers(session, hashes.values())
    existing: list[int] = []
    for path, hashed in hashes.items():
        holders = _holders(session, hashed, household_id)
        if not holders:
            continue
        same_station = [row for row in holders if row.station_id == station.id]
        if override_reason is None or same_station:
            raise duplicate_conflict(path, (same_station or holders)[0])
        existing.extend(row.id for row in holders if row.id not in existing)
    if existing and caller.role is not Role.supervisor:
        raise Forbidden("override_not_allowed", "Only a supervisor may override a duplicate ID number.",
                        "只有督导可以越过身份证号码重复的限制。", path="override")
    return existing


def duplicate_conflict(path: str, first) -> Conflict:
    where_en, where_zh = f"household {first.id} at station {first.station_id}", f"驿站 {first.station_id} 的家庭 {first.id}"
    if path == "personal.id_number":
        en, zh = f"A household with this ID number is registered as {where_en}.", f"该身份证号码已登记为{where_zh}。"
    else:
        en, zh = f"A person with this ID number is already in {where_en}.", f"该身份证号码的人员已在{where_zh}中。"
    return Conflict("duplicate_id_number", en, zh, path=path, extra={
        "existing_household_id": first.id, "existing_station_id": first.station_id,
        "existing_household": f"/v1/households/{first.id}"})


def create_household(*, session: Session, caller: Caller, keys: Keys, name: str, id_number: str,
                     phone: str | None = None, station_id: int | None = None, members: list[dict] | None = None,
                     override_reason: str | None = None) -> dict:
    """Register a household. Its ID number, or a member's, held already by another household (as its own or a
    member's) is a 409 pointing to that household, unless a supervisor overrides with a reason (audited)."""
    station_id = station_id if station_id is not None else caller.station_id
    if station_id is None:
        raise Invalid("missing_station", "station_id is required.", "必须指定驿站(station_id)。", path="station_id")
    station = _station(session, station_id)
    require_write(caller, station.id, station.town_id)
    name, phone = check_name(name), check_phone(phone)
    number = check_id_number(id_number)
    members = checked_members(members or [])
    hashed = id_number_hash(keys, number)
    hashes = {"personal.id_number": hashed,  # the applicant may be listed among the members too
              **{path: other for path, other in member_hashes(keys, members).items() if other != hashed}}
    existing = check_duplicates(session, caller, station=station, hashes=hashes, override_reason=override_reason)
    household = Household(station_id=station.id, registered_station_id=station.id, status="active",
                          id_number_hash=hashed, name_birth_hash=person_hash(keys, name, number),
                          created_by=caller.id,
                          personal=encrypt_json(keys, {"name": name, "id_number": number, "phone": phone}))
    session.add(household)
    session.flush()
    write_members(session, keys, household, members)
    audit.record(session, caller, "create_household", household_id=household.id, station_id=station.id)
    if existing:
        audit.record(session, caller, "override_duplicate_id_number", household_id=household.id,
                     reason=override_reason, existing_household_ids=existing)
    return household_view(household, station.town_id, PersonalView.full, keys)


def get_household(*, session: Session, caller: Caller, keys: Keys, household_id: int) -> dict:
    require_household_reader(caller)
    household, station = load_household(session, household_id)
    view = reader_view(session, caller, household, station)
    if view is PersonalView.full:
        audit.record(session, caller, "read_personal", household_id=household.id)
    return household_view(household, station.town_id, view, keys)


_REGISTERED = aliased(Station)


def _readable(caller: Caller) -> Select:
    """The caller's readable households with the towns of their serving and registered stations."""
    return (readable_households(caller).add_columns(Station.town_id, _REGISTERED.town_id)
            .join(_REGISTERED, Household.registered_station_id == _REGISTERED.id))


def _views(caller: Caller, keys: Keys, rows) -> list[dict]:
    """Views of the (household, serving town, registered town) rows of `_readable`."""
    return [household_view(household, town_id, personal_view(
        caller, household.station_id, town_id, also=((household.registered_station_id, registered_town_id),)), keys)
        for household, town_id, registered_town_id in rows]


def list_households(*, session: Session, caller: Caller, keys: Keys, station_id: int | None = None,
                    status: str | None = None, limit: int = 50, offset: int = 0) -> dict:
    """The households in the caller's scope (those it serves and those registered in it but living elsewhere),
    newest first, with a total for paging; `station_id` is the serving station."""
    require_household_reader(caller)
    query = readable_households(caller)
    for column, value in ((Household.station_id, station_id), (Household.status, status)):
        if value is not None:
            query = query.where(column == value)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    page = query.with_only_columns(Household.id).order_by(Household.id.desc()).limit(limit).offset(offset)
    rows = session.execute(_readable(caller).where(Household.id.in_(page.scalar_subquery()))
                           .order_by(Household.id.desc())).all()
    items = _views(caller, keys, rows)
    audit.record_reads(session, caller, [item["id"] for item in items if item["personal_view"] == "full"])
    return {"total": total, "limit": limit, "offset": offset, "items": items}


def find_by_id_number(*, session: Session, caller: Caller, keys: Keys, id_number: str) -> list[dict]:
    """The caller's households with this ID number as their own or a member's (the number itself is never
    stored or logged)."""
    require_household_reader(caller)
    hashed = id_number_hash(keys, check_id_number(id_number, path="id_number"))
    with_member = select(HouseholdMember.household_id).where(HouseholdMember.id_number_hash == hashed)
    rows = session.execute(_readable(caller).where(or_(Household.id_number_hash == hashed,
                                                       Household.id.in_(with_member))).order_by(Household.id)).all()
    items = _views(caller, keys, rows)
    audit.record(session, caller, "lookup_id_number", matches=[item["id"] for item in items])
    audit.record_reads(session, caller, [item["id"] for item in items if item["personal_view"] == "full"])
    return items


def scoped_names(caller: Caller) -> Select:
    """Id and encrypted personal data of the caller's households, newest first: no ORM objects, since a
    search reads them all."""
    return (select(Household.id, Household.personal).join(Station, Household.station_id == Station.id)
            .where(household_read_scope(caller)).order_by(Household.id.desc()))


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
    items = _views(caller, keys, session.execute(_readable(caller).where(Household.id.in_(matches))
                                                .order_by(Household.id.desc())).all())
    audit.record(session, caller, "search_name", matches=matches, truncated=truncated)
    audit.record_reads(session, caller, matches)
    return {"items": items, "limit": limit, "truncated": truncated}


def update_household(*, session: Session, caller: Caller, keys: Keys, household_id: int, changes: dict,
                     override_reason: str | None = None, also_changed: tuple[str, ...] = ()) -> dict:
    """Change name, phone or members; the ID number is fixed (register a new household instead) and the name
    cannot be cleared. A member's ID number held by another household is a 409 unless a supervisor overrides
    with a reason (audited), as at registration. The response shows the personal data in full, so it is
    audited as a read. `also_changed`: fields the caller changed already (api.households.lifecycle: the
    status), for the audit entry."""
    household, station = load_household(session, household_id)
    require_write(caller, station.id, station.town_id)
    personal_changes = {}
    if "name" in changes:
        personal_changes["name"] = check_name(changes["name"], path="name")
    if "phone" in changes:
        personal_changes["phone"] = check_phone(changes["phone"], path="phone")
    if "members" in changes:
        members = checked_members(changes["members"])
        hashes = {path: hashed for path, hashed in member_hashes(keys, members).items()
                  if hashed != household.id_number_hash}
        existing = check_duplicates(session, caller, station=station, hashes=hashes, household_id=household.id,
                                    override_reason=override_reason)
        write_members(session, keys, household, members)
        if existing:
            audit.record(session, caller, "override_duplicate_id_number", household_id=household.id,
                         reason=override_reason, existing_household_ids=existing)
    if personal_changes:
        personal = {**decrypt_json(keys, household.personal), **personal_changes}
        household.personal = encrypt_json(keys, personal)
        household.name_birth_hash = person_hash(keys, personal["name"], personal["id_number"])
    household.updated_at = utcnow()
    session.flush()
    audit.record(session, caller, "update_household", household_id=household.id,
                 fields=sorted([*changes, *also_changed]))
    audit.record(session, caller, "read_personal", household_id=household.id)
    return household_view(household, station.town_id, PersonalView.full, keys)


class KeysDoNotFit(RuntimeError):
    """Stored personal data that none of the configured data keys decrypts."""


def _rotate(session: Session, keys: Keys, table, owner: str, batch_size: int) -> tuple[int, int, int]:
    """Re-encrypt and re-hash the personal data of `table` (households or their members) in batches of rows by
    id, with their ID-number and name-and-birth-date hashes (`api.persons.person_hash`); rows without personal data
    are left alone. Returns rows, ID-number hashes changed and numbers normalised."""
    cipher = keys.cipher
    rewrite = (update(table).where(table.c.id == bindparam("row_id"))
               .values(personal=bindparam("row_personal"), id_number_hash=bindparam("row_hash"),
                       name_birth_hash=bindparam("row_name_birth")))
    rows_done = rehashed = normalised = last = 0
    while rows := session.execute(select(table.c.id, table.c.personal, table.c.id_number_hash)
                                  .where(table.c.id > last, table.c.personal.isnot(None))
                                  .order_by(table.c.id).limit(batch_size)).all():
        changes = []
        for row_id, personal, old_hash in rows:
            try:
                plain = cipher.decrypt(personal.encode("ascii"))
            except InvalidToken:
                raise KeysDoNotFit(f"{owner} {row_id}: no configured data key decrypts its personal data; "
                                   "put the key it was written with after the new one") from None
            values = json.loads(plain)
            hashed = None
            if values.get("id_number") is not None:
                number = id_numbers.normalise(values["id_number"])
                if number != values["id_number"]:
                    normalised += 1
                    values["id_number"] = number
                hashed = id_number_hash(keys, number)
            rehashed += hashed != old_hash
            changes.append({"row_id": row_id, "row_personal": encrypt_json(keys, values), "row_hash": hashed,
                            "row_name_birth": person_hash(keys, values.get("name"), values.get("id_number"))})
        session.connection().execute(rewrite, changes)
        rows_done, last = rows_done + len(rows), rows[-1][0]
    return rows_done, rehashed, normalised


def rotate_keys(*, session: Session, keys: Keys, batch_size: int = 2000, action: str = "rotate_keys") -> dict:
    """Re-encrypt every household's and member's personal data with the first data key, the ID numbers in the
    normal form (`api.id_numbers.normalise`), and re-hash them with the hash key, in the session's one
    transaction: all or none. Run it after putting a new data key first (keeping the old ones after it) or
    changing the hash key; then the old data keys may go. It also does the pending keyed steps of migrations 0006
    and 0011 (`run_pending_maintenance`). Returns how many households and members were re-encrypted, how many hashes
    changed and how many stored numbers were rewritten in the normal form, and the department records re-hashed
    (`api.discovery.service.rotate_records`); audited as `action`."""
    households, rehashed, normalised = _rotate(session, keys, Household.__table__, "household", batch_size)
    members, member_rehashed, member_normalised = _rotate(session, keys, HouseholdMember.__table__, "member",
                                                          batch_size)
    from api.discovery.service import rotate_records

    done = {"households": households, "members": members, "rehashed": rehashed + member_rehashed,
            "normalised": normalised + member_normalised}
    session.execute(delete(MaintenanceTask).where(MaintenanceTask.name.in_(KEYED_STEPS)))
    audit.record(session, None, action, **done)
    return {**done, **rotate_records(session=session, keys=keys)}


def run_pending_maintenance(*, session: Session, keys: Keys) -> dict | None:
    """The keyed steps migrations left pending (they run without the keys): ID numbers stored in another form
    than the normal one, and their hashes (0006); the name-and-birth-date hashes of households, members and
    department records (0011). Both are done by `rotate_keys`, audited as the earliest step pending. The service
    runs it when it starts, before serving; `assess keys rotate` does it too. Several processes starting at once
    do it once: deleting the tasks' rows locks them until the transaction ends, and the others then find them
    gone. Returns `rotate_keys`'s counts, or None when nothing was pending."""
    steps = set(session.scalars(select(MaintenanceTask.name).where(MaintenanceTask.name.in_(KEYED_STEPS))))
    pending = session.execute(delete(MaintenanceTask).where(MaintenanceTask.name.in_(KEYED_STEPS)))
    if not pending.rowcount:
        return None
    action = next(step for step in KEYED_STEPS if step in steps)
    log.warning("re-hashing every household's and member's ID number, name and birth date (%s), once", action)
    done = rotate_keys(session=session, keys=keys, action=action)
    log.warning("%(households)d households and %(members)d members re-encrypted, %(rehashed)d hashes changed, "
                "%(normalised)d ID numbers rewritten in the normal form", done)
    return done
