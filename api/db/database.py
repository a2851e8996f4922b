"""The service's database: sessions for reads and writes, and where work that must not wait for a thread runs.

Where the work runs is decided here, not by the service functions:
- A `session()` (or `session(write=True)`) is one transaction, for the code that already runs in a worker
  thread (the synchronous routes, the command line). A SQLite writer first waits its turn in the
  `WriterQueue`, then begins with `BEGIN IMMEDIATE`.
- `await write(work, ...)` is for the requests that must not wait for a thread (an assessment
  submission), and `await read(work, ...)` for the reads every request makes (who the caller is). On
  PostgreSQL `work` runs on the event loop itself, in one greenlet (SQLAlchemy's `greenlet_spawn`, in which
  its asyncio engine awaits the driver), on an asyncio connection in autocommit: each statement commits by
  itself until `begin(session)` opens a transaction, so a write that is one statement costs no BEGIN and no
  COMMIT. On SQLite a read runs on the event loop (its statements are calls into a local library, and a
  thread would only contend for the GIL); a write runs in one transaction begun with `BEGIN IMMEDIATE`, on
  the event loop when no other writer holds the queue, else in a worker thread, one at a time.

An argument given as `InSession(compute, ...)` is computed in the work's own session just before the work runs:
a request's caller is authenticated that way in the call that stores its submission, so that the request
makes one database call instead of two.
"""

from __future__ import annotations

import asyncio
import weakref
from contextlib import contextmanager, nullcontext
from typing import Any, Callable, Iterator

from anyio import CapacityLimiter, to_thread
from anyio.lowlevel import RunVar
from sqlalchemy import Connection
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.util import greenlet_spawn

from api.db.engine import is_sqlite, make_async_engine, make_engine, sqlite_file
from api.db.writers import WriterQueue

AUTOCOMMIT = "assess_autocommit"  # the execution option that marks the event loop's autocommit connections


class InSession:
    """An argument of `Database.read` or `Database.write` computed as `compute(session=..., **arguments)` in
    the session the work then runs in."""

    __slots__ = ("compute", "arguments")

    def __init__(self, compute: Callable[..., Any], /, **arguments):
        self.compute = compute
        self.arguments = arguments


class Database:
    def __init__(self, url: str, *, busy_timeout_ms: int = 15000, writers: int = 3):
        """`writers`: on PostgreSQL, the asyncio connections `read` and `write` use at a time (the other calls
        wait on the event loop); SQLite's writers always take turns."""
        self.url = url
        self.engine = make_engine(url, busy_timeout_ms=busy_timeout_ms)
        sqlite = is_sqlite(url)
        self._writer_engine = self.engine.execution_options(sqlite_begin="IMMEDIATE") if sqlite else self.engine
        self.reading = sessionmaker(self.engine, expire_on_commit=False)
        self.writing = sessionmaker(self._writer_engine, expire_on_commit=False)
        path = sqlite_file(url)
        self._queue = WriterQueue(path and path.with_name(path.name + ".writer-lock"), busy_timeout_ms / 1000) \
            if sqlite else None
        self._thread_limiter: RunVar[CapacityLimiter] = RunVar("SQLite writer thread")
        self._connections = writers
        self._connection_queues: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # per event loop
        self.async_engine = None if sqlite else \
            make_async_engine(url, connections=writers).execution_options(**{AUTOCOMMIT: True})

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        """A session in one transaction, committed on success and rolled back on any error."""
        factory = self.writing if write else self.reading
        queue = self._queue if write and self._queue is not None else nullcontext()
        with queue, factory() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    async def read(self, work: Callable[..., Any], /, **arguments) -> Any:
        """`work(session=..., **arguments)`, which only reads, on the event loop."""
        if self.async_engine is not None:
            return await self._on_loop_connection(work, arguments)
        with self.session() as session:
            return _run(work, session, arguments)

    async def write(self, work: Callable[..., Any], /, **arguments) -> Any:
        """`work(session=..., **arguments)`, which reads and then writes, where this database runs such work
        (see the module's docstring); committed on success, rolled back on any error."""
        if self.async_engine is not None:
            return await self._on_loop_connection(work, arguments)
        if self._queue.try_enter():
            try:
                return self._in_sqlite_transaction(work, arguments)
            finally:
                self._queue.leave()
        return await to_thread.run_sync(self._queued_sqlite_transaction, work, arguments,
                                        limiter=_limiter(self._thread_limiter, 1))

    async def _on_loop_connection(self, work, arguments):
        # Calls wait for a connection in a queue of their own, first come first served (asyncio's semaphore hands
        # a released place to its first waiter): waiting in the pool's, a call woken for a connection that a
        # newer call took meanwhile goes back to the end of the line (a submission's p99 latency doubled).
        # (anyio's limiter costs 15 us more: it yields to the loop even when a place is free.) Connecting, the
        # work and returning the connection run in one greenlet: AsyncConnection's start, run_sync and close
        # spawn one each (36 us more per call, measured; a submission's server CPU 1.1 to 0.9 ms in all).
        loop = asyncio.get_running_loop()
        queue = self._connection_queues.get(loop)
        if queue is None:
            queue = self._connection_queues[loop] = asyncio.Semaphore(self._connections)
        async with queue:
            return await greenlet_spawn(self._on_connection, work, arguments)

    def _on_connection(self, work, arguments):
        with self.async_engine.sync_engine.connect() as connection:
            return _in_bound_session(connection, work, arguments)

    def _queued_sqlite_transaction(self, work, arguments):
        with self._queue:
            return self._in_sqlite_transaction(work, arguments)

    def _in_sqlite_transaction(self, work, arguments):
        with self._writer_engine.connect() as connection:
            connection.begin()
            return _in_bound_session(connection, work, arguments)

    def dispose(self) -> None:
        self.engine.dispose()
        if self._queue is not None:
            self._queue.close()

    async def dispose_async(self) -> None:
        if self.async_engine is not None:
            await self.async_engine.dispose()


