"""Where and how a submission is stored: the latest-assessment row it writes equals a full refresh from the
stored assessments; on PostgreSQL it runs on the event loop in autocommit (one read, one write), and a
write overtaken by another stores nothing with its one statement and then everything in one transaction."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from api.assessments import submission as submissions
from api.assessments.store import refresh_latest
from api.assessments.tables import Assessment, HouseholdLatest, LatestAnswers
from api.auth.access import Caller, Role
from api.db.statements import DriverStatement
from tests.api.factories import calm_answers, household_payload, submission, with_answer
from tests.api.support import DATA_KEY, HASH_KEY
from tests.api.workflow_helpers import publish_test_cutoffs


def latest_rows(session: Session, household_id: int) -> tuple[dict, dict | None]:
    latest = session.scalar(select(HouseholdLatest).where(HouseholdLatest.household_id == household_id))
    line = session.scalar(select(LatestAnswers).where(LatestAnswers.household_id == household_id))
    as_dict = (lambda row: None if row is None else
               {column.name: getattr(row, column.name) for column in row.__table__.columns})
    return as_dict(latest), as_dict(line)


def assert_matches_full_refresh(app, household_id: int) -> dict:
    """The rows as the submission left them equal the rows `refresh_latest` computes from every stored
    assessment (computed in a transaction that is rolled back)."""
    context = app.state.context
    with Session(context.database.engine) as session:
        written = latest_rows(session, household_id)
        session.rollback()
        refresh_latest(session, household_ids=[household_id], catalog=context.scorer.catalog)
        session.expire_all()
        recomputed = latest_rows(session, household_id)
        session.rollback()
    assert written == recomputed
    return written[0]


def test_latest_row_after_each_kind_of_submission_equals_a_full_refresh(app, client, city, catalog):
    auth = city.auth("caseworker_s1")
    household = client.post("/v1/households", json=household_payload(city.stations["S1"]), headers=auth).json()["id"]
    deprived = max(catalog.indicator_by_id["health_self_rated"].answer.levels, key=lambda level: level.score).value

    def send(body):
        response = client.post(f"/v1/households/{household}/assessments", json=body, headers=auth)
        assert response.status_code == 201, response.text
        return response.json()

    first = send(submission(calm_answers(catalog), assessed_on="2026-01-10"))
    assert assert_matches_full_refresh(app, household)["assessment_id"] == first["id"]
    second = send(submission(with_answer(calm_answers(catalog), health_self_rated=deprived), assessed_on="2026-02-10"))
    row = assert_matches_full_refresh(app, household)
    assert (row["assessment_id"], row["previous_assessment_id"]) == (second["id"], first["id"])
    earlier = send(submission(calm_answers(catalog), assessed_on="2025-12-01"))  # not the latest
    row = assert_matches_full_refresh(app, household)
    assert (row["assessment_id"], row["previous_assessment_id"]) == (second["id"], first["id"])
    assert earlier["id"] not in (row["assessment_id"], row["previous_assessment_id"])
    correction = send(submission(calm_answers(catalog), assessed_on="2026-02-10", corrects=second["id"]))
    row = assert_matches_full_refresh(app, household)
    assert (row["assessment_id"], row["previous_assessment_id"]) == (correction["id"], first["id"])
    same_day = send(submission(with_answer(calm_answers(catalog), health_self_rated=deprived),
                               assessed_on="2026-02-10"))  # the same date: the later one is the latest
    row = assert_matches_full_refresh(app, household)
    assert (row["assessment_id"], row["previous_assessment_id"]) == (same_day["id"], correction["id"])


@contextmanager
def recorded_statements(app):
    """What submissions send meanwhile: (on the event loop's asyncio connections, on the connections of the
    engine the threads use), each statement as (its first word, whether its connection was in autocommit)."""
    on_loop, in_threads = [], []
    execute = psycopg.AsyncCursor.execute

    async def recording(self, query, params=None, **options):
        on_loop.append((str(query).split(None, 1)[0].upper(), self.connection.autocommit))
        return await execute(self, query, params, **options)

    class Recording(psycopg.Cursor):
        def execute(self, query, params=None, **options):
            in_threads.append((str(query).split(None, 1)[0].upper(), self.connection.autocommit))
            return super().execute(query, params, **options)

    def record(dbapi_connection, _record, _proxy):
        dbapi_connection.cursor_factory = Recording

    engine = app.state.context.database.engine
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(psycopg.AsyncCursor, "execute", recording)
        event.listen(engine, "checkout", record)
        try:
            yield on_loop, in_threads
        finally:
            event.remove(engine, "checkout", record)


def test_a_usual_postgresql_submission_is_one_read_and_one_write_on_the_event_loop_with_no_transaction_around(
        app, client, city, catalog, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite statements cost no round trip; its writers always take the lock first")
    auth = city.auth("caseworker_s1")
    household = client.post("/v1/households", json=household_payload(city.stations["S1"]), headers=auth).json()["id"]
    first = client.post(f"/v1/households/{household}/assessments", json=submission(calm_answers(catalog),
                        assessed_on="2026-01-10"), headers=auth)
    with recorded_statements(app) as (on_loop, in_threads):
        second = client.post(f"/v1/households/{household}/assessments", json=submission(calm_answers(catalog),
                             assessed_on="2026-02-10"), headers=auth)
    assert first.status_code == second.status_code == 201
    # who the caller is, the read (household, key, configuration, latest assessment) and the write (the insert
    # with both latest rows), each committed by itself: no BEGIN or COMMIT round trip, and no thread
    assert [kind for kind, _ in on_loop] == ["SELECT", "SELECT", "WITH"]
    assert all(autocommit for _, autocommit in on_loop)
    assert in_threads == []
    row = assert_matches_full_refresh(app, household)
    assert (row["assessment_id"], row["previous_assessment_id"]) == (second.json()["id"], first.json()["id"])


def test_every_postgresql_submission_runs_on_the_event_loop_and_writes_in_one_statement_or_one_transaction(
        app, client, city, catalog, database_url):
    """The usual submission writes with one statement; one that is not the latest, a correction, or the first
    after a publication opens one transaction for its writes; a retry and a refusal write nothing. None of
    them runs in a thread."""
    if not database_url.startswith("postgresql"):
        pytest.skip("on SQLite every submission runs in one transaction begun with BEGIN IMMEDIATE")
    household = client.post("/v1/households", json=household_payload(city.stations["S1"]),
                            headers=city.auth("caseworker_s1")).json()["id"]
    calm = calm_answers(catalog)

    def send(body, user="caseworker_s1"):
        """The response, and the statements sent on the event loop after the caller's authentication."""
        with recorded_statements(app) as (on_loop, in_threads):
            response = client.post(f"/v1/households/{household}/assessments", json=body, headers=city.auth(user))
        assert in_threads == []
        authentication = 2 if user.startswith("supervisor") else 1  # a supervisor's towns are a second read
        return response, [kind for kind, _ in on_loop][authentication:]

    def one_transaction(kinds):  # the driver commits it (no statement of its own)
        return kinds.count("BEGIN") == 1 and kinds.index("BEGIN") < kinds.index("INSERT") and "WITH" not in kinds

    usual = submission(calm, assessed_on="2026-02-01")
    first, kinds = send(usual)
    assert (first.status_code, kinds) == (201, ["SELECT", "WITH"])
    retry, kinds = send(usual)  # found stored by the read: replayed
    assert (retry.status_code, retry.json()) == (201, first.json()) and "INSERT" not in kinds and "BEGIN" not in kinds
    earlier, kinds = send(submission(calm, assessed_on="2026-01-01"))  # not the latest
    assert earlier.status_code == 201 and one_transaction(kinds)
    supervised, kinds = send(submission(calm, assessed_on="2026-02-02"), "supervisor_t1")
    assert (supervised.status_code, kinds) == (201, ["SELECT", "WITH"])
    correction, kinds = send(submission(calm, assessed_on="2026-02-02", corrects=supervised.json()["id"]))
    assert correction.status_code == 201 and one_transaction(kinds)
    refused, kinds = send(submission(with_answer(calm, fam_household_size=-3)))
    assert (refused.status_code, kinds) == (422, ["SELECT"])
    elsewhere, kinds = send(submission(calm), "caseworker_s3")
    assert (elsewhere.status_code, kinds) == (403, ["SELECT"])
    version = publish_test_cutoffs(app)  # the latest assessment is under another version: its re-scored figures
    changed, kinds = send(submission(calm, assessed_on="2026-03-01"))
    assert (changed.status_code, changed.json()["config_version"]) == (201, version) and kinds[-1] == "WITH"
    after, kinds = send(submission(calm, assessed_on="2026-03-02"))
    assert (after.status_code, after.json()["config_version"], kinds) == (201, version, ["SELECT", "WITH"])
    row = assert_matches_full_refresh(app, household)
    assert (row["assessment_id"], row["previous_assessment_id"]) == (after.json()["id"], changed.json()["id"])
    with Session(app.state.context.database.engine) as session:
        stored = session.scalars(select(Assessment.id).order_by(Assessment.id)).all()
    assert stored == sorted(r.json()["id"] for r in (first, earlier, supervised, correction, changed, after))


