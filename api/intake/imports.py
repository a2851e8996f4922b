"""Bulk import: rows of answers (the `assess score` input shape, plus optional personal columns) stored as
assessments of a station's households, a chunk of rows per transaction.

Each row is one assessment, keyed by the station, the row's `household_id` and its interview date
(`row_key`): importing the same file again finds every stored row and adds nothing. A household is matched by
its ID number when the row gives one (registered when new, with the duplicate rules of registration: a number
held by another household, or by a member of one, refuses the row), else by the service's household number in
`household_id`. Every row's outcome is kept with the job (`import_rows`) in the chunk's transaction, and the job's
checkpoint moves with it, so a killed import resumes after the last committed chunk and its report covers
every row once. A refused row stores nothing, and never stops the others.

A chunk goes in two steps: `prepare_chunk` reads its rows and scores them (nothing of the database needed), then
`import_chunk` matches them with what is stored and stores them. `run` has the next chunks prepared in a worker
process (`ChunkReader`) while it stores one.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import gc
import hashlib
import io
import math
import multiprocessing
import multiprocessing.connection
import os
import pickle
import threading
import uuid
from collections.abc import Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any, NamedTuple

import pandas as pd
from sqlalchemy import func, literal, select, update
from sqlalchemy.orm import Session

from api.assessments.frames import answers_line
from api.assessments.latest import scored_fields
from api.assessments.service import check_assessed_on
from api.assessments.store import HouseholdPlace, store_assessments
from api.assessments.submission import NewAssessment, reenter_on_assessment, request_hash
from api.assessments.tables import Assessment
from api.audit import service as audit
from api.auth.access import Caller, require_write
from api.configs.records import published_config
from api.db.base import utcnow
from api.db import bound_connection
from api.db.bulk import in_chunks, load_frame, new_ids, one_of, where_in
from api.encoding import EncodedObject, dumps_bytes, encoded_sorted
from api.errors import Invalid, ServiceError, not_found
from api.geography.tables import Station, Town
from api.households.members import check_id_number
from api.households.service import duplicate_conflict, check_name, check_phone
from api.households.tables import Household, HouseholdMember
from api.intake.tables import ImportJob, ImportRow
from api.persons import person_hash
from api.security import Keys, encrypt_json, id_number_hash
from assessment import AnswersInvalid
from assessment.answers import parse_answer
from assessment.rules import is_missing
from assessment.scoring import assess_many

KEY_NAMESPACE = uuid.UUID("0f6b3f7e-9d1c-4c59-8a53-2f4f4a6e1b22")  # row keys: uuid5 in this namespace
OUTCOMES = ("stored", "already_stored", "refused")
FORMATS = {".csv": "csv", ".xlsx": "excel", ".parquet": "parquet", ".jsonl": "jsonl"}
# Columns read as text whatever they look like: keys and ID numbers keep their leading zeros and their X.
TEXT_COLUMNS = {"household_id": str, "id_number": str, "phone": str}
ROW_COLUMNS = ("household_id", "assessed_on", "region", "id_number", "name", "phone")  # the columns besides answers


def read_file(name: str, content: bytes) -> pd.DataFrame:
    """A CSV (UTF-8, a BOM allowed), Excel (first sheet), Parquet or JSON Lines file of households, one a row (the
    `assess score` input shape); Invalid naming the file when it is none of these or has no household_id column."""
    kind = FORMATS.get("." + name.rsplit(".", 1)[-1].lower() if "." in name else "")
    if kind is None:
        raise Invalid("unknown_format", f"{name[:80]}: expected one of {', '.join(FORMATS)}.",
                      f"{name[:80]}:文件须为 {'、'.join(FORMATS)} 之一。", path="file")
    try:
        if kind == "csv":
            frame = pd.read_csv(io.BytesIO(content), dtype=TEXT_COLUMNS, encoding="utf-8-sig", low_memory=False)
        elif kind == "excel":
            frame = pd.read_excel(io.BytesIO(content), dtype=TEXT_COLUMNS)
        elif kind == "jsonl":
            frame = pd.read_json(io.BytesIO(content), lines=True, dtype=TEXT_COLUMNS)
        else:
            frame = pd.read_parquet(io.BytesIO(content))
    except Exception as error:  # every reader raises its own kinds for a file that is not what its name says
        raise Invalid("unreadable_file", f"{name[:80]} cannot be read as {kind} ({type(error).__name__}).",
                      f"无法按 {kind} 读取 {name[:80]}({type(error).__name__})。", path="file") from None
    if "household_id" not in frame.columns:
        raise Invalid("missing_column", f"{name[:80]} has no household_id column.",
                      f"{name[:80]} 没有 household_id 列。", path="file")
    return frame


def content_hash(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def run(*, database, caller: Caller, keys: Keys, scorer, station_id: int, file_name: str, file_hash: str,
        frame: pd.DataFrame, earliest_assessed_on: date, chunk_rows: int = 2000, started=None) -> dict:
    """Import every row (resuming the unfinished import of the same file into the same station), a chunk per
    transaction; the job (id, rows_done at the start, resumed) and its counts. While a chunk is stored, the next
    ones are read and scored in a worker process (`ChunkReader`)."""
    with database.session(write=True) as session:
        job = start_job(session=session, caller=caller, station_id=station_id, file_name=file_name,
                        file_hash=file_hash, rows=len(frame))
        place = _place(session, station_id)
        config = published_config(session=session, catalog=scorer.catalog)
    if started is not None:
        started(job)
    starts = range(job["rows_done"], len(frame), chunk_rows)
    with ChunkReader(catalog=scorer.catalog, keys=keys, place=place, frame=frame, chunk_rows=chunk_rows,
                     earliest_assessed_on=earliest_assessed_on, workers=len(starts) > 1) as reader:
        for start in starts:
            prepared = reader.read(start, config)
            with database.session(write=True) as session:
                import_chunk(session=session, caller=caller, keys=keys, scorer=scorer, job_id=job["id"],
                             start=start, rows=frame.iloc[start:start + chunk_rows], prepared=prepared,
                             earliest_assessed_on=earliest_assessed_on, today=prepared.today)
                config = published_config(session=session, catalog=scorer.catalog)  # for the chunks read next
    with database.session(write=True) as session:
        finish_job(session=session, job_id=job["id"])
        counts = job_counts(session=session, job_id=job["id"])
    return {**job, "counts": counts}


def row_key(station_id: int, source_key: str, assessed_on: date | None) -> str:
    """The submission id of an imported row: the same station, household key and date give the same id. A row
    without a date (stored as assessed today) is keyed without one, so that importing it again another day finds
    it."""
    day = assessed_on.isoformat() if assessed_on is not None else "-"
    return str(uuid.uuid5(KEY_NAMESPACE, f"import\n{station_id}\n{source_key}\n{day}"))


@dataclass
class RowOutcome:
    row: int
    source_key: str
    outcome: str
    household_id: int | None = None
    registered: bool = False
    assessment_id: int | None = None
    code: str | None = None
    path: str | None = None
    message_zh: str | None = None
    message_en: str | None = None


OUTCOME_FIELDS = tuple(item.name for item in fields(RowOutcome))


class Refused(Exception):
    """A row that cannot be stored, and why."""

    def __init__(self, code: str, path: str, message_en: str, message_zh: str):
        super().__init__(message_en)
        self.code, self.path, self.message_en, self.message_zh = code, path, message_en, message_zh

    def __reduce__(self):  # sent from the worker process with a prepared chunk
        return Refused, (self.code, self.path, self.message_en, self.message_zh)

    @classmethod
    def of(cls, error: ServiceError) -> "Refused":
        problem = error.problems[0]
        return cls(problem.code, problem.path, problem.message_en, problem.message_zh)


@dataclass
class _Plan:
    """A row on its way: what it was read as, and what it resolves to."""

    row: int
    source_key: str
    assessed_on: date
    answers: Mapping  # a dict; once scored valid, an api.encoding.EncodedObject of it (`encoded_sorted`)
    key: str
    dated: bool = True  # False: no date given, assessed today
    id_hash: str | None = None
    personal: dict | None = None
    household: Any = None  # the matched household (id, station_id, status), or None while to be registered
    new_household: "_NewHousehold | None" = None
    scored: Any = None  # the core's result of its answers (an EncodedObject of its dict, or AnswersInvalid)
    answers_line: str | None = None  # the compact line of its answers (api.assessments.frames.answers_line)
    latest_fields: dict | None = None  # the columns of a latest row its result decides (api.assessments.latest)
    sealed: tuple[str, str | None] | None = None  # a new household's personal data encrypted, and its name hash
    name_refused: "Refused | None" = None  # why the row cannot register a new household: its name
    outcome: RowOutcome | None = None
    assessment: NewAssessment | None = None
    same_as: "_Plan | None" = None  # an earlier row of the chunk with the same key and payload


class Place(NamedTuple):
    """The station an import's rows are about: its id, town and region."""

    id: int
    town_id: int
    region_id: str


