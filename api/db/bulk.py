"""Loading many rows at once into a table: COPY on PostgreSQL, one executemany on SQLite; and ids for them."""

from __future__ import annotations

import functools
import io

import pandas as pd
from sqlalchemy import JSON, Table, Text, bindparam, func, insert, select, text
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
    transaction. Text is loaded as it is, so a JSON column takes JSON text. A blank cell is loaded as NULL; an
    empty text stays empty text in a column without blanks."""
    if frame.empty:
        return
    connection = bound_connection(session)
    if connection.dialect.name == "postgresql":
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False, header=False)
        columns = ", ".join(f'"{name}"' for name in frame.columns)
        # CSV reads an empty field as NULL: in a column of texts without blanks, as the empty text it is
        not_null = ", ".join(f'"{name}"' for name in frame.columns
                             if isinstance(frame[name].iloc[0], str) and frame[name].notna().all())
        options = f"FORMAT csv, FORCE_NOT_NULL ({not_null})" if not_null else "FORMAT csv"
        cursor = connection.connection.dbapi_connection.cursor()
        with cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN WITH ({options})') as copy:
            copy.write(buffer.getvalue())
        return
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    connection.execute(_insert_as_text(table, tuple(frame.columns)), records)


@functools.cache
def _insert_as_text(table: Table, columns: tuple[str, ...]):
    """INSERT of these columns, a JSON column's value bound as the text it is."""
    return insert(table).values({name: bindparam(name, type_=Text() if isinstance(table.c[name].type, JSON)
                                                 else table.c[name].type) for name in columns})
