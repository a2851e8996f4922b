"""Department records loaded, matched against the households and their members, and the candidates found.

`import_records` checks a file against its source (columns, every row) and stores its new rows as records, then
`match_records` matches every unmatched record set-wise: by the keyed ID-number hash against households and
members (one UPDATE each), by normal name and birth date within the town for records without an ID number (which
then wait for a person to confirm), and turns the fresh signals of persons on no file into candidates."""

from __future__ import annotations

import io
import json
import unicodedata
from datetime import date
from pathlib import PurePath

import pandas as pd
from sqlalchemy import (JSON, Integer, and_, bindparam, exists, func, insert, literal, or_, select, text, union_all,
                        update)
from sqlalchemy.orm import Session

from api.assessments.tables import HouseholdLatest
from api.audit import service as audit
from api.auth.access import (Caller, PersonalView, Role, personal_view, require_household_reader, require_role,
                             require_write)
from api.db.database import bound_connection
from api.db.base import utcnow
from api.discovery import logic
from api.discovery.definitions import Discovery
from api.discovery.tables import Candidate, DiscoveryImport, DiscoveryRecord
from api.errors import Conflict, Invalid, not_found
from api.geography.tables import Station, Town
from api.households.scope import household_scope
from api.households.tables import Household, HouseholdMember
from api.persons import name_birth_hash, name_hash, normal_name
from api.security import Keys, decrypt_json, encrypt_json, id_number_hash, keyed, mask

MAX_REFUSALS_SHOWN = 1000
READERS = {".csv": "csv", ".xlsx": "excel", ".xls": "excel"}


def _source(discovery: Discovery, source_id: str):
    source = discovery.sources.get(source_id)
    if source is None:
        known = ", ".join(sorted(discovery.sources))
        raise Invalid("unknown_source", f"Unknown source {source_id!r}; the sources are: {known}.",
                      f"未知数据源 {source_id!r};可用数据源:{known}。", path="source")
    return source


def read_table(content: bytes, file_name: str) -> pd.DataFrame:
    """A department's file (CSV in UTF-8, with or without BOM, or Excel) as text cells."""
    kind = READERS.get(PurePath(file_name).suffix.lower())
    if kind is None:
        raise Invalid("unsupported_file", "The file must be .csv or .xlsx.", "文件须为 .csv 或 .xlsx。", path="file")
    try:
        if kind == "csv":
            frame = pd.read_csv(io.BytesIO(content), dtype=str, keep_default_na=False, encoding="utf-8-sig")
        else:
            frame = pd.read_excel(io.BytesIO(content), dtype=str, keep_default_na=False)
    except Exception as exc:  # noqa: BLE001 - whatever the parser fails on, the file is what is wrong
        text = str(exc)[:200]
        raise Invalid("unreadable_file", f"The file cannot be read: {text}", f"无法读取文件:{text}", path="file") \
            from None
    frame.columns = [unicodedata.normalize("NFKC", str(c)).strip() for c in frame.columns]
    return frame


def town_names(session: Session) -> dict[str, int]:
    """Each town by its name and by its id (as text)."""
    towns = {}
    for town_id, name in session.execute(select(Town.id, Town.name)):
        towns[name.strip()] = town_id
        towns[str(town_id)] = town_id
    return towns


