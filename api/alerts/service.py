"""Alerts and re-assessment due lists.

A household is on the alert list when its latest current assessment's index rose by at least the set
number of points, or its tier worsened, against the current assessment before it, when a critical
indicator raised its tier, or when the learned model disagreed with the index enough to need review.
Re-assessment is due by the schedule in api/assessments/schedule.yaml.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from api.assessments.scope import latest_scope
from api.assessments.tables import Assessment, HouseholdLatest
from api.auth.access import Caller
from api.reviews.tables import TierVerification
from api.reviews.verification import verified_latest

LATEST_COLUMNS = (HouseholdLatest.household_id, HouseholdLatest.station_id, HouseholdLatest.town_id,
                  HouseholdLatest.assessment_id, HouseholdLatest.assessed_on, HouseholdLatest.index,
                  HouseholdLatest.tier, TierVerification.verified_tier, HouseholdLatest.tier_code,
                  HouseholdLatest.completeness,
                  HouseholdLatest.provisional, HouseholdLatest.critical, HouseholdLatest.previous_assessment_id,
                  HouseholdLatest.previous_index, HouseholdLatest.previous_tier_code, HouseholdLatest.due_on)


def _row(row, tier_ids) -> dict:
    return {"household_id": row.household_id, "station_id": row.station_id, "town_id": row.town_id,
            "assessment_id": row.assessment_id, "assessed_on": row.assessed_on.isoformat(), "index": row.index,
            "tier": row.tier, "verified_tier": row.verified_tier, "completeness": row.completeness,
            "provisional": row.provisional,
            "critical": row.critical, "previous_assessment_id": row.previous_assessment_id,
            "previous_index": row.previous_index,
            "previous_tier": None if row.previous_tier_code is None else tier_ids[row.previous_tier_code],
            "due_on": row.due_on.isoformat()}


def alerts(*, session: Session, caller: Caller, catalog, index_rise: float, station_id: int | None = None,
           limit: int = 100, offset: int = 0) -> dict:
    """Active households in scope with a rise of at least `index_rise` points, a worse tier, or a critical
    indicator; each with the reasons. Highest index first."""
    rose = and_(HouseholdLatest.previous_index.isnot(None),
                HouseholdLatest.index - HouseholdLatest.previous_index >= index_rise)
    worsened = and_(HouseholdLatest.previous_tier_code.isnot(None),
                    HouseholdLatest.tier_code > HouseholdLatest.previous_tier_code)
    model_disagrees = Assessment.needs_review.is_(True)
    condition = and_(latest_scope(caller), HouseholdLatest.status == "active",
                     or_(rose, worsened, HouseholdLatest.critical.is_(True), model_disagrees))
    if station_id is not None:
        condition = and_(condition, HouseholdLatest.station_id == station_id)
    its_assessment = Assessment.id == HouseholdLatest.assessment_id
    total = session.scalar(select(func.count()).select_from(HouseholdLatest).join(Assessment, its_assessment)
                           .where(condition))
    rows = session.execute(select(*LATEST_COLUMNS, Assessment.needs_review, Assessment.model_version)
                           .join(Assessment, its_assessment).outerjoin(TierVerification, verified_latest())
                           .where(condition)
                           .order_by(HouseholdLatest.index.desc(), HouseholdLatest.household_id)
                           .limit(limit).offset(offset)).all()
    items = []
    for row in rows:
        item = _row(row, catalog.tier_ids)
        reasons = []
        if row.previous_index is not None and row.index - row.previous_index >= index_rise:
            reasons.append("index_rose")
        if row.previous_tier_code is not None and row.tier_code > row.previous_tier_code:
            reasons.append("tier_worsened")
        if row.critical:
            reasons.append("critical_indicator")
        if row.needs_review:
            reasons.append("model_disagrees")
        items.append({**item, "reasons": reasons, "model_version": row.model_version})
    return {"index_rise": index_rise, "total": total, "limit": limit, "offset": offset, "items": items}


def reassessments(*, session: Session, caller: Caller, catalog, due_before: date, station_id: int | None = None,
                  limit: int = 100, offset: int = 0) -> dict:
    """Active households in scope whose next assessment is due before `due_before`, earliest first."""
    condition = and_(latest_scope(caller), HouseholdLatest.status == "active", HouseholdLatest.due_on < due_before)
    if station_id is not None:
        condition = and_(condition, HouseholdLatest.station_id == station_id)
    total = session.scalar(select(func.count()).select_from(HouseholdLatest).where(condition))
    rows = session.execute(select(*LATEST_COLUMNS).outerjoin(TierVerification, verified_latest()).where(condition)
                           .order_by(HouseholdLatest.due_on, HouseholdLatest.household_id)
                           .limit(limit).offset(offset)).all()
    return {"due_before": due_before.isoformat(), "total": total, "limit": limit, "offset": offset,
            "items": [_row(row, catalog.tier_ids) for row in rows]}


def overdue_by_station(*, session: Session, caller: Caller, today: date) -> list[dict]:
    """Per station in scope: active households assessed, and those whose re-assessment is overdue."""
    overdue = func.sum(case((HouseholdLatest.due_on < today, 1), else_=0))
    rows = session.execute(select(HouseholdLatest.station_id, HouseholdLatest.town_id,
                                  func.count().label("households"), overdue.label("overdue"))
                           .where(latest_scope(caller), HouseholdLatest.status == "active")
                           .group_by(HouseholdLatest.station_id, HouseholdLatest.town_id)
                           .order_by(HouseholdLatest.station_id)).all()
    return [{"station_id": r.station_id, "town_id": r.town_id, "households": r.households,
             "overdue": int(r.overdue or 0), "as_of": today.isoformat()} for r in rows]


def next_due(*, session: Session, household_id: int) -> date | None:
    """When the household's next assessment is due (None before its first assessment)."""
    return session.scalar(select(HouseholdLatest.due_on).where(HouseholdLatest.household_id == household_id))
