"""Loading many rows at once into a table: COPY on PostgreSQL, one executemany on SQLite; and ids for them."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import JSON, Date, DateTime, Table, func, select, text
from sqlalchemy.orm import Session

from api.db.database import bound_connection


def new_ids(session: Session, table: Table, count: int) -> list[int]:
    """`count` ids for new rows of `table` (its integer primary key `id`), taken in the session's transaction: from
    the table's sequence on PostgreSQL; on SQLite those after the largest id, which no other writer can take, as a
    writer holds the database's write lock from its first statement (`BEGIN IMMEDIATE`)."""
    if count == 0:
        return []
    connection = bound_connection(session)
    if connection.dialect.name == "postgresql":
        return list(connection.execute(text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                                            "FROM generate_series(1, :count)"),
                                       {"table": table.name, "count": count}).scalars())
    largest = connection.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
    return list(range(largest + 1, largest + 1 + count))


def load_frame(session: Session, table: Table, frame: pd.DataFrame) -> None:
    """Insert the rows of `frame` (its columns named as the table's) into `table`, in the session's
    transaction: COPY on PostgreSQL, the driver's executemany on SQLite (each value as SQLAlchemy would bind it).
    A blank cell is loaded as NULL; text is loaded as it is, so a JSON column takes JSON text."""
    if frame.empty:
        return
    connection = bound_connection(session)
    cells = frame.astype(object).where(frame.notna(), None)
    columns = []
    for name in frame.columns:
        values = cells[name].tolist()
        kind = table.c[name].type
        if isinstance(kind, (Date, DateTime)):  # pandas' timestamps as the Python dates and times they stand for
            values = [(value.to_pydatetime() if isinstance(kind, DateTime) else value.date())
                      if isinstance(value, pd.Timestamp) else value for value in values]
        columns.append(values)
    names = ", ".join(f'"{name}"' for name in frame.columns)
    if connection.dialect.name == "postgresql":
        cursor = connection.connection.dbapi_connection.cursor()
        with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for row in zip(*columns):
                copy.write_row(row)
        return
    for position, name in enumerate(frame.columns):
        kind = table.c[name].type
        process = None if isinstance(kind, JSON) else kind.bind_processor(connection.dialect)
        if process is not None:
            columns[position] = [process(value) for value in columns[position]]
    marks = ", ".join("?" for _ in frame.columns)
    connection.exec_driver_sql(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', list(zip(*columns)))
