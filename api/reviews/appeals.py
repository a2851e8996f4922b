"""Appeals: a household, through its caseworker, appeals an assessment's result.

When lodged, the appeal is scored again on the same answers, or on corrected ones, under the catalog and the
configuration in force on the assessment's date (`assessed_on`), not today's (api.assessments.reproduction);
the re-scored figures and those versions are kept with it. A supervisor decides: `upheld` (the result stands) or
`changed` (the re-scored result is stored as a correction of the assessment through the one storing path,
api.assessments.store; the original stays, marked as corrected), with a reason. Every step is audited.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.assessments.reproduction import score_under, versions_in_force
from api.assessments.store import HouseholdPlace, store_assessment
from api.assessments.submission import NewAssessment, request_hash
from api.assessments.tables import Assessment
from api.audit import service as audit
from api.auth.access import Caller, Role, require_household_reader, require_write, scope_filter
from api.db.base import utcnow
from api.encoding import iso
from api.errors import Conflict, Invalid, forbidden, not_found
from api.geography.tables import Station
from api.households.service import load_household, reader_view
from api.households.tables import Household
from api.reviews.tables import Appeal

DECISIONS = ("upheld", "changed")


def appeal_view(appeal: Appeal, original: Assessment, *, with_result: bool = False) -> dict:
    view = {"id": appeal.id, "assessment_id": appeal.assessment_id, "household_id": appeal.household_id,
            "status": appeal.status, "reason": appeal.reason, "answers_corrected": appeal.answers is not None,
            "in_force_on": appeal.in_force_on.isoformat(),
            "original": {"index": original.index, "tier": original.tier, "config_version": original.config_version,
                         "catalog_version": original.catalog_version},
            "rescored": {"index": appeal.index, "tier": appeal.tier, "config_version": appeal.config_version,
                         "catalog_version": appeal.catalog_version, "catalog_hash": appeal.catalog_hash},
            "lodged_by": appeal.lodged_by, "lodged_at": iso(appeal.lodged_at), "decision": appeal.decision,
            "decision_reason": appeal.decision_reason, "decided_by": appeal.decided_by,
            "decided_at": iso(appeal.decided_at), "correction_id": appeal.correction_id}
    if with_result:
        view.update(answers=appeal.answers, result=appeal.result)
    return view


def _current(session: Session, assessment_id: int, *, path: str) -> None:
    later = session.scalar(select(Assessment.id).where(Assessment.corrects_id == assessment_id))
    if later is not None:
        raise Conflict("already_corrected", f"Assessment {assessment_id} was corrected by assessment {later}; "
                       "appeal against the correction.", f"评估 {assessment_id} 已被评估 {later} 更正,请针对更正后的评估申诉。",
                       path=path, extra={"corrected_by": later})


def _refuse_second(session: Session, assessment_id: int) -> None:
    waiting = session.scalar(select(Appeal.id).where(Appeal.assessment_id == assessment_id, Appeal.open_slot.is_(True)))
    if waiting is not None:
        raise Conflict("appeal_pending", f"Appeal {waiting} against assessment {assessment_id} is waiting for a "
                       "decision.", f"针对评估 {assessment_id} 的申诉 {waiting} 尚待处理。", path="assessment_id",
                       extra={"existing_appeal_id": waiting})


def lodge(*, session: Session, caller: Caller, catalog, assessment_id: int, reason: str,
          answers: dict | None = None) -> dict:
    """A caseworker of the household's station (or a supervisor of its town) lodges an appeal against a current
    assessment, on its answers or on corrected ones (`answers`, the whole set); it is re-scored at once under
    the versions in force on the assessment's date (invalid corrected answers: a 422 naming each)."""
    assessment = session.get(Assessment, assessment_id)
    if assessment is None:
        raise not_found(f"Assessment {assessment_id}", f"评估 {assessment_id}")
    _, station = load_household(session, assessment.household_id)
    require_write(caller, station.id, station.town_id)
    reason = reason.strip()
    if not reason:
        raise Invalid("reason_required", "An appeal needs a reason.", "申诉须说明理由。", path="reason")
    _current(session, assessment_id, path="assessment_id")
    _refuse_second(session, assessment_id)
    versions = versions_in_force(session, assessment, catalog)
    result = score_under(versions, answers if answers is not None else assessment.answers,
                         region=assessment.region_id, year=assessment.assessed_on.year)
    appeal = Appeal(assessment_id=assessment_id, household_id=assessment.household_id, status="open", open_slot=True,
                    reason=reason, answers=answers, in_force_on=assessment.assessed_on,
                    catalog_hash=versions.catalog.content_hash, catalog_version=versions.catalog.version,
                    config_version=versions.config.version, result=result, index=result["index"],
                    tier=result["tier"], lodged_by=caller.id)
    session.add(appeal)
    try:
        session.flush()
    except IntegrityError:  # a concurrent appeal against the same assessment came first
        session.rollback()
        _refuse_second(session, assessment_id)
        raise
    audit.record(session, caller, "lodge_appeal", household_id=assessment.household_id, assessment_id=assessment_id,
                 appeal_id=appeal.id, reason=reason, answers_corrected=answers is not None,
                 config_version=versions.config.version, catalog_hash=versions.catalog.content_hash)
    return appeal_view(appeal, assessment, with_result=True)