def import_records(*, session: Session, keys: Keys, discovery: Discovery, caller: Caller | None, source_id: str,
                   content: bytes, file_name: str, today: date, skip_refused: bool = False) -> dict:
    """Check a department's file and store its new rows as records, then match (`match_records`).

    An unknown source, a file without the source's columns, or (unless `skip_refused`) any refused row is a 422
    with the report (every refused row: file, row, column, reason in Chinese and English) and nothing stored.
    Rows already loaded from this source (the same content) are not added again."""
    if caller is not None:
        require_role(caller, Role.supervisor, Role.admin)
    source = _source(discovery, source_id)
    frame = read_table(content, file_name)
    columns = source.columns.model_dump()
    missing = logic.missing_columns(list(frame.columns), columns)
    if missing:
        raise Invalid("missing_columns", f"{file_name}: the file lacks the column(s) {', '.join(missing)} that source "
                      f"{source.id} needs.", f"{file_name}:文件缺少数据源 {source.id} 所需的列 {'、'.join(missing)}。",
                      path="file", extra={"missing_columns": missing})
    rows, refusals = logic.checked_rows(frame, columns, source.detail_type, town_names(session), today)
    report = [r.as_dict(file_name) for r in refusals]
    if refusals and not skip_refused:
        raise Invalid("rows_refused", f"{file_name}: {len(refusals)} problem(s) in {len({r.row for r in refusals})} "
                      "row(s); nothing was stored.",
                      f"{file_name}:{len({r.row for r in refusals})} 行共 {len(refusals)} 处问题,未保存任何数据。",
                      path="file", extra={"refused": report[:MAX_REFUSALS_SHOWN], "refused_total": len(report)})
    added = _store(session, keys, source, rows, file_name, caller, len(frame), len({r.row for r in refusals}))
    audit.record(session, caller, "discovery_import", source=source.id, file_name=file_name, rows=len(frame),
                 added=added, refused=len({r.row for r in refusals}))
    matched = match_records(session=session, discovery=discovery, today=today) if added else None
    return {"source": source.id, "file_name": file_name, "rows": int(len(frame)), "added": added,
            "already_known": int(len(rows) - added), "refused": report, "matching": matched}


def _store(session: Session, keys: Keys, source, rows: pd.DataFrame, file_name: str, caller: Caller | None,
           total: int, refused: int) -> int:
    """The new rows as records (keyed hashes; name, ID number and birth date encrypted); how many were new."""
    if rows.empty:
        return 0
    content = [record_key_text(source.id, number if isinstance(number, str) else None, name_key, born.isoformat(),
                               int(town), recorded.isoformat(), detail[:200] if isinstance(detail, str) else None)
               for number, name_key, born, town, recorded, detail in zip(
                   rows["id_number"], rows["name_key"], rows["birth_date"], rows["town_id"], rows["recorded_on"],
                   rows["detail"])]
    rows = rows.assign(record_key=[keyed(keys, text) for text in content])
    rows = rows.drop_duplicates("record_key")
    known = set()
    keys_list = rows["record_key"].tolist()
    for start in range(0, len(keys_list), 5000):
        chunk = keys_list[start:start + 5000]
        known.update(session.scalars(select(DiscoveryRecord.record_key).where(
            DiscoveryRecord.source == source.id, DiscoveryRecord.record_key.in_(chunk))))
    new = rows[~rows["record_key"].isin(known)].reset_index(drop=True)
    if new.empty:
        return 0
    entry = DiscoveryImport(source=source.id, file_name=file_name[:255], rows=total, added=len(new), refused=refused,
                            imported_by=caller.id if caller else None)
    session.add(entry)
    session.flush()
    names = new["name_key"].map(lambda name: name_hash(keys, name))
    name_births = [None if isinstance(number, str) else name_birth_hash(keys, name, born)
                   for number, name, born in zip(new["id_number"], new["name_key"], new["birth_date"])]
    person_key = (new["name_key"] + "\x1f" + new["birth_date"].map(date.isoformat) + "\x1f"
                  + new["town_id"].astype(int).astype(str)).map(lambda text: keyed(keys, "person\x1f" + text))
    id_hash = new["id_number"].map(lambda number: id_number_hash(keys, number) if isinstance(number, str) else None)
    personal = [encrypt_json(keys, {"name": name, "id_number": number, "birth_date": born.isoformat()})
                for name, number, born in zip(new["name"], new["id_number"].where(new["id_number"].notna(), None),
                                              new["birth_date"])]
    records = pd.DataFrame({
        "import_id": entry.id, "source": source.id, "record_key": new["record_key"], "signal": source.signal,
        "detail": new["detail"].map(lambda d: None if d is None else str(d)[:200]),
        "detail_number": new["detail_number"].astype(float),
        "recorded_on": new["recorded_on"],
        "fresh_until": logic.fresh_until(new["recorded_on"], source.fresh_days),
        "town_id": new["town_id"].astype(int), "id_number_hash": id_hash, "name_hash": names,
        "name_birth_hash": name_births,
        "person_key": id_hash.where(id_hash.notna(), person_key),
        "birth_year": new["birth_date"].map(lambda d: d.year).astype(int), "personal": personal})
    insert_frame(session, DiscoveryRecord.__table__, records)
    return int(len(new))