def test_a_submission_overtaken_before_its_write_stores_nothing_with_it_and_then_everything_in_one_transaction(
        app, client, city, catalog, database_url, monkeypatch):
    """Another submission for the household commits between the read and the one-statement write: that
    statement stores nothing (the latest row moved), and the submission is stored again in one transaction
    that rebuilds the latest row from what is stored."""
    if not database_url.startswith("postgresql"):
        pytest.skip("on SQLite every submission holds the write lock from its read on")
    context = app.state.context
    auth = city.auth("caseworker_s1")
    household = client.post("/v1/households", json=household_payload(city.stations["S1"]), headers=auth).json()["id"]
    calm = calm_answers(catalog)
    first = client.post(f"/v1/households/{household}/assessments", json=submission(calm, assessed_on="2026-01-10"),
                        headers=auth).json()
    caseworker = caller_of(city, "caseworker_s1")
    overtaking, statements = [], []
    run = DriverStatement.first

    def overtaken(self, connection, parameters):
        statements.append(self.sql.split(None, 1)[0])
        if self.sql.startswith("WITH") and not overtaking:
            with context.database.session(write=True) as session:
                overtaking.append(submissions.submit(
                    session=session, caller=caseworker, scorer=context.scorer, household_id=household,
                    submission_id=str(uuid.uuid4()), answers=calm, assessed_on=date(2026, 2, 15),
                    earliest_assessed_on=context.settings.earliest_assessed_on))
        return run(self, connection, parameters)

    monkeypatch.setattr(DriverStatement, "first", overtaken)
    latest = client.post(f"/v1/households/{household}/assessments",
                         json=submission(with_answer(calm, fam_household_size=4), assessed_on="2026-03-01"),
                         headers=auth)
    assert latest.status_code == 201, latest.text
    assert statements.count("WITH") == 1 and statements.count("INSERT") >= 1  # stored again after the WITH
    row = assert_matches_full_refresh(app, household)
    assert (row["assessment_id"], row["previous_assessment_id"]) == (latest.json()["id"], overtaking[0]["id"])
    assert first["id"] < overtaking[0]["id"] < latest.json()["id"]
    with Session(context.database.engine) as session:
        assert session.scalar(select(func.count()).select_from(Assessment)) == 3






