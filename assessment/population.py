"""Population measures over many households: the Alkire-Foster counts with the catalog's weights."""

from __future__ import annotations

import numpy as np
import pandas as pd

from assessment.alkire_foster import AFResult, af_from_sums, af_sums, alkire_foster
from assessment.batch import household_weights, prepare_frame
from assessment.catalog import Catalog, ScoringConfig
from assessment.rules import resolve_config

__all__ = ["household_weights", "poverty_from_sums", "poverty_measures", "poverty_sums"]

# The row of `poverty_sums` that counts the households left out for invalid answers.
INVALID = "invalid"


def _population(catalog: Catalog, frame: pd.DataFrame, config: ScoringConfig | None, group_column: str | None):
    """(configuration, deprivation scores and nested weights of the valid households, their group labels,
    validity of every row)."""
    config = resolve_config(catalog, config)
    prepared = prepare_frame(catalog, frame, id_column=None, passthrough=())
    valid = prepared.valid
    scores = prepared.scores[valid]
    groups = None
    if group_column is not None:
        groups = frame[group_column].astype(object).where(frame[group_column].notna(), "(missing)").to_numpy()[valid]
    return config, scores, household_weights(catalog, config, scores), groups, valid


def _indicators(catalog: Catalog) -> dict:
    return {"indicator_names": [i.id for i in catalog.indicators]}


def poverty_measures(catalog: Catalog, frame: pd.DataFrame, *, config: ScoringConfig | None = None,
                     k: float | None = None, group_column: str | None = None) -> tuple[AFResult, int]:
    """Alkire-Foster H, A, M0 and their breakdowns over the valid households of `frame`, with the
    configuration's deprivation cut-off z and poverty cut-off k (or the `k` given), each household's
    indicators weighted as in its `af_score` (`household_weights`).
    Returns the result and the number of rows left out because their answers failed validation."""
    config, scores, weights, groups, valid = _population(catalog, frame, config, group_column)
    result = alkire_foster(
        scores, weights, config.af_poverty_cutoff if k is None else k,
        cutoff=config.af_deprivation_cutoff, groups=groups, **_indicators(catalog),
        dimension_of=[i.dimension for i in catalog.indicators],
    )
    return result, int((~valid).sum())


def poverty_sums(catalog: Catalog, frame: pd.DataFrame, *, config: ScoringConfig | None = None,
                 k: float | None = None, group_column: str | None = None) -> pd.DataFrame:
    """The additive figures behind `poverty_measures` for the households of `frame` (`af_sums` rows, and a
    row of kind "invalid" counting the rows left out): the sums of the parts of a data set, added up on
    kind and key, give the measures of the whole through `poverty_from_sums`."""
    config, scores, weights, groups, valid = _population(catalog, frame, config, group_column)
    sums = af_sums(scores, weights, config.af_poverty_cutoff if k is None else k,
                   cutoff=config.af_deprivation_cutoff, groups=groups, **_indicators(catalog))
    invalid = pd.DataFrame({"kind": [INVALID], "key": [""], "households": [int((~valid).sum())]})
    return pd.concat([sums, invalid], ignore_index=True).fillna({c: 0 for c in sums.columns[2:]}).astype(
        sums.dtypes.to_dict())


def poverty_from_sums(catalog: Catalog, sums: pd.DataFrame, *, config: ScoringConfig | None = None,
                      k: float | None = None) -> tuple[AFResult, int]:
    """`poverty_measures` from `poverty_sums` rows (of one frame, or added up over the parts of a data set)."""
    config = resolve_config(catalog, config)
    result = af_from_sums(sums[sums["kind"] != INVALID], config.af_poverty_cutoff if k is None else k,
                          **_indicators(catalog), dimension_of=[i.dimension for i in catalog.indicators])
    return result, int(np.sum(sums.loc[sums["kind"] == INVALID, "households"]))
