"""Database URLs and engines.

SQLite runs in WAL mode with foreign keys on and a busy timeout; SQLAlchemy, not the driver, emits BEGIN,
so a writing session can begin with `BEGIN IMMEDIATE` (the execution option `sqlite_begin`) and queue on
the lock instead of failing when a read transaction would have to become a write one.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from api import encoding


def normalise_url(url: str) -> str:
    """`postgresql://` means the psycopg 3 driver (the one the project installs)."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for other databases and in-memory ones."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def make_engine(url: str, *, busy_timeout_ms: int = 15000) -> Engine:
    url = normalise_url(url)
    if not is_sqlite(url):
        return create_engine(url, pool_size=20, max_overflow=10, pool_recycle=1800, json_serializer=encoding.dumps)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
                           json_serializer=encoding.dumps)
    on_disk = sqlite_file(url) is not None

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # SQLAlchemy, not the driver, emits BEGIN
        cursor = dbapi_connection.cursor()
        if on_disk:
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


def make_async_engine(url: str, *, connections: int) -> AsyncEngine:
    """PostgreSQL on the event loop (psycopg's asyncio connections), in autocommit: at most `connections`
    at a time; a caller waits on the loop for a free one."""
    return create_async_engine(normalise_url(url), isolation_level="AUTOCOMMIT", pool_size=connections,
                               max_overflow=0, pool_recycle=1800, json_serializer=encoding.dumps)
