"""The hardship model: deprivation scores -> verified tier, with calibrated, ordered class probabilities.

Ordinal labels: one binary model per cut between adjacent tiers estimates P(tier > k) (Frank & Hall's
cumulative decomposition). Unlike a plain multi-class model, every binary model sees all households
and learns "more severe than k", so neighbouring tiers share evidence; the cumulative probabilities are
made non-increasing in k and differenced into class probabilities.
Each binary model averages a regularised logistic regression (missing answers imputed, with missing
indicators) and shallow gradient boosting (takes NaN as it is, learns interactions the linear index
cannot); on the Costa Rica survey the blend ranks better than either alone. Both use balanced class
weights so rare severe tiers are learned; the blend is wrapped in CalibratedClassifierCV, whose
calibrator is fitted on held-out folds without weights, so probabilities match the real shares.
Features with no observed value in training are left out (they carry nothing).
Decisions: `predict` takes argmax_k P(k) / prior_k ** prior_correction, which trades a little accuracy
for recall of the rare tiers (0 = plain argmax, 1 = Bayes rule for balanced accuracy).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier, VotingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from models.tiers import tier_ranks


class HardshipModel(ClassifierMixin, BaseEstimator):
    """Ordinal, calibrated classifier of hardship tiers (scikit-learn estimator).

    tier_order: labels from least to most severe; None orders the labels found in `y` by sorting.
    """

    def __init__(self, tier_order=None, learning_rate=0.03, boosting_rounds=200, max_depth=3,
                 min_samples_leaf=40, l2_regularization=1.0, linear_c=0.1, calibration="isotonic",
                 calibration_cv=3, prior_correction=0.5, random_state=0):
        self.tier_order = tier_order
        self.learning_rate = learning_rate
        self.boosting_rounds = boosting_rounds
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.linear_c = linear_c
        self.calibration = calibration
        self.calibration_cv = calibration_cv
        self.prior_correction = prior_correction
        self.random_state = random_state

    def _blend(self):
        linear = ImputedLogistic(C=self.linear_c)
        boosted = HistGradientBoostingClassifier(
            learning_rate=self.learning_rate, max_iter=self.boosting_rounds, max_depth=self.max_depth,
            min_samples_leaf=self.min_samples_leaf, l2_regularization=self.l2_regularization,
            class_weight="balanced", random_state=self.random_state)
        return VotingClassifier([("linear", linear), ("boosted", boosted)], voting="soft")

    def fit(self, X, y, sample_weight=None):
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", reset=True)
        check_classification_targets(y)
        self.classes_, rank, _ = tier_ranks(y, self.tier_order)
        counts = np.bincount(rank, minlength=len(self.classes_))
        self.class_prior_ = counts / counts.sum()
        self.observed_ = ~np.isnan(X).all(axis=0)
        self.cut_models_ = []
        for k in range(len(self.classes_) - 1):
            above = (rank > k).astype(int)
            self.cut_models_.append(self._fit_cut(X[:, self.observed_], above, sample_weight))
        with warnings.catch_warnings():   # a column that is all NaN has no mean: its reference is 0
            warnings.simplefilter("ignore", RuntimeWarning)
            self.reference_ = np.nan_to_num(np.nanmean(X, axis=0))
        return self

    def _fit_cut(self, X, above, sample_weight):
        """P(tier > k): calibrated when both sides have enough rows for the calibration folds,
        a constant when one side is empty (a tier absent from training)."""
        smaller = min(above.sum(), len(above) - above.sum())
        if smaller == 0:
            return float(above.mean())
        if smaller < max(self.calibration_cv, 2):
            return self._blend().fit(X, above, sample_weight=sample_weight)
        calibrated = CalibratedClassifierCV(self._blend(), method=self.calibration, cv=self.calibration_cv)
        return calibrated.fit(X, above, sample_weight=sample_weight)

    def cumulative_proba(self, X) -> np.ndarray:
        """(n, K-1) array of P(tier > k), non-increasing in k."""
        check_is_fitted(self)
        X = validate_data(self, X, ensure_all_finite="allow-nan", reset=False)
        X = X[:, self.observed_]
        columns = [np.full(X.shape[0], m) if isinstance(m, float) else m.predict_proba(X)[:, 1]
                   for m in self.cut_models_]
        return np.minimum.accumulate(np.column_stack(columns), axis=1)

    def predict_proba(self, X) -> np.ndarray:
        above = self.cumulative_proba(X)
        n = above.shape[0]
        upper = np.column_stack([np.ones(n), above])
        lower = np.column_stack([above, np.zeros(n)])
        proba = np.clip(upper - lower, 0.0, 1.0)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X):
        proba = self.predict_proba(X)
        prior = np.clip(self.class_prior_, 1e-6, None) ** self.prior_correction
        return self.classes_[np.argmax(proba / prior, axis=1)]

    def expected_severity(self, X) -> np.ndarray:
        """E[tier rank] = sum_k P(tier > k): 0 (least severe) .. K-1."""
        return self.cumulative_proba(X).sum(axis=1)

    def explain(self, X) -> pd.DataFrame:
        """Per household and feature: how much the feature's value moves the expected severity (in tier
        steps) compared with the training average of that feature (occlusion). Positive pushes the
        household towards the more severe tiers, negative away from them."""
        check_is_fitted(self)
        names = list(getattr(self, "feature_names_in_", [f"x{j}" for j in range(self.n_features_in_)]))
        X = validate_data(self, X, ensure_all_finite="allow-nan", reset=False)
        n, m = X.shape
        occluded = np.repeat(X, m, axis=0)
        columns = np.tile(np.arange(m), n)
        occluded[np.arange(n * m), columns] = self.reference_[columns]
        base = self.cumulative_proba(_named(X, names, self)).sum(axis=1)
        moved = self.cumulative_proba(_named(occluded, names, self)).sum(axis=1).reshape(n, m)
        return pd.DataFrame(base[:, None] - moved, columns=names)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


class ImputedLogistic(ClassifierMixin, BaseEstimator):
    """Mean imputation with missing indicators, standard scaling and a balanced logistic regression,
    as one estimator that takes sample weights (a Pipeline inside VotingClassifier cannot)."""

    def __init__(self, C=0.1):
        self.C = C

    def fit(self, X, y, sample_weight=None):
        self.imputer_ = SimpleImputer(add_indicator=True).fit(X)
        self.scaler_ = StandardScaler().fit(self.imputer_.transform(X))
        self.logistic_ = LogisticRegression(C=self.C, class_weight="balanced", max_iter=2000)
        self.logistic_.fit(self._prepared(X), y, sample_weight=sample_weight)
        self.classes_ = self.logistic_.classes_
        return self

    def _prepared(self, X):
        return self.scaler_.transform(self.imputer_.transform(X))

    def predict_proba(self, X):
        check_is_fitted(self)
        return self.logistic_.predict_proba(self._prepared(X))

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def _named(X: np.ndarray, names: list[str], model: HardshipModel):
    """Keep feature names when the model was fitted with them (avoids sklearn's name warning)."""
    return pd.DataFrame(X, columns=names) if hasattr(model, "feature_names_in_") else X
