"""The database layer: statements on the driver's cursor, where `Database.write` runs its work and what it
commits, and SQLite writers queueing on a lock file across processes."""

from __future__ import annotations

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import anyio
import pytest
from sqlalchemy import JSON, Column, Date, Integer, MetaData, Table, bindparam, insert, select, text
from sqlalchemy.exc import IntegrityError

from api.db import Database, InSession, begin, bound_connection
from api.db.engine import make_engine
from api.db.statements import DriverStatement
from api.db.writers import WriterQueue
from tests.api.conftest import POSTGRES_URL


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
        with pytest.raises(IntegrityError):  # raised by the driver statement itself (on PostgreSQL: asyncio)
            await database.write(writes, ids=[2])
        await database.dispose_async()

    probe.create(database.engine)
    try:
        with ThreadPoolExecutor(1) as runner:  # a loop of its own (see below)
            runner.submit(anyio.run, main).result()
        assert stored() == ([1, 2, 3, 4, 6] if autocommit else [1, 2, 3])
    finally:
        probe.drop(database.engine)
        database.dispose()


def test_an_argument_in_session_is_computed_in_the_session_of_the_work_before_it_runs(database_url):
    database = Database(database_url)
    computed_in = []

    def plus_one(*, session, number):
        if number is None:
            raise LookupError("no number")
        computed_in.append(session)
        return number + 1

    def work(*, session, value, label):
        return value, label, session is computed_in[-1]

    async def main():
        assert await database.write(work, value=InSession(plus_one, number=41), label="w") == (42, "w", True)
        assert await database.read(work, value=InSession(plus_one, number=1), label="r") == (2, "r", True)
        ran = []
        with pytest.raises(LookupError):
            await database.write(lambda **_: ran.append(1), value=InSession(plus_one, number=None))
        assert ran == []
        await database.dispose_async()

    try:
        with ThreadPoolExecutor(1) as runner:
            runner.submit(anyio.run, main).result()
    finally:
        database.dispose()


@pytest.mark.postgres
def test_calls_on_the_event_loop_take_its_connections_first_come_first_served():
    """With one connection: the calls that wait for it are served in the order they came, also before a call
    that comes just as the connection is given back (the holder's work starts it: it asks for the connection
    before the first waiter has taken it). The work runs in one greenlet on the loop's thread, on an asyncio
    connection (SQLAlchemy's `greenlet_spawn`, which `Database` relies on: this fails when it moves)."""
    if not POSTGRES_URL:
        pytest.skip("ASSESS_TEST_DATABASE_URL is not set")
    database = Database(POSTGRES_URL, writers=1)
    served, running, newcomers = [], [], []

    def work(*, session, label, seconds):
        running.append(label)
        assert len(running) == 1 and threading.current_thread() is threading.main_thread()
        connection = bound_connection(session)
        assert type(connection.connection.driver_connection).__name__ == "AsyncConnection"
        connection.exec_driver_sql(f"SELECT pg_sleep({seconds})")
        if label == "holder":
            newcomers.append(asyncio.create_task(database.write(work, label="newcomer", seconds=0)))
        served.append(label)
        running.remove(label)

    async def main():
        holder = asyncio.create_task(database.write(work, label="holder", seconds=0.3))
        await asyncio.sleep(0.1)
        waiting = []
        for number in range(3):
            waiting.append(asyncio.create_task(database.read(work, label=f"waiting {number}", seconds=0)))
            await asyncio.sleep(0.01)
        await holder
        await asyncio.gather(*waiting, *newcomers)
        await database.dispose_async()

    try:
        asyncio.run(main())
        assert served == ["holder", "waiting 0", "waiting 1", "waiting 2", "newcomer"]
    finally:
        database.dispose()


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
