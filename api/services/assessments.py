"""Assessments: validate, score, recommend and store in one transaction, idempotently; corrections; files."""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import date, timedelta
from types import SimpleNamespace

import orjson
from sqlalchemy import bindparam, insert, select, true
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from api.db import Database, begin_explicitly, bound_connection, driver_statement, roll_back
from api.security import Keys, token_hash
from api.services import audit
from api.services.access import (Caller, PersonalView, load_household, personal_view, require_household_reader,
                                 require_write)
from api.services.configs import NOT_READ, published_config, published_id, read_config, record_config
from api.services.errors import Conflict, Invalid, not_found
from api.services.households import household_view
from api.services.latest import (current_assessments, insert_with_latest, is_overtaken, refresh_submitted,
                                 store_submitted, submitted_rows)
from api.services.scoring import Scorer
from api.services.users import caller_of, caseworker_of, require_token, token_user
from api.services.views import assessment_view, iso
from api.tables import Assessment, Household, Station, Town, utcnow

PREVIOUS_COLUMNS = ("id", "assessed_on", "index", "tier", "config_version")
CLOCK_SKEW = timedelta(days=1)  # a device's date may run a day ahead of the server's
INSERTED = tuple(column.name for column in Assessment.__table__.columns if column.name != "id")


def check_assessed_on(assessed_on: date, *, earliest: date, today: date | None = None) -> None:
    """An interview date between `earliest` (a setting) and tomorrow (a day of clock skew), else Invalid."""
    latest = (today or date.today()) + CLOCK_SKEW
    if assessed_on > latest:
        raise Invalid("date_in_future", f"assessed_on {assessed_on} is in the future (the latest date accepted is "
                      f"{latest}).", f"评估日期 {assessed_on} 晚于今天(最晚可填 {latest})。", path="assessed_on")
    if assessed_on < earliest:
        raise Invalid("date_too_early", f"assessed_on {assessed_on} is before {earliest}, the earliest date accepted.",
                      f"评估日期 {assessed_on} 早于可填写的最早日期 {earliest}。", path="assessed_on")


def request_hash(household_id: int, answers: dict, assessed_on: date, corrects: int | None) -> str:
    """A fingerprint of a submission's payload: SHA-256 of its JSON with sorted keys."""
    payload = _payload(household_id, answers, assessed_on, corrects)
    try:
        return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()
    except TypeError:  # an integer beyond 64 bits
        return _standard_library_hash(payload)


def _payload(household_id: int, answers: dict, assessed_on: date, corrects: int | None) -> dict:
    return {"household_id": household_id, "answers": answers, "assessed_on": assessed_on.isoformat(),
            "corrects": corrects}


def _standard_library_hash(payload: dict) -> str:
    """The fingerprint as the standard library's JSON spells it (as stored before orjson made it): the same
    but for a few numbers (1e-05 for orjson's 1e-5)."""
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _replay(session: Session, caller: Caller, stored: Assessment, request: dict) -> dict:
    """The first response to a submission, for a retry with the same key and payload (`request_hash`'s
    arguments)."""
    household, station = load_household(session, stored.household_id)
    require_write(caller, station.id, station.town_id)
    if stored.request_hash not in (request_hash(**request), _standard_library_hash(_payload(**request))):
        raise Conflict("submission_id_reused",
                       "This submission_id was already used for a different submission.",
                       "该 submission_id 已用于另一份不同的提交。", path="submission_id",
                       extra={"existing_assessment_id": stored.id})
    return assessment_view(stored)


def _by_key(session: Session, submission_id: str) -> Assessment | None:
    return session.scalar(select(Assessment).where(Assessment.idempotency_key == submission_id))


def _check_correction(session: Session, household_id: int, corrects: int) -> None:
    previous = session.get(Assessment, corrects)
    if previous is None or previous.household_id != household_id:
        raise not_found(f"Assessment {corrects} of this household", f"该家庭的评估 {corrects}", "corrects")
    later = session.scalar(select(Assessment.id).where(Assessment.corrects_id == corrects))
    if later is not None:
        raise Conflict("already_corrected", f"Assessment {corrects} was already corrected by assessment {later}; "
                       "correct the latest one.", f"评估 {corrects} 已被评估 {later} 更正,请更正最新的一份。",
                       path="corrects", extra={"corrected_by": later})