@dataclass
class Prepared:
    """A chunk's rows read and scored, before any look at the database; `today`, `place`, `config` and
    `earliest_assessed_on` are what the reading and scoring depended on."""

    start: int
    rows: int
    today: date
    place: Place
    config: Any
    earliest_assessed_on: date
    plans: list[_Plan]
    refused: list[RowOutcome]


@dataclass
class _NewHousehold:
    id_hash: str
    personal: str  # encrypted
    name_birth_hash: str | None
    id: int | None = None
    rows: list = field(default_factory=list)


def _clean(value: Any) -> Any:
    """A cell as a plain answer: numpy and pandas scalars as Python values, whole floats of counts as ints."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    return value


def read_answers(catalog, record: dict) -> dict:
    """The answers of one row: the catalog's indicator columns that are not blank, each read by `_answer`."""
    return {indicator.id: _answer(indicator, record[indicator.id]) for indicator in catalog.indicators
            if not is_missing(record.get(indicator.id))}


def answers_of(catalog, frame: pd.DataFrame) -> list[dict]:
    """The answers of each row of `frame`, as `read_answers` reads a row; column by column, each distinct cell of
    a column read once."""
    answers = [{} for _ in range(len(frame))]
    for indicator in catalog.indicators:
        if indicator.id not in frame.columns:
            continue
        column = frame[indicator.id]
        if column.dtype != object or pd.api.types.infer_dtype(column, skipna=True) in ("string", "empty"):
            # cells equal only when of one type (no True == 1 == 1.0): each distinct one read once, by its code
            codes, distinct = pd.factorize(column, use_na_sentinel=True)
            read = [_MISSING if is_missing(value) else _answer(indicator, value) for value in distinct.tolist()]
            read.append(_MISSING)  # code -1: a missing cell
            indicator_id = indicator.id
            for row_answers, answer in zip(answers, map(read.__getitem__, codes.tolist())):
                if answer is not _MISSING:
                    row_answers[indicator_id] = answer
            continue
        read: dict = {}
        for row_answers, value in zip(answers, column.tolist()):
            if is_missing(value):
                continue
            try:
                key = (type(value), value)
                answer = read[key] if key in read else read.setdefault(key, _answer(indicator, value))
            except TypeError:  # a cell that is no key (a list from JSON Lines): read as it is
                answer = _answer(indicator, value)
            row_answers[indicator.id] = answer
    return answers


