"""Verified tiers (机查 + 人查): a supervisor confirms an assessment's computed tier or overrides it, with a reason.

The verified tier is shown beside the computed one (household file, ranking and its exports, alerts, due lists,
exit proposals) and is a caseworker-verified label for the learning side: `labels` exports each verified
assessment's answers with its verified tier in the table `assess train` reads (docs/learning.md).
"""

from __future__ import annotations

import numpy as np
import orjson
import pandas as pd
from sqlalchemy import Text, and_, cast, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from api.assessments.frames import answers_frame
from api.assessments.tables import Assessment, HouseholdLatest
from api.audit import service as audit
from api.auth.access import Caller, Role, require_role, require_write
from api.encoding import iso
from api.errors import Conflict, Invalid, forbidden, not_found
from api.households.service import load_household
from api.reviews.tables import TierVerification

LABEL_COLUMN = "verified_tier"  # what `assess train --label-column` reads by default
_CORRECTION = aliased(Assessment)


def verification_view(check: TierVerification) -> dict:
    return {"id": check.id, "assessment_id": check.assessment_id, "household_id": check.household_id,
            "computed_tier": check.computed_tier, "verified_tier": check.verified_tier, "decision": check.decision,
            "reason": check.reason, "current": bool(check.current_slot), "user_id": check.user_id, "at": iso(check.at)}


def in_force():
    """A join condition's part: the verification in force of an assessment."""
    return TierVerification.current_slot.is_(True)


def verified_latest():
    """The join condition of a household's latest row with its latest assessment's verification in force (the
    ranking, its exports, alerts and due lists show the verified tier beside the computed one)."""
    return and_(TierVerification.assessment_id == HouseholdLatest.assessment_id, in_force())


def corrected(assessment_id: int):
    """A SQL condition: a later assessment corrects this one."""
    return exists().where(_CORRECTION.corrects_id == assessment_id)


def verify_tier(*, session: Session, caller: Caller, catalog, assessment_id: int, tier: str, reason: str) -> dict:
    """A supervisor of the household's town confirms (the same tier) or overrides (another) a current assessment's
    computed tier, with a reason; it replaces any check of that assessment before (kept, no longer in force)."""
    if caller.role is not Role.supervisor:
        raise forbidden()
    assessment = session.get(Assessment, assessment_id)
    if assessment is None:
        raise not_found(f"Assessment {assessment_id}", f"评估 {assessment_id}")
    _, station = load_household(session, assessment.household_id)
    require_write(caller, station.id, station.town_id)
    if tier not in catalog.tier_ids:
        raise Invalid("unknown_tier", f"Unknown tier {tier!r}; one of {', '.join(catalog.tier_ids)}.",
                      f"未知分档 {tier!r};可选:{'、'.join(catalog.tier_ids)}。", path="tier")
    reason = reason.strip()
    if not reason:
        raise Invalid("reason_required", "A verification needs a reason.", "核定分档须说明理由。", path="reason")
    if session.scalar(select(corrected(assessment_id))):
        raise Conflict("assessment_corrected", f"Assessment {assessment_id} was corrected; verify the correction.",
                       f"评估 {assessment_id} 已被更正,请核定更正后的评估。", path="assessment_id")
    session.execute(update(TierVerification).where(TierVerification.assessment_id == assessment_id, in_force())
                    .values(current_slot=None))
    check = TierVerification(assessment_id=assessment_id, household_id=assessment.household_id,
                             computed_tier=assessment.tier, verified_tier=tier, reason=reason, current_slot=True,
                             decision="confirmed" if tier == assessment.tier else "overridden", user_id=caller.id)
    session.add(check)
    try:
        session.flush()
    except IntegrityError:  # another supervisor verified it at the same moment
        session.rollback()
        raise Conflict("verification_conflict", f"Assessment {assessment_id} was verified at the same moment; "
                       "reload and check again.", f"评估 {assessment_id} 刚被他人核定,请刷新后再核定。",
                       path="assessment_id") from None
    audit.record(session, caller, "verify_tier", household_id=assessment.household_id, assessment_id=assessment_id,
                 computed_tier=assessment.tier, verified_tier=tier, decision=check.decision, reason=reason)
    return verification_view(check)


def checks_in_force(session: Session, assessment_ids: list[int]) -> dict[int, dict]:
    """The verification in force of each of these assessments that has one."""
    if not assessment_ids:
        return {}
    return {check.assessment_id: verification_view(check) for check in session.scalars(
        select(TierVerification).where(TierVerification.assessment_id.in_(assessment_ids), in_force()))}


def _labelled(catalog):
    """The assessments of `catalog` (its id and version: its questions) with a verified tier in force."""
    return (select(Assessment.id, Assessment.household_id, Assessment.region_id, Assessment.assessed_on,
                   Assessment.tier, TierVerification.verified_tier, cast(Assessment.answers, Text).label("answers"))
            .join(TierVerification, and_(TierVerification.assessment_id == Assessment.id, in_force()))
            .where(Assessment.catalog_id == catalog.id, Assessment.catalog_version == catalog.version))


def _require_label_reader(caller: Caller | None) -> None:
    if caller is not None:
        require_role(caller, Role.analyst)


def labels_page(*, session: Session, caller: Caller | None, catalog, limit: int = 100, offset: int = 0) -> dict:
    """Verified labels with their answers, by assessment id (analysts: no personal data)."""
    _require_label_reader(caller)
    query = _labelled(catalog)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.execute(query.order_by(Assessment.id).limit(limit).offset(offset)).all()
    return {"catalog": {"id": catalog.id, "version": catalog.version}, "total": total, "limit": limit,
            "offset": offset, "items": [{"assessment_id": row.id, "household_id": row.household_id,
                                         "region": row.region_id, "year": row.assessed_on.year,
                                         "computed_tier": row.tier, "verified_tier": row.verified_tier,
                                         "answers": _answers(row.answers)} for row in rows]}


def _answers(text) -> dict:
    return orjson.loads(text) if isinstance(text, (str, bytes)) else text


def labels(*, session: Session, caller: Caller | None, catalog) -> pd.DataFrame:
    """Every verified label of `catalog` as the table `assess train` reads: household_id, assessment_id, region,
    year, one column per indicator (the stored answers), computed_tier, and `verified_tier` (the label)."""
    _require_label_reader(caller)
    rows = session.execute(_labelled(catalog).order_by(Assessment.id)).all()
    frame = answers_frame(catalog, [row.answers for row in rows])
    front = {"household_id": np.array([row.household_id for row in rows], dtype=np.int64),
             "assessment_id": np.array([row.id for row in rows], dtype=np.int64),
             "region": [row.region_id for row in rows], "year": [row.assessed_on.year for row in rows]}
    table = pd.concat([pd.DataFrame(front), frame.reset_index(drop=True)], axis=1)
    table["computed_tier"] = [row.tier for row in rows]
    table[LABEL_COLUMN] = [row.verified_tier for row in rows]
    return table
