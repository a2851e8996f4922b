"""The submission's short paths: the latest-assessment row it writes equals a full refresh from the stored
assessments, SQLite writers queue on a lock file across processes, and a champion lookup after the first
does not hold other requests up."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import anyio
import psycopg
import pytest
from sqlalchemy import JSON, Column, Date, Integer, MetaData, Table, bindparam, event, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.db import Database, DriverStatement, WriterQueue, begin_explicitly, bound_connection, make_engine
from api.services import assessments
from api.services.latest import refresh_latest
from api.services.scoring import ChampionCache
from api.tables import Assessment, HouseholdLatest, LatestAnswers
from cli.main import app as cli
from tests.api.factories import calm_answers, household_payload, submission, with_answer
from tests.api.support import DATA_KEY, HASH_KEY, settings_for
from tests.api.workflow_helpers import publish_test_cutoffs

REPOSITORY = Path(__file__).resolve().parents[2]


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
        refresh_latest(session, household_id=household_id, catalog=context.scorer.catalog)
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
    """What submissions send meanwhile: (on the event loop's asyncio connections, on the writer threads'
    connections), each statement as (its first word, whether its connection was in autocommit)."""
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

    engine = app.state.context.database.autocommit_engine
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
    # the read (token, household, key, configuration, latest assessment) and the write (the insert with both
    # latest rows), each committed by itself: no BEGIN or COMMIT round trip, and no thread
    assert [kind for kind, _ in on_loop] == ["SELECT", "WITH"]
    assert all(autocommit for _, autocommit in on_loop)
    assert in_threads == []
    row = assert_matches_full_refresh(app, household)
    assert (row["assessment_id"], row["previous_assessment_id"]) == (second.json()["id"], first.json()["id"])


def test_the_event_loop_takes_only_the_usual_submission_and_leaves_every_other_to_a_writer(
        app, client, city, catalog, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("on SQLite every submission runs in the writer")
    household = client.post("/v1/households", json=household_payload(city.stations["S1"]),
                            headers=city.auth("caseworker_s1")).json()["id"]
    calm = calm_answers(catalog)

    def send(body, user="caseworker_s1"):
        """The response, the statements sent on the event loop, and whether a writer thread sent any."""
        with recorded_statements(app) as (on_loop, in_threads):
            response = client.post(f"/v1/households/{household}/assessments", json=body, headers=city.auth(user))
        return response, [kind for kind, _ in on_loop], bool(in_threads)

    usual = submission(calm, assessed_on="2026-02-01")
    first, loop, threads = send(usual)
    assert (first.status_code, loop, threads) == (201, ["SELECT", "WITH"], False)
    retry, loop, threads = send(usual)  # found stored by the read: the writer replays it
    assert (retry.status_code, retry.json(), loop, threads) == (201, first.json(), ["SELECT"], True)
    earlier, loop, threads = send(submission(calm, assessed_on="2026-01-01"))  # not the latest
    assert (earlier.status_code, loop, threads) == (201, ["SELECT"], True)
    supervised, loop, threads = send(submission(calm, assessed_on="2026-02-02"), "supervisor_t1")  # has towns
    assert (supervised.status_code, loop, threads) == (201, ["SELECT"], True)
    correction, loop, threads = send(submission(calm, assessed_on="2026-02-02", corrects=supervised.json()["id"]))
    assert (correction.status_code, loop, threads) == (201, [], True)
    refused, loop, threads = send(submission(with_answer(calm, fam_household_size=-3)))
    assert (refused.status_code, loop, threads) == (422, ["SELECT"], False)
    elsewhere, loop, threads = send(submission(calm), "caseworker_s3")
    assert (elsewhere.status_code, loop, threads) == (403, ["SELECT"], False)
    version = publish_test_cutoffs(app)  # not read yet, and the latest assessment is under another version
    changed, loop, threads = send(submission(calm, assessed_on="2026-03-01"))
    assert (changed.status_code, changed.json()["config_version"], loop, threads) == (201, version, ["SELECT"], True)
    after, loop, threads = send(submission(calm, assessed_on="2026-03-02"))
    assert (after.status_code, after.json()["config_version"], loop, threads) == (201, version, ["SELECT", "WITH"],
                                                                                  False)
    row = assert_matches_full_refresh(app, household)
    assert (row["assessment_id"], row["previous_assessment_id"]) == (after.json()["id"], changed.json()["id"])
    with Session(app.state.context.database.engine) as session:
        stored = session.scalars(select(Assessment.id).order_by(Assessment.id)).all()
    assert stored == sorted(r.json()["id"] for r in (first, earlier, supervised, correction, changed, after))


def test_a_submission_on_the_event_loop_overtaken_before_its_write_refreshes_the_latest_rows(
        app, client, city, catalog, database_url, monkeypatch):
    """Another submission for the household commits between the read and the write: the write stores the
    assessment but leaves the latest rows, and a writer refreshes them from what is stored."""
    if not database_url.startswith("postgresql"):
        pytest.skip("on SQLite every submission runs in the writer, holding the lock from its read on")
    context = app.state.context
    auth = city.auth("caseworker_s1")
    household = client.post("/v1/households", json=household_payload(city.stations["S1"]), headers=auth).json()["id"]
    calm = calm_answers(catalog)
    first = client.post(f"/v1/households/{household}/assessments", json=submission(calm, assessed_on="2026-01-10"),
                        headers=auth).json()
    overtaking = []
    write = DriverStatement.first_async

    async def overtaken(self, connection, dialect, parameters):
        if self.sql.startswith("WITH") and not overtaking:
            with context.database.session(write=True, autocommit=True) as session:
                overtaking.append(assessments.submit(
                    session=session, token=city.tokens["caseworker_s1"], scorer=context.scorer,
                    household_id=household, submission_id=str(uuid.uuid4()), answers=calm,
                    assessed_on=date(2026, 2, 15)))
        return await write(self, connection, dialect, parameters)

    monkeypatch.setattr(DriverStatement, "first_async", overtaken)
    latest = client.post(f"/v1/households/{household}/assessments",
                         json=submission(with_answer(calm, fam_household_size=4), assessed_on="2026-03-01"),
                         headers=auth)
    assert latest.status_code == 201, latest.text
    row = assert_matches_full_refresh(app, household)
    assert (row["assessment_id"], row["previous_assessment_id"]) == (latest.json()["id"], overtaking[0]["id"])
    assert first["id"] < overtaking[0]["id"] < latest.json()["id"]


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
    """PostgreSQL: a submission whose write another submission overtakes (so the latest rows must be refreshed
    from what is stored) is killed, as a process, while that refresh waits for a lock. Whatever it stored by
    then, the household's latest rows are what a full refresh gives. (Before, the assessment was committed
    first and the latest rows refreshed in a second transaction, which the kill never committed.)"""
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
                overtook = assessments.submit(session=overtaking, token=city.tokens[user], scorer=context.scorer,
                                              household_id=household, submission_id=str(uuid.uuid4()), answers=calm,
                                              assessed_on=date(2026, 2, 1))
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


def test_a_driver_statement_binds_and_reads_by_type_and_raises_database_errors_as_sqlalchemy_does(database_url):
    engine = make_engine(database_url)
    probe = Table("driver_statement_probe", MetaData(), Column("id", Integer, primary_key=True), Column("doc", JSON),
                  Column("day", Date))
    insert_probe = DriverStatement(insert(probe).values(id=bindparam("id"), doc=bindparam("doc"), day=bindparam("day"))
                                   .returning(probe.c.id, (probe.c.id * 2).label("twice"), probe.c.day), engine.dialect)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("CREATE TEMP TABLE driver_statement_probe (id integer PRIMARY KEY, doc json, "
                                       "day date)")
            row = insert_probe.first(connection, {"id": 7, "doc": {"answers": [1, "二"]}, "day": date(2026, 2, 28)})
            assert (row.id, row.twice, row.day) == (7, 14, date(2026, 2, 28))
            stored = connection.exec_driver_sql("SELECT CAST(doc AS TEXT), CAST(day AS TEXT) "
                                                "FROM driver_statement_probe").one()
            assert json.loads(stored[0]) == {"answers": [1, "二"]} and stored[1] == "2026-02-28"
            with pytest.raises(IntegrityError):
                insert_probe.first(connection, {"id": 7, "doc": None, "day": None})
            connection.rollback()
    finally:
        engine.dispose()


def test_a_bound_writing_session_commits_what_it_wrote_at_the_end_and_nothing_on_failure(database_url):
    database = Database(database_url)
    autocommit = database_url.startswith("postgresql")  # each statement commits by itself until BEGIN
    probe = Table("bound_session_probe", MetaData(), Column("id", Integer, primary_key=True))
    add = DriverStatement(insert(probe).values(id=bindparam("id")).returning(probe.c.id), database.engine.dialect)

    def stored() -> list[int]:
        with database.engine.connect() as connection:
            return sorted(connection.execute(select(probe.c.id)).scalars())

    probe.create(database.engine)
    try:
        with database.session(write=True, autocommit=True) as session:
            add.first(bound_connection(session), {"id": 1})
            assert not session.in_transaction()
            assert stored() == ([1] if autocommit else [])
            begin_explicitly(session)
            session.execute(insert(probe), [{"id": 2}, {"id": 3}])
            assert stored() == ([1] if autocommit else [])  # not before the session ends
        assert stored() == [1, 2, 3]
        with pytest.raises(RuntimeError), database.session(write=True, autocommit=True) as session:
            add.first(bound_connection(session), {"id": 4})
            begin_explicitly(session)
            session.execute(insert(probe).values(id=5))
            raise RuntimeError("the request fails")
        with pytest.raises(IntegrityError), database.session(write=True, autocommit=True) as session:
            begin_explicitly(session)
            session.execute(insert(probe).values(id=6))
            session.execute(insert(probe).values(id=1))
        assert stored() == ([1, 2, 3, 4] if autocommit else [1, 2, 3])
    finally:
        probe.drop(database.engine)
        database.dispose()


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


def test_a_sqlite_writer_waits_for_a_writer_of_another_connection(tmp_path):
    path = tmp_path / "db.writer-lock"
    holder, waiter = WriterQueue(path, timeout_s=30), WriterQueue(path, timeout_s=30)
    entered = threading.Event()

    def write() -> None:
        with waiter:
            entered.set()

    with holder:
        thread = threading.Thread(target=write)
        thread.start()
        assert not entered.wait(0.3)  # the lock file is held by the other queue
    assert entered.wait(30)
    thread.join()
    holder.close()
    waiter.close()


def test_a_sqlite_writer_goes_on_when_the_lock_file_stays_held(tmp_path):
    """After the timeout the writer is left to SQLite's own locking instead of waiting for ever."""
    path = tmp_path / "db.writer-lock"
    holder, waiter = WriterQueue(path, timeout_s=30), WriterQueue(path, timeout_s=0.05)
    with holder, waiter:  # returns instead of waiting for the holder
        pass
    holder.close()
    waiter.close()


