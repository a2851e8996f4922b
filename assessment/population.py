"""Population measures over many households: the Alkire-Foster counts with the catalog's weights."""

from __future__ import annotations

import pandas as pd

from assessment.alkire_foster import AFResult, alkire_foster
from assessment.batch import household_weights, prepare_frame
from assessment.catalog import Catalog, ScoringConfig
from assessment.rules import resolve_config

__all__ = ["household_weights", "poverty_measures"]


def poverty_measures(catalog: Catalog, frame: pd.DataFrame, *, config: ScoringConfig | None = None,
                     k: float | None = None, group_column: str | None = None) -> tuple[AFResult, int]:
    """Alkire-Foster H, A, M0 and their breakdowns over the valid households of `frame`, with the
    configuration's deprivation cut-off z and poverty cut-off k (or the `k` given), each household's
    indicators weighted as in its `af_score` (`household_weights`).
    Returns the result and the number of rows left out because their answers failed validation."""
    config = resolve_config(catalog, config)
    prepared = prepare_frame(catalog, frame, id_column=None, passthrough=())
    valid = prepared.valid
    scores = prepared.scores[valid]
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
