"""Metrics shared by the learned model, the index with learned weights and the plain index.

Tiers are ranked 0 (least severe) .. K-1 (most severe) by the catalog's tier order. The "severe group"
is the `n_severe` most severe tiers together (two by default: for the Costa Rica survey, the poor).
The budget metrics serve the top `budget` share of all households by score (ties broken by input order)
and ask how many of the severe group that reaches; per group, the same global selection is judged
within each group, which is what matters for fairness.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import f1_score, roc_auc_score

MIN_GROUP_SIZE = 30


def tier_ranks(labels: Sequence, tier_order: Sequence[str]) -> np.ndarray:
    """Tier ids -> 0..K-1 in the catalog's order; an unknown tier is an error naming it."""
    position = {tier: k for k, tier in enumerate(tier_order)}
    unknown = sorted({str(v) for v in labels if v not in position})
    if unknown:
        raise ValueError(f"unknown tier(s) {unknown}; expected one of {list(tier_order)} / 未知分档 {unknown}")
    return np.array([position[v] for v in labels], dtype=int)


def macro_f1(true_rank: np.ndarray, predicted_rank: np.ndarray, n_tiers: int) -> float:
    """Mean F1 over every tier (a tier never predicted nor present counts as 0)."""
    return float(f1_score(true_rank, predicted_rank, labels=list(range(n_tiers)), average="macro",
                          zero_division=0.0))


def severe_auc(is_severe: np.ndarray, score: np.ndarray) -> float:
    """AUC of `score` for the severe group; NaN when only one side is present."""
    is_severe = np.asarray(is_severe, dtype=bool)
    if is_severe.all() or not is_severe.any():
        return math.nan
    return float(roc_auc_score(is_severe, score))


def budget_selection(score: np.ndarray, budget: float) -> np.ndarray:
    """Mask of the ceil(budget x n) highest scores; on equal scores the earlier row goes first."""
    if not 0 < budget <= 1:
        raise ValueError(f"budget must be in (0, 1], got {budget} / 预算比例须在 (0, 1] 内")
    score = np.asarray(score, dtype=float)
    served = math.ceil(budget * len(score))
    order = np.argsort(-score, kind="stable")
    selected = np.zeros(len(score), dtype=bool)
    selected[order[:served]] = True
    return selected


def budget_precision_recall(is_severe: np.ndarray, selected: np.ndarray) -> tuple[float, float]:
    """(precision, recall) of the severe group among the served households."""
    is_severe = np.asarray(is_severe, dtype=bool)
    hits = int((is_severe & selected).sum())
    precision = hits / selected.sum() if selected.any() else math.nan
    recall = hits / is_severe.sum() if is_severe.any() else math.nan
    return float(precision), float(recall)


def expected_calibration_error(is_severe: np.ndarray, probability: np.ndarray, n_bins: int = 10) -> float:
    """Share-weighted mean |observed rate - mean probability| over equal-width probability bins."""
    outcome = np.asarray(is_severe, dtype=float)
    probability = np.asarray(probability, dtype=float)
    bins = np.minimum((probability * n_bins).astype(int), n_bins - 1)
    error = 0.0
    for b in np.unique(bins):
        inside = bins == b
        error += inside.mean() * abs(outcome[inside].mean() - probability[inside].mean())
    return float(error)


def spearman(true_rank: np.ndarray, score: np.ndarray) -> float:
    if np.ptp(true_rank) == 0 or np.ptp(score) == 0:
        return math.nan
    return float(spearmanr(true_rank, score).statistic)


def cutoffs_matching_shares(index: np.ndarray, true_rank: np.ndarray, n_tiers: int) -> list[float]:
    """Tier cut-offs on the index (first 0) that give each tier its share of the labelled households:
    fitted on training folds, they map an index to tiers without looking at the test fold."""
    index = np.asarray(index, dtype=float)
    shares = np.bincount(true_rank, minlength=n_tiers) / len(true_rank)
    quantiles = np.cumsum(shares)[:-1]
    cutoffs = [0.0]
    for q in quantiles:
        cutoff = float(np.quantile(index, q)) if len(index) else 0.0
        cutoffs.append(round(max(cutoff, cutoffs[-1] + 0.01), 2))
    return [min(c, 100.0 - 0.01 * (n_tiers - 1 - k)) for k, c in enumerate(cutoffs)]


