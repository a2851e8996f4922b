"""Stored answers as frames for the vectorised core: the JSON answers of assessments, and the latest answers
of every household from their compact lines.

Each household's latest answers are also kept as one CSV line in the catalog's indicator order
(`latest_answers`, written with the latest row by api.assessments.store), which `latest_frame` reads
column-wise (pyarrow) for impact previews: about 200 bytes a household instead of 1.5 kB of JSON.
`answers_frame` parses stored JSON answers column by column.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
from sqlalchemy import Integer, String, Text, and_, cast, exists, extract, func, select
from sqlalchemy.orm import Session

from api.assessments.tables import Assessment, HouseholdLatest, LatestAnswers


def _arrow_type(values) -> pa.DataType:
    return pa.float64() if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values) \
        else pa.string()


def answers_schema(catalog) -> pa.Schema:
    """The Arrow type of each indicator's answers, from the catalog's answer types."""
    fields = []
    for indicator in catalog.indicators:
        spec = indicator.answer
        kind = {"yes_no": pa.bool_(), "count": pa.float64(), "amount": pa.float64()}.get(spec.type)
        if kind is None:
            kind = _arrow_type([level.value for level in spec.levels] if spec.type == "ordinal"
                               else [option.value for option in spec.options])
        fields.append(pa.field(indicator.id, kind))
    return pa.schema(fields)


def answers_frame(catalog, answers_json: list[str]) -> pd.DataFrame:
    """One row per stored answers document (JSON text), one column per indicator."""
    if not answers_json:
        return pd.DataFrame({i.id: pd.Series(dtype=object) for i in catalog.indicators})
    data = "\n".join(answers_json).encode("utf-8")
    try:
        table = pa_json.read_json(io.BytesIO(data), parse_options=pa_json.ParseOptions(
            explicit_schema=answers_schema(catalog), unexpected_field_behavior="ignore"))
        return table.to_pandas()
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # answers in another accepted form (e.g. "yes"): row by row
        records = [json.loads(text) for text in answers_json]
        return pd.DataFrame.from_records(records, columns=[i.id for i in catalog.indicators])


def answers_layout(catalog) -> str:
    """Names the order of the values in a compact answers line: the catalog's indicator ids."""
    return _layout(tuple(catalog.indicator_by_id))


@functools.cache
def _layout(indicator_ids: tuple[str, ...]) -> str:
    return hashlib.sha256("\n".join(indicator_ids).encode("utf-8")).hexdigest()[:16]


NEEDS_ESCAPE = re.compile(r"[\\\r\n\t]")  # a backslash or a control character COPY would escape


def _csv_value(value) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    if NEEDS_ESCAPE.search(text):  # kept out, so a line never needs an escape in COPY output
        return None
    return '"' + text.replace('"', '""') + '"'


def answers_line(catalog, answers: dict) -> str | None:
    """The answers as one CSV line in the catalog's indicator order (strings quoted, missing empty); None when
    a text holds a backslash or a control character (such answers are read from their JSON)."""
    values = []
    for indicator_id in catalog.indicator_by_id:
        value = answers.get(indicator_id)
        kind = type(value)
        if value is None:  # the usual answers first, by their exact type
            values.append("")
        elif kind is int or kind is float:
            values.append(repr(value))
        elif kind is bool:
            values.append("true" if value else "false")
        else:
            text = _csv_value(value)
            if text is None:
                return None
            values.append(text)
    return ",".join(values)


META_COLUMNS = {"household_id": pa.int64(), "station_id": pa.int64(), "town_id": pa.int64(),
                "year": pa.int64(), "region": pa.string()}


