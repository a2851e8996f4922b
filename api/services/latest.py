"""Each household's latest current assessment (the `household_latest` row), and stored answers as a frame.

`refresh_latest` runs in the submission's transaction, so rankings, alerts and due dates never lag
behind the assessments; it also keeps the latest answers as a compact CSV line (`latest_answers`), which
`latest_frame` reads column-wise (PostgreSQL COPY, pyarrow) for impact previews: about 200 bytes a
household instead of 1.5 kB of JSON. `answers_frame` parses stored JSON answers column by column.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
from sqlalchemy import (Boolean, Integer, String, Text, and_, bindparam, case, cast, delete, exists, extract, func,
                        insert, literal_column, select)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, aliased

from api.db import bound_connection, driver_statement
from api.services.workflows import workflows
from api.tables import Assessment, AssessmentRescore, Household, HouseholdLatest, LatestAnswers, Station


def services_text(service_ids) -> str:
    """Service ids as `;a;b;`, so `LIKE '%;a;%'` finds one exactly."""
    ids = [s for s in service_ids if s]
    return f";{';'.join(ids)};" if ids else ""


_CORRECTION = aliased(Assessment)  # built once: a fresh alias redoes its column set-up on every query


def current_assessments():
    """A filter: assessments no later assessment corrects."""
    return ~exists().where(_CORRECTION.corrects_id == Assessment.id)


@functools.cache
def _two_latest_current():
    """The latest and the previous current assessment of each household in `:household_ids`, newest first
    within a household: a household's older assessments are never loaded (nor their JSON parsed). Built
    once, as building the statement costs about as much as running it."""
    newest_first = (Assessment.assessed_on.desc(), Assessment.id.desc())
    ranked = (select(Assessment.id, func.row_number().over(partition_by=Assessment.household_id,
                                                           order_by=newest_first).label("position"))
              .where(Assessment.household_id.in_(bindparam("household_ids", expanding=True)),
                     current_assessments()).subquery())
    return (select(Assessment).join(ranked, ranked.c.id == Assessment.id).where(ranked.c.position <= 2)
            .order_by(Assessment.household_id, *newest_first))


def _latest_values(latest: Assessment, previous: Assessment | None, previous_figures: tuple, household,
                   tier_code: dict) -> dict:
    """The `household_latest` columns for a household's latest current assessment and the one before."""
    result = latest.result
    previous_index, previous_tier = previous_figures
    return dict(
        assessment_id=latest.id, station_id=household.station_id, town_id=household.town_id,
        region_id=latest.region_id, status=household.status,
        assessed_on=latest.assessed_on, index=latest.index, tier=latest.tier,
        tier_code=tier_code.get(latest.tier, 0), completeness=latest.completeness,
        provisional=latest.provisional, critical=bool(result.get("raised_by")),
        dimension_scores=result.get("dimension_scores", {}),
        services=services_text(r["service"] for r in result.get("recommendations", [])),
        config_version=latest.config_version,
        due_on=workflows().due_on(latest.assessed_on, latest.tier, latest.provisional),
        previous_assessment_id=previous.id if previous else None, previous_index=previous_index,
        previous_tier_code=tier_code.get(previous_tier) if previous else None)


def _rescored(session: Session, pairs: list[tuple[int, str]]) -> dict[tuple[int, str], tuple[float, str]]:
    """Re-scored figures of (assessment id, configuration version) pairs, where they exist."""
    wanted = set(pairs)
    found = {}
    ids = sorted({assessment_id for assessment_id, _ in pairs})
    for start in range(0, len(ids), 5000):
        for row in session.execute(select(AssessmentRescore.assessment_id, AssessmentRescore.config_version,
                                          AssessmentRescore.index, AssessmentRescore.tier)
                                   .where(AssessmentRescore.assessment_id.in_(ids[start:start + 5000]))):
            if (row.assessment_id, row.config_version) in wanted:
                found[row.assessment_id, row.config_version] = (row.index, row.tier)
    return found


def _previous_figures(rescored: dict, latest: Assessment, previous: Assessment | None) -> tuple:
    """The previous assessment's index and tier, as re-scored under the latest one's configuration when it was."""
    if previous is None:
        return None, None
    if previous.config_version != latest.config_version:
        again = rescored.get((previous.id, latest.config_version))
        if again is not None:
            return again
    return previous.index, previous.tier


def _households(session: Session, household_ids: list[int]) -> dict:
    query = (select(Household.id, Household.status, Household.station_id, Station.town_id)
             .join(Station, Household.station_id == Station.id))
    found = {}
    for start in range(0, len(household_ids), 5000):
        found.update((row.id, row) for row in session.execute(
            query.where(Household.id.in_(household_ids[start:start + 5000]))))
    return found