def match_records(*, session: Session, discovery: Discovery, today: date) -> dict:
    """Match every record not matched yet, then bring the candidates up to date; the counts."""
    by_household = _match_id_numbers(session)
    by_name = _match_names(session)
    if bound_connection(session).dialect.name == "postgresql":  # the planner learns what matching changed
        session.execute(text("ANALYZE discovery_records"))
    candidates = refresh_candidates(session=session, discovery=discovery, today=today)
    return {"matched_by_id_number": by_household, "matched_by_name_to_confirm": by_name, **candidates}


def _match_id_numbers(session: Session) -> int:
    """Records with an ID number matched to the household whose own number it is, else to a member's household,
    in one UPDATE ... FROM: the waiting hashes joined once to the households' and the members' hash indexes
    (grouped: the lowest household or member holding it). A matched record's personal data is dropped (the
    household's file holds the person)."""
    record = DiscoveryRecord.__table__
    waiting = select(record.c.id_number_hash).where(record.c.match_kind.is_(None),
                                                     record.c.id_number_hash.isnot(None))
    own = select(Household.id_number_hash.label("hash"), func.min(Household.id).label("household_id")) \
        .where(Household.id_number_hash.in_(waiting)).group_by(Household.id_number_hash).subquery()
    first = select(HouseholdMember.id_number_hash.label("hash"), func.min(HouseholdMember.id).label("member_id")) \
        .where(HouseholdMember.id_number_hash.in_(waiting)).group_by(HouseholdMember.id_number_hash).subquery()
    member = select(first.c.hash, HouseholdMember.household_id, first.c.member_id) \
        .join(HouseholdMember, HouseholdMember.id == first.c.member_id) \
        .where(~exists().where(Household.id_number_hash == first.c.hash))
    holder = union_all(select(own.c.hash, own.c.household_id, literal(None, Integer).label("member_id")),
                       member).subquery()
    return int(session.execute(
        update(record).where(record.c.id_number_hash == holder.c.hash, record.c.match_kind.is_(None))
        .values(household_id=holder.c.household_id, member_id=holder.c.member_id, match_kind="id_number",
                match_confirmed=True, personal=None)).rowcount)


