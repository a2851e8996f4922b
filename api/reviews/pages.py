"""Review pages: a supervisor's verification of a result's tier (on the result page), appealing a result with
corrected answers (caseworkers, supervisors), the appeals and an appeal's decision (supervisors). The forms post
to the JSON API."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.assessments import service as assessments
from api.assessments.tables import Assessment
from api.auth.access import Caller, Role, in_scope
from api.deps import Context, PageCaller
from api.geography import service as geography
from api.households.service import load_household
from api.reviews import appeals
from api.reviews.tables import Appeal
from api.reviews.verification import checks_in_force
from api.web.templating import render

router = APIRouter()
PAGE_SIZE = 50
MAX_PAGE = 1_000_000  # keeps the offset a number the database takes


def result_reviews(session: Session, caller: Caller, stored: dict) -> dict:
    """What the result page shows of an assessment's reviews: its verified tier, its appeals, and whether the
    caller may verify it (a supervisor of its town) or appeal it (its station's caseworker, or such a supervisor);
    a corrected assessment is neither verified nor appealed."""
    _, station = load_household(session, stored["household_id"])
    writes = in_scope(caller, station.id, station.town_id)
    current = session.scalar(select(Assessment.id).where(Assessment.corrects_id == stored["id"])) is None
    listed = session.scalars(select(Appeal.id).where(Appeal.assessment_id == stored["id"]).order_by(Appeal.id)).all()
    open_appeal = session.scalar(select(Appeal.id).where(Appeal.assessment_id == stored["id"],
                                                         Appeal.open_slot.is_(True)))
    return {"verification": checks_in_force(session, [stored["id"]]).get(stored["id"]), "appeals": list(listed),
            "can_verify": writes and current and caller.role is Role.supervisor,
            "can_appeal": writes and current and open_appeal is None}


@router.get("/assessments/{assessment_id}/appeal")
def appeal_form(request: Request, assessment_id: int, context: Context, caller: PageCaller):
    """Appeal a result: a reason, and the stored answers to correct where they are wrong."""
    catalog = context.scorer.catalog
    with context.database.session() as session:
        stored = assessments.get_assessment(session=session, caller=caller, assessment_id=assessment_id)
        reviews = result_reviews(session, caller, stored)
    groups = [(d, [i for i in catalog.indicators if i.dimension == d.id]) for d in catalog.dimensions]
    return render(request, "appeal_new.html", caller=caller, stored=stored, answers=stored["answers"], groups=groups,
                  reviews=reviews, tiers={t.id: t for t in catalog.tiers},
                  data={"assessment": stored["id"], "answers": stored["answers"],
                        "types": {i.id: i.answer.type for i in catalog.indicators}})


@router.get("/appeals")
def appeal_list(request: Request, context: Context, caller: PageCaller, page: int = 1):
    page = min(max(page, 1), MAX_PAGE)
    with context.database.session() as session:
        listed = appeals.list_appeals(session=session, caller=caller, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render(request, "appeals.html", caller=caller, listed=listed, page=page,
                  tiers={t.id: t for t in context.scorer.catalog.tiers})


@router.get("/appeals/{appeal_id}")
def appeal_page(request: Request, appeal_id: int, context: Context, caller: PageCaller):
    """An appeal: the original and re-scored figures, the versions, the corrected answers; a supervisor decides."""
    catalog = context.scorer.catalog
    with context.database.session() as session:
        appeal = appeals.get_appeal(session=session, caller=caller, appeal_id=appeal_id)
        original = assessments.get_assessment(session=session, caller=caller, assessment_id=appeal["assessment_id"])
        _, station = load_household(session, appeal["household_id"])
        stations = {s["id"]: s for s in geography.list_stations(session=session, town_id=station.town_id)}
    changed = []
    if appeal["answers"] is not None:
        changed = [(catalog.indicator_by_id.get(key), key, original["answers"].get(key), appeal["answers"].get(key))
                   for key in sorted(set(original["answers"]) | set(appeal["answers"]))
                   if original["answers"].get(key) != appeal["answers"].get(key)]
    return render(request, "appeal.html", caller=caller, appeal=appeal, original=original, changed=changed,
                  station=stations.get(station.id), tiers={t.id: t for t in catalog.tiers},
                  can_decide=appeal["status"] == "open" and caller.role is Role.supervisor
                  and in_scope(caller, station.id, station.town_id))
