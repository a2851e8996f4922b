"""Engine, sessions and schema upgrades.

SQLite runs in WAL mode with foreign keys on and a busy timeout. A session that writes begins with
`BEGIN IMMEDIATE` on SQLite, so concurrent writers queue on the lock instead of failing when a read
transaction would have to be upgraded to a write one. Within one process, SQLite writers also queue on
a mutex first: SQLite's own busy handler waits by sleeping, which makes the slowest writers very slow.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def normalise_url(url: str) -> str:
    """`postgresql://` means the psycopg 3 driver (the one the project installs)."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, *, busy_timeout_ms: int = 15000) -> Engine:
    url = normalise_url(url)
    if not is_sqlite(url):
        return create_engine(url, pool_recycle=1800, pool_size=20, max_overflow=10)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000})

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


class Database:
    """An engine with one session factory for reads and one for writes."""

    def __init__(self, url: str, *, busy_timeout_ms: int = 15000):
        self.url = url
        self.engine = make_engine(url, busy_timeout_ms=busy_timeout_ms)
        writer = self.engine.execution_options(sqlite_begin="IMMEDIATE") if is_sqlite(url) else self.engine
        self.reading = sessionmaker(self.engine, expire_on_commit=False)
        self.writing = sessionmaker(writer, expire_on_commit=False)
        self._writer_mutex = threading.Lock() if is_sqlite(url) else None

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        """A session committed on success and rolled back on any error."""
        queue = self._writer_mutex if write and self._writer_mutex else nullcontext()
        with queue, (self.writing if write else self.reading)() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)