def _load(session: Session, appeal_id: int) -> tuple[Appeal, Assessment, Household, Station]:
    appeal = session.get(Appeal, appeal_id)
    if appeal is None:
        raise not_found(f"Appeal {appeal_id}", f"申诉 {appeal_id}")
    household, station = load_household(session, appeal.household_id)
    return appeal, session.get(Assessment, appeal.assessment_id), household, station


def decide(*, session: Session, caller: Caller, catalog, appeal_id: int, decision: str, reason: str) -> dict:
    """A supervisor of the household's town decides an open appeal with a reason: `upheld` keeps the result,
    `changed` stores the re-scored result (on the appeal's answers, under the versions it was scored with) as
    a correction of the assessment. `changed` needs a result that differs (409 `result_unchanged`)."""
    if caller.role is not Role.supervisor:
        raise forbidden()
    if decision not in DECISIONS:
        raise Invalid("invalid_decision", f"decision must be one of {', '.join(DECISIONS)}.",
                      f"决定必须为 {'、'.join(DECISIONS)} 之一。", path="decision")
    appeal, original, household, station = _load(session, appeal_id)
    require_write(caller, station.id, station.town_id)
    reason = reason.strip()
    if not reason:
        raise Invalid("reason_required", "A decision needs a reason.", "申诉决定须说明理由。", path="reason")
    if appeal.status != "open":
        raise Conflict("appeal_decided", f"Appeal {appeal_id} was decided already ({appeal.decision}).",
                       f"申诉 {appeal_id} 已有决定({appeal.decision})。", path="decision")
    if decision == "changed":
        if appeal.answers is None and (appeal.index, appeal.tier) == (original.index, original.tier):
            raise Conflict("result_unchanged", "Re-scored under the versions in force, the result is the same: "
                           "uphold it, or lodge an appeal with corrected answers.",
                           "按当时有效的版本重新评分,结果不变:请维持原结果,或以更正后的答案重新申诉。", path="decision")
        _current(session, original.id, path="decision")
        appeal.correction_id = _store_correction(session, caller, catalog, appeal, original, household, station)
    appeal.status, appeal.open_slot, appeal.decision, appeal.decision_reason = "decided", None, decision, reason
    appeal.decided_by, appeal.decided_at = caller.id, utcnow()
    session.flush()
    audit.record(session, caller, "decide_appeal", household_id=appeal.household_id, assessment_id=original.id,
                 appeal_id=appeal.id, decision=decision, reason=reason, correction_id=appeal.correction_id)
    return appeal_view(appeal, original, with_result=True)


def _store_correction(session: Session, caller: Caller, catalog, appeal: Appeal, original: Assessment,
                      household: Household, station: Station) -> int:
    """The appeal's re-scored result as a correction of `original`, through the one storing path."""
    answers = appeal.answers if appeal.answers is not None else original.answers
    result = appeal.result
    correction = NewAssessment(
        household_id=original.household_id, assessed_on=original.assessed_on, region_id=original.region_id,
        answers=answers, result=result, index=result["index"], tier=result["tier"],
        completeness=result["completeness"], provisional=result["provisional"], catalog_id=result["catalog_id"],
        catalog_version=result["catalog_version"], catalog_hash=result["catalog_hash"],
        config_version=result["config_version"], model_version=None, model_opinion=None, needs_review=None,
        corrects_id=original.id, idempotency_key=str(uuid.uuid4()),
        request_hash=request_hash(original.household_id, answers, original.assessed_on, original.id),
        created_by=caller.id, created_at=utcnow())
    place = HouseholdPlace(household.id, household.status, station.id, station.town_id)
    correction.id = store_assessment(session, assessment=correction, previous=None, catalog=catalog, household=place)
    audit.record(session, caller, "correct_assessment", household_id=original.household_id,
                 assessment_id=correction.id, corrects=original.id, appeal_id=appeal.id)
    return correction.id


def get_appeal(*, session: Session, caller: Caller, appeal_id: int) -> dict:
    require_household_reader(caller)
    appeal, original, household, station = _load(session, appeal_id)
    reader_view(session, caller, household, station)
    return appeal_view(appeal, original, with_result=True)


def list_appeals(*, session: Session, caller: Caller, status: str | None = None, station_id: int | None = None,
                 limit: int = 50, offset: int = 0) -> dict:
    """Appeals against the assessments of households the caller's scope serves (admins: all), open ones
    first, then newest first."""
    require_household_reader(caller)
    query = (select(Appeal, Assessment).join(Assessment, Assessment.id == Appeal.assessment_id)
             .join(Household, Household.id == Appeal.household_id).join(Station, Station.id == Household.station_id))
    query = query.where(scope_filter(caller, Household.station_id, Station.town_id))
    for column, value in ((Appeal.status, status), (Household.station_id, station_id)):
        if value is not None:
            query = query.where(column == value)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.execute(query.order_by(Appeal.open_slot.is_(True).desc(), Appeal.id.desc())
                           .limit(limit).offset(offset)).all()
    return {"total": total, "limit": limit, "offset": offset,
            "items": [appeal_view(appeal, original) for appeal, original in rows]}


def household_appeals(session: Session, household_id: int) -> list[dict]:
    """A household's appeals, oldest first (for its file)."""
    rows = session.execute(select(Appeal, Assessment).join(Assessment, Assessment.id == Appeal.assessment_id)
                           .where(Appeal.household_id == household_id).order_by(Appeal.id)).all()
    return [appeal_view(appeal, original) for appeal, original in rows]