@functools.cache
def _submission_target(dialect: str):
    """One query for what a submission needs first: the caller of `:token_hash` (`token_user`'s columns; no
    row when the token is not valid), and, when the household exists, the household with its station's town
    and region, the assessment already stored under the submission id (if any), the published
    configuration's record id, and the household's latest current assessment (`previous_*`), which the new one
    usually follows. On PostgreSQL that assessment is a LATERAL subquery, so it is always found through the
    household's index: joined on a scalar subquery, the planner may hash the whole table instead (it did,
    with statistics taken while the table was small)."""
    stored = select(Assessment.id).where(Assessment.idempotency_key == bindparam("key")).scalar_subquery()
    latest = (select(Assessment.id).where(Assessment.household_id == Household.id, current_assessments())
              .order_by(Assessment.assessed_on.desc(), Assessment.id.desc()).limit(1))
    if dialect == "postgresql":
        previous = latest.add_columns(*(Assessment.__table__.c[name] for name in PREVIOUS_COLUMNS[1:])) \
            .lateral("previous")
        on = true()
    else:  # SQLite has no LATERAL, and always looks the scalar subquery up through the household's index
        previous = Assessment.__table__.alias("previous")
        on = previous.c.id == latest.correlate(Household).scalar_subquery()
    target = (select(Household.id, Household.status, Household.station_id, Station.town_id, Town.region_id,
                     stored.label("stored_id"), published_id().label("config_id"),
                     *(previous.c[name].label(f"previous_{name}") for name in PREVIOUS_COLUMNS))
              .join(Station, Household.station_id == Station.id).join(Town, Station.town_id == Town.id)
              .outerjoin(previous, on)
              .where(Household.id == bindparam("household_id"))).subquery("target")
    caller = token_user().subquery("caller")
    return select(caller, target).select_from(caller).outerjoin(target, true())


def _previous(household, assessed_on: date):
    """The household's latest current assessment (id, index, tier, config_version) as the submission target
    read it, when a new assessment on `assessed_on` comes after it (a later id on the same day); None when
    there is none; False when the new one does not come last."""
    if household.previous_id is None:
        return None
    if household.previous_assessed_on > assessed_on:
        return False
    return SimpleNamespace(id=household.previous_id, index=household.previous_index, tier=household.previous_tier,
                           config_version=household.previous_config_version)


def _store(session: Session, assessment: SimpleNamespace, household, catalog, previous) -> int:
    """Insert the assessment and refresh its household's latest row; returns the new id. When the new one is
    the household's latest (the usual case), the latest row is written from what the target query read; on
    PostgreSQL all of it is one statement, else the writes run in one transaction. An earlier-dated one, a
    correction, and one that another submission overtook refresh the latest row from what is stored, in the
    transaction that inserts it."""
    connection = bound_connection(session)
    dialect = connection.dialect
    if previous is not False:
        values, line = submitted_rows(session, assessment=assessment, previous=previous, household=household,
                                      catalog=catalog)
        if line is not None and dialect.name == "postgresql":
            try:
                return driver_statement(dialect, insert_with_latest, INSERTED).first(
                    connection, _usual_write(assessment, values, line, household, previous)).id
            except DBAPIError as error:
                if not is_overtaken(error):
                    raise
            previous = False  # another submission for the household came in between: nothing was stored
    begin_explicitly(session)
    assessment.id = driver_statement(dialect, _insert_assessment, INSERTED).first(connection, _columns(assessment)).id
    if previous is False:
        refresh_submitted(session, assessment=assessment, household=household, catalog=catalog)
        return assessment.id
    values["assessment_id"] = assessment.id
    if line is not None:
        line["assessment_id"] = assessment.id
    store_submitted(session, household_id=household.id, values=values, line=line)
    return assessment.id


def _columns(assessment: SimpleNamespace) -> dict:
    return {column: getattr(assessment, column) for column in INSERTED}


@functools.cache
def _insert_assessment(inserted: tuple[str, ...]):
    """INSERT of an assessment's columns `inserted` (bound by name), returning its id."""
    table = Assessment.__table__
    return insert(table).values({name: bindparam(name, type_=table.c[name].type) for name in inserted}) \
        .returning(table.c.id)


