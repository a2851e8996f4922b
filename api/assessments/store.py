"""Storing assessments and keeping each household's latest row: the only code that writes `assessments`,
`household_latest` and `latest_answers`.

- `store_assessment` inserts a new assessment and brings its household's latest row up to date, all in
  one transaction (submissions, corrections).
- `refresh_latest` rebuilds the latest rows of some households from their stored assessments (a status
  change, a correction, an assessment dated before the latest, the demo's seeding).
- `store_assessments` loads many new assessments at once (bulk imports: COPY on PostgreSQL) and brings their
  latest rows up to date.
- `store_rescored` writes a batch of re-scored results beside the originals and moves the latest rows
  they concern to the new figures (re-scoring).

Every latest row is built by api.assessments.latest. On SQLite a writer holds the database's write lock
from its first statement (`BEGIN IMMEDIATE`), so nothing changes between its reads and its writes. On
PostgreSQL a submission reads in autocommit and then stores with one statement that checks the latest row
is still the one it read; when another submission for the household came in between, the statement fails
and stores nothing, and the assessment is stored again in a transaction that locks the row.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import pandas as pd
from sqlalchemy import (JSON, Boolean, Column, Integer, MetaData, Table, Text, bindparam, case, cast, delete, exists,
                        func, insert, literal, literal_column, select, true, update)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, aliased

from api.assessments.frames import answers_layout, answers_line
from api.assessments.latest import SCORED_BY_CORE, latest_row
from api.assessments.tables import Assessment, AssessmentRescore, HouseholdLatest, LatestAnswers
from api.db import begin, bound_connection, in_autocommit
from api.db.bulk import in_chunks, load_frame, new_ids, one_of, where_in
from api.db.statements import driver_statement
from api.geography.tables import Station
from api.households.tables import Household

INSERTED = tuple(column.name for column in Assessment.__table__.columns if column.name != "id")
_CORRECTION = aliased(Assessment)  # built once: a fresh alias redoes its column set-up on every query


def current_assessments():
    """A filter: assessments no later assessment corrects."""
    return ~exists().where(_CORRECTION.corrects_id == Assessment.id)


class HouseholdPlace(NamedTuple):
    """What a latest row needs of its household."""

    id: int
    status: str
    station_id: int
    town_id: int


@dataclass(frozen=True)
class Figures:
    """What a latest row needs of the current assessment before the latest one."""

    id: int
    index: float
    tier: str


def store_assessment(session: Session, *, assessment, household, previous, catalog) -> int:
    """Insert `assessment` (a record of its columns; its id None) and bring its household's latest row up to
    date, in one transaction; returns the new id. `household` is its id, status, station_id and town_id;
    `previous` the household's latest current assessment as read before in this session (id, assessed_on,
    index, tier, config_version), or None. When the new assessment comes last (not a correction, not dated
    before the previous one) its latest row is built from what was read; otherwise, and in a PostgreSQL
    transaction (where the row may have moved since the read), it is rebuilt from the stored assessments."""
    comes_last = assessment.corrects_id is None and (previous is None
                                                     or previous.assessed_on <= assessment.assessed_on)
    if comes_last:
        before = _previous_figures(session, previous, assessment.config_version)
        row = latest_row(assessment=assessment, previous=before, household=household, catalog=catalog)
        line = _line(catalog, household.id, assessment)
        if in_autocommit(session):
            if line is not None:
                stored = _store_with_latest(session, assessment, row, line, previous.id if previous else None)
                if stored is not None:
                    return stored
        elif bound_connection(session).dialect.name == "sqlite":  # it holds the write lock since its first read
            assessment_id = _insert(session, assessment)
            _write_latest(session, [{**row, "assessment_id": assessment_id}],
                          [{**line, "assessment_id": assessment_id}] if line else [],
                          without_line=[] if line else [household.id])
            return assessment_id
    begin(session)
    assessment_id = _insert(session, assessment)
    refresh_latest(session, household_ids=[household.id], catalog=catalog)
    return assessment_id


def _line(catalog, household_id: int, assessment, layout: str | None = None) -> dict | None:
    """The compact answers row of an assessment; None when its answers have no compact line. `layout`: the
    catalog's `answers_layout`, when known."""
    text = getattr(assessment, "answers_line", None) or answers_line(catalog, assessment.answers)
    return None if text is None else {"household_id": household_id, "assessment_id": assessment.id,
                                      "layout": layout or answers_layout(catalog), "answers": text}


