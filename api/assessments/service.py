"""Reading stored assessments, and scoring answers without storing them."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from api.assessments.scoring import Scorer
from api.assessments.tables import Assessment
from api.auth.access import Caller, personal_view
from api.configs.records import published_config
from api.encoding import iso
from api.errors import Invalid, not_found
from api.households.service import load_household


def assessment_view(assessment) -> dict:
    """The frozen record of one assessment (a stored row, or a record of its columns): what a submission
    returns, now and on every retry."""
    model = None
    if assessment.model_version is not None:
        model = {"version": assessment.model_version, "needs_review": assessment.needs_review,
                 "opinion": assessment.model_opinion}
    return {
        "id": assessment.id,
        "household_id": assessment.household_id,
        "submission_id": assessment.idempotency_key,
        "assessed_on": assessment.assessed_on.isoformat(),
        "region_id": assessment.region_id,
        "corrects": assessment.corrects_id,
        "index": assessment.index,
        "tier": assessment.tier,
        "completeness": assessment.completeness,
        "provisional": assessment.provisional,
        "catalog": {"id": assessment.catalog_id, "version": assessment.catalog_version,
                    "hash": assessment.catalog_hash},
        "config_version": assessment.config_version,
        "model": model,
        "answers": assessment.answers,
        "result": assessment.result,
        "created_by": assessment.created_by,
        "created_at": iso(assessment.created_at),
    }


def get_assessment(*, session: Session, caller: Caller, assessment_id: int) -> dict:
    assessment = session.get(Assessment, assessment_id)
    if assessment is None:
        raise not_found(f"Assessment {assessment_id}", f"评估 {assessment_id}")
    _, station = load_household(session, assessment.household_id)
    personal_view(caller, station.id, station.town_id)  # scope check; assessments hold no personal data
    return assessment_view(assessment)


def preview(*, session: Session, scorer: Scorer, answers: dict, region_id: str, assessed_on: date | None) -> dict:
    """Score under the published configuration without storing anything."""
    if region_id not in scorer.catalog.region_by_id:
        raise Invalid("unknown_region", f"Unknown region {region_id!r}.", f"未知地区 {region_id!r}。",
                      path="region_id")
    return scorer.score(answers, region=region_id, year=assessed_on.year if assessed_on else None,
                        config=published_config(session=session, catalog=scorer.catalog)).as_dict()