def test_serve_refuses_several_workers_on_an_in_memory_database(monkeypatch):
    for name, value in (("ASSESS_DATABASE_URL", "sqlite://"), ("ASSESS_DATA_KEY", DATA_KEY),
                        ("ASSESS_HASH_KEY", HASH_KEY)):
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(cli, ["serve", "--workers", "2"])
    assert result.exit_code == 2 and "--workers" in result.output


def test_the_thread_that_holds_the_writer_queue_may_enter_it_again(tmp_path):
    queue = WriterQueue(tmp_path / "db.writer-lock", timeout_s=30)
    entered = threading.Event()

    def write() -> None:
        with queue:
            entered.set()

    with queue:
        with queue:
            pass
        thread = threading.Thread(target=write)
        thread.start()
        assert not entered.wait(0.3)  # still held after the inner exit
    assert entered.wait(30)
    thread.join()
    queue.close()


def test_try_enter_holds_nothing_when_another_writer_has_the_queue(tmp_path):
    path = tmp_path / "db.writer-lock"
    queue, other_process = WriterQueue(path, timeout_s=30), WriterQueue(path, timeout_s=30)
    with other_process:
        assert not queue.try_enter()
    assert queue.try_enter()  # nothing was left held by the failed attempt
    results = []
    blocked = threading.Thread(target=lambda: results.append(queue.try_enter()))
    blocked.start()
    blocked.join()
    assert results == [False]  # another thread of the process holds it
    queue.leave()
    queue.close()
    other_process.close()