def _previous_figures(session: Session, previous, config_version: str) -> Figures | None:
    """The previous assessment's figures under `config_version`: as stored, or as re-scored under that
    version when it was scored under another one (and has been re-scored)."""
    if previous is None:
        return None
    if previous.config_version != config_version:
        again = _rescored(session, [(previous.id, config_version)]).get(previous.id)
        if again is not None:
            return again
    return Figures(previous.id, previous.index, previous.tier)


def _insert(session: Session, assessment) -> int:
    connection = bound_connection(session)
    return driver_statement(connection, _insert_assessment).first(
        connection, {column: getattr(assessment, column) for column in INSERTED}).id


@functools.cache
def _insert_assessment():
    table = Assessment.__table__
    return insert(table).values({name: bindparam(name, type_=table.c[name].type) for name in INSERTED}) \
        .returning(table.c.id)


def _store_with_latest(session: Session, assessment, row: dict, line: dict, expected: int | None) -> int | None:
    """PostgreSQL in autocommit: the assessment, its latest row and its answers line in one statement; None,
    with nothing stored, when the latest row no longer points at `expected`."""
    connection = bound_connection(session)
    parameters = {**{column: getattr(assessment, column) for column in INSERTED},
                  **{f"latest_{key}": value for key, value in row.items() if key != "assessment_id"},
                  **{f"line_{key}": value for key, value in line.items() if key != "assessment_id"},
                  "expected_latest_id": expected}
    try:
        return driver_statement(connection, _insert_with_latest).first(connection, parameters).id
    except DBAPIError as error:
        if OVERTAKEN in str(error.orig):
            return None
        raise


OVERTAKEN = "submission overtaken"  # what the one-statement write fails with when the latest row moved


@functools.cache
def _insert_with_latest():
    """One PostgreSQL statement: insert an assessment (its columns bound by name), upsert its household's
    `household_latest` row (bound as `latest_<column>`) while that row still points at `:expected_latest_id`
    (NULL: there is none yet), and upsert its answers line (`line_<column>`), both pointing at the new id.
    When the latest row moved, the statement fails, so that nothing of it is stored: it casts a text that is
    not a boolean (`OVERTAKEN`), the one way a plain SQL statement can raise an error of its own."""
    table = Assessment.__table__
    new = insert(table).values({name: bindparam(name, type_=table.c[name].type) for name in INSERTED}) \
        .returning(table.c.id).cte("new_assessment")

    def upsert(target, prefix: str, where):
        columns = list(target.__table__.columns)
        rows = select(*[new.c.id if column.name == "assessment_id" else
                        bindparam(prefix + column.name, type_=column.type) for column in columns])
        statement = postgresql.insert(target).from_select([column.name for column in columns], rows)
        return statement.on_conflict_do_update(
            index_elements=[target.household_id],
            set_={column.name: statement.excluded[column.name] for column in columns if column.name != "household_id"},
            where=where).returning(target.household_id)

    expected = bindparam("expected_latest_id", type_=Integer)
    new_latest = upsert(HouseholdLatest, "latest_", HouseholdLatest.assessment_id == expected).cte("new_latest")
    new_line = upsert(LatestAnswers, "line_", None).cte("new_line")
    written = select(func.count()).select_from(new_latest).scalar_subquery()
    checked = cast(case((written == 1, literal_column("'true'")), else_=literal_column(f"'{OVERTAKEN}'")), Boolean)
    return select(new.c.id, checked.label("latest_written")).add_cte(new_latest, new_line)