def submit(*, session: Session, token: str, scorer: Scorer, household_id: int, submission_id: str,
           answers: dict, assessed_on: date, corrects: int | None = None) -> dict:
    """Store one assessment for the caller of the bearer `token` (its date checked by the caller,
    `submit_from_loop`); a retry with the same submission_id returns the stored one unchanged. Reads, then
    writes: on PostgreSQL in a session of `Database.session(autocommit=True)`, the usual submission is one
    statement (no BEGIN or COMMIT), and the others open a transaction before they write."""
    request = {"household_id": household_id, "answers": answers, "assessed_on": assessed_on, "corrects": corrects}
    fingerprint = request_hash(**request)
    connection = bound_connection(session)
    dialect = connection.dialect
    household = driver_statement(dialect, _submission_target, dialect.name).first(
        connection, _target(token, household_id, submission_id))
    caller = caller_of(session, household)
    if household.id is None:  # no such household, unless this retries a submission stored for another one
        stored = _by_key(session, submission_id)
        if stored is None:
            load_household(session, household_id)  # raises the 404
    else:
        stored = session.get(Assessment, household.stored_id) if household.stored_id is not None else None
    if stored is not None:
        return _replay(session, caller, stored, request)
    require_write(caller, household.station_id, household.town_id)
    if corrects is not None:
        _check_correction(session, household_id, corrects)
    config = record_config(session=session, catalog=scorer.catalog, record_id=household.config_id)
    assessment = _scored(scorer, household, caller, config, answers=answers, assessed_on=assessed_on,
                         corrects=corrects, submission_id=submission_id, fingerprint=fingerprint)
    try:
        assessment.id = _store(session, assessment, household, scorer.catalog,
                               _previous(household, assessed_on) if corrects is None else False)
    except IntegrityError:
        # A concurrent request stored the same submission (or corrected the same assessment) first.
        roll_back(session)
        stored = _by_key(session, submission_id)
        if stored is not None:
            return _replay(session, caller, stored, request)
        if corrects is not None:
            _check_correction(session, household_id, corrects)
        raise
    if corrects is not None:
        audit.record(session, caller, "correct_assessment", household_id=household.id,
                     assessment_id=assessment.id, corrects=corrects)
    return assessment_view(assessment)


async def submit_from_loop(*, database: Database, scorer: Scorer, token: str, household_id: int,
                           submission_id: str, answers: dict, assessed_on: date, earliest_assessed_on: date,
                           corrects: int | None = None) -> dict:
    """`submit`, called from the event loop, after checking the date (`check_assessed_on`). On PostgreSQL
    the usual submission (a caseworker's new assessment that comes last in its household's file, under a
    configuration already read) runs on one of the loop's asyncio connections (`Database.async_connection`),
    with no thread: the read, the scoring and the one-statement write. Every other submission, one that
    another overtook (`is_overtaken`), and every one on SQLite, runs `submit` in a writer."""
    check_assessed_on(assessed_on, earliest=earliest_assessed_on)
    arguments = {"token": token, "household_id": household_id, "submission_id": submission_id,
                 "answers": answers, "assessed_on": assessed_on}
    if corrects is None:
        async with database.async_connection() as connection:
            written = None if connection is None else await _submit_usual(connection, database, scorer, **arguments)
        if written is not None:
            return assessment_view(written)
    return await database.run_writer(_submit_in_session, database, scorer, {**arguments, "corrects": corrects})


async def _submit_usual(connection, database: Database, scorer: Scorer, *, token: str, household_id: int,
                        submission_id: str, answers: dict, assessed_on: date):
    """The usual submission on an asyncio connection in autocommit: the stored assessment's record. None, with
    nothing written, when it is not the usual one (`submit` then does all of it, and raises the 401 or 404 it
    finds), when another request stored the same submission first, or when another submission for the
    household came in between its read and its write (`is_overtaken`). Answers it refuses (422) and a
    household out of scope (403) are raised here."""
    dialect = database.autocommit_engine.dialect
    household = await driver_statement(dialect, _submission_target, dialect.name).first_async(
        connection, dialect, _target(token, household_id, submission_id))
    caller = caseworker_of(household)
    if caller is None or household.id is None or household.stored_id is not None:
        return None
    require_write(caller, household.station_id, household.town_id)
    config = read_config(engine=database.autocommit_engine, catalog=scorer.catalog, record_id=household.config_id)
    previous = _previous(household, assessed_on)
    if config is NOT_READ or previous is False:
        return None
    if previous is not None and previous.config_version != (config or scorer.config).version:
        return None  # the previous figures are read as re-scored under this configuration
    fingerprint = request_hash(household_id, answers, assessed_on, None)
    assessment = _scored(scorer, household, caller, config, answers=answers, assessed_on=assessed_on, corrects=None,
                         submission_id=submission_id, fingerprint=fingerprint)
    values, line = submitted_rows(None, assessment=assessment, previous=previous, household=household,
                                  catalog=scorer.catalog)
    if line is None:
        return None
    try:
        stored = await driver_statement(dialect, insert_with_latest, INSERTED).first_async(
            connection, dialect, _usual_write(assessment, values, line, household, previous))
    except IntegrityError:
        return None
    except DBAPIError as error:
        if is_overtaken(error):
            return None
        raise
    assessment.id = stored.id
    return assessment