_MISSING = object()


def _answer(indicator, value: Any) -> Any:
    """An accepted answer in its canonical form (assessment.answers.parse_answer: the same whatever file format
    carried it), any other as it is (scoring then names what is wrong with it)."""
    value = _clean(value)
    canonical, problem = parse_answer(indicator, value)
    value = canonical if problem is None else _number_as_sent(indicator, value)
    return value.strip() if isinstance(value, str) else value


def _number_as_sent(indicator, value: Any) -> Any:
    """A refused numeric answer as a number (a whole one as an int) when it reads as one, so that it shows and
    is corrected as the number it is (KoboToolbox sends every value as text)."""
    if indicator.answer.type in ("count", "amount", "ordinal") and isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


def _date(value: Any, today: date) -> date:
    if value is None or is_missing(value):
        return today
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime().date()
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise Refused("invalid_date", "assessed_on", f"assessed_on {str(value)[:40]!r} is not a date (YYYY-MM-DD).",
                      f"评估日期 {str(value)[:40]!r} 不是日期(YYYY-MM-DD)。") from None


def _text(value: Any) -> str | None:
    if value is None or is_missing(value):
        return None
    value = _clean(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def start_job(*, session: Session, caller: Caller, station_id: int, file_name: str, file_hash: str,
              rows: int) -> dict:
    """The unfinished import of this file into this station (to resume), else a new one."""
    place = _place(session, station_id)
    require_write(caller, place.id, place.town_id)
    job = session.scalar(select(ImportJob).where(ImportJob.station_id == station_id, ImportJob.file_hash == file_hash,
                                                 ImportJob.status == "running").order_by(ImportJob.id.desc()))
    resumed = job is not None
    if job is None:
        job = ImportJob(station_id=station_id, user_id=caller.id, file_name=file_name[:255], file_hash=file_hash,
                        rows=rows, rows_done=0, status="running")
        session.add(job)
        session.flush()
    return {"id": job.id, "rows_done": job.rows_done, "rows": job.rows, "resumed": resumed}


def import_chunk(*, session: Session, caller: Caller, keys: Keys, scorer, job_id: int, start: int,
                 rows: pd.DataFrame, earliest_assessed_on: date, today: date | None = None,
                 prepared: Prepared | None = None) -> list[RowOutcome]:
    """Import rows `start`, `start + 1`, ... (`rows`: those rows of the file) of a job in the session's transaction,
    and move the job's checkpoint past them; returns each row's outcome. `prepared`: the rows as read and scored
    before (`prepare_chunk`), used when it was read for this station, day and the configuration now published;
    else they are read here."""
    job = session.get(ImportJob, job_id)
    if job is None or job.status != "running":
        raise not_found(f"Running import {job_id}", f"进行中的导入 {job_id}", "job_id")
    place = _place(session, job.station_id)
    require_write(caller, place.id, place.town_id)
    today = today or date.today()
    catalog = scorer.catalog
    config = published_config(session=session, catalog=catalog)
    if prepared is None or (prepared.start, prepared.rows, prepared.today, prepared.place, prepared.config,
                            prepared.earliest_assessed_on) != (start, len(rows), today, place, config,
                                                               earliest_assessed_on):
        prepared = prepare_chunk(catalog=catalog, keys=keys, place=place, start=start, rows=rows, config=config,
                                 earliest_assessed_on=earliest_assessed_on, today=today)
    plans, outcomes = prepared.plans, list(prepared.refused)
    _resolve(session, place, plans)
    new_households: dict[str, _NewHousehold] = {}
    _judge(scorer, caller, place, [plan for plan in plans if plan.outcome is None and plan.same_as is None],
           new_households)
    _register(session, caller, place, new_households)
    fresh = [plan for plan in plans if plan.assessment is not None]
    for plan in fresh:
        if plan.new_household is not None:
            plan.assessment.household_id = plan.new_household.id
            plan.assessment.request_hash = request_hash(plan.new_household.id, plan.answers, plan.assessed_on, None)
    registered = {registration.id: HouseholdPlace(registration.id, "active", place.id, place.town_id)
                  for registration in new_households.values()}
    ids = store_assessments(session, assessments=[plan.assessment for plan in fresh], catalog=catalog,
                            first_of=registered)
    for plan, assessment_id in zip(fresh, ids):
        plan.assessment.id = assessment_id
        household_id = plan.assessment.household_id
        plan.outcome = RowOutcome(plan.row, plan.source_key, "stored", household_id=household_id,
                                  registered=plan.new_household is not None and plan.new_household.rows[0] is plan,
                                  assessment_id=assessment_id)
        if plan.household is not None and plan.household.status == "exited":
            reenter_on_assessment(session, caller, catalog, household_id, assessment_id)
    for plan in plans:
        if plan.same_as is not None:
            first = plan.same_as.outcome
            plan.outcome = RowOutcome(plan.row, plan.source_key, "already_stored", household_id=first.household_id,
                                      assessment_id=first.assessment_id) if first.outcome == "stored" else \
                RowOutcome(plan.row, plan.source_key, "refused", code=first.code, path=first.path,
                           message_zh=first.message_zh, message_en=first.message_en)
        outcomes.append(plan.outcome)
    outcomes.sort(key=lambda outcome: outcome.row)
    if outcomes:
        load_frame(session, ImportRow.__table__, {
            "job_id": job_id, **{name: [getattr(outcome, name) for outcome in outcomes] for name in OUTCOME_FIELDS}})
    session.execute(update(ImportJob).where(ImportJob.id == job_id).values(rows_done=start + len(rows)))
    stored = [o for o in outcomes if o.outcome == "stored"]
    if stored:
        audit.record(session, caller, "import_assessments", job_id=job_id, rows=[start, start + len(rows)],
                     stored=len(stored), registered=[o.household_id for o in stored if o.registered])
    return outcomes


def _place(session: Session, station_id: int) -> Place:
    """The station with its town and region; 404 naming it when there is none."""
    station = session.execute(select(Station.id, Station.town_id, Town.region_id)
                              .join(Town, Station.town_id == Town.id).where(Station.id == station_id)).one_or_none()
    if station is None:
        raise not_found(f"Station {station_id}", f"驿站 {station_id}", "station_id")
    return Place(*station)


def prepare_chunk(*, catalog, keys: Keys, place: Place, start: int, rows: pd.DataFrame, config,
                  earliest_assessed_on: date, today: date) -> Prepared:
    """Rows `start`, `start + 1`, ... of a file read (each refused row with why) and scored by the core under
    `config`, and the personal data of each row that gives an ID number encrypted, in case it registers a
    household: all that needs no database, so that it can run in another process (`ChunkReader`)."""
    plans, refused = [], []
    answers = answers_of(catalog, rows)
    cells = {name: rows[name].tolist() for name in ROW_COLUMNS if name in rows.columns}
    for offset in range(len(rows)):
        row = start + offset
        record = {name: values[offset] for name, values in cells.items()}
        source_key = _text(record.get("household_id")) or ""
        try:
            plans.append(_read_row(keys, place, row, source_key, record, answers[offset], earliest_assessed_on,
                                   today))
        except Refused as refused_row:
            refused.append(_refused(row, source_key, refused_row))
    results = assess_many(catalog, [plan.answers for plan in plans], regions=[place.region_id] * len(plans),
                          years=[plan.assessed_on.year for plan in plans], config=config)
    for plan, scored in zip(plans, results):
        if isinstance(scored, AnswersInvalid):
            plan.scored = scored
            continue
        data = scored.as_dict()
        plan.scored = EncodedObject(dumps_bytes(data), {key: data[key] for key in AT_HAND})
        plan.answers_line = answers_line(catalog, plan.answers)
        plan.latest_fields = scored_fields(data, plan.assessed_on, catalog)
        plan.answers = encoded_sorted(plan.answers)  # stored, and fingerprinted (request_hash), as this text
        if plan.personal is not None:
            _seal(keys, plan)
    return Prepared(start=start, rows=len(rows), today=today, place=place, config=config,
                    earliest_assessed_on=earliest_assessed_on, plans=plans, refused=refused)


AT_HAND = ("index", "tier", "completeness", "provisional", "catalog_id", "catalog_version", "catalog_hash",
           "config_version")  # what storing reads of a result, besides `latest_fields`


def _seal(keys: Keys, plan: _Plan) -> None:
    """The personal data a row would register its household with, encrypted, and the hash of its name and birth
    date; or why its name cannot."""
    try:
        name = check_name(plan.personal["name"], path="name")
    except ServiceError as error:
        plan.name_refused = Refused(error.code, "name", "A new household (its ID number is not registered) needs a "
                                    "name.", "新家庭(身份证号码尚未登记)须填写姓名。")
        return
    personal = {**plan.personal, "name": name}
    plan.sealed = (encrypt_json(keys, personal), person_hash(keys, name, personal["id_number"]))
    plan.personal = None  # sealed: nothing of it travels in the clear


def _refused(row: int, source_key: str, refused: Refused) -> RowOutcome:
    return RowOutcome(row, source_key, "refused", code=refused.code, path=refused.path,
                      message_zh=refused.message_zh, message_en=refused.message_en)


def _read_row(keys: Keys, station, row: int, source_key: str, record: dict, answers: dict, earliest: date,
              today: date) -> _Plan:
    if not source_key:
        raise Refused("missing_household_id", "household_id", "The row has no household_id.",
                      "该行没有户编号(household_id)。")
    if len(source_key) > 200:
        raise Refused("invalid_household_id", "household_id", "household_id is longer than 200 characters.",
                      "户编号超过 200 个字符。")
    dated = not is_missing(record.get("assessed_on"))
    assessed_on = _date(record.get("assessed_on"), today)
    try:
        check_assessed_on(assessed_on, earliest=earliest, today=today)
    except ServiceError as error:
        raise Refused.of(error) from None
    region = _text(record.get("region"))
    if region is not None and region != station.region_id:
        raise Refused("other_region", "region", f"The row's region {region[:40]!r} is not the station's region "
                      f"{station.region_id!r}.", f"该行的地区 {region[:40]!r} 不是驿站所在地区 {station.region_id!r}。")
    plan = _Plan(row=row, source_key=source_key, assessed_on=assessed_on, answers=answers,
                 key=row_key(station.id, source_key, assessed_on if dated else None), dated=dated)
    number = _text(record.get("id_number"))
    try:
        if number:
            number = check_id_number(number, path="id_number")
            plan.id_hash = id_number_hash(keys, number)
            plan.personal = {"name": _text(record.get("name")), "id_number": number,
                             "phone": check_phone(_text(record.get("phone")), path="phone")}
    except ServiceError as error:
        raise Refused.of(error) from None
    return plan


def _resolve(session: Session, station, plans: list[_Plan]) -> None:
    """Find what each row's key already stored and each row's household, in a few queries for the chunk."""
    stored = {}
    for condition in where_in(session, Assessment.idempotency_key, list({plan.key for plan in plans})):
        for row in session.execute(select(Assessment.idempotency_key, Assessment.id, Assessment.household_id,
                                          Assessment.assessed_on, Assessment.request_hash).where(condition)):
            stored[row.idempotency_key] = row
    own, members = {}, {}
    for chunk in in_chunks(session, list({plan.id_hash for plan in plans if plan.id_hash})):
        for row in session.execute(_holders(bound_connection(session).dialect.name), {"hashes": chunk}):
            (own if row.own else members).setdefault(row.id_number_hash, []).append(row)
    numbers = list({int(plan.source_key) for plan in plans if not plan.id_hash and plan.source_key.isdigit()
                    and len(plan.source_key) < 10})
    by_id = {}
    for condition in where_in(session, Household.id, numbers):
        by_id.update((row.id, row) for row in session.execute(
            select(Household.id, Household.station_id, Household.status).where(condition)))
    first_of_key: dict[str, _Plan] = {}
    for plan in plans:
        earlier = stored.get(plan.key)
        if earlier is not None:
            on = plan.assessed_on if plan.dated else earlier.assessed_on  # an undated row: the day it was stored
            if request_hash(earlier.household_id, plan.answers, on, None) == earlier.request_hash:
                plan.outcome = RowOutcome(plan.row, plan.source_key, "already_stored",
                                          household_id=earlier.household_id, assessment_id=earlier.id)
            else:
                plan.outcome = _refused(plan.row, plan.source_key, _changed(earlier.id))
            continue
        first = first_of_key.get(plan.key)
        if first is not None:
            if first.answers == plan.answers and first.id_hash == plan.id_hash:
                plan.same_as = first
            else:
                plan.outcome = _refused(plan.row, plan.source_key, Refused(
                    "duplicate_row", "household_id", f"Row {first.row + 1} has the same household_id and date with "
                    "other answers.", f"第 {first.row + 1} 行的户编号和日期与本行相同,答案却不同。"))
            continue
        first_of_key[plan.key] = plan
        try:
            plan.household = _household(station, plan, own, members, by_id)
        except Refused as refused:
            plan.outcome = _refused(plan.row, plan.source_key, refused)


@functools.cache
def _holders(dialect: str):
    """The households holding the ID numbers of `:hashes` (`own`), and those with a member holding one."""
    own = select(Household.id, Household.station_id, Household.status, Household.id_number_hash,
                 literal(True).label("own")).where(one_of(Household.id_number_hash, "hashes", dialect))
    held = (select(Household.id, Household.station_id, Household.status, HouseholdMember.id_number_hash,
                   literal(False).label("own"))
            .join(HouseholdMember, HouseholdMember.household_id == Household.id)
            .where(one_of(HouseholdMember.id_number_hash, "hashes", dialect)))
    return own.union_all(held)


def _changed(assessment_id: int) -> Refused:
    return Refused("row_changed", "household_id",
                   f"This row (same station, household_id and date) was imported before as assessment {assessment_id} "
                   "with other answers; correct that assessment instead.",
                   f"该行(同一驿站、户编号和日期)之前已导入为评估 {assessment_id},但答案不同;请更正该评估。")


def _household(station, plan: _Plan, own: dict, members: dict, by_id: dict):
    """The household a row is about (None: to be registered), or Refused."""
    if plan.id_hash is not None:
        holders = own.get(plan.id_hash, [])
        here = [holder for holder in holders if holder.station_id == station.id]
        if here:
            return here[0]
        held = members.get(plan.id_hash, [])
        if holders or held:
            error = duplicate_conflict("personal.id_number" if holders else "members", (holders or held)[0])
            raise Refused(error.code, "id_number", error.problems[0].message_en, error.problems[0].message_zh)
        return None
    household = by_id.get(int(plan.source_key)) if plan.source_key.isdigit() and len(plan.source_key) < 10 else None
    if household is None or household.station_id != station.id:
        raise Refused("unknown_household", "household_id",
                      f"No household {plan.source_key[:40]} is served by station {station.id}; give the row's "
                      "id_number (and name) to match or register the household by its ID number.",
                      f"驿站 {station.id} 没有编号为 {plan.source_key[:40]} 的家庭;请填写身份证号码(和姓名),"
                      "按身份证号码匹配或登记家庭。")
    return household


def _judge(scorer, caller: Caller, place: Place, plans: list[_Plan], new_households: dict) -> None:
    """The rows to store with the model's opinion beside the core's results (refusing those whose answers are
    invalid) and, for new households, whom to register."""
    judged = scorer.judged([plan.scored for plan in plans], [plan.answers for plan in plans])
    created_at = utcnow()
    for plan, scored in zip(plans, judged):
        if isinstance(scored, AnswersInvalid):
            errors = [finding for finding in scored.findings if finding.severity == "error"]
            plan.outcome = RowOutcome(plan.row, plan.source_key, "refused", code="invalid_answers",
                                      path=errors[0].path if errors else "answers",
                                      message_zh=";".join(f.message.zh for f in errors),
                                      message_en="; ".join(f.message.en for f in errors))
            continue
        if plan.household is None and plan.id_hash in new_households:  # registered by an earlier row of the chunk
            plan.new_household = new_households[plan.id_hash]
            plan.new_household.rows.append(plan)
        elif plan.household is None:
            if plan.name_refused is not None:
                plan.outcome = _refused(plan.row, plan.source_key, plan.name_refused)
                continue
            registration = new_households.setdefault(plan.id_hash, _NewHousehold(plan.id_hash, *plan.sealed))
            registration.rows.append(plan)
            plan.new_household = registration
        result = scored.result
        plan.assessment = NewAssessment(
            household_id=plan.household.id if plan.household is not None else 0, assessed_on=plan.assessed_on,
            region_id=place.region_id, answers=plan.answers, result=result, index=result["index"],
            tier=result["tier"], completeness=result["completeness"], provisional=result["provisional"],
            catalog_id=result["catalog_id"], catalog_version=result["catalog_version"],
            catalog_hash=result["catalog_hash"], config_version=result["config_version"],
            model_version=scored.model_version, model_opinion=scored.model_opinion, needs_review=scored.needs_review,
            corrects_id=None, idempotency_key=plan.key, answers_line=plan.answers_line,
            latest_fields=plan.latest_fields,
            request_hash=request_hash(plan.household.id, plan.answers, plan.assessed_on, None) if plan.household
            else "", created_by=caller.id, created_at=created_at)


def _register(session: Session, caller: Caller, place: Place, new_households: dict) -> None:
    """Register the chunk's new households at once (ids taken first, the rows loaded together)."""
    pending = list(new_households.values())
    if not pending:
        return
    table = Household.__table__
    ids = new_ids(session, table, len(pending))
    for registration, household_id in zip(pending, ids):
        registration.id = household_id
    now = utcnow()
    load_frame(session, table, {
        "id": ids, "station_id": place.id, "registered_station_id": place.id, "status": "active",
        "id_number_hash": [registration.id_hash for registration in pending], "created_by": caller.id,
        "name_birth_hash": [registration.name_birth_hash for registration in pending],
        "personal": [registration.personal for registration in pending], "created_at": now, "updated_at": now})


class ChunkReader:
    """Chunks of a file read and scored (`prepare_chunk`) a step ahead in a worker process, while this one stores
    the chunk before: the reading and scoring need no database, so the two halves of an import run on two cores.
    The worker takes chunks once it has started (a second or two); a chunk it has not been given (the
    first ones, all of a one-chunk file, all when `workers` is False, those after the worker failed) is prepared
    here. Use as a context manager: leaving it stops the worker."""

    AHEAD = 2  # chunks given to the worker before they are needed

    def __init__(self, *, catalog, keys: Keys, place: Place, frame: pd.DataFrame, chunk_rows: int,
                 earliest_assessed_on: date, workers: bool = True):
        self.catalog, self.keys, self.place, self.frame, self.chunk_rows = catalog, keys, place, frame, chunk_rows
        self.earliest_assessed_on = earliest_assessed_on
        self.pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_start_worker, initargs=(catalog, keys)) if workers else None
        self.started = self.pool.submit(_worker_ready) if self.pool is not None else None
        self.given: dict[int, Future] = {}

    def __enter__(self) -> "ChunkReader":
        return self

    def __exit__(self, *exc) -> None:
        self._stop()

    def read(self, start: int, config) -> Prepared:
        """Rows `start` to `start + chunk_rows` read and scored under `config` (the worker's, when it has them)."""
        future = self.given.pop(start, None)
        self._give(start, config)
        if future is not None:
            try:
                return _unpickled(future.result())
            except BrokenProcessPool:  # the worker died (killed, out of memory): the rest is read here
                self._stop()
        return self._prepare(start, config)

    def _give(self, start: int, config) -> None:
        if self.pool is None or not self.started.done():
            return
        try:
            self.started.result()
            for ahead in range(1, self.AHEAD + 1):
                later = start + ahead * self.chunk_rows
                if later < len(self.frame) and later not in self.given:
                    self.given[later] = self.pool.submit(_prepare_in_worker, **self._arguments(later, config))
        except BrokenProcessPool:  # the worker could not start, or died
            self._stop()

    def _stop(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
        self.pool = None
        self.given.clear()

    def _prepare(self, start: int, config) -> Prepared:
        return prepare_chunk(catalog=self.catalog, keys=self.keys, **self._arguments(start, config))

    def _arguments(self, start: int, config) -> dict:
        return {"place": self.place, "start": start, "rows": self.frame.iloc[start:start + self.chunk_rows],
                "config": config, "earliest_assessed_on": self.earliest_assessed_on, "today": date.today()}


_WORKER: dict = {}  # in a ChunkReader's worker process: the catalog and keys it reads with


def _start_worker(catalog, keys: Keys) -> None:
    _WORKER.update(catalog=catalog, keys=keys)
    threading.Thread(target=_end_with_parent, name="parent watch", daemon=True).start()


def _end_with_parent() -> None:
    """End this worker when the import that started it ends without stopping it (killed): a worker waiting for
    its next chunk would otherwise wait for ever."""
    multiprocessing.connection.wait([multiprocessing.parent_process().sentinel])
    os._exit(1)


def _worker_ready() -> bool:
    return True


@contextlib.contextmanager
def _collector_paused():
    """The garbage collector paused while a chunk's objects are made: they all live on (till the chunk is sent, or
    stored), and collections would only scan them again."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _unpickled(data: bytes) -> Prepared:
    """A chunk prepared in the worker."""
    with _collector_paused():
        return pickle.loads(data)


def _prepare_in_worker(**arguments) -> bytes:
    """A prepared chunk, pickled here: the pool would unpickle it in a thread of its own, which would hold the
    interpreter against the thread that stores (`ChunkReader.read` unpickles it there)."""
    with _collector_paused():
        return pickle.dumps(prepare_chunk(catalog=_WORKER["catalog"], keys=_WORKER["keys"], **arguments),
                            protocol=pickle.HIGHEST_PROTOCOL)


def finish_job(*, session: Session, job_id: int) -> None:
    session.execute(update(ImportJob).where(ImportJob.id == job_id).values(status="finished", finished_at=utcnow()))


def job_rows(*, session: Session, job_id: int) -> list[ImportRow]:
    """Every row's outcome of a job, in the file's order."""
    return list(session.scalars(select(ImportRow).where(ImportRow.job_id == job_id).order_by(ImportRow.row)))


def job_counts(*, session: Session, job_id: int) -> dict[str, int]:
    """How many rows of a job were stored, already stored, refused, and how many households it registered."""
    counts = dict.fromkeys(OUTCOMES, 0)
    counts.update(session.execute(select(ImportRow.outcome, func.count()).where(ImportRow.job_id == job_id)
                                  .group_by(ImportRow.outcome)).all())
    counts["registered"] = session.scalar(select(func.count()).where(ImportRow.job_id == job_id,
                                                                     ImportRow.registered.is_(True)))
    return counts


REPORT_COLUMNS = ("row", "household_key", "outcome", "household_id", "registered", "assessment_id", "code", "field",
                  "message_zh", "message_en")


def report_csv(rows) -> str:
    """The row-by-row report of a job (`job_rows`) as CSV text: what was stored, or refused and why (zh and en);
    `row` 1 is the file's first row after its header. No personal data."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(REPORT_COLUMNS)
    for row in rows:
        writer.writerow([row.row + 1, row.source_key, row.outcome, row.household_id or "",
                         "yes" if row.registered else "", row.assessment_id or "", row.code or "", row.path or "",
                         row.message_zh or "", row.message_en or ""])
    return buffer.getvalue()