def refresh_latest(session: Session, *, household_ids: list[int], catalog) -> None:
    """Rebuild the latest rows (and answers lines) of these households from their stored current assessments,
    in the session's transaction: a household with none loses its row."""
    household_ids = sorted(set(household_ids))
    begin(session)
    dialect = bound_connection(session).dialect.name
    if dialect == "postgresql":
        session.execute(select(HouseholdLatest.household_id)
                        .where(one_of(HouseholdLatest.household_id, household_ids, dialect)).with_for_update())
    found: dict[int, list[Assessment]] = {}
    for chunk in in_chunks(session, household_ids):
        for assessment in session.scalars(_two_latest_current(dialect), {"household_ids": chunk}):
            found.setdefault(assessment.household_id, []).append(assessment)
    rescored = _rescored(session, [(pair[1].id, pair[0].config_version) for pair in found.values()
                                   if len(pair) > 1 and pair[1].config_version != pair[0].config_version])
    places = _places(session, list(found))
    layout = answers_layout(catalog)
    rows, lines, without_line = [], [], []
    for household_id, (latest, *rest) in found.items():
        before = None
        if rest:
            previous = rest[0]
            if previous.config_version != latest.config_version:
                before = rescored.get(previous.id)
            before = before or Figures(previous.id, previous.index, previous.tier)
        rows.append(latest_row(assessment=latest, previous=before, household=places[household_id], catalog=catalog))
        line = _line(catalog, household_id, latest, layout)
        if line is None:
            without_line.append(household_id)
        else:
            lines.append(line)
    gone = [household_id for household_id in household_ids if household_id not in found]
    for condition in where_in(session, HouseholdLatest.household_id, gone):
        session.execute(delete(HouseholdLatest.__table__).where(condition))
    _write_latest(session, rows, lines, without_line=without_line + gone)


def _write_latest(session: Session, rows: list[dict], lines: list[dict], *, without_line: list[int]) -> None:
    """Upsert latest rows and answers lines; remove the lines of the households in `without_line`."""
    connection = bound_connection(session)
    for condition in where_in(session, LatestAnswers.household_id, without_line):
        session.execute(delete(LatestAnswers.__table__).where(condition))
    for table, values in ((HouseholdLatest.__table__, rows), (LatestAnswers.__table__, lines)):
        if len(values) == 1:
            driver_statement(connection, _upsert, connection.dialect.name, table).first(connection, values[0])
        elif values:
            connection.execute(_upsert(connection.dialect.name, table), values)


@functools.cache
def _upsert(dialect: str, table: Table):
    """INSERT ... ON CONFLICT (household_id) DO UPDATE of every other column, built once per dialect."""
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    others = [column.name for column in table.columns if column.name != "household_id"]
    return statement.on_conflict_do_update(index_elements=[table.c.household_id],
                                           set_={name: statement.excluded[name] for name in others})


@functools.cache
def _two_latest_current(dialect: str):
    """The latest and the previous current assessment of each household in `:household_ids`, newest first
    within a household. Built once, as building the statement costs about as much as running it."""
    newest_first = (Assessment.assessed_on.desc(), Assessment.id.desc())
    ranked = (select(Assessment.id, func.row_number().over(partition_by=Assessment.household_id,
                                                           order_by=newest_first).label("position"))
              .where(one_of(Assessment.household_id, "household_ids", dialect), current_assessments()).subquery())
    return (select(Assessment).join(ranked, ranked.c.id == Assessment.id).where(ranked.c.position <= 2)
            .order_by(Assessment.household_id, *newest_first))


def _rescored(session: Session, pairs: list[tuple[int, str]]) -> dict[int, Figures]:
    """The figures of (assessment id, configuration version) pairs as re-scored, where they were."""
    wanted, found = set(pairs), {}
    for condition in where_in(session, AssessmentRescore.assessment_id,
                              sorted({assessment_id for assessment_id, _ in pairs})):
        for row in session.execute(select(AssessmentRescore.assessment_id, AssessmentRescore.config_version,
                                          AssessmentRescore.index, AssessmentRescore.tier).where(condition)):
            if (row.assessment_id, row.config_version) in wanted:
                found[row.assessment_id] = Figures(row.assessment_id, row.index, row.tier)
    return found


