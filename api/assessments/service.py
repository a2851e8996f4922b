"""Reading stored assessments, and scoring answers without storing them."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session

from api.assessments.scoring import Scorer
from api.assessments.tables import Assessment
from api.auth.access import Caller, require_household_reader
from api.configs.records import published_config
from api.encoding import iso
from api.errors import Invalid, not_found
from api.households.service import load_household, reader_view

CLOCK_SKEW = timedelta(days=1)  # a device's date may run a day ahead of the server's


def check_assessed_on(assessed_on: date, *, earliest: date, today: date | None = None) -> None:
    """An interview date between `earliest` (a setting) and tomorrow (a day of clock skew), else Invalid."""
    latest = (today or date.today()) + CLOCK_SKEW
    if assessed_on > latest:
        raise Invalid("date_in_future", f"assessed_on {assessed_on} is in the future (the latest date accepted is "
                      f"{latest}).", f"评估日期 {assessed_on} 晚于今天(最晚可填 {latest})。", path="assessed_on")
    if assessed_on < earliest:
        raise Invalid("date_too_early", f"assessed_on {assessed_on} is before {earliest}, the earliest date accepted.",
                      f"评估日期 {assessed_on} 早于可填写的最早日期 {earliest}。", path="assessed_on")


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


def readable_assessment(session: Session, caller: Caller | None, assessment_id: int) -> Assessment:
    """A stored assessment the caller may read (its household's scope; None: the command line), else 403/404."""
    if caller is not None:
        require_household_reader(caller)
    assessment = session.get(Assessment, assessment_id)
    if assessment is None:
        raise not_found(f"Assessment {assessment_id}", f"评估 {assessment_id}")
    if caller is not None:
        household, station = load_household(session, assessment.household_id)
        reader_view(session, caller, household, station)  # scope check; assessments hold no personal data
    return assessment


def get_assessment(*, session: Session, caller: Caller, assessment_id: int) -> dict:
    return assessment_view(readable_assessment(session, caller, assessment_id))


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
