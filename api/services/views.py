"""JSON views of stored rows, shared by every service function that returns them."""

from __future__ import annotations

from datetime import datetime, timezone

from api.tables import Assessment, AuditEntry, Region, Station, Town, User


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC; SQLite hands back naive datetimes, which are UTC here."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def region_view(region: Region) -> dict:
    return {"id": region.id, "name_zh": region.name_zh, "name_en": region.name_en, "parent_id": region.parent_id}


def town_view(town: Town) -> dict:
    return {"id": town.id, "name": town.name, "region_id": town.region_id}


def station_view(station: Station) -> dict:
    return {"id": station.id, "name": station.name, "town_id": station.town_id}


def user_view(user: User) -> dict:
    return {"id": user.id, "name": user.name, "role": user.role, "station_id": user.station_id,
            "town_ids": sorted(user.town_ids), "active": user.active, "created_at": iso(user.created_at)}


def assessment_view(assessment: Assessment) -> dict:
    """The frozen record of one assessment: what a submission returns, now and on every retry."""
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


def audit_view(entry: AuditEntry) -> dict:
    return {"id": entry.id, "at": iso(entry.at), "user_id": entry.user_id, "action": entry.action,
            "household_id": entry.household_id, "assessment_id": entry.assessment_id, "details": entry.details}