def _places(session: Session, household_ids: list[int]) -> dict:
    """Each household's id, status, station and town."""
    query = (select(Household.id, Household.status, Household.station_id, Station.town_id)
             .join(Station, Household.station_id == Station.id))
    found = {}
    for condition in where_in(session, Household.id, household_ids):
        found.update((row.id, row) for row in session.execute(query.where(condition)))
    return found


# Re-scoring


@functools.cache
def _staging() -> Table:
    """A temporary table of re-scored figures per assessment, typed as the latest row's columns (the
    dimension scores as JSON text)."""
    latest = HouseholdLatest.__table__
    columns = [Column(name, Text if name == "dimension_scores" else latest.c[name].type) for name in SCORED_BY_CORE]
    return Table("rescored_batch", MetaData(), Column("assessment_id", Integer, primary_key=True), *columns,
                 prefixes=["TEMPORARY"])


def store_rescored(session: Session, *, staged: pd.DataFrame, config_version: str, catalog, job_id: int) -> int:
    """Write a batch re-scored under `config_version` and `catalog`: `staged` holds assessment_id and the columns
    of api.assessments.latest.scored_columns. Results go beside the originals in `assessment_rescores` with the
    versions that made them (never twice for one assessment and configuration version); the latest rows of
    those assessments take the new figures,
    and the rows whose previous assessment they are take its new index and tier. Returns how many results
    were new."""
    staging = _staging()
    connection = bound_connection(session)
    postgres = connection.dialect.name == "postgresql"
    staging.drop(connection, checkfirst=True)
    staging.create(connection)
    load_frame(session, staging, staged[["assessment_id", *SCORED_BY_CORE]])
    if postgres:
        connection.exec_driver_sql(f"ANALYZE {staging.name}")  # so that the joins below use the indexes
    dimension_scores = cast(staging.c.dimension_scores, JSON) if postgres else staging.c.dimension_scores
    dialect_insert = postgresql.insert if postgres else sqlite.insert
    before = session.scalar(select(func.count()).select_from(AssessmentRescore).where(
        AssessmentRescore.config_version == config_version,
        AssessmentRescore.assessment_id.in_(select(staging.c.assessment_id))))
    results = ("index", "tier", "completeness", "provisional", "critical", "services")
    session.execute(dialect_insert(AssessmentRescore).from_select(
        ["assessment_id", "config_version", "catalog_version", "catalog_hash", "job_id", *results, "dimension_scores"],
        select(staging.c.assessment_id, literal(config_version), literal(catalog.version),
               literal(catalog.content_hash), literal(job_id),
               *(staging.c[name] for name in results), dimension_scores)
        .where(true())  # SQLite reads ON CONFLICT after a bare FROM as a join's
    ).on_conflict_do_nothing(index_elements=["assessment_id", "config_version"]))
    session.execute(update(HouseholdLatest).where(HouseholdLatest.assessment_id == staging.c.assessment_id).values(
        {**{name: staging.c[name] for name in SCORED_BY_CORE if name != "dimension_scores"},
         "dimension_scores": dimension_scores, "config_version": config_version}))
    session.execute(update(HouseholdLatest).where(HouseholdLatest.previous_assessment_id == staging.c.assessment_id)
                    .values(previous_index=staging.c.index, previous_tier_code=staging.c.tier_code))
    after = session.scalar(select(func.count()).select_from(AssessmentRescore).where(
        AssessmentRescore.config_version == config_version,
        AssessmentRescore.assessment_id.in_(select(staging.c.assessment_id))))
    staging.drop(connection)
    return after - before