def _match_names(session: Session) -> int:
    """Records without an ID number (not matched yet) against the heads and members served in their towns, by
    hashes only: the same normal name and birth date (`name_birth_hash`), or for a member whose ID number gives
    no birth date the same name and birth year. Each record takes the first person found (lowest household, its
    head before its members, then lowest member) and waits for a person to confirm (`match_confirmed` null).
    The first person is found once per distinct (town, name and birth date) waiting, in one query, then given
    to its records by id (a join of the records to that query would be planned as a loop over the records, the
    window computed again for each)."""
    record = DiscoveryRecord.__table__
    waiting_condition = (record.c.match_kind.is_(None), record.c.id_number_hash.is_(None),
                         record.c.name_birth_hash.isnot(None))
    waiting = select(record.c.town_id, record.c.name_birth_hash, record.c.name_hash, record.c.birth_year) \
        .where(*waiting_condition).distinct().subquery()
    head = select(waiting.c.town_id, waiting.c.name_birth_hash, Household.id.label("household_id"),
                  literal(None, Integer).label("member_id")) \
        .join(Household, Household.name_birth_hash == waiting.c.name_birth_hash) \
        .join(Station, and_(Station.id == Household.station_id, Station.town_id == waiting.c.town_id))

    def members(condition):
        return select(waiting.c.town_id, waiting.c.name_birth_hash, HouseholdMember.household_id,
                      HouseholdMember.id.label("member_id")) \
            .join(HouseholdMember, condition).join(Household, Household.id == HouseholdMember.household_id) \
            .join(Station, and_(Station.id == Household.station_id, Station.town_id == waiting.c.town_id))

    persons = union_all(head, members(HouseholdMember.name_birth_hash == waiting.c.name_birth_hash),
                        members(and_(HouseholdMember.name_birth_hash == waiting.c.name_hash,
                                     HouseholdMember.birth_year == waiting.c.birth_year))).subquery()
    order = func.row_number().over(partition_by=(persons.c.town_id, persons.c.name_birth_hash),
                                   order_by=(persons.c.household_id, func.coalesce(persons.c.member_id, 0)))
    ranked = select(persons, order.label("rank")).subquery()
    first = pd.DataFrame(session.execute(select(ranked.c.town_id, ranked.c.name_birth_hash, ranked.c.household_id,
                                                ranked.c.member_id).where(ranked.c.rank == 1)).all(),
                         columns=["town_id", "name_birth_hash", "household", "member"])
    if first.empty:
        return 0
    records = pd.DataFrame(session.execute(select(record.c.id, record.c.town_id, record.c.name_birth_hash)
                                           .where(*waiting_condition)).all(),
                           columns=["record_id", "town_id", "name_birth_hash"])
    found = records.merge(first, on=["town_id", "name_birth_hash"])
    if found.empty:
        return 0
    session.execute(update(record).where(record.c.id == _bound("record_id"), record.c.match_kind.is_(None))
                    .values(household_id=_bound("household"), member_id=_bound("member"), match_kind="name_birth"),
                    [{"record_id": int(r.record_id), "household": int(r.household),
                      "member": None if pd.isna(r.member) else int(r.member)} for r in found.itertuples()])
    return int(len(found))


def _bound(name: str):
    return bindparam(name)


def refresh_candidates(*, session: Session, discovery: Discovery, today: date) -> dict:
    """The persons on no household's file (records unmatched, or whose name match a person refused) whose fresh
    signals pass a rule that makes candidates: new ones join their town's first station's list (to visit within
    the rules' `visit_days`); those still to visit whose priority or reasons changed get them anew."""
    record = DiscoveryRecord
    unmatched = select(record.id, record.person_key, record.town_id, record.signal, record.detail,
                       record.detail_number, record.recorded_on) \
        .where(record.fresh_until >= today,
               (record.match_kind.is_(None)) | (record.match_confirmed.is_(False)))
    signals = pd.DataFrame(session.execute(unmatched).all(),
                           columns=["id", "person", "town_id", "signal", "detail", "detail_number", "recorded_on"])
    if signals.empty:
        return {"candidates_new": 0, "candidates_updated": 0}
    ranked = logic.priorities(signals, discovery.rules)
    ranked = ranked[ranked["candidate"]]
    latest = signals.sort_values(["recorded_on", "id"]).drop_duplicates("person", keep="last")[
        ["person", "id", "town_id"]]
    ranked = ranked.merge(latest, on="person")
    existing = {}
    people = ranked["person"].tolist()
    for start in range(0, len(people), 5000):
        existing.update((key, (status, priority, list(reasons))) for key, status, priority, reasons in session.execute(
            select(Candidate.person_key, Candidate.status, Candidate.priority, Candidate.reasons)
            .where(Candidate.person_key.in_(people[start:start + 5000]))))
    first_station = dict(session.execute(select(Station.town_id, func.min(Station.id)).group_by(Station.town_id))
                         .all())
    fresh = ranked[~ranked["person"].isin(existing) & ranked["town_id"].isin(first_station)]
    if not fresh.empty:
        now = utcnow()
        due = pd.Timestamp(today) + pd.Timedelta(days=discovery.visit_days)
        insert_frame(session, Candidate.__table__, pd.DataFrame({
            "person_key": fresh["person"], "town_id": fresh["town_id"].astype(int),
            "station_id": fresh["town_id"].map(first_station).astype(int), "contact_record_id": fresh["id"].astype(int),
            "priority": fresh["priority"].astype(int), "reasons": fresh["reasons"].map(list),
            "status": "to_visit", "due_on": due.date(), "created_at": now, "updated_at": now}))
    waiting = ranked[[p in existing and existing[p][0] == "to_visit" and existing[p][1:] != (int(priority), reasons)
                      for p, priority, reasons in zip(ranked["person"], ranked["priority"], ranked["reasons"])]]
    if not waiting.empty:
        session.execute(update(Candidate.__table__).where(Candidate.__table__.c.person_key == _bound("key"))
                        .values(priority=_bound("new_priority"), reasons=_bound("new_reasons"),
                                contact_record_id=_bound("record")),
                        [{"key": r.person, "new_priority": int(r.priority), "new_reasons": list(r.reasons),
                          "record": int(r.id)} for r in waiting.itertuples()])
    return {"candidates_new": int(len(fresh)), "candidates_updated": int(len(waiting))}


