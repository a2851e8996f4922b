"""The household's file: the household, its assessments over time (with their verified tiers), and its history:
transfers, exits and re-entries, appeals, and where it came from when a visit list found it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.assessments.latest import tier_codes
from api.assessments.tables import Assessment
from api.audit import service as audit
from api.auth.access import Caller, PersonalView, require_household_reader
from api.discovery.visits import household_origin
from api.encoding import iso
from api.households.lifecycle import status_history
from api.households.service import household_view, load_household, reader_view
from api.reviews.appeals import household_appeals
from api.reviews.verification import checks_in_force
from api.security import Keys
from api.transfers.service import household_transfers


def household_file(*, session: Session, caller: Caller, keys: Keys, catalog, household_id: int) -> dict:
    """A household and its assessments over time: each current one with the change in index and tier
    since the previous current one, and its verified tier when a supervisor checked it; corrected ones stay
    listed, marked with what corrected them. Then its transfers, exits and re-entries, and appeals."""
    require_household_reader(caller)
    household, station = load_household(session, household_id)
    view = reader_view(session, caller, household, station)
    rows = session.scalars(select(Assessment).where(Assessment.household_id == household_id)
                           .order_by(Assessment.assessed_on, Assessment.id)).all()
    corrected_by = {row.corrects_id: row.id for row in rows if row.corrects_id is not None}
    checks = checks_in_force(session, [row.id for row in rows])
    tier_rank = tier_codes(catalog)
    entries, previous = [], None
    for row in rows:
        entry = {"id": row.id, "assessed_on": row.assessed_on.isoformat(), "index": row.index, "tier": row.tier,
                 "verification": checks.get(row.id),
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
    return {"household": household_view(household, station.town_id, view, keys), "assessments": entries,
            "transfers": household_transfers(session, household_id),
            "status_history": status_history(session, household_id),
            "appeals": household_appeals(session, household_id),
            "discovery_origin": household_origin(session, household_id)}