def store_assessments(session: Session, *, assessments: list, catalog,
                      first_of: Mapping[int, HouseholdPlace] | None = None) -> list[int]:
    """Insert many new assessments (records of their columns, ids None; none a correction) and bring the latest rows
    of their households up to date, in the session's transaction (bulk imports); returns their ids, in order. The
    ids are taken first (api.db.bulk.new_ids) and the rows loaded at once (COPY on PostgreSQL).
    A household's latest row and answers line are built from the records at hand and its latest current assessment
    as stored before them (read for the chunk in one query), as `store_assessment` builds them, when its new assessments
    all come after that one; else rebuilt from what is then stored (`refresh_latest`). `first_of`: households that
    had no assessment before these (registered with them), by id: their rows are loaded, the others' upserted."""
    if not assessments:
        return []
    first_of = first_of or {}
    begin(session)
    table = Assessment.__table__
    ids = new_ids(session, table, len(assessments))
    own_of: dict[int, list] = {}
    for assessment, assessment_id in zip(assessments, ids):
        assessment.id = assessment_id
        own_of.setdefault(assessment.household_id, []).append(assessment)
    for own in own_of.values():
        own.sort(key=lambda a: (a.assessed_on, a.id), reverse=True)
    stored = _latest_current(session, [household_id for household_id in own_of if household_id not in first_of])
    rescored = _rescored(session, [(before.id, own_of[household_id][0].config_version)
                                   for household_id, before in stored.items()
                                   if before.config_version != own_of[household_id][0].config_version])
    columns = {name: [getattr(assessment, name) for assessment in assessments] for name in ("id", *INSERTED)}
    load_frame(session, table, columns)
    places = {**first_of, **_places(session, [household_id for household_id in own_of if household_id not in first_of])}
    layout = answers_layout(catalog)
    first_rows, first_lines, rows, lines, without_line, rebuilt = [], [], [], [], [], []
    for household_id, own in own_of.items():
        latest, before = own[0], stored.get(household_id)
        if before is not None and before.assessed_on > own[-1].assessed_on:
            rebuilt.append(household_id)
            continue
        if len(own) > 1:
            previous = Figures(own[1].id, own[1].index, own[1].tier)
        elif before is not None:
            previous = rescored.get(before.id) or Figures(before.id, before.index, before.tier)
        else:
            previous = None
        row = latest_row(assessment=latest, previous=previous, household=places[household_id], catalog=catalog)
        line = _line(catalog, household_id, latest, layout)
        if household_id in first_of:
            first_rows.append(row)
            if line is not None:
                first_lines.append(line)
            continue
        rows.append(row)
        if line is None:
            without_line.append(household_id)
        else:
            lines.append(line)
    load_frame(session, HouseholdLatest.__table__, first_rows)
    load_frame(session, LatestAnswers.__table__, first_lines)
    _write_latest(session, rows, lines, without_line=without_line)
    if rebuilt:
        refresh_latest(session, household_ids=rebuilt, catalog=catalog)
    return ids


def _latest_current(session: Session, household_ids: list[int]) -> dict:
    """Each household's latest current assessment (`api.assessments.submission.PREVIOUS` columns), its latest row
    locked on PostgreSQL; households with none are left out."""
    if not household_ids:
        return {}
    dialect = bound_connection(session).dialect.name
    if dialect == "postgresql":
        session.execute(select(HouseholdLatest.household_id)
                        .where(one_of(HouseholdLatest.household_id, household_ids, dialect)).with_for_update())
    found = {}
    for chunk in in_chunks(session, household_ids):
        found.update((row.household_id, row) for row in session.execute(_latest_current_query(dialect),
                                                                        {"household_ids": chunk}))
    return found


@functools.cache
def _latest_current_query(dialect: str):
    """The id, date, index, tier and configuration version of each household's latest current assessment, for the
    households in `:household_ids`."""
    newest_first = (Assessment.assessed_on.desc(), Assessment.id.desc())
    ranked = (select(Assessment.id, Assessment.household_id, Assessment.assessed_on, Assessment.index, Assessment.tier,
                     Assessment.config_version,
                     func.row_number().over(partition_by=Assessment.household_id, order_by=newest_first)
                     .label("position"))
              .where(one_of(Assessment.household_id, "household_ids", dialect), current_assessments()).subquery())
    return select(*(ranked.c[name] for name in ("household_id", "id", "assessed_on", "index", "tier",
                                                 "config_version"))).where(ranked.c.position == 1)