def insert_frame(session: Session, table, frame: pd.DataFrame) -> None:
    """Insert the rows of `frame` (columns named as the table's; None or NaN for NULL) in the session's
    transaction: COPY on PostgreSQL (JSON columns as JSON text), one executemany on SQLite."""
    if frame.empty:
        return
    connection = bound_connection(session)
    if connection.dialect.name == "postgresql":
        frame = frame.copy()
        for column in frame.columns:
            if isinstance(table.c[column].type, JSON):
                frame[column] = frame[column].map(lambda v: json.dumps(v, ensure_ascii=False))
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False, header=False, na_rep="\\N")
        names = ", ".join(f'"{name}"' for name in frame.columns)
        cursor = connection.connection.dbapi_connection.cursor()
        with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN WITH (FORMAT csv, NULL \'\\N\')') as copy:
            copy.write(buffer.getvalue())
        return
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    connection.execute(insert(table), records)


def source_views(discovery: Discovery) -> list[dict]:
    return [{"id": s.id, "label_zh": s.label.zh, "label_en": s.label.en, "signal": s.signal,
             "fresh_days": s.fresh_days, "detail_type": s.detail_type, "columns": s.columns.model_dump()}
            for s in discovery.sources.values()]


def matches_to_confirm(*, session: Session, caller: Caller, keys: Keys, limit: int = 100, offset: int = 0) -> list:
    """Records matched by name and birth date waiting for a person to confirm, for households the caller's scope
    serves (caseworkers, supervisors; admins all), oldest first; every one shown is an audited read."""
    require_household_reader(caller)
    rows = session.execute(select(DiscoveryRecord, Household.station_id, Station.town_id)
                           .join(Household, Household.id == DiscoveryRecord.household_id)
                           .join(Station, Station.id == Household.station_id)
                           .where(household_scope(caller), DiscoveryRecord.match_kind == "name_birth",
                                  DiscoveryRecord.match_confirmed.is_(None))
                           .order_by(DiscoveryRecord.id).limit(limit).offset(offset)).all()
    items = []
    for record, station_id, town_id in rows:
        personal = decrypt_json(keys, record.personal) if record.personal else {}
        name, born = personal.get("name"), personal.get("birth_date")
        if personal_view(caller, station_id, town_id) is PersonalView.masked:
            name, born = mask(name, 1, 0), mask(born, 4, 0)
        items.append({"record_id": record.id, "source": record.source, "signal": record.signal,
                      "detail": record.detail, "recorded_on": record.recorded_on.isoformat(),
                      "household_id": record.household_id, "member_id": record.member_id, "station_id": station_id,
                      "name": name, "birth_date": born})
    audit.record_reads(session, caller, [item["household_id"] for item in items], action="read_discovery_match")
    return items