AUDIT_FAILS = {
    "sqlite": ["CREATE TRIGGER audit_fails BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit down'); END"],
    "postgresql": ["CREATE FUNCTION audit_down() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$ BEGIN RAISE EXCEPTION 'audit down'; END $$",
                   "CREATE TRIGGER audit_fails BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_down()"],
}
AUDIT_WORKS = {"sqlite": ["DROP TRIGGER audit_fails"],
               "postgresql": ["DROP TRIGGER audit_fails ON audit_log", "DROP FUNCTION audit_down()"]}


def test_a_correction_whose_audit_entry_fails_stores_nothing(app, client, city, catalog, database_url):
    """A correction writes the assessment, the latest rows and an audit entry: when the last write fails,
    none of them stays (on PostgreSQL, the writes open their own transaction)."""
    auth = city.auth("caseworker_s1")
    household = client.post("/v1/households", json=household_payload(city.stations["S1"]), headers=auth).json()["id"]
    first = client.post(f"/v1/households/{household}/assessments", json=submission(calm_answers(catalog)),
                        headers=auth).json()
    engine = app.state.context.database.engine
    dialect = engine.dialect.name
    with engine.begin() as connection:
        for statement in AUDIT_FAILS[dialect]:
            connection.exec_driver_sql(statement)
    try:
        failed = client.post(f"/v1/households/{household}/assessments",
                             json=submission(calm_answers(catalog), corrects=first["id"]), headers=auth)
    finally:
        with engine.begin() as connection:
            for statement in AUDIT_WORKS[dialect]:
                connection.exec_driver_sql(statement)
    assert failed.status_code == 500
    assert "audit down" not in failed.text  # no database message reaches the client
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Assessment)) == 1
        corrections = select(func.count()).select_from(Assessment).where(Assessment.corrects_id.is_not(None))
        assert session.scalar(corrections) == 0
    assert assert_matches_full_refresh(app, household)["assessment_id"] == first["id"]
    retried = client.post(f"/v1/households/{household}/assessments",
                          json=submission(calm_answers(catalog), corrects=first["id"]), headers=auth)
    assert retried.status_code == 201, retried.text
    assert assert_matches_full_refresh(app, household)["assessment_id"] == retried.json()["id"]


def caller_of(city, user: str) -> Caller:
    """The caller a test user's token stands for (a caseworker of S1, or the supervisor of T1)."""
    if user.startswith("supervisor"):
        return Caller(id=city.user_ids[user], name=user, role=Role.supervisor, town_ids=frozenset([city.towns["T1"]]))
    return Caller(id=city.user_ids[user], name=user, role=Role.caseworker, station_id=city.stations["S1"])


REPOSITORY = Path(__file__).resolve().parents[3]


