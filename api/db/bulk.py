"""Loading many rows at once into a table: COPY on PostgreSQL, one executemany on SQLite; ids for them; and
finding rows by many values at once."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from typing import Any

import pandas as pd
from sqlalchemy import JSON, Date, DateTime, Table, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from api.db.database import bound_connection
from api.encoding import EncodedObject, dumps, dumps_bytes


def new_ids(session: Session, table: Table, count: int) -> list[int]:
    """`count` ids for new rows of `table` (its integer primary key `id`), taken in the session's transaction: from
    the table's sequence on PostgreSQL; on SQLite those after the largest id, which no other writer can take, as a
    writer holds the database's write lock from its first statement (`BEGIN IMMEDIATE`)."""
    if count == 0:
        return []
    connection = bound_connection(session)
    if connection.dialect.name == "postgresql":
        cursor = connection.connection.dbapi_connection.cursor()  # the driver's rows: 20 times faster to read
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                       (table.name, count))
        return [row[0] for row in cursor.fetchall()]
    largest = connection.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
    return list(range(largest + 1, largest + 1 + count))


def load_frame(session: Session, table: Table, rows: pd.DataFrame | Mapping[str, Any] | list[dict]) -> None:
    """Insert `rows` into `table` in the session's transaction. `rows`: a DataFrame, a mapping of column names to
    lists of values (a value that is no list stands for every row), or a list of records. None, and a DataFrame's
    blank cell, is loaded as NULL; but a JSON column takes JSON text (a str, or an api.encoding.EncodedObject) as it
    is, and encodes any other value (None as JSON's null, as SQLAlchemy binds it).

    On PostgreSQL a binary COPY, each column typed as the server has it: the server then neither scans the values
    for escapes nor reads numbers and dates from text (2,000 of an import's answers and results: 74 ms, against 86 as
    text). On SQLite one executemany, each value bound as SQLAlchemy would bind it."""
    columns = _columns(table, rows)
    count = max((len(values) for values in columns.values() if isinstance(values, list)), default=0)
    if count == 0:
        return
    columns = {name: values if isinstance(values, list) else [values] * count for name, values in columns.items()}
    connection = bound_connection(session)
    postgres = connection.dialect.name == "postgresql"
    for name, values in columns.items():
        if isinstance(table.c[name].type, JSON):
            columns[name] = _json_texts(values, postgres)
    names = ", ".join(f'"{name}"' for name in columns)
    if postgres:
        cursor = connection.connection.dbapi_connection.cursor()
        cursor.execute("SELECT attname, atttypid FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0",
                       (f'"{table.name}"',))
        types = dict(cursor.fetchall())
        cursor.adapters.register_dumper(None, _json_text_dumper())  # for the json columns of this COPY
        with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN (FORMAT BINARY)') as copy:
            copy.set_types([types[name] for name in columns])
            for row in zip(*columns.values()):
                copy.write_row(row)
        return
    for name, values in columns.items():
        kind = table.c[name].type
        process = None if isinstance(kind, JSON) else kind.dialect_impl(connection.dialect).bind_processor(
            connection.dialect)
        if process is not None:
            columns[name] = [None if value is None else process(value) for value in values]
    marks = ", ".join("?" for _ in columns)
    connection.exec_driver_sql(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', list(zip(*columns.values())))


def _json_texts(values: list, postgres: bool) -> list:
    """The JSON texts of a JSON column's values; on PostgreSQL as str or EncodedObject (`_json_text_dumper` copies
    an EncodedObject's UTF-8 text without decoding it)."""
    if postgres:
        return [value if type(value) in _TEXTS else EncodedObject(dumps_bytes(value), {}) for value in values]
    return [value if type(value) is str else dumps(value) for value in values]


_TEXTS = (str, EncodedObject)


@functools.cache
def _json_text_dumper():
    """psycopg's dumper of JSON text into a json column of a binary COPY: a str, or an api.encoding.EncodedObject's
    UTF-8 text as it is (psycopg is there only with a PostgreSQL database)."""
    from psycopg.adapt import Dumper
    from psycopg.postgres import types
    from psycopg.pq import Format

    class JSONTextDumper(Dumper):
        format = Format.BINARY
        oid = types["json"].oid

        def dump(self, obj) -> bytes:
            return obj.data if type(obj) is EncodedObject else obj.encode("utf-8")

    return JSONTextDumper


def _columns(table: Table, rows: pd.DataFrame | Mapping[str, Any] | list[dict]) -> dict[str, Any]:
    """A mapping of names to values as it is; records as their columns; a DataFrame's columns as lists, blank cells
    None and pandas' timestamps the Python dates and times they stand for."""
    if isinstance(rows, list):
        return {name: [record[name] for record in rows] for name in rows[0]} if rows else {}
    if not isinstance(rows, pd.DataFrame):
        return dict(rows)
    cells = rows.astype(object).where(rows.notna(), None)
    columns = {}
    for name in rows.columns:
        values = cells[name].tolist()
        kind = table.c[name].type
        if isinstance(kind, (Date, DateTime)):
            values = [(value.to_pydatetime() if isinstance(kind, DateTime) else value.date())
                      if isinstance(value, pd.Timestamp) else value for value in values]
        columns[name] = values
    return columns


SQLITE_VALUES = 5000  # values in one IN list on SQLite, well under its limit of parameters in one statement


def one_of(column, values: list | str, dialect: str):
    """A filter: `column` is one of `values` (a list, or the name of the parameter that will hold it). On PostgreSQL
    `column = ANY(:values)`, one array parameter: the statement's text is the same for any number of values, so
    the driver parses it once and the server plans it once (a list of parameters, `IN (...)`, is parsed anew each
    time, which costs more than running it for a few thousand values). On SQLite an `IN` list."""
    name, value = (values, None) if isinstance(values, str) else (None, values)
    if dialect == "postgresql":
        return column == any_(bindparam(name, value, type_=ARRAY(column.type)))
    return column.in_(bindparam(name, value, expanding=True))


def in_chunks(session: Session, values: list) -> Iterator[list]:
    """`values` in lists that one `one_of` filter takes: all at once on PostgreSQL, `SQLITE_VALUES` at a time
    on SQLite."""
    size = len(values) if bound_connection(session).dialect.name == "postgresql" else SQLITE_VALUES
    for start in range(0, len(values), size or 1):
        yield values[start:start + size]


def where_in(session: Session, column, values: list) -> Iterator:
    """Filters that together select the rows whose `column` is one of `values` (`one_of`, `in_chunks`)."""
    dialect = bound_connection(session).dialect.name
    for chunk in in_chunks(session, values):
        yield one_of(column, chunk, dialect)
