"""Weight sensitivity: how much the tiers and the ranking move when one weight is scaled.

The answers are read once; the compiled formula then scores every household under each changed weight
in one pass over them (`assessment.batch.reweighted`), recomputing only what the weight changes. The
figures are those a full `assess_frame` under the changed configuration gives (the same sums in the same
order); the tests check this.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from assessment.batch import WeightChange, prepare_frame, reweighted
from assessment.catalog import Catalog, ScoringConfig
from assessment.errors import ConfigError, clipped, shown
from assessment.rules import resolve_config

COLUMNS = ["kind", "id", "dimension", "weight", "changed_weight", "share_changing_tier", "share_tier_up",
           "share_tier_down", "spearman", "mean_abs_index_change", "max_abs_index_change"]


def _check_factor(factor: float) -> float:
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not math.isfinite(factor) or factor <= 0:
        raise ConfigError("factor", f"must be a positive number, got {shown(factor)}",
                          f"必须是正数,实际为 {shown(factor)}", code="bad_value")
    return float(factor)


def _positions(catalog: Catalog, indicators: Sequence[str] | None) -> list[int]:
    if indicators is None:
        return list(range(len(catalog.indicators)))
    position = catalog.indicator_position
    for ind_id in indicators:
        if ind_id not in position:
            raise ConfigError(f"indicators.{clipped(str(ind_id))}", f"unknown indicator id {shown(ind_id)}",
                              f"未知的指标 id {shown(ind_id)}", code="unknown_indicator")
    return [position[i] for i in dict.fromkeys(indicators)]


def weight_changes(catalog: Catalog, indicators: Sequence[str] | None = None) -> list[WeightChange]:
    """The configuration as it is, then each indicator's weight (or those named), then each dimension's."""
    return [WeightChange(), *(WeightChange(indicator=j) for j in _positions(catalog, indicators)),
            *(WeightChange(dimension=k) for k in range(len(catalog.dimensions)))]


def sensitivity_table(catalog: Catalog, config: ScoringConfig, factor: float, effects, *, households: int,
                      invalid: int) -> pd.DataFrame:
    """The table of `weight_sensitivity` from (change, effect) pairs, an effect being the figures of COLUMNS
    from share_changing_tier on, however they were gathered (one frame, or a data set in parts)."""
    rows = []
    for change, effect in effects:
        if change.indicator >= 0:
            ind = catalog.indicators[change.indicator]
            kind, item_id, dimension, weight = "indicator", ind.id, ind.dimension, config.indicator_weights[ind.id]
        else:
            dim = catalog.dimensions[change.dimension]
            kind, item_id, dimension, weight = "dimension", dim.id, dim.id, config.dimension_weights[dim.id]
        rows.append({"kind": kind, "id": item_id, "dimension": dimension, "weight": weight,
                     "changed_weight": weight * factor, **effect})
    table = pd.DataFrame(rows, columns=COLUMNS)
    table.attrs.update({"households": households, "invalid": invalid, "factor": factor,
                        "config_version": config.version})
    return table


def check_sensitivity_arguments(catalog: Catalog, config: ScoringConfig | None, factor: float,
                                indicators: Sequence[str] | None) -> tuple[ScoringConfig, float, list[WeightChange]]:
    """(configuration, factor, changes) checked as `weight_sensitivity` checks them."""
    return resolve_config(catalog, config), _check_factor(factor), weight_changes(catalog, indicators)


def weight_sensitivity(catalog: Catalog, frame: pd.DataFrame, *, config: ScoringConfig | None = None,
                       factor: float = 1.5, indicators: Sequence[str] | None = None) -> pd.DataFrame:
    """For each indicator (or those named) and each dimension: its weight times `factor`, and the effect.

    One row per changed weight: kind (indicator/dimension), id, dimension, weight, changed_weight,
    share_changing_tier / share_tier_up / share_tier_down (of the valid households), spearman (rank
    correlation of the changed index with the base index; NaN when either is constant) and the mean
    and largest absolute index change. `attrs` holds the counts of households compared and invalid.
    """
    config, factor, changes = check_sensitivity_arguments(catalog, config, factor, indicators)
    prepared = prepare_frame(catalog, frame, passthrough=())
    valid = prepared.valid
    results = reweighted(prepared, config, changes, factor)
    _, base_index, base_tier = next(results)
    from scipy.stats import rankdata  # imported here: it takes most of a second, and only this needs it

    base_ranks = rankdata(base_index)

    def effect(index: np.ndarray, tier: np.ndarray) -> dict:
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

    effects = ((change, effect(index, tier)) for change, index, tier in results)
    return sensitivity_table(catalog, config, factor, effects, households=int(valid.sum()), invalid=int((~valid).sum()))