WRITER_SCRIPT = """
import json, sys
from fastapi.testclient import TestClient
from api.app import create_app
with TestClient(create_app()) as client:  # with its lifespan: the usual submission runs on the event loop
    response = client.post(sys.argv[1], json=json.loads(sys.argv[2]),
                           headers={"Authorization": "Bearer " + sys.argv[3]})
    print(response.status_code, response.text)
"""


def _blocked_by(connection, pid: int, application: str | None = None) -> list[int]:
    """The backends of this database waiting for a lock that backend `pid` holds (of one application)."""
    return list(connection.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND %s = ANY(pg_blocking_pids(pid)) "
        "AND (%s::text IS NULL OR application_name = %s)", (pid, application, application)).fetchall())


def _wait_for(condition, what: str, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
    return found


@pytest.mark.parametrize("user", ["caseworker_s1", "supervisor_t1"])
def test_a_writer_killed_after_another_submission_overtook_it_leaves_the_latest_row_right(
        app, client, city, catalog, database_url, user):
    """PostgreSQL: a submission whose one-statement write another submission overtakes (so it is stored again
    in a transaction that rebuilds the latest rows) is killed, as a process, while that transaction waits for
    a lock. Whatever it stored by then, the household's latest rows are what a full refresh gives. (Before
    issue 18, the assessment was committed first and the latest rows refreshed in a second transaction,
    which the kill never committed.)"""
    if not database_url.startswith("postgresql"):
        pytest.skip("on SQLite a submission is one transaction")
    context = app.state.context
    household = client.post("/v1/households", json=household_payload(city.stations["S1"]),
                            headers=city.auth(user)).json()["id"]
    calm = calm_answers(catalog)
    first = client.post(f"/v1/households/{household}/assessments", json=submission(calm, assessed_on="2026-01-10"),
                        headers=city.auth(user))
    assert first.status_code == 201
    plain_url = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    lock_latest = "SELECT household_id FROM household_latest WHERE household_id = %s FOR UPDATE"
    environment = {**os.environ, "ASSESS_DATABASE_URL": database_url, "ASSESS_DATA_KEY": DATA_KEY,
                   "ASSESS_HASH_KEY": HASH_KEY, "ASSESS_ENV": "production", "ASSESS_MIGRATE_ON_START": "false",
                   "PGAPPNAME": "killed-writer"}
    with psycopg.connect(plain_url, autocommit=True) as watcher, psycopg.connect(plain_url) as holder:
        writer = None
        try:
            with context.database.session(write=True) as overtaking:  # another submission, holding the row
                session_pid = overtaking.scalar(text("SELECT pg_backend_pid()"))
                overtaking.execute(text(lock_latest.replace("%s", ":h")), {"h": household})
                writer = subprocess.Popen(
                    [sys.executable, "-c", WRITER_SCRIPT, f"/v1/households/{household}/assessments",
                     json.dumps(submission(with_answer(calm, fam_household_size=4), assessed_on="2026-03-01")),
                     city.tokens[user]], cwd=REPOSITORY, env=environment, stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE, text=True)
                _wait_for(lambda: _blocked_by(watcher, session_pid, "killed-writer") or writer.poll() is not None,
                          "the writer's statement to wait for the row")
                assert writer.poll() is None, writer.communicate()
                overtook = submissions.submit(
                    session=overtaking, caller=caller_of(city, user), scorer=context.scorer, household_id=household,
                    submission_id=str(uuid.uuid4()), answers=calm, assessed_on=date(2026, 2, 1),
                    earliest_assessed_on=context.settings.earliest_assessed_on)
                holder_pid = holder.info.backend_pid
                holding = threading.Thread(target=holder.execute, args=(lock_latest, (household,)))
                holding.start()  # queued behind the writer's statement, ahead of what the writer does next
                _wait_for(lambda: watcher.execute("SELECT cardinality(pg_blocking_pids(%s)) > 0",
                                                  (holder_pid,)).fetchone()[0], "the holder to queue for the row")
            holding.join(60)  # the overtaking submission committed; the writer's statement ran; the holder has the row
            _wait_for(lambda: _blocked_by(watcher, holder_pid, "killed-writer") or writer.poll() is not None,
                      "the writer's next step to wait for the row")
            assert writer.poll() is None, writer.communicate()
            writer.send_signal(signal.SIGKILL)
            writer.wait(30)
        finally:
            if writer is not None and writer.poll() is None:
                writer.kill()
                writer.wait()
        holder.rollback()
        _wait_for(lambda: not watcher.execute("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() "
                                              "AND application_name = 'killed-writer'").fetchall(),
                  "the killed writer's connections to end")
    row = assert_matches_full_refresh(app, household)
    assert row["assessment_id"] != first.json()["id"] and overtook["id"] in (row["assessment_id"],
                                                                             row["previous_assessment_id"])