def _submit_in_session(database: Database, scorer: Scorer, arguments: dict) -> dict:
    with database.session(write=True, autocommit=True) as session:  # the token check included
        return submit(session=session, scorer=scorer, **arguments)


def _target(token: str, household_id: int, submission_id: str) -> dict:
    return {"token_hash": token_hash(require_token(token)), "household_id": household_id, "key": submission_id}


def _scored(scorer: Scorer, household, caller: Caller, config, *, answers: dict, assessed_on: date,
            corrects: int | None, submission_id: str, fingerprint: str) -> SimpleNamespace:
    """The new assessment's columns, scored (a plain record, not an ORM object: nothing of the row is read
    back but its id)."""
    scored = scorer.score(answers, region=household.region_id, year=assessed_on.year, config=config)
    result = scored.result
    return SimpleNamespace(
        id=None, household_id=household.id, assessed_on=assessed_on, region_id=household.region_id, answers=answers,
        result=result, index=result["index"], tier=result["tier"], completeness=result["completeness"],
        provisional=result["provisional"], catalog_id=result["catalog_id"],
        catalog_version=result["catalog_version"], catalog_hash=result["catalog_hash"],
        config_version=result["config_version"], model_version=scored.model_version,
        model_opinion=scored.model_opinion, needs_review=scored.needs_review, corrects_id=corrects,
        idempotency_key=submission_id, request_hash=fingerprint, created_by=caller.id, created_at=utcnow())


def _usual_write(assessment: SimpleNamespace, values: dict, line: dict, household, previous) -> dict:
    """The parameters of `insert_with_latest`."""
    return {**_columns(assessment), **{f"latest_{key}": value for key, value in values.items()},
            "latest_household_id": household.id, **{f"line_{key}": value for key, value in line.items()},
            "expected_latest_id": previous.id if previous is not None else None}


def get_assessment(*, session: Session, caller: Caller, assessment_id: int) -> dict:
    require_household_reader(caller)
    assessment = session.get(Assessment, assessment_id)
    if assessment is None:
        raise not_found(f"Assessment {assessment_id}", f"评估 {assessment_id}")
    _, station = load_household(session, assessment.household_id)
    personal_view(caller, station.id, station.town_id)  # scope check; assessments hold no personal data
    return assessment_view(assessment)


def preview(*, session: Session, scorer: Scorer, answers: dict, region_id: str, assessed_on: date | None,
            earliest_assessed_on: date) -> dict:
    """Score under the published configuration without storing anything."""
    if assessed_on is not None:
        check_assessed_on(assessed_on, earliest=earliest_assessed_on)
    if region_id not in scorer.catalog.region_by_id:
        raise Invalid("unknown_region", f"Unknown region {region_id!r}.", f"未知地区 {region_id!r}。",
                      path="region_id")
    return scorer.score(answers, region=region_id, year=assessed_on.year if assessed_on else None,
                        config=published_config(session=session, catalog=scorer.catalog)).as_dict()


def household_file(*, session: Session, caller: Caller, keys: Keys, scorer: Scorer, household_id: int) -> dict:
    """A household and its assessments over time: each current one with the change in index and tier
    since the previous current one; corrected ones stay listed, marked with what corrected them."""
    require_household_reader(caller)
    household, station = load_household(session, household_id)
    view = personal_view(caller, station.id, station.town_id)
    rows = session.scalars(select(Assessment).where(Assessment.household_id == household_id)
                           .order_by(Assessment.assessed_on, Assessment.id)).all()
    corrected_by = {row.corrects_id: row.id for row in rows if row.corrects_id is not None}
    tier_rank = scorer.tier_order
    entries, previous = [], None
    for row in rows:
        entry = {"id": row.id, "assessed_on": row.assessed_on.isoformat(), "index": row.index, "tier": row.tier,
                 "completeness": row.completeness, "provisional": row.provisional, "corrects": row.corrects_id,
                 "corrected_by": corrected_by.get(row.id), "config_version": row.config_version,
                 "catalog_version": row.catalog_version, "model_version": row.model_version,
                 "needs_review": row.needs_review, "created_at": iso(row.created_at), "change": None}
        if entry["corrected_by"] is None:
            if previous is not None:
                step = tier_rank.get(row.tier, 0) - tier_rank.get(previous.tier, 0)
                entry["change"] = {"since": previous.id, "index": round(row.index - previous.index, 6),
                                   "tier_from": previous.tier, "tier_to": row.tier,
                                   "tier_direction": "up" if step > 0 else "down" if step < 0 else "same"}
            previous = row
        entries.append(entry)
    if view is PersonalView.full:
        audit.record(session, caller, "read_personal", household_id=household.id)
    return {"household": household_view(household, station.town_id, view, keys), "assessments": entries}
