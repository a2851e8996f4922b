"""Engine, sessions and schema upgrades.

SQLite runs in WAL mode with foreign keys on and a busy timeout. A session that writes begins with
`BEGIN IMMEDIATE` on SQLite, so concurrent writers queue on the lock instead of failing when a read
transaction would have to be upgraded to a write one. SQLite writers also queue before that: on a mutex
within the process, then on a lock file beside the database across processes (several server workers, a
command line job): SQLite's own busy handler waits by sleeping up to 100 ms at a time, which makes the
slowest writers very slow.
"""

from __future__ import annotations

import os
import threading
import time
from collections import namedtuple
from contextlib import asynccontextmanager, contextmanager, nullcontext
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config
from anyio import CapacityLimiter, to_thread
from anyio.lowlevel import RunVar
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from api import encoding

try:
    import fcntl
except ImportError:  # Windows: writers of one process still queue on the mutex
    fcntl = None

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
AUTOCOMMIT = "assess_autocommit"  # the execution option that marks an autocommit engine's connections


def normalise_url(url: str) -> str:
    """`postgresql://` means the psycopg 3 driver (the one the project installs)."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, *, busy_timeout_ms: int = 15000, autocommit: bool = False) -> Engine:
    """An engine for `url`; with `autocommit` (not on SQLite), one whose connections commit each statement
    by themselves, set once when they connect (an isolation level set per checkout costs about as much
    as running a statement)."""
    url = normalise_url(url)
    if not is_sqlite(url):
        # the autocommit engine serves the writers only: their threads, and the event loop's connections' settings
        options = {"isolation_level": "AUTOCOMMIT", "execution_options": {AUTOCOMMIT: True}, "pool_size": 5} \
            if autocommit else {"pool_size": 20}
        return create_engine(url, pool_recycle=1800, max_overflow=10, json_serializer=encoding.dumps, **options)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
                           json_serializer=encoding.dumps)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # SQLAlchemy, not the driver, emits BEGIN
        cursor = dbapi_connection.cursor()
        if make_url(url).database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a power cut may lose the last commits, never corrupts the database
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for other databases and in-memory ones."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


class WriterQueue:
    """Where SQLite writers wait for their turn: a mutex within the process and, for a database file, an
    exclusive lock on `<file>.writer-lock` across processes, polled every 0.1-2 ms. After `timeout_s`
    without it a writer goes on anyway and SQLite's own locking (and busy timeout) decides. The thread that
    holds the queue may enter it again."""

    def __init__(self, lock_path: Path | None, timeout_s: float):
        self._mutex = threading.Lock()
        self._lock_path = lock_path if fcntl is not None else None
        self._timeout_s = timeout_s
        self._descriptor: int | None = None
        self._held = False
        self._owner: int | None = None
        self._depth = 0

    def _lock_file(self, timeout_s: float) -> bool:
        if self._descriptor is None:
            self._descriptor = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline, pause = time.monotonic() + timeout_s, 0.0001
        while True:
            try:
                fcntl.flock(self._descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(pause)
                pause = min(pause * 2, 0.002)

    def _enter(self, *, wait: bool) -> bool:
        if self._owner == threading.get_ident():
            self._depth += 1
            return True
        if not self._mutex.acquire(blocking=wait):
            return False
        try:
            self._held = self._lock_path is not None and self._lock_file(self._timeout_s if wait else 0)
        except BaseException:
            self._mutex.release()
            raise
        if not wait and self._lock_path is not None and not self._held:  # another process is writing
            self._mutex.release()
            return False
        self._owner, self._depth = threading.get_ident(), 1
        return True

    def try_enter(self) -> bool:
        """Enter without waiting; False, with nothing held, when another writer has the queue."""
        return self._enter(wait=False)

    def __enter__(self) -> None:
        self._enter(wait=True)

    def __exit__(self, *_exc) -> None:
        self.leave()

    def leave(self) -> None:
        self._depth -= 1
        if self._depth:
            return
        self._owner = None
        try:
            if self._held:
                fcntl.flock(self._descriptor, fcntl.LOCK_UN)
                self._held = False
        finally:
            self._mutex.release()

    def close(self) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None


class Database:
    """An engine with one session factory for reads and one for writes."""

    def __init__(self, url: str, *, busy_timeout_ms: int = 15000, writer_threads: int = 3):
        self.url = url
        # SQLite writers take turns anyway; one limiter per event loop (the server's, or each test client's)
        self._writer_threads = 1 if is_sqlite(url) else writer_threads
        self._writer_limiter: RunVar[CapacityLimiter] = RunVar("database writers")
        self.engine = make_engine(url, busy_timeout_ms=busy_timeout_ms)
        self._writer_engine = self.engine.execution_options(sqlite_begin="IMMEDIATE") if is_sqlite(url) \
            else self.engine
        self.reading = sessionmaker(self.engine, expire_on_commit=False)
        self.writing = sessionmaker(self._writer_engine, expire_on_commit=False)
        # SQLite's statements cost no round trip: its writers always take the lock with BEGIN IMMEDIATE
        self.autocommit_engine = None if is_sqlite(url) else make_engine(url, autocommit=True)
        path = sqlite_file(url)
        self._writers = WriterQueue(path and path.with_name(path.name + ".writer-lock"), busy_timeout_ms / 1000) \
            if is_sqlite(url) else None
        self._async_pool: RunVar = RunVar("asyncio connections")

    @contextmanager
    def session(self, *, write: bool = False, autocommit: bool = False) -> Iterator[Session]:
        """A session committed on success and rolled back on any error.

        `autocommit` (with `write`) is for a writer whose usual work is reads and then one statement that
        writes: on PostgreSQL each statement then commits by itself, which saves the round trips of BEGIN and
        COMMIT, until `begin_explicitly(session)` opens a transaction for the rest of the session. On SQLite
        all of it is one transaction, as in any writing session. Either way the session is bound to one
        connection, which `bound_connection` gives without beginning the session's own transaction (that work
        costs more than running a statement)."""
        if write and autocommit:
            with self._bound_session() as session:
                yield session
            return
        factory = self.writing if write else self.reading
        queue = self._writers if write and self._writers else nullcontext()
        with queue, factory() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def _bound_session(self) -> Iterator[Session]:
        """A session bound to one connection: autocommit on PostgreSQL; on SQLite in a transaction that begins
        at once (BEGIN IMMEDIATE), which the session joins. Whatever began (the session, or the connection) is
        committed at the end, or rolled back on any error."""
        sqlite = self.autocommit_engine is None
        engine = self._writer_engine if sqlite else self.autocommit_engine
        queue = self._writers if self._writers is not None else nullcontext()
        with queue, engine.connect() as connection, \
                Session(bind=connection, expire_on_commit=False) as session:
            try:
                if sqlite:
                    connection.begin()
                yield session
                if session.in_transaction():
                    session.commit()
                if connection.in_transaction():
                    connection.commit()
            except BaseException:
                session.rollback()
                if connection.in_transaction():
                    connection.rollback()
                raise

    async def run_writer(self, function, /, *args):
        """`function(*args)`, which writes. On SQLite, when no other writer holds the queue, it runs right here on
        the event loop: its statements are calls into a local library, not waits on a network, and a thread would
        only contend for the GIL. Otherwise it runs in a worker thread, at most `writer_threads` at a time (one
        on SQLite); the others wait their turn on the event loop. More threads only contend for the GIL (and on
        SQLite for the writer queue), which costs CPU and makes the slowest requests much slower."""
        if self._writers is not None and self._writers.try_enter():
            try:
                return function(*args)
            finally:
                self._writers.leave()
        limiter = self._writer_limiter.get(None)
        if limiter is None:
            limiter = CapacityLimiter(self._writer_threads)
            self._writer_limiter.set(limiter)
        return await to_thread.run_sync(function, *args, limiter=limiter)

    async def open_async(self) -> None:
        """On PostgreSQL, open `writer_threads` asyncio connections in autocommit for the running event loop
        (the server's lifespan does), for the usual submission: in a worker thread, every call into libpq
        hands the GIL to the event loop and waits to get it back. Nothing on SQLite."""
        if self.autocommit_engine is None or self._async_pool.get(None) is not None:
            return
        from psycopg_pool import AsyncConnectionPool

        engine = self.autocommit_engine
        _, options = engine.dialect.create_connect_args(engine.url)  # with SQLAlchemy's adapters, as its own
        pool = AsyncConnectionPool(kwargs={**options, "autocommit": True}, min_size=self._writer_threads,
                                   max_size=self._writer_threads, open=False, name="submissions")
        self._async_pool.set(pool)
        await pool.open()

    async def close_async(self) -> None:
        pool = self._async_pool.get(None)
        if pool is not None:
            self._async_pool.set(None)
            await pool.close()

    @asynccontextmanager
    async def async_connection(self):
        """One of the running event loop's asyncio connections (the driver's own, in autocommit), after waiting
        for one when all are in use; None when none were opened for this loop (SQLite, or an app run
        without its lifespan)."""
        pool = self._async_pool.get(None)
        if pool is None:
            yield None
            return
        async with pool.connection() as connection:
            yield connection

    def dispose(self) -> None:
        self.engine.dispose()
        if self.autocommit_engine is not None:
            self.autocommit_engine.dispose()
        if self._writers is not None:
            self._writers.close()


def bound_connection(session: Session) -> Connection:
    """The connection of a session of `Database.session(autocommit=True)`, without beginning the session's
    transaction; any other session's transaction's connection."""
    bind = session.get_bind()
    return bind if isinstance(bind, Connection) else session.connection()


def begin_explicitly(session: Session) -> None:
    """Open a transaction in a session of `Database.session(autocommit=True)` on PostgreSQL, before it writes
    more than one statement; nothing to do in any other session, which is always in one. The driver commits or
    rolls it back when the session does."""
    if bound_connection(session).get_execution_options().get(AUTOCOMMIT):
        session.connection().exec_driver_sql("BEGIN")


def roll_back(session: Session) -> None:
    """Roll back what a session wrote, also on the connection a session of `Database.session(autocommit=True)`
    is bound to when the session itself has not begun."""
    session.rollback()
    bind = session.get_bind()
    if isinstance(bind, Connection) and bind.in_transaction():
        bind.rollback()


class DriverStatement:
    """A statement compiled once for a dialect and run on the driver's own cursor, for the few statements of
    a submission: SQLAlchemy's work per execution (parameters, a result built from the driver's column
    descriptions) costs about twice psycopg's own work, and ten times sqlite3's. Parameters and result
    columns pass through their types' processors, as SQLAlchemy's do (JSON through the engine's serializer,
    dates as SQLite stores them). No SQLAlchemy events fire."""

    def __init__(self, statement, dialect):
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self._positions = compiled.positiontup if dialect.positional else None
        self._defaults = {name: value for name, value in compiled.params.items() if value is not None}
        self._processors = {name: processor for name, bind in compiled.binds.items()
                            if (processor := _bind_processor(bind.type, dialect)) is not None}
        self._columns = list(statement.exported_columns)
        self._row = namedtuple("Row", [column.key for column in self._columns], rename=True)
        self._results = None  # the result processors, from the first result's column descriptions

    def first(self, connection, parameters: dict):
        """The first row (with the statement's column names) of running it on `connection` (a SQLAlchemy
        Connection, whose transaction, if any, it joins); None when there is none or it returns no rows."""
        values = self._values(parameters)
        dialect = connection.dialect
        cursor = connection.connection.driver_connection.cursor()
        try:
            cursor.execute(self.sql, values)
            row = cursor.fetchone() if self._columns else None
            self._learn_results(row, cursor, dialect)
        except dialect.loaded_dbapi.Error as error:
            disconnected = dialect.is_disconnect(error, connection.connection.dbapi_connection, None)
            if disconnected:
                connection.invalidate(error)
            raise self._error(error, values, dialect, disconnected) from error
        finally:
            cursor.close()
        return self._made(row)

    async def first_async(self, connection, dialect, parameters: dict):
        """`first` on one of the driver's asyncio connections (`Database.async_connection`), for `dialect`."""
        values = self._values(parameters)
        try:
            async with connection.cursor() as cursor:
                await cursor.execute(self.sql, values)
                row = await cursor.fetchone() if self._columns else None
                self._learn_results(row, cursor, dialect)
        except dialect.loaded_dbapi.Error as error:  # a broken connection leaves the pool when it is returned
            raise self._error(error, values, dialect, False) from error
        return self._made(row)

    def _values(self, parameters: dict):
        values = {**self._defaults, **parameters}
        for name, process in self._processors.items():
            if name in values:
                values[name] = process(values[name])
        if self._positions is not None:
            values = tuple(values[name] for name in self._positions)
        return values

    def _error(self, error, values, dialect, disconnected: bool) -> DBAPIError:
        """The driver's error as SQLAlchemy raises it (IntegrityError, ...)."""
        return DBAPIError.instance(self.sql, values, error, dialect.loaded_dbapi.Error,
                                   connection_invalidated=disconnected, dialect=dialect)

    def _learn_results(self, row, cursor, dialect) -> None:
        """The result processors, from the first row's column descriptions (psycopg builds them anew each
        time they are read)."""
        if row is not None and self._results is None:
            self._results = self._result_processors(dialect, cursor.description)

    def _made(self, row):
        if row is None:
            return None
        if self._results:
            row = list(row)
            for position, process in self._results:
                row[position] = process(row[position])
        return self._row._make(row)

    def _result_processors(self, dialect, description) -> list[tuple[int, object]]:
        processors = []
        for position, (column, described) in enumerate(zip(self._columns, description)):
            process = column.type.dialect_impl(dialect).result_processor(dialect, described[1])
            if process is not None:
                processors.append((position, process))
        return processors


def _bind_processor(type_, dialect):
    """The type's own processor, else its dialect's: psycopg's dialect wraps JSON for the driver to serialise,
    where the type's own processor serialises it at once (the statement casts the text to JSON)."""
    return type_.bind_processor(dialect) or type_.dialect_impl(dialect).bind_processor(dialect)


_DRIVER_STATEMENTS: dict[tuple, DriverStatement] = {}


def driver_statement(dialect, build, *arguments) -> DriverStatement:
    """`build(*arguments)` compiled once per kind of database, to run on the driver's cursor."""
    key = (dialect.name, build, *arguments)
    if key not in _DRIVER_STATEMENTS:
        _DRIVER_STATEMENTS[key] = DriverStatement(build(*arguments), dialect)
    return _DRIVER_STATEMENTS[key]


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)
