"""Migrations from an empty database, both ways, and in step with the tables."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import JSON, column, create_engine, insert, inspect, table, text

from api import db
from api.app import create_app
from api.security import decrypt_json, encrypt_json, id_number_hash, resolve_keys
from api.tables import metadata
from tests.api.conftest import POSTGRES_URL, fresh_postgres_database
from tests.api.factories import resident_id_number
from tests.api.support import HASH_KEY, settings_for

TABLES = {t.name for t in metadata.sorted_tables}
# The households table as it was before 0008 (members a JSON list, no registered station).
OLD_HOUSEHOLDS = table("households", *(column(name) for name in (
    "id", "station_id", "status", "personal", "id_number_hash", "created_by", "created_at", "updated_at")),
    column("members", JSON))


def table_names(url: str) -> set[str]:
    engine = create_engine(db.normalise_url(url))
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_upgrade_downgrade_upgrade_from_empty(tmp_path, backend):
    if backend == "postgresql" and not POSTGRES_URL:
        pytest.skip("ASSESS_TEST_DATABASE_URL is not set")
    if backend == "sqlite":
        url, drop = f"sqlite:///{tmp_path / 'empty.db'}", lambda: None
    else:
        url, drop = fresh_postgres_database()
    try:
        assert table_names(url) == set()
        db.upgrade(url)
        assert table_names(url) == TABLES
        db.downgrade(url, "base")
        assert table_names(url) == set()
        db.upgrade(url)
        engine = create_engine(db.normalise_url(url))
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), metadata)
        engine.dispose()
        assert differences == []
    finally:
        drop()


@pytest.mark.postgres
def test_assessments_results_are_compressed_with_lz4_on_postgresql_from_0012():
    if not POSTGRES_URL:
        pytest.skip("ASSESS_TEST_DATABASE_URL is not set")
    url, drop = fresh_postgres_database()
    engine = create_engine(db.normalise_url(url))

    def compression() -> dict[str, str]:  # pg_attribute.attcompression: l lz4, p pglz, empty the default
        with engine.connect() as connection:
            return dict(connection.execute(text(
                "SELECT attname, attcompression FROM pg_attribute WHERE attrelid = 'assessments'::regclass "
                "AND attname IN ('result', 'answers', 'region_id')")).all())

    try:
        db.upgrade(url)
        assert compression() == {"result": "l", "answers": "l", "region_id": ""}
        db.downgrade(url, "0011")
        assert compression() == {"result": "", "answers": "", "region_id": ""}
    finally:
        engine.dispose()
        drop()


def _old_hash(id_number: str) -> str:
    """The keyed hash as it was before 0006: of the number as typed, without spaces, in upper case."""
    return hmac.new(HASH_KEY.encode(), "".join(id_number.split()).upper().encode(), hashlib.sha256).hexdigest()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_id_numbers_stored_before_0006_are_rewritten_and_re_hashed_when_the_service_starts(tmp_path, backend):
    if backend == "postgresql" and not POSTGRES_URL:
        pytest.skip("ASSESS_TEST_DATABASE_URL is not set")
    url, drop = (f"sqlite:///{tmp_path / 'old.db'}", lambda: None) if backend == "sqlite" else \
        fresh_postgres_database()
    ascii_number, other = resident_id_number(61), resident_id_number(62)
    fullwidth = "".join(chr(ord(c) + 0xFEE0) for c in ascii_number)
    keys = resolve_keys(settings_for(url))
    try:
        db.upgrade(url, "0005")
        engine = create_engine(db.normalise_url(url))
        tables = metadata.tables
        with engine.begin() as connection:  # a household registered in fullwidth digits, one in ASCII
            connection.execute(insert(tables["regions"]), [{"id": "r", "name_zh": "区", "name_en": "R"}])
            connection.execute(insert(tables["towns"]), [{"id": 1, "region_id": "r", "name": "T"}])
            connection.execute(insert(tables["stations"]), [{"id": 1, "town_id": 1, "name": "S"}])
            connection.execute(insert(tables["users"]), [{"id": 1, "name": "u", "role": "caseworker", "station_id": 1,
                                                          "active": True, "created_at": datetime.now(timezone.utc)}])
            connection.execute(insert(OLD_HOUSEHOLDS), [
                {"id": household_id, "station_id": 1, "status": "active", "members": [], "created_by": 1,
                 "personal": encrypt_json(keys, {"name": "王", "id_number": typed, "phone": None}),
                 "id_number_hash": _old_hash(typed), "created_at": datetime.now(timezone.utc),
                 "updated_at": datetime.now(timezone.utc)}
                for household_id, typed in ((1, fullwidth), (2, other))])
        db.upgrade(url)
        with engine.connect() as connection:
            assert sorted(connection.execute(text("SELECT name FROM maintenance_tasks")).scalars()) == \
                ["normalise_id_numbers", "person_keys"]  # 0006's step, and 0011's
        app = create_app(settings_for(url))
        app.state.context.database.dispose()
        with engine.connect() as connection:
            assert list(connection.execute(text("SELECT name FROM maintenance_tasks")).scalars()) == []
            stored = {row.id: (decrypt_json(keys, row.personal)["id_number"], row.id_number_hash) for row in
                      connection.execute(text("SELECT id, personal, id_number_hash FROM households"))}
            [details] = [json.loads(value) if isinstance(value, str) else value for value in connection.execute(
                text("SELECT details FROM audit_log WHERE action = 'normalise_id_numbers'")).scalars()]
        engine.dispose()
        assert stored == {1: (ascii_number, id_number_hash(keys, ascii_number)),
                          2: (other, id_number_hash(keys, other))}
        assert stored[2][1] == _old_hash(other)  # an ASCII number hashes as it did
        assert details == {"households": 2, "members": 0, "rehashed": 1, "normalised": 1}
    finally:
        drop()


def test_a_new_database_has_no_pending_step(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    db.upgrade(url)
    engine = create_engine(url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM maintenance_tasks")).scalar_one() == 0
    engine.dispose()


def _keyed(text_: str, key: str = HASH_KEY) -> str:
    return hmac.new(key.encode(), text_.encode(), hashlib.sha256).hexdigest()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_name_and_birth_date_hashes_of_0011_are_filled_when_the_service_starts_and_go_on_downgrade(tmp_path, backend):
    """Stored before 0011: a household (its birth date from its ID number), a member with a birth year only, a
    member without a name and a department record without an ID number. 0011 leaves the step `person_keys`;
    the service fills the hashes when it starts, as worked by hand; downgrading drops the columns and the step."""
    if backend == "postgresql" and not POSTGRES_URL:
        pytest.skip("ASSESS_TEST_DATABASE_URL is not set")
    url, drop = (f"sqlite:///{tmp_path / 'keys.db'}", lambda: None) if backend == "sqlite" else \
        fresh_postgres_database()
    keys = resolve_keys(settings_for(url))
    now = datetime.now(timezone.utc)
    try:
        db.upgrade(url, "0010")
        engine = create_engine(db.normalise_url(url))
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO regions (id, name_zh, name_en) VALUES ('r', '区', 'R')"))
            connection.execute(text("INSERT INTO towns (id, region_id, name) VALUES (1, 'r', 'T')"))
            connection.execute(text("INSERT INTO stations (id, town_id, name) VALUES (1, 1, 'S')"))
            connection.execute(text("INSERT INTO users (id, name, role, station_id, active, created_at) "
                                    "VALUES (1, 'u', 'caseworker', 1, :yes, :now)"), {"yes": True, "now": now})
            connection.execute(text(
                "INSERT INTO households (id, station_id, registered_station_id, status, personal, id_number_hash, "
                "created_by, created_at, updated_at) VALUES (1, 1, 1, 'active', :personal, 'h', 1, :now, :now)"),
                {"personal": encrypt_json(keys, {"name": "王 秀兰", "id_number": resident_id_number(80, "19500307"),
                                                 "phone": None}), "now": now})
            connection.execute(text(
                "INSERT INTO household_members (id, household_id, position, relation, birth_year, personal) "
                "VALUES (1, 1, 0, 'spouse', 1948, :named), (2, 1, 1, 'child', 1975, :nameless)"),
                {"named": encrypt_json(keys, {"name": "Anna Li", "id_number": None}),
                 "nameless": encrypt_json(keys, {"name": None, "id_number": resident_id_number(81, "19750101")})})
            connection.execute(text(
                "INSERT INTO discovery_imports (id, source, file_name, rows, added, refused, imported_at) "
                "VALUES (1, 'disability', 'f.csv', 1, 1, 0, :now)"), {"now": now})
            connection.execute(text(
                "INSERT INTO discovery_records (id, import_id, source, record_key, signal, recorded_on, fresh_until, "
                "town_id, name_hash, person_key, birth_year, personal) VALUES (1, 1, 'disability', 'k', "
                "'disability', '2026-01-01', '2027-01-01', 1, 'n', 'p', 1980, :personal)"),
                {"personal": encrypt_json(keys, {"name": "刘·强", "id_number": None, "birth_date": "1980-02-03"})})
        db.upgrade(url)
        with engine.connect() as connection:
            assert list(connection.execute(text("SELECT name FROM maintenance_tasks")).scalars()) == ["person_keys"]
        app = create_app(settings_for(url))
        app.state.context.database.dispose()
        with engine.connect() as connection:
            assert list(connection.execute(text("SELECT name FROM maintenance_tasks")).scalars()) == []
            household = connection.execute(text("SELECT name_birth_hash FROM households")).scalar_one()
            members = connection.execute(text("SELECT name_birth_hash FROM household_members ORDER BY id")).scalars()
            record = connection.execute(text("SELECT name_birth_hash FROM discovery_records")).scalar_one()
            assert (household, list(members), record) == (
                _keyed("name_birth\x1f王秀兰\x1f1950-03-07"), [_keyed("name\x1fannali"), None],
                _keyed("name_birth\x1f刘强\x1f1980-02-03"))
        db.downgrade(url, "0010")
        engine.dispose()
        engine = create_engine(db.normalise_url(url))
        columns = {table: {c["name"] for c in inspect(engine).get_columns(table)}
                   for table in ("households", "household_members", "discovery_records")}
        assert all("name_birth_hash" not in names for names in columns.values())
        with engine.connect() as connection:
            assert connection.execute(text("SELECT COUNT(*) FROM household_members")).scalar_one() == 2
        engine.dispose()
        db.upgrade(url)
    finally:
        drop()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_members_become_rows_in_order_and_come_back_on_downgrade(tmp_path, backend):
    """0008 turns each household's JSON list of members into rows (same order, fields as stored) and records every
    household as registered where it is served; downgrading puts the lists back."""
    if backend == "postgresql" and not POSTGRES_URL:
        pytest.skip("ASSESS_TEST_DATABASE_URL is not set")
    url, drop = (f"sqlite:///{tmp_path / 'members.db'}", lambda: None) if backend == "sqlite" else \
        fresh_postgres_database()
    listed = {1: [{"relation": "head", "birth_year": 1950, "sex": "female"}, {"relation": "child"}],
              2: [], 3: [{"relation": "spouse", "birth_year": 1952, "sex": "male"}]}
    now = datetime.now(timezone.utc)
    try:
        db.upgrade(url, "0006")
        engine = create_engine(db.normalise_url(url))
        tables = metadata.tables
        with engine.begin() as connection:
            connection.execute(insert(tables["regions"]), [{"id": "r", "name_zh": "区", "name_en": "R"}])
            connection.execute(insert(tables["towns"]), [{"id": 1, "region_id": "r", "name": "T"}])
            connection.execute(insert(tables["stations"]), [{"id": station, "town_id": 1, "name": f"S{station}"}
                                                            for station in (1, 2)])
            connection.execute(insert(tables["users"]), [{"id": 1, "name": "u", "role": "caseworker", "station_id": 1,
                                                          "active": True, "created_at": now}])
            connection.execute(insert(OLD_HOUSEHOLDS), [
                {"id": household_id, "station_id": 1 + household_id % 2, "status": "active", "members": members,
                 "created_by": 1, "personal": "x", "id_number_hash": f"{household_id:064x}", "created_at": now,
                 "updated_at": now} for household_id, members in listed.items()])
        db.upgrade(url)
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT household_id, position, relation, birth_year, sex, personal, "
                                           "id_number_hash FROM household_members ORDER BY household_id, position"))
            assert [tuple(row) for row in rows] == [(1, 0, "head", 1950, "female", None, None),
                                                    (1, 1, "child", None, None, None, None),
                                                    (3, 0, "spouse", 1952, "male", None, None)]
            places = connection.execute(text("SELECT id, station_id, registered_station_id FROM households "
                                             "ORDER BY id"))
            assert [tuple(row) for row in places] == [(1, 2, 2), (2, 1, 1), (3, 2, 2)]
        db.downgrade(url, "0006")
        with engine.connect() as connection:
            back = {row.id: json.loads(row.members) if isinstance(row.members, str) else row.members
                    for row in connection.execute(text("SELECT id, members FROM households"))}
        assert back == {1: [{"relation": "head", "birth_year": 1950, "sex": "female"},
                            {"relation": "child", "birth_year": None, "sex": None}], 2: [], 3: listed[3]}
        engine.dispose()
    finally:
        drop()


OLD_TO_NEW = {"recommended": "draft", "referred": "requested", "accepted": "accepted", "in_service": "in-progress",
              "completed": "completed", "declined": "rejected", "cancelled": "cancelled"}


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_referrals_stored_before_0007_move_to_the_fhir_statuses_with_their_history(tmp_path, backend):
    """One referral in each old status, with its history: 0007 gives each the FHIR code of the table in
    docs/workflows.md, in the referral and in every history row; keeps the reasons' text; starts every
    referral at version 1; makes the open ones due their status's days after their last change; gives each
    provider a directory id. Downgraded, the old statuses come back."""
    if backend == "postgresql" and not POSTGRES_URL:
        pytest.skip("ASSESS_TEST_DATABASE_URL is not set")
    url, drop = (f"sqlite:///{tmp_path / 'old.db'}", lambda: None) if backend == "sqlite" else \
        fresh_postgres_database()
    keys = resolve_keys(settings_for(url))
    changed = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)
    paths = {"recommended": [None], "referred": [None, "recommended"], "accepted": [None, "referred"],
             "in_service": [None, "referred", "accepted"], "completed": [None, "referred", "accepted", "in_service"],
             "declined": [None, "referred"], "cancelled": [None]}
    try:
        db.upgrade(url, "0006")
        engine = create_engine(db.normalise_url(url))
        tables = metadata.tables
        with engine.begin() as connection:
            connection.execute(insert(tables["regions"]), [{"id": "r", "name_zh": "区", "name_en": "R"}])
            connection.execute(insert(tables["towns"]), [{"id": 1, "region_id": "r", "name": "T"}])
            connection.execute(insert(tables["stations"]), [{"id": 1, "town_id": 1, "name": "S"}])
            connection.execute(insert(tables["users"]), [{"id": 1, "name": "u", "role": "caseworker", "station_id": 1,
                                                          "active": True, "created_at": changed}])
            connection.execute(text("INSERT INTO providers (id, name, kind, services, active, created_at) VALUES "
                                    "(1, 'P', 'charity', '[\"meal_assistance\"]', :yes, :at)"),
                               {"yes": True, "at": changed})
            connection.execute(insert(OLD_HOUSEHOLDS), [
                {"id": household_id, "station_id": 1, "status": "active", "members": [], "created_by": 1,
                 "personal": encrypt_json(keys, {"name": "王", "id_number": resident_id_number(70 + household_id),
                                                 "phone": None}),
                 "id_number_hash": f"h{household_id}", "created_at": changed, "updated_at": changed}
                for household_id in range(1, len(paths) + 1)])
            for referral_id, (status, steps) in enumerate(paths.items(), start=1):
                is_open = status in ("recommended", "referred", "accepted", "in_service")
                reason = "路途太远" if status in ("declined", "cancelled") else None
                connection.execute(text(
                    "INSERT INTO referrals (id, household_id, service_id, provider_id, status, open_slot, reason, "
                    "created_by, created_at, changed_at) VALUES (:id, :id, 'meal_assistance', :provider, :status, "
                    ":open, :reason, 1, :at, :at)"),
                    {"id": referral_id, "provider": None if status == "recommended" else 1, "status": status,
                     "open": True if is_open else None, "reason": reason, "at": changed})
                for position, from_status in enumerate(steps):
                    to_status = steps[position + 1] if position + 1 < len(steps) else status
                    connection.execute(text(
                        "INSERT INTO referral_events (referral_id, from_status, to_status, reason, user_id, at) "
                        "VALUES (:referral, :from_status, :to_status, :reason, 1, :at)"),
                        {"referral": referral_id, "from_status": from_status, "to_status": to_status, "at": changed,
                         "reason": reason if to_status == status else None})
        db.upgrade(url, "0007")
        with engine.connect() as connection:
            referrals = {row.id: row for row in connection.execute(text(
                "SELECT id, status, version, due_at, reason, reason_code FROM referrals ORDER BY id"))}
            events = connection.execute(text("SELECT referral_id, kind, from_status, to_status, reason "
                                             "FROM referral_events ORDER BY id")).all()
            directory_ids = connection.execute(text("SELECT directory_id FROM providers")).scalars().all()
        expected_days = {"draft": 14, "requested": 3, "accepted": 7, "in-progress": 30}
        for referral_id, (old, steps) in enumerate(paths.items(), start=1):
            row = referrals[referral_id]
            assert row.status == OLD_TO_NEW[old] and row.version == 1
            due = datetime.fromisoformat(row.due_at) if isinstance(row.due_at, str) else row.due_at  # SQLite: text
            due = due if due is None or due.tzinfo else due.replace(tzinfo=timezone.utc)
            assert due == (changed + timedelta(days=expected_days[row.status]) if row.status in expected_days else None)
            history = [(e.kind, e.from_status, e.to_status) for e in events if e.referral_id == referral_id]
            mapped = [OLD_TO_NEW.get(s) for s in steps]
            assert history == [("status", before, after) for before, after in zip(mapped, mapped[1:] + [row.status])]
        assert (referrals[6].reason, referrals[6].reason_code) == ("路途太远", None)
        assert [e.reason for e in events if e.referral_id == 6 and e.to_status == "rejected"] == ["路途太远"]
        assert len(directory_ids) == 1 and uuid.UUID(directory_ids[0])
        db.downgrade(url, "0006")
        with engine.connect() as connection:
            back = dict(connection.execute(text("SELECT id, status FROM referrals")).all())
            back_events = connection.execute(text("SELECT to_status FROM referral_events")).scalars().all()
        engine.dispose()
        assert back == {referral_id: old for referral_id, old in enumerate(paths, start=1)}
        assert set(back_events) <= set(OLD_TO_NEW)
    finally:
        drop()
