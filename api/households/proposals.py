"""Exit proposals (应退尽退): active households whose last two current assessments are both below the entry
threshold (api/households/lifecycle.yaml), listed for a supervisor to confirm (the household exits) or dismiss
(it is proposed again only after a new assessment).

Read from the households' latest rows, which hold the latest current assessment and the one before it (as
re-scored under the latest one's configuration, when it was), with their verified tiers where they have one.
"""

from __future__ import annotations

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.orm import Session, aliased

from api.assessments.latest import tier_codes
from api.assessments.scope import latest_scope
from api.assessments.tables import HouseholdLatest
from api.audit import service as audit
from api.auth.access import Caller, Role, require_role, require_write
from api.errors import Conflict, Invalid, forbidden
from api.households.lifecycle import Threshold, exit_household, lifecycle
from api.households.service import load_household
from api.households.tables import ExitProposalDecision
from api.reviews.tables import TierVerification

LIST_ROLES = (Role.caseworker, Role.supervisor, Role.admin)
DECISIONS = {"confirm": "confirmed", "dismiss": "dismissed"}  # as asked -> as recorded
_LATEST_CHECK, _PREVIOUS_CHECK = aliased(TierVerification), aliased(TierVerification)


def threshold_view(catalog, threshold: Threshold) -> dict:
    tier = catalog.tier_ids[threshold.tier_position] if threshold.tier_position is not None else None
    return {"tier": tier, "index": threshold.index}


def _below(catalog, threshold: Threshold, index, tier_code, verified):
    """A SQL condition: an assessment (its index, tier code and verified tier) is below the threshold."""
    if threshold.index is not None:
        return index < threshold.index
    lower = [tier for tier, code in tier_codes(catalog).items() if code < threshold.tier_position]
    return case((verified.isnot(None), verified.in_(lower)), else_=tier_code < threshold.tier_position)


def _proposed(catalog):
    """The latest rows (with their verified tiers) of the households proposed for exit, as a query."""
    threshold = lifecycle().entry_threshold
    decided = exists().where(ExitProposalDecision.household_id == HouseholdLatest.household_id,
                             ExitProposalDecision.assessment_id == HouseholdLatest.assessment_id)
    return (select(HouseholdLatest.household_id, HouseholdLatest.station_id, HouseholdLatest.town_id,
                   HouseholdLatest.assessment_id, HouseholdLatest.assessed_on, HouseholdLatest.index,
                   HouseholdLatest.tier, _LATEST_CHECK.verified_tier.label("verified_tier"),
                   HouseholdLatest.previous_assessment_id, HouseholdLatest.previous_index,
                   HouseholdLatest.previous_tier_code, _PREVIOUS_CHECK.verified_tier.label("previous_verified_tier"))
            .outerjoin(_LATEST_CHECK, and_(_LATEST_CHECK.assessment_id == HouseholdLatest.assessment_id,
                                           _LATEST_CHECK.current_slot.is_(True)))
            .outerjoin(_PREVIOUS_CHECK, and_(_PREVIOUS_CHECK.assessment_id == HouseholdLatest.previous_assessment_id,
                                             _PREVIOUS_CHECK.current_slot.is_(True)))
            .where(HouseholdLatest.status == "active", HouseholdLatest.previous_assessment_id.isnot(None),
                   _below(catalog, threshold, HouseholdLatest.index, HouseholdLatest.tier_code,
                          _LATEST_CHECK.verified_tier),
                   _below(catalog, threshold, HouseholdLatest.previous_index, HouseholdLatest.previous_tier_code,
                          _PREVIOUS_CHECK.verified_tier),
                   ~decided))


def _item(row, catalog) -> dict:
    return {"household_id": row.household_id, "station_id": row.station_id, "town_id": row.town_id,
            "assessment_id": row.assessment_id, "assessed_on": row.assessed_on.isoformat(), "index": row.index,
            "tier": row.tier, "verified_tier": row.verified_tier, "previous_assessment_id": row.previous_assessment_id,
            "previous_index": row.previous_index, "previous_tier": catalog.tier_ids[row.previous_tier_code],
            "previous_verified_tier": row.previous_verified_tier}


def exit_proposals(*, session: Session, caller: Caller, catalog, station_id: int | None = None, limit: int = 100,
                   offset: int = 0) -> dict:
    """The households in the caller's scope proposed for exit, lowest index first (then household id)."""
    require_role(caller, *LIST_ROLES)
    query = _proposed(catalog).where(latest_scope(caller))
    if station_id is not None:
        query = query.where(HouseholdLatest.station_id == station_id)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.execute(query.order_by(HouseholdLatest.index, HouseholdLatest.household_id)
                           .limit(limit).offset(offset)).all()
    return {"threshold": threshold_view(catalog, lifecycle().entry_threshold), "total": total, "limit": limit,
            "offset": offset, "items": [_item(row, catalog) for row in rows]}


def decide(*, session: Session, caller: Caller, catalog, household_id: int, decision: str,
           reason: str | None = None) -> dict:
    """A supervisor confirms a proposal (the household exits with the proposal's exit reason and its open
    referrals are cancelled) or dismisses it with a reason (it is proposed again after a new assessment).
    A household that is not proposed (any more) is a 409 `not_proposed`."""
    if caller.role is not Role.supervisor:
        raise forbidden()
    if decision not in DECISIONS:
        raise Invalid("invalid_decision", f"decision must be one of {', '.join(DECISIONS)}.",
                      f"决定必须为 {'、'.join(DECISIONS)} 之一。", path="decision")
    reason = reason.strip() if reason else None
    if decision == "dismiss" and not reason:
        raise Invalid("reason_required", "A dismissal needs a reason.", "驳回退出建议须说明理由。", path="reason")
    _, station = load_household(session, household_id)
    require_write(caller, station.id, station.town_id)
    row = session.execute(_proposed(catalog).where(HouseholdLatest.household_id == household_id)).first()
    if row is None:
        raise Conflict("not_proposed", f"Household {household_id} is not proposed for exit.",
                       f"家庭 {household_id} 不在退出建议名单中。", path="household_id")
    session.add(ExitProposalDecision(household_id=household_id, assessment_id=row.assessment_id,
                                     decision=DECISIONS[decision], reason=reason, user_id=caller.id))
    session.flush()
    audit.record(session, caller, f"{decision}_exit_proposal", household_id=household_id,
                 assessment_id=row.assessment_id, reason=reason)
    closed, status = [], "active"
    if decision == "confirm":
        exited = exit_household(session=session, caller=caller, catalog=catalog, household_id=household_id,
                                reason=lifecycle().proposal_exit_reason, note=reason)
        closed, status = exited["closed_referrals"], exited["status"]
    return {"household_id": household_id, "assessment_id": row.assessment_id, "decision": decision,
            "reason": reason, "status": status, "closed_referrals": closed}