def refresh_latest(session: Session, *, household_id: int, catalog) -> None:
    """Point the household's `household_latest` row at its latest current assessment."""
    refresh_many(session, household_ids=[household_id], catalog=catalog)


@functools.cache
def _two_latest_figures():
    """The id and figures of a household's latest and previous current assessments (no JSON read)."""
    return (select(Assessment.id, Assessment.index, Assessment.tier, Assessment.config_version)
            .where(Assessment.household_id == bindparam("household_id"), current_assessments())
            .order_by(Assessment.assessed_on.desc(), Assessment.id.desc()).limit(2))


def _lock_latest(session: Session, household_id: int) -> None:
    """Lock the household's latest row (when it has one) until the transaction ends, before reading what to
    write there: a concurrent one-statement submission then waits, and finds the row changed."""
    session.execute(select(HouseholdLatest.household_id).where(HouseholdLatest.household_id == household_id)
                    .with_for_update())


def refresh_submitted(session: Session, *, assessment, household, catalog) -> None:
    """`refresh_latest` right after `assessment` (a stored row, or a record of its columns) was stored for
    `household` (its id, status, station_id and town_id), reading back only the two latest assessments'
    figures. Falls back to `refresh_latest` when the new assessment is not the household's latest (an
    earlier date)."""
    _lock_latest(session, household.id)
    found = session.connection().execute(_two_latest_figures(), {"household_id": household.id}).all()
    if not found or found[0].id != assessment.id:
        refresh_latest(session, household_id=household.id, catalog=catalog)
        return
    values, line = submitted_rows(session, assessment=assessment, previous=found[1] if len(found) > 1 else None,
                                  household=household, catalog=catalog)
    store_submitted(session, household_id=household.id, values=values, line=line)


def submitted_rows(session: Session | None, *, assessment, previous, household, catalog) -> tuple:
    """The `household_latest` values and the compact answers line (None when the answers have none) of a
    household whose latest current assessment is `assessment` (a stored row, or a record of its columns);
    `previous` (its id, index, tier and config_version) is the current one before it, or None. The session
    is read only when `previous` was scored under another configuration (for its re-scored figures). Nothing
    of `assessment` is read back: its id may still be None (the caller fills it in, or the database does)."""
    figures = (None, None) if previous is None else (previous.index, previous.tier)
    if previous is not None and previous.config_version != assessment.config_version:
        figures = _rescored(session, [(previous.id, assessment.config_version)]).get(
            (previous.id, assessment.config_version), figures)
    tier_code = {tier: code for code, tier in enumerate(catalog.tier_ids)}
    values = _latest_values(assessment, previous, figures, household, tier_code)
    line = answers_line(catalog, assessment.answers)
    return values, None if line is None else {"household_id": household.id, "assessment_id": assessment.id,
                                              "layout": answers_layout(catalog), "answers": line}


def store_submitted(session: Session, *, household_id: int, values: dict, line: dict | None) -> None:
    """Write what `submitted_rows` gave: the `household_latest` row as one upsert, and the answers line."""
    connection = bound_connection(session)
    dialect = connection.dialect
    driver_statement(dialect, _upsert, dialect.name, HouseholdLatest.__table__).first(
        connection, {"household_id": household_id, **values})
    if line is None:
        _store_lines(session, [], without=[household_id])
    else:
        driver_statement(dialect, _upsert, dialect.name, LatestAnswers.__table__).first(connection, line)


OVERTAKEN = "submission overtaken"  # what the one-statement write fails with when another submission came first


@functools.cache
def insert_with_latest(inserted: tuple[str, ...]):
    """PostgreSQL: one statement that inserts an assessment (its columns `inserted`, bound by name) and
    upserts its household's `household_latest` row (bound as `latest_<column>`) and answers line (bound as
    `line_<column>`), both pointing at the new id. One round trip instead of three, and no BEGIN or COMMIT:
    run in autocommit, the statement commits all of it or nothing. It returns the new id. An existing row is
    only replaced while it still points at `:expected_latest_id` (the latest assessment the submission read;
    NULL when there was none). When another submission for the household committed in between, the
    statement fails (`is_overtaken`), so nothing of it is stored: the caller then stores the assessment and
    refreshes the latest rows from what is stored, in one transaction. (It fails by casting a text that is
    not a boolean, the one way a plain SQL statement can raise an error of its own.)"""
    table = Assessment.__table__
    new = insert(table).values({name: bindparam(name, type_=table.c[name].type) for name in inserted}) \
        .returning(table.c.id).cte("new_assessment")
    expected = bindparam("expected_latest_id", type_=Integer)

    def upsert(target, prefix: str, updated):
        columns = [column for column in target.__table__.columns]
        rows = select(*[new.c.id if column.name == "assessment_id" else
                        bindparam(prefix + column.name, type_=column.type) for column in columns])
        statement = postgresql.insert(target).from_select([column.name for column in columns], rows)
        return statement.on_conflict_do_update(
            index_elements=[target.household_id], set_={name: statement.excluded[name] for name in updated},
            where=target.__table__.c.assessment_id == expected).returning(target.household_id)

    latest_columns = [c.name for c in HouseholdLatest.__table__.columns if c.name != "household_id"]
    new_latest = upsert(HouseholdLatest, "latest_", latest_columns).cte("new_latest")
    new_line = upsert(LatestAnswers, "line_", ("assessment_id", "layout", "answers")).cte("new_line")
    written = (select(func.count()).select_from(new_latest).scalar_subquery()
               + select(func.count()).select_from(new_line).scalar_subquery())
    both_written = cast(case((written == 2, literal_column("'true'")), else_=literal_column(f"'{OVERTAKEN}'")),
                        Boolean)
    return select(new.c.id, both_written.label("both_written")).add_cte(new_latest, new_line)


