"""Submitting an assessment: validate, score, recommend and store in one transaction, idempotently.

`submit` reads what it needs in one statement (`read_context`), scores with the core, and stores through
api.assessments.store. A retry with the same submission id returns the stored assessment unchanged; the
same id with another payload is a 409. Run it with `Database.write`, which decides where it runs.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

import orjson
from sqlalchemy import bindparam, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.assessments.scoring import Scorer
from api.assessments.service import assessment_view, check_assessed_on
from api.assessments.store import current_assessments, store_assessment
from api.assessments.tables import Assessment
from api.audit import service as audit
from api.auth.access import Caller, require_write
from api.configs.records import published_id, record_config
from api.db import begin, bound_connection, roll_back
from api.db.base import utcnow
from api.db.statements import driver_statement
from api.encoding import EncodedObject
from api.errors import Conflict, not_found
from api.geography.tables import Station, Town
from api.households.lifecycle import NEW_ASSESSMENT, set_status
from api.households.tables import Household

PREVIOUS = ("id", "assessed_on", "index", "tier", "config_version")


@dataclass(frozen=True)
class SubmissionContext:
    """What a submission reads before it scores."""

    household: object | None  # id, status, station_id, town_id, region_id; None: there is no such household
    stored_id: int | None  # the assessment already stored under the submission id
    config_id: int | None  # the published configuration's record (None: the catalog's default)
    previous: object | None  # the household's latest current assessment (`PREVIOUS`), or None


@functools.cache
def _context_query(dialect: str):
    """The household with its station's town and region, its latest current assessment (`previous_*`), the
    assessment stored under `:key` and the published configuration's record, in one statement; one row
    even when the household does not exist. On PostgreSQL the latest assessment is a LATERAL subquery, so it
    is always found through the household's index: joined on a scalar subquery, the planner may hash the
    whole table instead (it did, with statistics taken while the table was small)."""
    stored = select(Assessment.id).where(Assessment.idempotency_key == bindparam("key")).scalar_subquery()
    latest = (select(Assessment.id).where(Assessment.household_id == Household.id, current_assessments())
              .order_by(Assessment.assessed_on.desc(), Assessment.id.desc()).limit(1))
    if dialect == "postgresql":
        previous = latest.add_columns(*(Assessment.__table__.c[name] for name in PREVIOUS[1:])).lateral("previous")
        on = true()
    else:  # SQLite has no LATERAL, and always looks the scalar subquery up through the household's index
        previous = Assessment.__table__.alias("previous")
        on = previous.c.id == latest.correlate(Household).scalar_subquery()
    household = (select(Household.id, Household.status, Household.station_id, Station.town_id, Town.region_id,
                        *(previous.c[name].label(f"previous_{name}") for name in PREVIOUS))
                 .join(Station, Household.station_id == Station.id).join(Town, Station.town_id == Town.id)
                 .outerjoin(previous, on)
                 .where(Household.id == bindparam("household_id"))).subquery("household")
    anchor = select(stored.label("stored_id"), published_id().label("config_id")).subquery("anchor")
    return select(anchor, household).select_from(anchor).outerjoin(household, true())


def read_context(session: Session, *, household_id: int, submission_id: str) -> SubmissionContext:
    connection = bound_connection(session)
    row = driver_statement(connection, _context_query, connection.dialect.name).first(
        connection, {"household_id": household_id, "key": submission_id})
    previous = None
    if row.previous_id is not None:
        previous = _Previous(*(getattr(row, f"previous_{name}") for name in PREVIOUS))
    return SubmissionContext(household=row if row.id is not None else None, stored_id=row.stored_id,
                             config_id=row.config_id, previous=previous)


@dataclass(frozen=True)
class _Previous:
    id: int
    assessed_on: date
    index: float
    tier: str
    config_version: str


@dataclass
class NewAssessment:
    """The columns of an assessment about to be stored (nothing of the row is read back but its id)."""

    household_id: int
    assessed_on: date
    region_id: str
    answers: dict
    result: dict
    index: float
    tier: str
    completeness: float
    provisional: bool
    catalog_id: str
    catalog_version: str
    catalog_hash: str
    config_version: str
    model_version: str | None
    model_opinion: dict | None
    needs_review: bool | None
    corrects_id: int | None
    idempotency_key: str
    request_hash: str
    created_by: int
    created_at: datetime
    id: int | None = None
    answers_line: str | None = None  # the compact line of its answers when made where they were read (imports)
    latest_fields: dict | None = None  # the columns of its latest row its result decides, when made so (imports)


def request_hash(household_id: int, answers: Mapping, assessed_on: date, corrects: int | None) -> str:
    """A fingerprint of a submission's payload: SHA-256 of its JSON with sorted keys (`answers` a dict, or an
    api.encoding.EncodedObject of its JSON with sorted keys)."""
    payload = _payload(household_id, answers, assessed_on, corrects)
    try:
        return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()
    except TypeError:  # an integer beyond 64 bits
        return _standard_library_hash(payload)


def _payload(household_id: int, answers: Mapping, assessed_on: date, corrects: int | None) -> dict:
    if isinstance(answers, EncodedObject):  # written with sorted keys (api.encoding.encoded_sorted)
        answers = orjson.Fragment(answers.data)
    return {"household_id": household_id, "answers": answers, "assessed_on": assessed_on.isoformat(),
            "corrects": corrects}


def _standard_library_hash(payload: dict) -> str:
    """The fingerprint as the standard library's JSON spells it (as stored before orjson made it): the same
    but for a few numbers (1e-05 for orjson's 1e-5)."""
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def submit(*, session: Session, caller: Caller, scorer: Scorer, household_id: int, submission_id: str,
           answers: dict, assessed_on: date, earliest_assessed_on: date, corrects: int | None = None,
           based_on: int | None = None) -> dict:
    """Store one assessment of a household, interviewed on `assessed_on` (from `earliest_assessed_on`, a
    setting, to tomorrow); a retry with the same submission_id returns the stored one. `based_on`: the latest
    current assessment the device saw (0: none), checked when given."""
    check_assessed_on(assessed_on, earliest=earliest_assessed_on)
    request = {"household_id": household_id, "answers": answers, "assessed_on": assessed_on, "corrects": corrects}
    context = read_context(session, household_id=household_id, submission_id=submission_id)
    if context.stored_id is not None:
        return _replay(session, caller, session.get(Assessment, context.stored_id), request)
    household = context.household
    if household is None:
        raise not_found(f"Household {household_id}", f"家庭 {household_id}")
    require_write(caller, household.station_id, household.town_id)
    if based_on is not None:
        _check_unchanged(context.previous, based_on)
    if corrects is not None:
        _check_correction(session, household_id, corrects)
    config = record_config(session=session, catalog=scorer.catalog, record_id=context.config_id)
    scored = scorer.score(answers, region=household.region_id, year=assessed_on.year, config=config)
    result = scored.result
    assessment = NewAssessment(
        household_id=household.id, assessed_on=assessed_on, region_id=household.region_id, answers=answers,
        result=result, index=result["index"], tier=result["tier"], completeness=result["completeness"],
        provisional=result["provisional"], catalog_id=result["catalog_id"],
        catalog_version=result["catalog_version"], catalog_hash=result["catalog_hash"],
        config_version=result["config_version"], model_version=scored.model_version,
        model_opinion=scored.model_opinion, needs_review=scored.needs_review, corrects_id=corrects,
        idempotency_key=submission_id, request_hash=request_hash(**request), created_by=caller.id,
        created_at=utcnow())
    reenters = household.status == "exited" and corrects is None
    if reenters:  # the assessment and the re-entry are stored together
        begin(session)
    try:
        assessment.id = store_assessment(session, assessment=assessment, household=household,
                                         previous=context.previous, catalog=scorer.catalog)
    except IntegrityError:
        # A concurrent request stored the same submission (or corrected the same assessment) first.
        roll_back(session)
        stored = session.scalar(select(Assessment).where(Assessment.idempotency_key == submission_id))
        if stored is not None:
            return _replay(session, caller, stored, request)
        if corrects is not None:
            _check_correction(session, household_id, corrects)
        raise
    if corrects is not None:
        audit.record(session, caller, "correct_assessment", household_id=household.id,
                     assessment_id=assessment.id, corrects=corrects)
    if reenters:
        reenter_on_assessment(session, caller, scorer.catalog, household.id, assessment.id)
    return assessment_view(assessment)


def reenter_on_assessment(session: Session, caller: Caller, catalog, household_id: int, assessment_id: int) -> None:
    """A new assessment of an exited household brings it back into the programme (its history stays)."""
    set_status(session, caller, session.get(Household, household_id), "active", catalog=catalog,
               reason=NEW_ASSESSMENT, assessment_id=assessment_id)
    audit.record(session, caller, "reenter_household", household_id=household_id, reason=NEW_ASSESSMENT,
                 assessment_id=assessment_id)


def _replay(session: Session, caller: Caller, stored: Assessment, request: dict) -> dict:
    """The first response to a submission, for a retry with the same key and payload."""
    station_id, town_id = session.execute(select(Station.id, Station.town_id)
                                          .join(Household, Household.station_id == Station.id)
                                          .where(Household.id == stored.household_id)).one()
    require_write(caller, station_id, town_id)
    if stored.request_hash not in (request_hash(**request), _standard_library_hash(_payload(**request))):
        raise Conflict("submission_id_reused",
                       "This submission_id was already used for a different submission.",
                       "该 submission_id 已用于另一份不同的提交。", path="submission_id",
                       extra={"existing_assessment_id": stored.id})
    return assessment_view(stored)


def _check_unchanged(previous, based_on: int) -> None:
    """The household's latest current assessment is still the one the device saw (0: none), else a 409."""
    latest = previous.id if previous is not None else 0
    if latest != based_on:
        raise Conflict("household_changed",
                       f"The household was assessed again since this questionnaire was opened (latest assessment "
                       f"{latest or 'none'}, not {based_on or 'none'}); look at it, then send again or discard.",
                       f"打开此问卷后该家庭已有新的评估(最新评估 {latest or '无'},而非 {based_on or '无'});"
                       "请查看后重新提交或放弃。", path="based_on", extra={"latest_assessment_id": latest})


def latest_assessment_id(session: Session, household_id: int) -> int:
    """The household's latest current assessment (as a submission reads it), 0 when it has none."""
    previous = read_context(session, household_id=household_id, submission_id="").previous
    return previous.id if previous is not None else 0


def _check_correction(session: Session, household_id: int, corrects: int) -> None:
    previous = session.get(Assessment, corrects)
    if previous is None or previous.household_id != household_id:
        raise not_found(f"Assessment {corrects} of this household", f"该家庭的评估 {corrects}", "corrects")
    later = session.scalar(select(Assessment.id).where(Assessment.corrects_id == corrects))
    if later is not None:
        raise Conflict("already_corrected", f"Assessment {corrects} was already corrected by assessment {later}; "
                       "correct the latest one.", f"评估 {corrects} 已被评估 {later} 更正,请更正最新的一份。",
                       path="corrects", extra={"corrected_by": later})

