"""Weight sensitivity: how much the tiers and the ranking move when one weight is scaled.

The deprivation matrix is computed once; each indicator's or dimension's weight change then only
re-weights the per-dimension sums (one column per indicator, the dimension weights for a dimension),
so a whole catalog is analysed for about the cost of scoring it twice. The figures are those a full
`assess_frame` under the changed configuration gives (indices rounded the same way, tiers raised by
critical indicators the same way); the tests check this.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from assessment.batch import assess_frame, deprivation_matrix
from assessment.catalog import Catalog, ScoringConfig
from assessment.errors import ConfigError
from assessment.scoring import AF_TOLERANCE, INDEX_DECIMALS, resolve_config

COLUMNS = ["kind", "id", "dimension", "weight", "changed_weight", "share_changing_tier", "share_tier_up",
           "share_tier_down", "spearman", "mean_abs_index_change", "max_abs_index_change"]


class _Reweighting:
    """The index and tier of every household from per-dimension sums, re-weightable one weight at a time.

    Mirrors `assessment.batch`: a dimension's score is the weighted mean of its answered deprivations
    (for Alkire-Foster, of its answered deprivations at or above the deprivation cut-off), and the
    index the weighted mean over the dimensions with an answer.
    """

    def __init__(self, catalog: Catalog, config: ScoringConfig, scores: np.ndarray):
        answered = ~np.isnan(scores)
        filled = np.where(answered, scores, 0.0)
        self.alkire_foster = config.method == "alkire_foster"
        if self.alkire_foster:
            filled = (answered & (filled >= config.af_deprivation_cutoff)).astype(float)
        dimensions = [d.id for d in catalog.dimensions]
        self.dimension_of = np.array([dimensions.index(i.dimension) for i in catalog.indicators])
        self.weights = np.array([config.indicator_weights[i.id] for i in catalog.indicators])
        self.dimension_weights = np.array([config.dimension_weights[d] for d in dimensions])
        by_dimension = np.zeros((len(self.weights), len(dimensions)))
        by_dimension[np.arange(len(self.weights)), self.dimension_of] = self.weights
        self.filled, self.answered = filled, answered.astype(float)
        self.weighted = filled @ by_dimension
        self.answered_weight = self.answered @ by_dimension
        self.defined = self.answered_weight > 0
        self.dimension_scores = self._dimension_scores(self.weighted, self.answered_weight, self.defined)
        self.cutoffs = np.array([config.tier_cutoffs[t] for t in catalog.tier_ids])
        self.poverty_cutoff = config.af_poverty_cutoff - AF_TOLERANCE
        tier_of = {t: p for p, t in enumerate(catalog.tier_ids)}
        self.tier_floor = np.zeros(len(scores), dtype=np.int64)
        for j, ind in enumerate(catalog.indicators):
            if ind.critical is not None:
                hit = answered[:, j] & (np.where(answered[:, j], scores[:, j], 0.0) >= ind.critical.at_least_score)
                self.tier_floor[hit] = np.maximum(self.tier_floor[hit], tier_of[ind.critical.tier])

    @staticmethod
    def _dimension_scores(weighted, answered_weight, defined) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(defined, weighted / answered_weight, 0.0)

    def index(self, dimension_scores: np.ndarray, dimension_weights: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = (dimension_scores @ dimension_weights) / (self.defined @ dimension_weights)
        if self.alkire_foster:
            mean = np.where(mean >= self.poverty_cutoff, mean, 0.0)
        return np.round(100.0 * mean, INDEX_DECIMALS)

    def tier(self, index: np.ndarray) -> np.ndarray:
        return np.maximum(np.searchsorted(self.cutoffs, index, side="right") - 1, self.tier_floor)

    def base(self) -> np.ndarray:
        return self.index(self.dimension_scores, self.dimension_weights)

    def scale_indicator(self, j: int, factor: float) -> np.ndarray:
        k = self.dimension_of[j]
        extra = (factor - 1.0) * self.weights[j]
        column = self._dimension_scores(self.weighted[:, k] + extra * self.filled[:, j],
                                        self.answered_weight[:, k] + extra * self.answered[:, j], self.defined[:, k])
        saved = self.dimension_scores[:, k].copy()
        self.dimension_scores[:, k] = column
        try:
            return self.index(self.dimension_scores, self.dimension_weights)
        finally:
            self.dimension_scores[:, k] = saved

    def scale_dimension(self, k: int, factor: float) -> np.ndarray:
        weights = self.dimension_weights.copy()
        weights[k] *= factor
        return self.index(self.dimension_scores, weights)


def _check_factor(factor: float) -> float:
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not math.isfinite(factor) or factor <= 0:
        raise ConfigError("factor", f"must be a positive number, got {factor!r}", f"必须是正数,实际为 {factor!r}",
                          code="bad_value")
    return float(factor)


def _positions(catalog: Catalog, indicators: Sequence[str] | None) -> list[int]:
    if indicators is None:
        return list(range(len(catalog.indicators)))
    position = {ind.id: j for j, ind in enumerate(catalog.indicators)}
    for ind_id in indicators:
        if ind_id not in position:
            raise ConfigError(f"indicators.{ind_id}", f"unknown indicator id {ind_id!r}", f"未知的指标 id {ind_id!r}",
                              code="unknown_indicator")
    return [position[i] for i in dict.fromkeys(indicators)]


def weight_sensitivity(catalog: Catalog, frame: pd.DataFrame, *, config: ScoringConfig | None = None,
                       factor: float = 1.5, indicators: Sequence[str] | None = None) -> pd.DataFrame:
    """For each indicator (or those named) and each dimension: its weight times `factor`, and the effect.

    One row per changed weight: kind (indicator/dimension), id, dimension, weight, changed_weight,
    share_changing_tier / share_tier_up / share_tier_down (of the valid households), spearman (rank
    correlation of the changed index with the base index; NaN when either is constant) and the mean
    and largest absolute index change. `attrs` holds the counts of households compared and invalid.
    """
    config = resolve_config(catalog, config)
    factor = _check_factor(factor)
    positions = _positions(catalog, indicators)
    valid = assess_frame(catalog, frame, config=config, passthrough=()).valid
    scores, _ = deprivation_matrix(catalog, frame)
    model = _Reweighting(catalog, config, scores[valid])
    del scores
    base_index = model.base()
    base_tier = model.tier(base_index)
    from scipy.stats import rankdata  # imported here: it takes most of a second, and only this needs it

    base_ranks = rankdata(base_index)

    def effect(index: np.ndarray) -> dict:
        tier = model.tier(index)
        change = np.abs(index - base_index)
        if len(index) < 2:
            spearman = math.nan
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                spearman = float(np.corrcoef(base_ranks, rankdata(index))[0, 1])
        empty = len(index) == 0
        return {
            "share_changing_tier": math.nan if empty else float(np.mean(tier != base_tier)),
            "share_tier_up": math.nan if empty else float(np.mean(tier > base_tier)),
            "share_tier_down": math.nan if empty else float(np.mean(tier < base_tier)),
            "spearman": spearman,
            "mean_abs_index_change": math.nan if empty else float(change.mean()),
            "max_abs_index_change": math.nan if empty else float(change.max()),
        }

    rows = []
    for j in positions:
        ind = catalog.indicators[j]
        weight = config.indicator_weights[ind.id]
        rows.append({"kind": "indicator", "id": ind.id, "dimension": ind.dimension, "weight": weight,
                     "changed_weight": weight * factor, **effect(model.scale_indicator(j, factor))})
    for k, dim in enumerate(catalog.dimensions):
        weight = config.dimension_weights[dim.id]
        rows.append({"kind": "dimension", "id": dim.id, "dimension": dim.id, "weight": weight,
                     "changed_weight": weight * factor, **effect(model.scale_dimension(k, factor))})
    table = pd.DataFrame(rows, columns=COLUMNS)
    table.attrs.update({"households": int(valid.sum()), "invalid": int((~valid).sum()), "factor": factor,
                        "config_version": config.version})
    return table
