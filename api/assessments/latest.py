"""A household's latest current assessment as its `household_latest` row, denormalised so that a ranking
page, an alert list or a due list is one indexed query.

`latest_row` builds the row of one household from its latest assessment, the current one before it and
the household's place, with the columns its result decides from `scored_fields`; `scored_columns` gives
those columns for a batch of results of the vectorised core (re-scoring). Both use the same rules below;
nothing else decides what a latest row holds. Adding a column to `household_latest`: the table, a migration,
and `latest_row` (and `scored_fields` and `scored_columns` when a score decides it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from api.assessments.schedule import schedule
from assessment.batch import BatchResult, join_codes


def tier_codes(catalog) -> dict[str, int]:
    """Each tier's position in the catalog's order (0 = the lowest): what the ranking sorts and filters on."""
    return {tier: code for code, tier in enumerate(catalog.tier_ids)}


def services_text(service_ids) -> str:
    """Service ids as `;a;b;`, so `LIKE '%;a;%'` finds one exactly."""
    ids = [s for s in service_ids if s]
    return f";{';'.join(ids)};" if ids else ""


def latest_row(*, assessment, previous, household, catalog) -> dict:
    """The `household_latest` row of `household` (its id, status, station_id and town_id) whose latest current
    assessment is `assessment` (a stored row, or a record of the same fields; its id may still be None).
    `previous` is the current assessment before it (id, index and tier, as scored under the same
    configuration: re-scored when it was scored under another one), or None. The columns its result decides
    are `scored_fields`, or those the record carries already made (`latest_fields`, an import's)."""
    scored = getattr(assessment, "latest_fields", None) or scored_fields(assessment.result, assessment.assessed_on,
                                                                         catalog)
    return {
        "household_id": household.id, "assessment_id": assessment.id, "station_id": household.station_id,
        "town_id": household.town_id, "region_id": assessment.region_id, "status": household.status,
        "assessed_on": assessment.assessed_on, **scored, "config_version": assessment.config_version,
        "previous_assessment_id": previous.id if previous is not None else None,
        "previous_index": previous.index if previous is not None else None,
        "previous_tier_code": tier_codes(catalog).get(previous.tier) if previous is not None else None,
    }


def scored_fields(result, assessed_on, catalog) -> dict:
    """The columns of a latest row that an assessment's result (a mapping of the core's result) decides, with the
    day it was assessed on (`SCORED_BY_CORE`)."""
    tier, provisional = result["tier"], result["provisional"]
    return {
        "index": result["index"], "tier": tier, "tier_code": tier_codes(catalog).get(tier, 0),
        "completeness": result["completeness"], "provisional": provisional, "critical": bool(result.get("raised_by")),
        "dimension_scores": result.get("dimension_scores", {}),
        "services": services_text(r["service"] for r in result.get("recommendations", [])),
        "due_on": schedule().due_on(assessed_on, tier, provisional),
    }


SCORED_BY_CORE = ("index", "tier", "tier_code", "completeness", "provisional", "critical", "dimension_scores",
                  "services", "due_on")


def scored_columns(catalog, batch: BatchResult, assessed_on: pd.Series) -> pd.DataFrame:
    """The columns of `latest_row` that a score decides (`SCORED_BY_CORE`), for the valid rows of a batch
    scored by the core (`assessed_on` their dates); the dimension scores as JSON text."""
    tiers = np.array(catalog.tier_ids, dtype=object)[batch.tier_code]
    services = np.asarray(join_codes(batch.recommendation_codes, [s.id for s in catalog.services]), dtype=object)
    provisional = batch.provisional.astype(bool)
    raised = batch.raised_by
    return pd.DataFrame({
        "index": batch.index, "tier": tiers, "tier_code": batch.tier_code.astype(np.int64),
        "completeness": batch.completeness, "provisional": provisional,
        "critical": (raised >= 0).any(axis=1) if raised.shape[1] else np.zeros(len(tiers), dtype=bool),
        "dimension_scores": _dimension_json(catalog, batch.dimension_scores),
        "services": np.where(services == "", "", ";" + services + ";"),
        "due_on": schedule().due_dates(assessed_on, tiers, provisional),
    })


def _dimension_json(catalog, scores: np.ndarray) -> np.ndarray:
    """Each row of dimension scores as a JSON object (null where a dimension has nothing answered)."""
    text = np.full(len(scores), "{", dtype=object)
    for k, dimension in enumerate(catalog.dimensions):
        column = scores[:, k]
        values = np.where(np.isnan(column), "null", column.astype(str)).astype(object)
        text = text + (", " if k else "") + f'"{dimension.id}": ' + values
    return text + "}"