def _limiter(variable: RunVar, tokens: int) -> CapacityLimiter:
    """The running event loop's limiter kept in `variable` (made with `tokens` the first time)."""
    limiter = variable.get(None)
    if limiter is None:
        limiter = CapacityLimiter(tokens)
        variable.set(limiter)
    return limiter


def _in_bound_session(connection: Connection, work, arguments: dict):
    """`work` in a session bound to `connection`; whatever began (the session's transaction, one opened by
    `begin`, or the connection's own) is committed at the end, or rolled back on any error."""
    with Session(bind=connection, expire_on_commit=False) as session:
        try:
            result = _run(work, session, arguments)
            if session.in_transaction():
                session.commit()
            if connection.in_transaction():
                connection.commit()
            return result
        except BaseException:
            session.rollback()
            if connection.in_transaction():
                connection.rollback()
            raise


def _run(work, session: Session, arguments: dict):
    """`work(session=session, **arguments)`, its `InSession` arguments computed first, in that session."""
    for name, value in arguments.items():
        if isinstance(value, InSession):
            arguments = {**arguments, name: value.compute(session=session, **value.arguments)}
    return work(session=session, **arguments)


def bound_connection(session: Session) -> Connection:
    """The connection a session is bound to (`Database.write`), without beginning the session's transaction;
    any other session's transaction's connection."""
    bind = session.get_bind()
    return bind if isinstance(bind, Connection) else session.connection()


def in_autocommit(session: Session) -> bool:
    """Whether each statement of the session commits by itself (`Database.write` on PostgreSQL, until
    `begin`)."""
    return bool(bound_connection(session).get_execution_options().get(AUTOCOMMIT)) and not session.info.get("begun")


def begin(session: Session) -> None:
    """Open a transaction in a session of `Database.write` on PostgreSQL before it writes more than one
    statement; nothing to do in any other session, which is always in one. It is committed or rolled back
    with the session."""
    if in_autocommit(session):
        bound_connection(session).exec_driver_sql("BEGIN")
        session.info["begun"] = True


def roll_back(session: Session) -> None:
    """Roll back what a session wrote, also a transaction opened by `begin`."""
    session.rollback()
    connection = bound_connection(session)
    if connection.in_transaction():
        connection.rollback()
