"""Collected submissions (KoboToolbox's REST service, ODK Central's export and OData feed): stored as assessments
through the one submission path, once per instance id; what cannot be stored waits in the intake queue with its
errors until the station fixes and stores it, or rejects it with a reason.

A submission is read as a flat map of field paths to values: KoboToolbox posts it so (`family/fam_household_size`,
`meta/instanceID`, `_uuid`, `_submission_time`, `__version__`); ODK Central nests groups as objects (`family:
{fam_household_size: ...}`, `__id`, `__system: {submissionDate, formVersion}`), which are flattened to the same
paths. A field is known by the last segment of its path: an indicator id, `household_id`, `today`.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Integer, bindparam, insert, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.assessments.submission import submit
from api.audit import service as audit
from api.auth.access import Caller, Role, in_scope, require_role, require_write, scope_filter
from api.auth.service import caller_of, user_caller
from api.auth.tables import User
from api.db import begin, bound_connection, roll_back
from api.db.base import utcnow
from api.db.statements import driver_statement
from api.encoding import iso
from api.errors import Conflict, Invalid, Problem, ServiceError, Unauthorized, not_found
from api.geography.tables import Station
from api.households.tables import Household
from api.intake.imports import read_answers
from api.intake.tables import IntakeSubmission, IntakeToken
from api.security import Keys, decrypt_json, encrypt_json, new_token, token_hash
from assessment import AnswersInvalid
from assessment.errors import CoreError
from indicators.xlsform import HOUSEHOLD_FIELD, VERSION_FIELD, form_version

INSTANCE_NAMESPACE = uuid.UUID("6c1d2b44-5e0f-4b8e-9a43-7d1f0e2c9b71")  # submission ids: uuid5 of instance ids
INSTANCE_FIELDS = ("meta/instanceID", "__id", "_uuid", "instanceID")
# The version a submission was collected with is read from the form's own calculated field (any platform), else
# from ODK Central's record of the form version; never from KoboToolbox's `__version__`, Kobo's id of a deployment.
SUBMITTED_FIELDS = ("__system/submissionDate", "_submission_time")
DATE_FIELD = "today"
MAX_DEPTH = 8
QUEUE_STATUSES = ("queued", "stored", "rejected")
INSERTED = ("instance_id", "station_id", "source", "form_version", "payload", "household_id", "status", "errors",
            "assessment_id", "received_at")  # the columns of a submission as it is received


# ------------------------------------------------------------------------------------------------- tokens


def create_token(*, session: Session, caller: Caller, station_id: int, label: str, user_id: int | None) -> dict:
    """A new intake token for a station (shown once, stored hashed), by an administrator or a supervisor of
    the station's town. Its submissions are stored as `user_id` (default: the supervisor creating it), a
    caseworker of the station or a supervisor of its town."""
    require_role(caller, Role.admin, Role.supervisor)
    station = session.get(Station, station_id)
    if station is None:
        raise not_found(f"Station {station_id}", f"驿站 {station_id}", "station_id")
    if caller.role is Role.supervisor:
        require_write(caller, station.id, station.town_id)
    if user_id is None and caller.role is Role.admin:
        raise Invalid("user_required", "An administrator names the caseworker or supervisor (user_id) whose "
                      "submissions the token stores.", "管理员须指定令牌所存评估归属的社工或督导(user_id)。",
                      path="user_id")
    try:
        storer = user_caller(session, user_id if user_id is not None else caller.id)
    except ServiceError:
        raise not_found(f"Active user {user_id}", f"有效用户 {user_id}", "user_id") from None
    if not in_scope(storer, station.id, station.town_id):
        raise Invalid("user_out_of_scope", f"User {storer.id} may not write to station {station.id}.",
                      f"用户 {storer.id} 无权写入驿站 {station.id}。", path="user_id")
    token = new_token()
    row = IntakeToken(station_id=station.id, user_id=storer.id, token_hash=token_hash(token), label=label.strip(),
                      created_by=caller.id)
    session.add(row)
    session.flush()
    audit.record(session, caller, "create_intake_token", station_id=station.id, token_id=row.id, user_id=storer.id)
    return {**token_view(row), "token": token}


def token_view(row: IntakeToken) -> dict:
    return {"id": row.id, "station_id": row.station_id, "user_id": row.user_id, "label": row.label,
            "created_at": iso(row.created_at), "revoked_at": iso(row.revoked_at)}


def list_tokens(*, session: Session, caller: Caller, station_id: int | None = None) -> list[dict]:
    """The intake tokens an administrator sees (all), or a supervisor (those of its towns' stations); never the
    tokens themselves, which are kept only as hashes."""
    require_role(caller, Role.admin, Role.supervisor)
    query = select(IntakeToken).join(Station, Station.id == IntakeToken.station_id).order_by(IntakeToken.id)
    if caller.role is Role.supervisor:
        query = query.where(Station.town_id.in_(sorted(caller.town_ids)))
    if station_id is not None:
        query = query.where(IntakeToken.station_id == station_id)
    return [token_view(row) for row in session.scalars(query)]


def revoke_token(*, session: Session, caller: Caller, token_id: int) -> dict:
    require_role(caller, Role.admin, Role.supervisor)
    row = session.get(IntakeToken, token_id)
    if row is None:
        raise not_found(f"Intake token {token_id}", f"采集令牌 {token_id}")
    if caller.role is Role.supervisor:
        station = session.get(Station, row.station_id)
        require_write(caller, station.id, station.town_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(session, caller, "revoke_intake_token", token_id=row.id)
    session.flush()
    return token_view(row)


def require_intake_token(token: str | None) -> str:
    """The intake token presented, else 401: none was."""
    if not token:
        raise Unauthorized("missing_token", "An intake token is required.", "需要提供采集令牌。",
                           path="headers.authorization")
    return token


def _token_caller(*, session: Session, found) -> tuple[int, Caller]:
    """The station of the intake token presented and the user its submissions are stored as, from `found` (a row
    of `_context_query`); 401 naming the header."""
    if found.id is None:
        raise Unauthorized("invalid_token", "The intake token is not valid.", "采集令牌无效。",
                           path="headers.authorization")
    if not found.active:
        raise Unauthorized("invalid_token", "The intake token's user is no longer active.",
                           "采集令牌所属用户已停用。", path="headers.authorization")
    return found.token_station_id, caller_of(session, found)


# -------------------------------------------------------------------------------------------- submissions


@dataclass(frozen=True)
class Parsed:
    """A submission read: its instance id, where it came from, and its fields by path."""

    instance_id: str
    source: str
    form_version: str | None
    fields: dict[str, Any]
    leaves: dict[str, Any]  # the fields by the last segment of their path (`by_leaf`)


def flatten(body: dict) -> dict[str, Any]:
    """Nested objects (ODK Central) as `group/field` paths; a flat map (KoboToolbox) stays as it is."""
    flat, pending = {}, [("", body, 0)]
    while pending:
        prefix, value, depth = pending.pop()
        for key, item in value.items():
            path = f"{prefix}{key}"
            if isinstance(item, dict) and depth < MAX_DEPTH:
                pending.append((path + "/", item, depth + 1))
            else:
                flat[path] = item
    return flat


def parse(body: Any) -> Parsed:
    """Read a submission in either shape; Invalid naming the field when it has no instance id."""
    if not isinstance(body, dict):
        raise Invalid("invalid_submission", "A submission is a JSON object.", "提交内容须为 JSON 对象。", path="body")
    fields = flatten(body)
    instance = next((fields[name] for name in INSTANCE_FIELDS if isinstance(fields.get(name), str)
                     and fields[name].strip()), None)
    if instance is None:
        raise Invalid("missing_instance_id", "The submission has no instance id (meta/instanceID, __id or _uuid).",
                      "提交内容缺少实例编号(meta/instanceID、__id 或 _uuid)。", path="meta/instanceID")
    instance = instance.strip()
    instance = instance[5:] if instance.lower().startswith("uuid:") else instance
    if len(instance) > 200:
        raise Invalid("invalid_instance_id", "The instance id is longer than 200 characters.",
                      "实例编号超过 200 个字符。", path="meta/instanceID")
    leaves = by_leaf(fields)
    version = next((str(value) for value in (leaves.get(VERSION_FIELD), fields.get("__system/formVersion"))
                    if value not in (None, "")), None)
    source = "odk_central" if "__system/submissionDate" in fields or "__id" in fields else "kobo"
    return Parsed(instance_id=instance, source=source, form_version=version[:128] if version else None,
                  fields=fields, leaves=leaves)


def by_leaf(fields: dict[str, Any]) -> dict[str, Any]:
    """Fields by the last segment of their path (the first one wins when two groups repeat a name)."""
    leaves = {}
    for path, value in fields.items():
        if "/" in path:
            path = path.rpartition("/")[2]
        if path not in leaves:
            leaves[path] = value
    return leaves


def submission_key(instance_id: str) -> str:
    """The assessment's submission id for an instance id: the same instance from any source stores once."""
    return str(uuid.uuid5(INSTANCE_NAMESPACE, f"intake\n{instance_id}"))


def _day(value: Any) -> date | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def receive(*, session: Session, token: str | None, keys: Keys, scorer, body: Any, earliest_assessed_on: date
            ) -> tuple[dict, bool]:
    """Take a collected submission: stored as an assessment when it can be, else queued with its errors.
    Returns its record and whether it is new (False: a retry, or the same instance from another source).
    Run it with `Database.write` (or in a session's transaction)."""
    token = require_intake_token(token)
    try:
        parsed = parse(body)
    except Invalid:  # a token that is not valid is the answer first
        _token_caller(session=session, found=_read_context(session, token=token))
        raise
    household_id = _household_number(parsed.leaves)
    found = _read_context(session, token=token, instance_id=parsed.instance_id, household_id=household_id)
    station_id, caller = _token_caller(session=session, found=found)
    return _take(session, station_id=station_id, caller=caller, keys=keys, scorer=scorer, body=body, parsed=parsed,
                 household_id=household_id, found=found, earliest=earliest_assessed_on)


def take(*, session: Session, station_id: int, caller: Caller, keys: Keys, scorer, body: Any,
         earliest_assessed_on: date) -> tuple[dict, bool]:
    """`receive` for a station and the caller its assessments are stored as (a pull's)."""
    parsed = parse(body)
    household_id = _household_number(parsed.leaves)
    found = _read_context(session, instance_id=parsed.instance_id, household_id=household_id)
    return _take(session, station_id=station_id, caller=caller, keys=keys, scorer=scorer, body=body, parsed=parsed,
                 household_id=household_id, found=found, earliest=earliest_assessed_on)


@functools.cache
def _context_query():
    """What a submission reads first, in one statement and one row (also when nothing matches): the submission
    kept under `:instance_id`, the station of household `:household_id`, and the station of the live intake
    token `:token_hash` with its user's columns (`id`, `name`, ...: those `caller_of` reads; columns, not
    entities: every post runs it)."""
    received = select(IntakeSubmission.id).where(IntakeSubmission.instance_id == bindparam("instance_id"))
    station = select(Household.station_id).where(Household.id == bindparam("household_id", type_=Integer))
    anchor = select(received.scalar_subquery().label("received_id"),
                    station.scalar_subquery().label("household_station_id")).subquery("anchor")
    token = (select(IntakeToken.station_id.label("token_station_id"), User.id, User.name,
                    User.role, User.station_id, User.provider_id, User.active)
             .join(User, User.id == IntakeToken.user_id)
             .where(IntakeToken.token_hash == bindparam("token_hash"), IntakeToken.revoked_at.is_(None))
             .subquery("token"))
    return select(anchor, token).select_from(anchor).outerjoin(token, true())


def _read_context(session: Session, *, token: str | None = None, instance_id: str | None = None,
                  household_id: int | None = None):
    connection = bound_connection(session)
    return driver_statement(connection, _context_query).first(connection, {
        "token_hash": token_hash(token) if token else None, "instance_id": instance_id, "household_id": household_id})


def _take(session: Session, *, station_id: int, caller: Caller, keys: Keys, scorer, body: Any, parsed: Parsed,
          household_id: int | None, found, earliest: date) -> tuple[dict, bool]:
    """Store or queue a parsed submission, unless `found` (`_context_query`) says it was received before.
    In a session of `Database.write` on PostgreSQL the assessment is stored as every submission is (committed
    by itself); the intake record and its audit entry then commit together. A failure between the two leaves
    the assessment, which the retry of the instance finds through its submission id and records as stored."""
    if found.received_id is not None:
        return submission_view(session.get(IntakeSubmission, found.received_id)), False
    try:
        stored, errors = _attempt(session, caller, scorer, station_id=station_id, leaves=parsed.leaves,
                                  household_id=household_id, household_station_id=found.household_station_id,
                                  form_version=parsed.form_version, instance_id=parsed.instance_id,
                                  fields=parsed.fields, earliest=earliest)
        record = {"instance_id": parsed.instance_id, "station_id": station_id, "source": parsed.source,
                  "form_version": parsed.form_version, "payload": encrypt_json(keys, body),
                  "household_id": stored["household_id"] if stored else household_id,
                  "status": "stored" if stored else "queued", "errors": errors,
                  "assessment_id": stored["id"] if stored else None, "received_at": utcnow()}
        begin(session)
        connection = bound_connection(session)  # submit may have rolled the session back
        record["id"] = driver_statement(connection, _insert_submission).first(connection, record).id
    except IntegrityError:  # the same instance at once from another request, which stored it first
        roll_back(session)
        existing = session.scalar(select(IntakeSubmission).where(
            IntakeSubmission.instance_id == parsed.instance_id))
        if existing is None:
            raise
        return submission_view(existing), False
    record = SimpleNamespace(**record, reason=None, decided_at=None)
    audit.record(session, caller, "intake_submission", household_id=record.household_id,
                 assessment_id=record.assessment_id, submission=record.id, status=record.status)
    return submission_view(record), True


@functools.cache
def _insert_submission():
    """A received submission (its `INSERTED` columns bound by name), returning its id."""
    table = IntakeSubmission.__table__
    return insert(table).values({name: bindparam(name, type_=table.c[name].type) for name in INSERTED}) \
        .returning(table.c.id)


def _household_number(leaves: dict) -> int | None:
    value = leaves.get(HOUSEHOLD_FIELD)
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**31 else None


def _attempt(session: Session, caller: Caller, scorer, *, station_id: int, leaves: dict, household_id: int | None,
             household_station_id: int | None, form_version: str | None, instance_id: str, fields: dict,
             earliest: date) -> tuple[dict | None, list[dict]]:
    """Store the submission through the one submission path; (the stored assessment, []) or (None, its errors).
    `household_station_id`: the station of household `household_id` (None: there is no such household)."""
    errors = []
    expected = form_version_of(scorer)
    if form_version is not None and form_version != expected:
        errors.append(_problem("form_version_mismatch", VERSION_FIELD,
                               f"The form's version {form_version[:60]!r} is not the catalog's {expected!r}; "
                               "export the form again (assess form export).",
                               f"表单版本 {form_version[:60]!r} 与目录版本 {expected!r} 不符;请重新导出表单。"))
    if household_id is None:
        errors.append(_problem("missing_household", HOUSEHOLD_FIELD, "The submission names no household number.",
                               "提交内容没有家庭编号。"))
    elif household_station_id != station_id:
        errors.append(_problem("unknown_household", HOUSEHOLD_FIELD,
                               f"Station {station_id} serves no household {household_id}.",
                               f"驿站 {station_id} 没有编号为 {household_id} 的家庭。"))
    answers = read_answers(scorer.catalog, leaves)
    assessed_on = _day(leaves.get(DATE_FIELD)) or next(
        (day for day in (_day(fields.get(name)) for name in SUBMITTED_FIELDS) if day), date.today())
    if errors:  # the answers' own problems too, so that one fix can mend everything
        try:
            scorer.score(answers, region=scorer.catalog.regions[0].id, year=assessed_on.year)
        except AnswersInvalid as invalid:
            errors += [_problem(f.code, f.path, f.message.en, f.message.zh) for f in invalid.findings
                       if f.severity == "error" and f.path.startswith("answers.")]
        except CoreError:
            pass  # a regional problem: the household's own region decides when it is stored
        return None, errors
    return store(session, caller, scorer, household_id=household_id, answers=answers, assessed_on=assessed_on,
                 instance_id=instance_id, earliest=earliest)


def store(session: Session, caller: Caller, scorer, *, household_id: int, answers: dict, assessed_on: date,
          instance_id: str, earliest: date) -> tuple[dict | None, list[dict]]:
    """`submit` with the instance's submission id; (its stored record, []) or (None, the problems it raised)."""
    try:
        stored = submit(session=session, caller=caller, scorer=scorer, household_id=household_id,
                        submission_id=submission_key(instance_id), answers=answers, assessed_on=assessed_on,
                        earliest_assessed_on=earliest)
    except AnswersInvalid as invalid:
        return None, [_problem(f.code, f.path, f.message.en, f.message.zh) for f in invalid.findings
                      if f.severity == "error"]
    except (Invalid, Conflict) as error:
        return None, [problem.as_dict() for problem in error.problems]
    return stored, []


def form_version_of(scorer) -> str:
    return form_version(scorer.catalog)


def _problem(code: str, path: str, en: str, zh: str) -> dict:
    return Problem(path, code, zh, en).as_dict()


def submission_view(record: IntakeSubmission) -> dict:
    return {"id": record.id, "instance_id": record.instance_id, "station_id": record.station_id,
            "source": record.source, "form_version": record.form_version, "status": record.status,
            "household_id": record.household_id, "assessment_id": record.assessment_id,
            "errors": record.errors or [], "reason": record.reason, "received_at": iso(record.received_at),
            "decided_at": iso(record.decided_at)}


# ------------------------------------------------------------------------------------------------- queue


def _readable(session: Session, caller: Caller, submission_id: int) -> IntakeSubmission:
    require_role(caller, Role.caseworker, Role.supervisor)
    record = session.get(IntakeSubmission, submission_id)
    if record is None:
        raise not_found(f"Intake submission {submission_id}", f"采集提交 {submission_id}")
    station = session.get(Station, record.station_id)
    require_write(caller, station.id, station.town_id)
    return record


def queued_view(record: IntakeSubmission, keys: Keys, catalog) -> dict:
    """A submission with what can be fixed: its household number, date and answers as read."""
    leaves = by_leaf(flatten(decrypt_json(keys, record.payload)))
    return {**submission_view(record), "answers": read_answers(catalog, leaves),
            "assessed_on": (_day(leaves.get(DATE_FIELD)) or record.received_at.date()).isoformat()}


def list_queue(*, session: Session, caller: Caller, keys: Keys, catalog, station_id: int | None = None,
               status: str = "queued", limit: int = 50, offset: int = 0) -> dict:
    """The intake submissions of the caller's stations with this status, oldest first."""
    require_role(caller, Role.caseworker, Role.supervisor)
    query = select(IntakeSubmission).join(Station, Station.id == IntakeSubmission.station_id) \
        .where(IntakeSubmission.status == status)
    query = query.where(scope_filter(caller, IntakeSubmission.station_id, Station.town_id))
    if station_id is not None:
        query = query.where(IntakeSubmission.station_id == station_id)
    records = session.scalars(query.order_by(IntakeSubmission.id).limit(limit).offset(offset)).all()
    audit.record(session, caller, "read_intake_queue", submissions=[record.id for record in records])
    return {"items": [queued_view(record, keys, catalog) for record in records], "limit": limit, "offset": offset}


def fix(*, session: Session, caller: Caller, keys: Keys, scorer, submission_id: int, household_id: int | None,
        answers: dict | None, assessed_on: date | None, earliest_assessed_on: date) -> dict:
    """Store a queued submission with the station's corrections (a household number, changed answers, a date);
    422 listing every problem when it still cannot be stored (it stays in the queue)."""
    record = _readable(session, caller, submission_id)
    if record.status != "queued":
        raise Conflict("not_queued", f"Intake submission {record.id} is {record.status}, not queued.",
                       f"采集提交 {record.id} 的状态为 {record.status},不在待处理队列中。", path="status")
    view = queued_view(record, keys, scorer.catalog)
    household_id = household_id if household_id is not None else record.household_id
    merged = {**view["answers"], **(answers or {})}
    merged = {key: value for key, value in merged.items() if value is not None}
    problems = []
    if household_id is None:
        problems.append(_problem("missing_household", "household_id", "Name the household (household_id).",
                                 "请填写家庭编号(household_id)。"))
    else:
        station = session.scalar(select(Household.station_id).where(Household.id == household_id))
        if station != record.station_id:
            problems.append(_problem("unknown_household", "household_id",
                                     f"Station {record.station_id} serves no household {household_id}.",
                                     f"驿站 {record.station_id} 没有编号为 {household_id} 的家庭。"))
    if not problems:
        stored, problems = store(session, caller, scorer, household_id=household_id,
                                 answers=read_answers(scorer.catalog, merged),
                                 assessed_on=assessed_on or date.fromisoformat(view["assessed_on"]),
                                 instance_id=record.instance_id, earliest=earliest_assessed_on)
    if problems:
        error = Invalid(problems[0]["code"], problems[0]["message_en"], problems[0]["message_zh"],
                        path=problems[0]["path"])
        error.problems = [Problem(p["path"], p["code"], p["message_zh"], p["message_en"]) for p in problems]
        raise error
    record = session.get(IntakeSubmission, submission_id)  # submit may have rolled the session back
    session.execute(update(IntakeSubmission).where(IntakeSubmission.id == record.id).values(
        status="stored", assessment_id=stored["id"], household_id=household_id, decided_by=caller.id,
        decided_at=utcnow()))
    audit.record(session, caller, "fix_intake_submission", household_id=household_id, assessment_id=stored["id"],
                 submission=record.id)
    session.refresh(record)
    return submission_view(record)


def reject(*, session: Session, caller: Caller, submission_id: int, reason: str) -> dict:
    """Take a queued submission out of the queue, with the reason (kept, never deleted)."""
    record = _readable(session, caller, submission_id)
    if record.status != "queued":
        raise Conflict("not_queued", f"Intake submission {record.id} is {record.status}, not queued.",
                       f"采集提交 {record.id} 的状态为 {record.status},不在待处理队列中。", path="status")
    if not reason.strip():
        raise Invalid("reason_required", "A reason is required.", "须填写原因。", path="reason")
    record.status, record.reason = "rejected", reason.strip()
    record.decided_by, record.decided_at = caller.id, utcnow()
    session.flush()
    audit.record(session, caller, "reject_intake_submission", submission=record.id, household_id=record.household_id)
    return submission_view(record)
