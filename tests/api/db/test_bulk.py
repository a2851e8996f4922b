"""Loading many rows at once (`load_frame`: a binary COPY on PostgreSQL, one executemany on SQLite) and finding rows
by many values (`one_of`, `in_chunks`, `where_in`), on both databases."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pandas as pd
import pytest
from sqlalchemy import (JSON, Boolean, Column, Date, DateTime, Float, Integer, MetaData, String, Table, Text, insert,
                        select)

from api.db import Database, bound_connection
from api.db.bulk import SQLITE_VALUES, in_chunks, load_frame, one_of, where_in
from api.encoding import EncodedObject, dumps_bytes

AT = datetime(2026, 3, 1, 8, 30, 15, 250000, tzinfo=timezone.utc)


@pytest.fixture
def probe(database_url):
    """A fresh table of every kind of column the service loads, and the database it is in."""
    database = Database(database_url)
    table = Table("bulk_probe", MetaData(), Column("id", Integer, primary_key=True), Column("label", String(20)),
                  Column("note", Text), Column("figure", Float), Column("flag", Boolean), Column("day", Date),
                  Column("at", DateTime(timezone=True)), Column("doc", JSON))
    table.create(database.engine)
    try:
        yield database, table
    finally:
        table.drop(database.engine)
        database.dispose()


def stored(database, table) -> list[tuple]:
    """The rows as read back, the JSON decoded and the time as UTC."""
    with database.engine.connect() as connection:
        rows = connection.execute(select(table).order_by(table.c.id)).all()
    return [(r.id, r.label, r.note, r.figure, r.flag, r.day,
             None if r.at is None else r.at.replace(tzinfo=r.at.tzinfo or timezone.utc).astimezone(timezone.utc),
             r.doc) for r in rows]


def test_rows_load_alike_from_columns_records_and_a_frame(probe):
    database, table = probe
    doc = {"answers": {"a": 1, "b": "二"}, "list": [1.5, None]}
    columns = {"id": [1, 2, 3, 4], "label": ["一", "tab\there", None, "back\\slash"], "note": "same for every row",
               "figure": [0.1, -2.0, None, 1e-5], "flag": [True, False, None, True],
               "day": [date(2026, 3, 1), None, date(2000, 1, 1), date(2026, 12, 31)], "at": [AT, None, AT, AT],
               "doc": [doc, json.dumps(doc), EncodedObject(dumps_bytes(doc), {}), None]}
    expected = [(1, "一", "same for every row", 0.1, True, date(2026, 3, 1), AT, doc),
                (2, "tab\there", "same for every row", -2.0, False, None, None, doc),
                (3, None, "same for every row", None, None, date(2000, 1, 1), AT, doc),
                (4, "back\\slash", "same for every row", 1e-5, True, date(2026, 12, 31), AT, None)]  # JSON's null
    with database.session(write=True) as session:
        load_frame(session, table, columns)
    assert stored(database, table) == expected

    records = [dict(zip(columns, values)) for values in zip(*(v if isinstance(v, list) else [v] * 4
                                                               for v in columns.values()))]
    for record in records:
        record["id"] += 10
    frame = pd.DataFrame({**columns, "id": [21, 22, 23, 24], "doc": [doc, doc, doc, doc],
                          "day": pd.to_datetime(["2026-03-01", None, "2000-01-01", "2026-12-31"]),
                          "at": pd.to_datetime([AT, None, AT, AT], utc=True)})
    with database.session(write=True) as session:
        load_frame(session, table, records)
        load_frame(session, table, frame)
        load_frame(session, table, [])  # nothing to load
    again = stored(database, table)[4:]
    assert again[:4] == [(row[0] + 10, *row[1:]) for row in expected]
    assert again[4:] == [(row[0] + 20, *row[1:7], doc) for row in expected]


def test_times_are_stored_as_sqlalchemy_stores_them(probe):
    """A time loaded in bulk is stored as the same text as one inserted through SQLAlchemy."""
    database, table = probe
    with database.session(write=True) as session:
        load_frame(session, table, {"id": [1], "at": [AT]})
        session.execute(insert(table).values(id=2, at=AT))
    with database.engine.connect() as connection:
        texts = connection.exec_driver_sql("SELECT CAST(at AS TEXT) FROM bulk_probe ORDER BY id").scalars().all()
    assert texts[0] == texts[1]


def test_rows_are_found_by_many_values_in_one_filter_or_in_chunks(probe):
    database, table = probe
    count = SQLITE_VALUES + 1500
    with database.session(write=True) as session:
        load_frame(session, table, {"id": list(range(1, count + 1)), "label": [f"L{n}" for n in range(count)]})
    wanted = [n for n in range(-5, count + 10) if n % 7]  # more than one SQLite chunk, some beyond the table
    labels = [f"L{n}" for n in range(0, count, 3)] + ["absent"]
    with database.session() as session:
        dialect = bound_connection(session).dialect.name
        chunks = list(in_chunks(session, wanted))
        assert [len(chunk) for chunk in chunks] == ([len(wanted)] if dialect == "postgresql" else
                                                    [SQLITE_VALUES, len(wanted) - SQLITE_VALUES])
        found = [n for condition in where_in(session, table.c.id, wanted)
                 for n in session.execute(select(table.c.id).where(condition)).scalars()]
        by_label = select(table.c.label).where(one_of(table.c.label, "labels", dialect))  # a statement built once
        named = [label for chunk in in_chunks(session, labels)
                 for label in session.execute(by_label, {"labels": chunk}).scalars()]
        assert list(where_in(session, table.c.id, [])) == []
    assert sorted(found) == [n for n in wanted if 1 <= n <= count]
    assert sorted(named) == sorted(labels[:-1])
