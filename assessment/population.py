"""Population measures over many households: the Alkire-Foster counts with the catalog's weights."""

from __future__ import annotations

import numpy as np
import pandas as pd

from assessment.alkire_foster import AFResult, alkire_foster
from assessment.batch import _Plan, _prepare, score_matrix
from assessment.catalog import Catalog, ScoringConfig
from assessment.scoring import resolve_config


def household_weights(catalog: Catalog, config: ScoringConfig, scores: np.ndarray) -> np.ndarray:
    """Each household's nested indicator weights (n x m, rows summing to 1): the dimension's share
    among the dimensions it answered, times the indicator's share among the dimension's answered
    indicators. These are the weights behind every household's `af_score`."""
    plan = _Plan.build(catalog, config)
    answered = ~np.isnan(scores)
    answered_w = answered @ plan.by_dimension
    defined = answered_w > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.where(defined, plan.dimension_weights / (defined @ plan.dimension_weights)[:, None] / answered_w, 0.0)
    return np.where(answered, factor[:, plan.dimension_of] * plan.weights, 0.0)


def poverty_measures(catalog: Catalog, frame: pd.DataFrame, *, config: ScoringConfig | None = None,
                     k: float | None = None, group_column: str | None = None) -> tuple[AFResult, int]:
    """Alkire-Foster H, A, M0 and their breakdowns over the valid households of `frame`, with the
    configuration's deprivation cut-off z and poverty cut-off k (or the `k` given).
    Returns the result and the number of rows left out because their answers failed validation."""
    config = resolve_config(catalog, config)
    prepared = _prepare(catalog, frame)
    valid = ~prepared["findings"].row_mask(len(frame))
    scores = score_matrix(prepared["values"], prepared["table"])[valid]
    groups = None
    if group_column is not None:
        groups = frame[group_column].astype(object).where(frame[group_column].notna(), "(missing)").to_numpy()[valid]
    result = alkire_foster(
        scores, household_weights(catalog, config, scores), config.af_poverty_cutoff if k is None else k,
        cutoff=config.af_deprivation_cutoff, groups=groups,
        indicator_names=[i.id for i in catalog.indicators],
        dimension_of=[i.dimension for i in catalog.indicators],
    )
    return result, int((~valid).sum())