def test_a_sqlite_writer_runs_on_the_event_loop_unless_another_writer_holds_the_queue(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'writers.db'}")
    with database.session(write=True) as session:
        session.execute(text("CREATE TABLE written (thread TEXT)"))
    other_process = WriterQueue(tmp_path / "writers.db.writer-lock", timeout_s=30)

    def write() -> threading.Thread:
        with database.session(write=True) as session:  # enters the queue its caller may already hold
            session.execute(text("INSERT INTO written VALUES (:name)"), {"name": threading.current_thread().name})
        return threading.current_thread()

    async def main() -> None:
        loop_thread = threading.current_thread()
        assert await database.run_writer(write) is loop_thread
        finished = []

        async def wait_for_the_other() -> None:
            finished.append(await database.run_writer(write))

        assert other_process.try_enter()
        async with anyio.create_task_group() as group:
            group.start_soon(wait_for_the_other)
            await anyio.sleep(0.3)
            assert not finished  # it waits in a worker thread, and the event loop goes on meanwhile
            other_process.leave()
        assert finished[0] is not loop_thread

    # in a thread of its own: Playwright's sync API (the browser tests) leaves an event loop running in
    # the main thread for the rest of the session
    with ThreadPoolExecutor(1) as runner:
        runner.submit(anyio.run, main).result()
    with database.session() as session:
        assert session.execute(text("SELECT count(*) FROM written")).scalar_one() == 2
    database.dispose()
    other_process.close()