def decide_match(*, session: Session, caller: Caller, discovery: Discovery, record_id: int, confirmed: bool,
                 today: date) -> dict:
    """A caseworker of the household's station or a supervisor of its town confirms (the record is the household's
    person: it counts for the household's alerts) or refuses (someone else: the person may become a candidate)
    a match by name and birth date. Audited."""
    record = session.get(DiscoveryRecord, record_id)
    if record is None or record.match_kind != "name_birth" or record.household_id is None:
        raise not_found(f"Match {record_id} waiting for confirmation", f"待确认的匹配 {record_id}", "record_id")
    household = session.get(Household, record.household_id)
    station = session.get(Station, household.station_id)
    require_write(caller, station.id, station.town_id)
    if record.match_confirmed is not None:
        raise Conflict("match_decided", f"Match {record_id} was decided already.", f"匹配 {record_id} 已确认过。",
                       path="record_id")
    household_id = record.household_id
    record.match_confirmed, record.confirmed_by = confirmed, caller.id
    if not confirmed:
        record.household_id = record.member_id = None
    session.flush()
    audit.record(session, caller, "confirm_discovery_match" if confirmed else "refuse_discovery_match",
                 household_id=household_id, record_id=record_id)
    if not confirmed:
        refresh_candidates(session=session, discovery=discovery, today=today)
    return {"record_id": record_id, "household_id": household_id, "confirmed": confirmed}


def record_key_text(source_id: str, number: str | None, name_key: str, born: str, town_id: int, recorded_on: str,
                    detail: str | None) -> str:
    """The text a record's `record_key` hashes: the row's content in its normal form."""
    return "\x1f".join((source_id, number or "", name_key, born, str(town_id), recorded_on, detail or ""))


def rotate_records(*, session: Session, keys: Keys, batch_size: int = 2000) -> dict:
    """Re-encrypt the records that keep personal data (not matched by ID number) with the first data key and
    re-hash their ID number, name, name-and-birth-date, person and content keys with the hash key, carrying the
    candidates' keys along; part of `assess keys rotate`. Records matched by ID number keep no personal data and
    cannot be re-hashed: they stay matched, but a later import of the same rows is no longer recognised as known."""
    table = DiscoveryRecord.__table__
    rewrite = (update(table).where(table.c.id == bindparam("row_id"))
               .values(personal=bindparam("row_personal"), id_number_hash=bindparam("row_hash"),
                       name_hash=bindparam("row_name"), name_birth_hash=bindparam("row_name_birth"),
                       person_key=bindparam("row_person"), record_key=bindparam("row_key")))
    moved: dict[str, str] = {}
    done = last = 0
    while rows := session.execute(select(table.c.id, table.c.source, table.c.personal, table.c.person_key,
                                         table.c.town_id, table.c.recorded_on, table.c.detail)
                                  .where(table.c.id > last, table.c.personal.isnot(None))
                                  .order_by(table.c.id).limit(batch_size)).all():
        changes = []
        for row in rows:
            personal = decrypt_json(keys, row.personal)
            name_key = normal_name(personal["name"])
            number, born = personal.get("id_number"), personal["birth_date"]
            hashed = id_number_hash(keys, number) if number else None
            person = hashed or keyed(keys, "person\x1f" + "\x1f".join((name_key, born, str(row.town_id))))
            moved[row.person_key] = person
            changes.append({"row_id": row.id, "row_personal": encrypt_json(keys, personal), "row_hash": hashed,
                            "row_name": name_hash(keys, name_key), "row_person": person,
                            "row_name_birth": None if number else name_birth_hash(keys, name_key,
                                                                                  date.fromisoformat(born)),
                            "row_key": keyed(keys, record_key_text(row.source, number, name_key, born, row.town_id,
                                                                   row.recorded_on.isoformat(), row.detail))})
        session.connection().execute(rewrite, changes)
        done, last = done + len(rows), rows[-1].id
    candidates = Candidate.__table__
    renamed = [{"old": old, "new": new} for old, new in moved.items() if old != new]
    if renamed:
        session.connection().execute(update(candidates).where(candidates.c.person_key == bindparam("old"))
                                     .values(person_key=bindparam("new")), renamed)
    left = session.scalar(select(func.count()).select_from(table).where(table.c.personal.is_(None)))
    figures = {"discovery_records": done, "discovery_records_not_rehashed": int(left)}
    audit.record(session, None, "rotate_discovery_keys", **figures)
    return figures