def tiers_from_index(index: np.ndarray, cutoffs: Sequence[float]) -> np.ndarray:
    """Rank of the highest tier whose cut-off the index reaches."""
    return np.searchsorted(np.asarray(cutoffs, dtype=float), np.asarray(index, dtype=float), side="right") - 1


def metrics(true_rank: np.ndarray, n_tiers: int, *, score: np.ndarray, predicted_rank: np.ndarray | None = None,
            p_severe: np.ndarray | None = None, selected: np.ndarray | None = None, n_severe: int = 2,
            budget: float = 0.2) -> dict[str, float]:
    """Every metric for one set of households; `selected` overrides the budget selection (per group)."""
    true_rank = np.asarray(true_rank, dtype=int)
    is_severe = true_rank >= n_tiers - n_severe
    selected = budget_selection(score, budget) if selected is None else selected
    precision, recall = budget_precision_recall(is_severe, selected)
    result = {"auc_severe": severe_auc(is_severe, score), "budget_precision": precision,
              "budget_recall": recall, "spearman": spearman(true_rank, score), "households": float(len(true_rank))}
    if predicted_rank is not None:
        result["macro_f1"] = macro_f1(true_rank, predicted_rank, n_tiers)
    if p_severe is not None:
        result["ece_severe"] = expected_calibration_error(is_severe, p_severe)
    return result


def evaluate(true_rank: np.ndarray, n_tiers: int, *, score: np.ndarray, predicted_rank: np.ndarray | None = None,
             p_severe: np.ndarray | None = None, groups: pd.DataFrame | None = None, n_severe: int = 2,
             budget: float = 0.2, min_group_size: int = MIN_GROUP_SIZE) -> dict:
    """{"overall": metrics, "groups": {column: {value: metrics}}, "largest_gap": {metric: {...}}}.

    Gaps compare groups of at least `min_group_size` households where the metric is defined."""
    true_rank = np.asarray(true_rank, dtype=int)
    score = np.asarray(score, dtype=float)
    selected = budget_selection(score, budget)
    common = dict(n_severe=n_severe, budget=budget)
    overall = metrics(true_rank, n_tiers, score=score, predicted_rank=predicted_rank, p_severe=p_severe,
                      selected=selected, **common)
    by_group: dict[str, dict[str, dict[str, float]]] = {}
    gaps: dict[str, dict] = {}
    for column in ([] if groups is None else groups.columns):
        values = groups[column].astype(str).to_numpy()
        by_group[column] = {}
        for value in sorted(set(values)):
            rows = values == value
            by_group[column][value] = metrics(
                true_rank[rows], n_tiers, score=score[rows],
                predicted_rank=None if predicted_rank is None else np.asarray(predicted_rank)[rows],
                p_severe=None if p_severe is None else np.asarray(p_severe)[rows], selected=selected[rows],
                **common)
        for metric in overall:
            if metric == "households":
                continue
            found = {v: m[metric] for v, m in by_group[column].items()
                     if m["households"] >= min_group_size and not math.isnan(m[metric])}
            if len(found) < 2:
                continue
            low, high = min(found, key=found.get), max(found, key=found.get)
            gap = found[high] - found[low]
            if metric not in gaps or gap > gaps[metric]["gap"]:
                gaps[metric] = {"gap": gap, "group": column, "lowest": low, "highest": high}
    return {"overall": overall, "groups": by_group, "largest_gap": gaps}


def flat_metrics(report: dict, prefix: str) -> dict[str, float]:
    """An `evaluate` report as MLflow-style metric names: `PREFIX.METRIC`, `PREFIX.COLUMN.VALUE.METRIC`,
    `PREFIX.gap.METRIC`."""
    flat = {f"{prefix}.{k}": v for k, v in report["overall"].items()}
    for column, values in report["groups"].items():
        for value, figures in values.items():
            flat.update({f"{prefix}.{column}.{value}.{k}": v for k, v in figures.items()})
    flat.update({f"{prefix}.gap.{k}": g["gap"] for k, g in report["largest_gap"].items()})
    return flat