def _compact_text(session: Session, catalog, scope) -> bytes:
    """The latest answers that have a compact line, as CSV lines prefixed with the household's columns.
    The database joins the lines in groups of ids, so a million households arrive as ~120 rows."""
    def text_of(column):
        return cast(column, String)

    line = (text_of(HouseholdLatest.household_id) + "," + text_of(HouseholdLatest.station_id) + ","
            + text_of(HouseholdLatest.town_id) + "," + text_of(cast(extract("year", HouseholdLatest.assessed_on),
                                                                    Integer))
            + ',"' + func.replace(HouseholdLatest.region_id, '"', '""') + '",' + LatestAnswers.answers)
    query = (select(func.aggregate_strings(line, "\n")).select_from(HouseholdLatest)
             .join(LatestAnswers, and_(LatestAnswers.household_id == HouseholdLatest.household_id,
                                       LatestAnswers.assessment_id == HouseholdLatest.assessment_id,
                                       LatestAnswers.layout == answers_layout(catalog)))
             .group_by(HouseholdLatest.household_id // 8192))
    if scope is not None:
        query = query.where(scope)
    return "".join(f"{group}\n" for group in session.scalars(query)).encode("utf-8")


def _compact_frame(session: Session, catalog, scope) -> pd.DataFrame | None:
    """The latest answers that have a compact line, parsed column-wise; None when a value does not fit its
    indicator's type (the caller then reads the JSON)."""
    data = _compact_text(session, catalog, scope)
    schema = answers_schema(catalog)
    names = [*META_COLUMNS, *schema.names]
    if not data:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in names})
    try:
        table = pa_csv.read_csv(pa.BufferReader(data), read_options=pa_csv.ReadOptions(column_names=names),
                                convert_options=pa_csv.ConvertOptions(
                                    column_types={**META_COLUMNS, **dict(zip(schema.names, schema.types))},
                                    true_values=["true"], false_values=["false"], null_values=[""],
                                    strings_can_be_null=True, quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    for position, field in enumerate(table.schema):  # yes/no as 1/0: the core's fast numeric path
        if field.type == pa.bool_():
            table = table.set_column(position, field.name, pc.cast(table.column(position), pa.float64()))
    return table.to_pandas()


def _json_frame(session: Session, catalog, scope, *, without_compact: bool) -> pd.DataFrame:
    query = (select(HouseholdLatest.household_id, HouseholdLatest.station_id, HouseholdLatest.town_id,
                    HouseholdLatest.region_id, HouseholdLatest.assessed_on, cast(Assessment.answers, Text))
             .join(Assessment, Assessment.id == HouseholdLatest.assessment_id)
             .order_by(HouseholdLatest.household_id))
    if without_compact:
        query = query.where(~exists().where(LatestAnswers.household_id == HouseholdLatest.household_id,
                                            LatestAnswers.assessment_id == HouseholdLatest.assessment_id,
                                            LatestAnswers.layout == answers_layout(catalog)))
    if scope is not None:
        query = query.where(scope)
    rows = session.execute(query).all()
    frame = answers_frame(catalog, [row[5] for row in rows])
    frame.insert(0, "household_id", np.array([row[0] for row in rows], dtype=np.int64))
    frame.insert(1, "station_id", np.array([row[1] for row in rows], dtype=np.int64))
    frame.insert(2, "town_id", np.array([row[2] for row in rows], dtype=np.int64))
    frame.insert(3, "year", np.array([row[4].year for row in rows], dtype=np.int64))
    frame.insert(4, "region", np.array([row[3] for row in rows], dtype=object))
    return frame


def latest_frame(session: Session, catalog, *, scope=None) -> pd.DataFrame:
    """The latest current assessments' answers with household_id, station_id, town_id, year and region
    columns, one row per household in no particular order: from the compact lines where they exist, else
    from the stored JSON."""
    compact = _compact_frame(session, catalog, scope)
    if compact is None:
        return _json_frame(session, catalog, scope, without_compact=False)
    households = session.scalar(select(func.count()).select_from(HouseholdLatest).where(
        scope if scope is not None else HouseholdLatest.household_id.isnot(None)))
    if len(compact) == households:
        return compact
    return pd.concat([compact, _json_frame(session, catalog, scope, without_compact=True)], ignore_index=True)