def new_information(*, session: Session, caller: Caller, discovery, today: date, station_id: int | None = None,
                    limit: int = 100, offset: int = 0) -> dict:
    """"Re-assess: new information": active households in scope with fresh department records (matched by ID
    number, or by name and birth date once a person confirmed it) dated after their latest assessment (or with
    no assessment yet) that pass a discovery rule; each with the rules as reasons and the indicator each touches
    (shown only: no stored answer changes). A new assessment clears the alert. Households by id."""

    record = DiscoveryRecord
    condition = and_(household_scope(caller), Household.status == "active", record.match_confirmed.is_(True),
                     record.fresh_until >= today,
                     or_(HouseholdLatest.assessed_on.is_(None), record.recorded_on > HouseholdLatest.assessed_on))
    if station_id is not None:
        condition = and_(condition, Household.station_id == station_id)
    joined = select(record.id, record.household_id, Household.station_id, Station.town_id, record.source,
                    record.signal, record.detail, record.detail_number, record.recorded_on,
                    HouseholdLatest.assessed_on) \
        .join(Household, Household.id == record.household_id).join(Station, Station.id == Household.station_id) \
        .outerjoin(HouseholdLatest, HouseholdLatest.household_id == Household.id).where(condition)
    rows = pd.DataFrame(session.execute(joined).all(),
                        columns=["id", "household_id", "station_id", "town_id", "source", "signal", "detail",
                                 "detail_number", "recorded_on", "assessed_on"])
    items, total = [], 0
    if not rows.empty:
        hits = logic.rule_hits(rows, discovery.rules)
        rows = rows[hits.any(axis=1)].sort_values(["household_id", "recorded_on", "id"])
        households = rows["household_id"].unique()
        total = len(households)
        rows = rows[rows["household_id"].isin(households[offset:offset + limit])]  # the page's reasons only
        hits = hits.loc[rows.index]
        rules = {rule.id: rule for rule in discovery.rules}
        for household_id, group in rows.groupby("household_id", sort=True):
            first = group.iloc[0]
            reasons = []
            for index, row in group.iterrows():
                for rule_id in hits.columns[hits.loc[index].to_numpy()]:
                    rule = rules[rule_id]
                    reasons.append({"rule": rule.id, "reason_zh": rule.reason.zh, "reason_en": rule.reason.en,
                                    "indicator": rule.indicator, "source": row.source, "signal": row.signal,
                                    "detail": row.detail, "recorded_on": row.recorded_on.isoformat(),
                                    "record_id": int(row.id)})
            items.append({"household_id": int(household_id), "station_id": int(first.station_id),
                          "town_id": int(first.town_id), "alert": "reassess_new_information",
                          "assessed_on": None if first.assessed_on is None or pd.isna(first.assessed_on)
                          else first.assessed_on.isoformat(), "reasons": reasons})
    return {"as_of": today.isoformat(), "total": int(total), "limit": limit, "offset": offset, "items": items}
