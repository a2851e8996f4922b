"""Statements compiled once and run on the driver's own cursor, for the few statements every submission
and every request runs: SQLAlchemy's work per execution (parameters, a result built from the driver's
column descriptions) costs about twice psycopg's own work, and ten times sqlite3's. Parameters and result
columns pass through their types' processors, as SQLAlchemy's do (JSON through the engine's serializer,
dates as SQLite stores them). No SQLAlchemy events fire.
"""

from __future__ import annotations

from collections import namedtuple

from sqlalchemy import Connection
from sqlalchemy.engine import AdaptedConnection
from sqlalchemy.exc import DBAPIError


class DriverStatement:
    """A SQLAlchemy statement compiled for one dialect."""

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

    def first(self, connection: Connection, parameters: dict):
        """The first row (with the statement's column names) of running it on `connection`, in whatever
        transaction the connection is in; None when it returns no rows. On the event loop's connections
        (`Database.write` on PostgreSQL) the driver's own asyncio connection runs it, awaited once for the
        whole statement (SQLAlchemy's adapted cursor awaits its opening, its execution and its closing)."""
        values = self._values(parameters)
        dialect = connection.dialect
        dbapi_connection = connection.connection.dbapi_connection
        describe = self._results is None  # the driver builds the column descriptions anew each time
        try:
            if isinstance(dbapi_connection, AdaptedConnection):
                row, description = dbapi_connection.run_async(
                    lambda driver: self._first_async(driver, values, describe))
            else:
                row, description = self._first_sync(dbapi_connection, values, describe)
        except dialect.loaded_dbapi.Error as error:
            disconnected = dialect.is_disconnect(error, dbapi_connection, None)
            if disconnected:
                connection.invalidate(error)
            raise DBAPIError.instance(self.sql, values, error, dialect.loaded_dbapi.Error,
                                      connection_invalidated=disconnected, dialect=dialect) from error
        if row is None:
            return None
        if describe:
            self._results = self._result_processors(dialect, description)
        if self._results:
            row = list(row)
            for position, process in self._results:
                row[position] = process(row[position])
        return self._row._make(row)

    def _first_sync(self, dbapi_connection, values, describe: bool) -> tuple:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(self.sql, values)
            return (cursor.fetchone() if self._columns else None), (cursor.description if describe else None)
        finally:
            cursor.close()

    async def _first_async(self, driver_connection, values, describe: bool) -> tuple:
        """On psycopg's AsyncConnection."""
        async with driver_connection.cursor() as cursor:
            await cursor.execute(self.sql, values)
            return (await cursor.fetchone() if self._columns else None), (cursor.description if describe else None)

    def _values(self, parameters: dict):
        values = {**self._defaults, **parameters}
        for name, process in self._processors.items():
            if name in values:
                values[name] = process(values[name])
        if self._positions is not None:
            values = tuple(values[name] for name in self._positions)
        return values

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


_COMPILED: dict[tuple, DriverStatement] = {}


def driver_statement(connection: Connection, build, *arguments) -> DriverStatement:
    """`build(*arguments)` compiled once per dialect, to run on the driver's cursor of `connection`."""
    dialect = connection.dialect
    key = (dialect.name, dialect.is_async, build, *arguments)
    if key not in _COMPILED:
        _COMPILED[key] = DriverStatement(build(*arguments), dialect)
    return _COMPILED[key]
