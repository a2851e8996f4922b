"""Where and how a submission is stored: the latest-assessment row it writes equals a full refresh from the
stored assessments, on PostgreSQL it runs on the event loop in autocommit (one read, one write), SQLite
writers queue on a lock file across processes, and a champion lookup after the first does not hold other
requests up."""

from __future__ import annotations

import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date

import anyio
import psycopg
import pytest
from sqlalchemy import JSON, Column, Date, Integer, MetaData, Table, bindparam, event, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.assessments import submission as submissions
from api.assessments.scoring import ChampionCache
from api.assessments.store import refresh_latest
from api.assessments.tables import Assessment, HouseholdLatest, LatestAnswers
from api.auth.access import Caller, Role
from api.db import Database, begin, bound_connection
from api.db.engine import make_engine
from api.db.statements import DriverStatement
from api.db.writers import WriterQueue
from cli.main import app as cli
from tests.api.factories import calm_answers, household_payload, submission, with_answer
from tests.api.support import DATA_KEY, HASH_KEY, settings_for
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
    caseworker = Caller(id=city.user_ids["caseworker_s1"], name="caseworker_s1", role=Role.caseworker,
                        station_id=city.stations["S1"])
    overtaking, statements = [], []
    run = DriverStatement.first

    def overtaken(self, connection, parameters):
        statements.append(self.sql.split(None, 1)[0])
        if self.sql.startswith("WITH") and not overtaking:
            with context.database.session(write=True) as session:
                overtaking.append(submissions.submit(
                    session=session, caller=caseworker, scorer=context.scorer, household_id=household,
                    submission_id=str(uuid.uuid4()), answers=calm, assessed_on=date(2026, 2, 15)))
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


def test_a_write_commits_what_it_wrote_at_the_end_and_nothing_on_failure(database_url):
    """`Database.write`: on PostgreSQL each statement commits by itself until `begin`; then, as on SQLite,
    the rest is committed when the work returns and rolled back when it fails."""
    database = Database(database_url)
    autocommit = database_url.startswith("postgresql")
    probe = Table("bound_session_probe", MetaData(), Column("id", Integer, primary_key=True))
    add = DriverStatement(insert(probe).values(id=bindparam("id")).returning(probe.c.id),
                          database.async_engine.dialect if autocommit else database.engine.dialect)

    def stored() -> list[int]:
        with database.engine.connect() as connection:
            return sorted(connection.execute(select(probe.c.id)).scalars())

    def writes(*, session, ids, fail=False):
        before, (first, *rest) = stored(), ids
        add.first(bound_connection(session), {"id": first})
        committed = sorted([*before, first]) if autocommit else before  # by itself on PostgreSQL only
        assert stored() == committed
        begin(session)
        for other in rest:
            session.execute(insert(probe).values(id=other))
        assert stored() == committed  # nothing more before the work returns
        if fail:
            raise RuntimeError("the request fails")

    async def main():
        await database.write(writes, ids=[1, 2, 3])
        assert stored() == [1, 2, 3]
        with pytest.raises(RuntimeError):
            await database.write(writes, ids=[4, 5], fail=True)
        with pytest.raises(IntegrityError):
            await database.write(writes, ids=[6, 7, 1])
        await database.dispose_async()

    probe.create(database.engine)
    try:
        with ThreadPoolExecutor(1) as runner:  # a loop of its own (see below)
            runner.submit(anyio.run, main).result()
        assert stored() == ([1, 2, 3, 4, 6] if autocommit else [1, 2, 3])
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

    def write(*, session) -> threading.Thread:
        session.execute(text("INSERT INTO written VALUES (:name)"), {"name": threading.current_thread().name})
        return threading.current_thread()

    async def main() -> None:
        loop_thread = threading.current_thread()
        assert await database.write(write) is loop_thread
        finished = []

        async def wait_for_the_other() -> None:
            finished.append(await database.write(write))

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
