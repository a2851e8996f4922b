"""Learned indicator weights: non-negative weights fitted to verified tiers, offered as a draft config.

The fit is an ordinal logistic model with one shared score per household, s = sum_i w_i d_i, and one
threshold per cut between adjacent tiers: the "all-threshold" loss sums, over every cut k, the logistic
loss of "tier > k" given s - theta_k (Rennie & Srebro). Weights are bounded at zero (L-BFGS-B), so each
one says how much a deprivation raises hardship, never that it lowers it. Households are weighted so
that every tier counts equally.
Missing answers: the index is a mean over the answered questions, i.e. a missing deprivation counts as
the household's own weighted mean of its answered ones. The learner imputes exactly that, with the
weights of the previous round (`imputation_rounds`; the first round imputes with equal weights, which
on synthetic households recovered hidden weights better than re-imputing with fitted ones).
Households whose tier was forced by a critical indicator say nothing about the weights: callers leave
them out (`models.features.forced_by_critical`).

Mapping back to the catalog's two-level convention: the index is
    100 * sum_dim W_dim * (sum_{i in dim} v_i d_i / sum_{i in dim} v_i) / sum_dim W_dim.
Setting W_dim = sum of the learned weights of its indicators and v_i = the learned weight (kept as
proportions within the dimension) makes this exactly 100 * sum_i w_i d_i / sum_i w_i, the learned
score on a 0-100 scale, whenever every question is answered. The config stores weights rescaled to a
mean of 1 (per dimension for indicators, over dimensions for dimensions); the index does not change.
The core needs positive weights, so a weight fitted at zero is raised to `min_weight_share` of the mean.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import yaml
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.base import BaseEstimator
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from assessment import Catalog, ScoringConfig, check_config
from models.tiers import tier_ranks


class WeightLearner(BaseEstimator):
    """Non-negative indicator weights and tier thresholds from verified tiers (scikit-learn estimator).

    tier_order: labels from least to most severe; None sorts the labels found in `y`.
    alpha: L2 penalty on the weights (per household); balanced: weight tiers equally (off by default: on
    synthetic households the plain likelihood recovered the hidden weights better).
    """

    def __init__(self, tier_order=None, alpha=1e-5, balanced=False, min_weight_share=0.01, imputation_rounds=1):
        self.tier_order = tier_order
        self.imputation_rounds = imputation_rounds
        self.alpha = alpha
        self.balanced = balanced
        self.min_weight_share = min_weight_share

    def fit(self, X, y, sample_weight=None):
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", reset=True)
        check_classification_targets(y)
        self.classes_, rank, n_found = tier_ranks(y, self.tier_order)
        counts = np.bincount(rank, minlength=len(self.classes_)).astype(float)
        household_weight = (counts.sum() / (n_found * counts[rank])) if self.balanced else np.ones(len(rank))
        if sample_weight is not None:
            household_weight = household_weight * np.asarray(sample_weight, dtype=float)
        household_weight /= household_weight.sum()
        cuts = len(self.classes_) - 1
        sign = np.where(rank[:, None] > np.arange(cuts)[None, :], 1.0, -1.0)   # +1 when tier > k
        m = X.shape[1]

        def loss(params, filled):
            w, theta = params[:m], params[m:]
            margin = sign * ((filled @ w)[:, None] - theta[None, :])
            value = household_weight @ np.log1p(np.exp(-np.abs(margin))) + household_weight @ np.maximum(-margin, 0)
            slope = -sign * expit(-margin) * household_weight[:, None]          # d loss / d (s - theta)
            grad_w = filled.T @ slope.sum(axis=1) + self.alpha * w
            grad_theta = -slope.sum(axis=0)
            return value.sum() + 0.5 * self.alpha * w @ w, np.concatenate([grad_w, grad_theta])

        params = np.concatenate([np.full(m, 1.0), np.linspace(0.2, 0.8, cuts) * m * 0.3])
        bounds = [(0.0, None)] * m + [(None, None)] * cuts
        self.n_iter_ = 0
        for _ in range(max(self.imputation_rounds, 1)):
            filled = self._imputed(X, params[:m])   # imputed with the previous round's weights, then fixed
            solution = minimize(loss, params, args=(filled,), jac=True, method="L-BFGS-B", bounds=bounds,
                                options={"maxiter": 2000})
            params = solution.x
            self.n_iter_ += solution.nit
        self.weights_ = params[:m]
        self.thresholds_ = np.sort(params[m:])
        return self

    @staticmethod
    def _imputed(X: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Missing deprivations replaced by the row's weighted mean of its answered ones (0 if none)."""
        answered = ~np.isnan(X)
        filled = np.where(answered, X, 0.0)
        total = answered @ weights
        mean = np.divide(filled @ weights, total, out=np.zeros(len(X)), where=total > 0)
        return np.where(answered, X, mean[:, None])

    def decision_function(self, X) -> np.ndarray:
        """The learned hardship score s = sum_i w_i d_i."""
        check_is_fitted(self)
        X = validate_data(self, X, ensure_all_finite="allow-nan", reset=False)
        return self._imputed(X, self.weights_) @ self.weights_

    def index(self, X) -> np.ndarray:
        """The learned score on the index's 0-100 scale (what the draft config gives a full answer set)."""
        total = self.weights_.sum()
        return 100.0 * self.decision_function(X) / total if total > 0 else np.zeros(len(X))

    def index_cutoffs(self) -> list[float]:
        """The fitted thresholds as tier cut-offs on the 0-100 index (first 0, strictly ascending)."""
        check_is_fitted(self)
        total = self.weights_.sum()
        cutoffs = [0.0]
        for theta in self.thresholds_:
            value = 100.0 * theta / total if total > 0 else 0.0
            cutoffs.append(round(min(max(value, cutoffs[-1] + 0.01), 100.0), 2))
        return cutoffs

    def to_config(self, catalog: Catalog, *, config_id: str = "learned", version: str = "draft",
                  tier_cutoffs: list[float] | None = None) -> ScoringConfig:
        """A draft ScoringConfig for `catalog` with the learned weights (see the module's docstring)."""
        check_is_fitted(self)
        names = list(getattr(self, "feature_names_in_", []))
        expected = [indicator.id for indicator in catalog.indicators]
        if names != expected:
            missing = sorted(set(expected) - set(names))
            extra = sorted(set(names) - set(expected))
            raise ValueError(f"weights were fitted on other features than catalog {catalog.id!r}'s indicators "
                             f"(missing {missing}, unknown {extra}) / 权重的特征与目录指标不一致")
        weight = dict(zip(names, np.maximum(self.weights_, self.min_weight_share * max(self.weights_.mean(), 1e-12))))
        by_dimension = {d.id: [i.id for i in catalog.indicators if i.dimension == d.id] for d in catalog.dimensions}
        dimension_total = {d: sum(weight[i] for i in ids) for d, ids in by_dimension.items()}
        dimension_mean = np.mean(list(dimension_total.values()))
        indicator_weights = {}
        for ids in by_dimension.values():
            mean = np.mean([weight[i] for i in ids])
            indicator_weights.update({i: round(float(weight[i] / mean), 6) for i in ids})
        cutoffs = tier_cutoffs if tier_cutoffs is not None else self.index_cutoffs()
        default = catalog.default_config()
        config = ScoringConfig(
            id=config_id, version=version, catalog_id=catalog.id, catalog_version=catalog.version,
            method="weighted_mean", indicator_weights=indicator_weights,
            dimension_weights={d: round(float(t / dimension_mean), 6) for d, t in dimension_total.items()},
            tier_cutoffs=dict(zip(catalog.tier_ids, (float(c) for c in cutoffs))),
            af_deprivation_cutoff=default.af_deprivation_cutoff, af_poverty_cutoff=default.af_poverty_cutoff,
            completeness_threshold=default.completeness_threshold)
        check_config(catalog, config)
        return config


def flat_weights(catalog: Catalog, config: ScoringConfig) -> dict[str, float]:
    """Each indicator's share of the index when every question is answered: its dimension's share
    times its share within the dimension (sums to 1). Comparable across configs and with learned weights."""
    total_dimension = sum(config.dimension_weights.values())
    shares = {}
    for dimension in catalog.dimensions:
        ids = [i.id for i in catalog.indicators if i.dimension == dimension.id]
        inside = sum(config.indicator_weights[i] for i in ids)
        for i in ids:
            shares[i] = config.dimension_weights[dimension.id] / total_dimension * config.indicator_weights[i] / inside
    return shares


def write_config(config: ScoringConfig, path: Path | str) -> Path:
    """Write a draft config as YAML (.yaml/.yml) or JSON (anything else) for an analyst to preview."""
    path = Path(path)
    data = config.model_dump(mode="json")
    if path.suffix in (".yaml", ".yml"):
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    else:
        path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def read_config(path: Path | str) -> ScoringConfig:
    """Read a config written by `write_config` (YAML or JSON)."""
    text = Path(path).read_text(encoding="utf-8")
    return ScoringConfig.model_validate(yaml.safe_load(text))