class SlowRegistry(ChampionCache):
    """Champions "v1", "v2", ...; a lookup after the first waits until `proceed` is set."""

    def __init__(self):
        super().__init__(settings_for("sqlite://", model_refresh_seconds=0))
        self.lookups, self.started, self.proceed = 0, threading.Event(), threading.Event()

    def _load(self, current):
        self.lookups += 1
        if self.lookups > 1:
            self.started.set()
            assert self.proceed.wait(30)
        return f"v{self.lookups}"


def test_a_later_champion_lookup_runs_in_the_background_while_requests_keep_the_model_they_had():
    cache = SlowRegistry()
    assert cache.get() == "v1"  # the first lookup is waited for
    assert cache.get() == "v1"  # stale at once (0 s): starts a lookup and does not wait for it
    assert cache.started.wait(30)
    assert cache.get() == "v1" and cache.lookups == 2  # no second lookup while one runs
    cache.proceed.set()
    deadline = time.monotonic() + 30
    while cache.get() == "v1" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cache.get() in ("v2", "v3")  # the lookup's champion, or the one after it (0 s: always stale)


def test_the_server_runs_at_most_worker_threads_requests_at_a_time(tmp_path):
    from anyio import to_thread
    from fastapi.testclient import TestClient

    from api.app import create_app

    app = create_app(settings_for(f"sqlite:///{tmp_path / 'threads.db'}", worker_threads=3))
    with TestClient(app) as client:
        assert client.portal.call(lambda: to_thread.current_default_thread_limiter().total_tokens) == 3
