"""Loading many rows at once into a table: COPY on PostgreSQL, one executemany on SQLite."""

from __future__ import annotations

import io

import pandas as pd
from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from api.db.database import bound_connection


def load_frame(session: Session, table: Table, frame: pd.DataFrame) -> None:
    """Insert the rows of `frame` (its columns named as the table's) into `table`, in the session's
    transaction. Text is loaded as it is, so a JSON column takes JSON text."""
    if frame.empty:
        return
    connection = bound_connection(session)
    if connection.dialect.name == "postgresql":
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False, header=False)
        columns = ", ".join(f'"{name}"' for name in frame.columns)
        # an empty text stays empty text (CSV would read it as NULL)
        not_null = ", ".join(f'"{name}"' for name in frame.columns if isinstance(frame[name].iloc[0], str))
        options = f"FORMAT csv, FORCE_NOT_NULL ({not_null})" if not_null else "FORMAT csv"
        cursor = connection.connection.dbapi_connection.cursor()
        with cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN WITH ({options})') as copy:
            copy.write(buffer.getvalue())
        return
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    connection.execute(insert(table), records)