def is_overtaken(error: DBAPIError) -> bool:
    """Whether `insert_with_latest` failed because another submission for the household came first."""
    return OVERTAKEN in str(error.orig)


def refresh_many(session: Session, *, household_ids: list[int], catalog) -> None:
    """`refresh_latest` for many households at once (a few queries, not a few per household)."""
    household_ids = sorted(set(household_ids))
    by_household: dict[int, list[Assessment]] = {}
    for start in range(0, len(household_ids), 5000):
        for assessment in session.scalars(_two_latest_current(),
                                          {"household_ids": household_ids[start:start + 5000]}):
            by_household.setdefault(assessment.household_id, []).append(assessment)
    pairs = [(found[1].id, found[0].config_version) for found in by_household.values()
             if len(found) > 1 and found[1].config_version != found[0].config_version]
    rescored = _rescored(session, pairs) if pairs else {}
    households = _households(session, list(by_household))
    tier_code = {tier: code for code, tier in enumerate(catalog.tier_ids)}
    existing = {}
    for start in range(0, len(household_ids), 5000):
        existing.update((row.household_id, row) for row in session.scalars(
            select(HouseholdLatest).where(HouseholdLatest.household_id.in_(household_ids[start:start + 5000]))))
    new_rows, lines = [], []
    layout = answers_layout(catalog)
    for household_id in household_ids:
        found = by_household.get(household_id)
        row = existing.get(household_id)
        if not found:
            if row is not None:
                session.delete(row)
            continue
        latest, previous = found[0], (found[1] if len(found) > 1 else None)
        values = _latest_values(latest, previous, _previous_figures(rescored, latest, previous),
                                households[household_id], tier_code)
        line = answers_line(catalog, latest.answers)
        if line is not None:
            lines.append({"household_id": household_id, "assessment_id": latest.id, "layout": layout,
                          "answers": line})
        if row is None:
            new_rows.append({"household_id": household_id, **values})
        else:
            for key, value in values.items():
                setattr(row, key, value)
    if new_rows:
        session.connection().execute(insert(HouseholdLatest), new_rows)
    _store_lines(session, lines, without=sorted(set(household_ids) - {line["household_id"] for line in lines}))
    session.flush()


def _store_lines(session: Session, lines: list[dict], *, without: list[int]) -> None:
    """Upsert the compact answer lines (safe when two submissions for a household race), and remove those
    of the households in `without`."""
    for start in range(0, len(without), 5000):
        session.execute(delete(LatestAnswers).where(LatestAnswers.household_id.in_(without[start:start + 5000])))
    if lines:
        # Core, not the ORM's bulk path, whose setup costs more than one row's upsert
        session.connection().execute(_upsert(session.get_bind().dialect.name, LatestAnswers.__table__), lines)


@functools.cache
def _upsert(dialect_name: str, table) -> object:
    """INSERT ... ON CONFLICT (household_id) DO UPDATE of every other column, built once per dialect."""
    dialect_insert = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
    statement = dialect_insert(table)
    return statement.on_conflict_do_update(
        index_elements=[table.c.household_id],
        set_={column.name: statement.excluded[column.name] for column in table.columns
              if column.name != "household_id"})


def sync_status(session: Session, *, household_id: int, status: str) -> None:
    """Copy a household's status to its `household_latest` row (rankings filter on it)."""
    row = session.get(HouseholdLatest, household_id)
    if row is not None:
        row.status = status


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


def _csv_value(value) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    if any(c in text for c in "\\\r\n\t"):  # kept out, so a line never needs an escape in COPY output
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
