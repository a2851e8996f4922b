"""The hardship model: household features -> verified tier, with calibrated, ordered class probabilities.

Three different learners, each fitted with balanced class weights so the rare severe tiers count as
much as the common ones, are averaged:
- an ordinal (proportional-odds) logistic regression: one score per household and one threshold per cut
  between adjacent tiers, fitted as a logistic regression on the households stacked once per cut
  ("tier > k"); features are imputed (with missing-value flags), scaled and expanded into quadratic
  splines, so the score can bend (schooling matters more at the low end) while the tiers stay ordered;
- multinomial gradient boosting (takes NaN as it is, learns interactions): scikit-learn's
  HistGradientBoosting (`booster="sklearn"`, the default) or LightGBM (`booster="lightgbm"`, imported only
  then, so that serving a scikit-learn model does not load it), which adds row and column subsampling per tree (`row_fraction`,
  `feature_fraction`) and grows trees by leaves (`leaves`);
- a random forest (median-imputed).
The average q of the balanced members estimates P(k) / prior_k up to a constant, so P(k) is
proportional to q_k * prior_k (the prior shift). Those probabilities are then calibrated: the same blend
is fitted on `calibration_cv` folds of the training households, and a multinomial logistic regression
on the log-probabilities of the held-out households (without weights) maps them to the real shares.
Decisions: `predict` takes argmax_k P(k) / prior_k ** prior_correction on the prior-shifted blend, before
calibration: 1 (default) is the Bayes rule for balanced accuracy, i.e. argmax q (chosen on inner folds of
the Costa Rica survey, docs/learning.md); 0 is plain argmax. So `predict` can differ from the argmax of
the calibrated `predict_proba`.
A tier absent from training gets probability 0. Features with no observed value in training are left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.feature_selection import VarianceThreshold
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import SplineTransformer, StandardScaler
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from models.tiers import tier_ranks

EPS = 1e-6
THRESHOLD_SCALE = 10.0


class HardshipModel(ClassifierMixin, BaseEstimator):
    """Ordinal, calibrated classifier of hardship tiers (scikit-learn estimator).

    tier_order: labels from least to most severe; None orders the labels found in `y` by sorting.

    Fitted attributes: `classes_` (tiers, least severe first), `class_prior_`, `observed_` (the features
    with an observed value in training; the members see those only), `members_` (the fitted members, or
    the one tier present), `calibrator_` (None without calibration), `reference_` (training means, for
    `explain`). `predict_proba` is `calibrate(blend(members_, X[:, observed_]))` and `predict` is
    `decide(...)` of the same blend: serving (models.compiled) calls these with stand-in members.
    """

    def __init__(self, tier_order=None, learning_rate=0.03, boosting_rounds=300, max_depth=3,
                 min_samples_leaf=40, l2_regularization=1.0, linear_c=0.02, spline_knots=4, forest_trees=300,
                 forest_min_samples_leaf=3, forest_max_features=0.3, calibration_cv=3, prior_correction=1.0,
                 booster="sklearn", leaves=7, feature_fraction=0.3, row_fraction=0.8, random_state=0):
        self.tier_order = tier_order
        self.learning_rate = learning_rate
        self.boosting_rounds = boosting_rounds
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.linear_c = linear_c
        self.spline_knots = spline_knots
        self.forest_trees = forest_trees
        self.forest_min_samples_leaf = forest_min_samples_leaf
        self.forest_max_features = forest_max_features
        self.calibration_cv = calibration_cv
        self.prior_correction = prior_correction
        self.booster = booster
        self.leaves = leaves
        self.feature_fraction = feature_fraction
        self.row_fraction = row_fraction
        self.random_state = random_state

    def _members(self):
        return [
            OrdinalLogistic(C=self.linear_c, spline_knots=self.spline_knots),
            self._boosting(),
            make_pipeline(SimpleImputer(strategy="median"), RandomForestClassifier(
                n_estimators=self.forest_trees, min_samples_leaf=self.forest_min_samples_leaf,
                max_features=self.forest_max_features, class_weight="balanced_subsample", n_jobs=1,
                random_state=self.random_state)),
        ]

    def _boosting(self):
        """The gradient-boosting member. Shared: learning_rate, boosting_rounds, min_samples_leaf,
        l2_regularization. sklearn only: max_depth. LightGBM only: leaves (leaves per tree, depth not
        limited), feature_fraction (columns per tree), row_fraction (rows per tree)."""
        if self.booster == "sklearn":
            return HistGradientBoostingClassifier(
                learning_rate=self.learning_rate, max_iter=self.boosting_rounds, max_depth=self.max_depth,
                min_samples_leaf=self.min_samples_leaf, l2_regularization=self.l2_regularization,
                class_weight="balanced", random_state=self.random_state)
        if self.booster == "lightgbm":
            from lightgbm import LGBMClassifier

            return LGBMClassifier(
                learning_rate=self.learning_rate, n_estimators=self.boosting_rounds, num_leaves=self.leaves,
                min_child_samples=self.min_samples_leaf, reg_lambda=self.l2_regularization,
                colsample_bytree=self.feature_fraction, subsample=self.row_fraction,
                subsample_freq=1 if self.row_fraction < 1 else 0, class_weight="balanced", n_jobs=1, verbose=-1,
                random_state=self.random_state)
        raise ValueError(f"booster must be 'sklearn' or 'lightgbm', not {self.booster!r} / "
                         f"booster 须为 'sklearn' 或 'lightgbm'")

    def fit(self, X, y, sample_weight=None):
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", reset=True)
        check_classification_targets(y)
        self.classes_, rank, _ = tier_ranks(y, self.tier_order)
        weight = np.ones(len(rank)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        counts = np.bincount(rank, weights=weight, minlength=len(self.classes_))
        self.class_prior_ = counts / counts.sum()
        self.observed_ = ~np.isnan(X).all(axis=0)
        # the training mean of every feature, what `explain` compares with (0 for a column that is all NaN)
        self.reference_ = np.zeros(X.shape[1])
        self.reference_[self.observed_] = np.nanmean(X[:, self.observed_], axis=0)
        X = X[:, self.observed_]
        self.members_ = self._fit_blend(X, rank, weight)
        self.calibrator_ = self._fit_calibrator(X, rank, weight)
        return self

    def _fit_blend(self, X, rank, weight):
        present = np.unique(rank)
        if len(present) == 1:
            return [int(present[0])]
        return [m.fit(X, rank, **_weight_kw(m, weight)) for m in self._members()]

    def blend(self, members, X) -> np.ndarray:
        """Prior-shifted average of the members' balanced probabilities, one column per tier, before
        calibration: what `decide` and `calibrate` take. `X` holds the observed features only
        (`X[:, observed_]`); `members` are `members_` or stand-ins with the same `classes_` and
        `predict_proba` (models.compiled lays them out as arrays)."""
        n_tiers = len(self.classes_)
        if isinstance(members[0], int):
            proba = np.zeros((len(X), n_tiers))
            proba[:, members[0]] = 1.0
            return proba
        balanced = np.zeros((len(X), n_tiers))
        for member in members:
            balanced[:, member.classes_] += member.predict_proba(X) / len(members)
        shifted = balanced * self.class_prior_
        return shifted / np.clip(shifted.sum(axis=1, keepdims=True), EPS, None)

    def _fit_calibrator(self, X, rank, weight):
        """Multinomial logistic regression on held-out log-probabilities; None when the folds cannot be
        made (fewer than 2 households of some present tier per fold) or calibration_cv < 2."""
        present = np.unique(rank)
        if self.calibration_cv < 2 or len(present) < 2 or np.bincount(rank)[present].min() < self.calibration_cv:
            return None
        held_out = np.zeros((len(X), len(self.classes_)))
        folds = StratifiedKFold(n_splits=self.calibration_cv, shuffle=True, random_state=self.random_state)
        for fit_rows, test_rows in folds.split(X, rank):
            members = self._fit_blend(X[fit_rows], rank[fit_rows], weight[fit_rows])
            held_out[test_rows] = self.blend(members, X[test_rows])
        calibrator = LogisticRegression(C=1.0, max_iter=2000)
        return calibrator.fit(self._log(held_out, present), rank, sample_weight=weight)

    @staticmethod
    def _log(proba, present):
        return np.log(np.clip(proba[:, present], EPS, 1.0))

    def _shifted_proba(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, ensure_all_finite="allow-nan", reset=False)
        return self.blend(self.members_, X[:, self.observed_])

    def calibrate(self, shifted: np.ndarray, calibrator=None) -> np.ndarray:
        """Calibrated probabilities from the output of `blend`; `calibrator`: `calibrator_` (when None) or a
        stand-in with the same `classes_` and `predict_proba` (models.compiled)."""
        calibrator = calibrator or self.calibrator_
        if calibrator is None:
            return shifted
        present = calibrator.classes_
        proba = np.zeros_like(shifted)
        proba[:, present] = calibrator.predict_proba(self._log(shifted, present))
        return proba

    def decide(self, shifted: np.ndarray) -> np.ndarray:
        """The decided tiers from the output of `blend` (see the module's docstring)."""
        prior = np.clip(self.class_prior_, EPS, None) ** self.prior_correction
        return self.classes_[np.argmax(shifted / prior, axis=1)]

    def predict_proba(self, X) -> np.ndarray:
        return self.calibrate(self._shifted_proba(X))

    def predict(self, X):
        return self.decide(self._shifted_proba(X))

    def predict_with_proba(self, X) -> tuple[np.ndarray, np.ndarray]:
        """(`predict(X)`, `predict_proba(X)`) from one pass of the members, for serving."""
        shifted = self._shifted_proba(X)
        return self.decide(shifted), self.calibrate(shifted)

    def cumulative_proba(self, X) -> np.ndarray:
        """(n, K-1) array of P(tier > k), non-increasing in k."""
        proba = self.predict_proba(X)
        return np.clip(1.0 - np.cumsum(proba, axis=1)[:, :-1], 0.0, 1.0)

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


class OrdinalLogistic(ClassifierMixin, BaseEstimator):
    """Proportional-odds logistic regression with balanced class weights: P(rank > k) = sigmoid(s - theta_k)
    with one score s for every cut. Fitted as a logistic regression on the rows stacked once per cut,
    each copy carrying a column for its cut (so each cut gets its own threshold). Features are
    mean-imputed with missing-value flags, scaled and expanded into quadratic splines.

    Fitted attributes: `classes_`, `prepare_` (the feature pipeline), `logistic_` (its coefficients: one per
    prepared feature, then one per cut, scaled by THRESHOLD_SCALE)."""

    def __init__(self, C=0.02, spline_knots=4):
        self.C = C
        self.spline_knots = spline_knots

    def fit(self, X, y, sample_weight=None):
        self.classes_ = np.unique(y)
        rank = np.searchsorted(self.classes_, y)
        steps = [SimpleImputer(add_indicator=True), VarianceThreshold(), StandardScaler()]
        if self.spline_knots >= 2:
            steps.append(SplineTransformer(n_knots=self.spline_knots, degree=2))
        self.prepare_ = make_pipeline(*steps).fit(X)
        cuts = len(self.classes_) - 1
        counts = np.bincount(rank, minlength=len(self.classes_))
        weight = (len(rank) / (len(self.classes_) * counts))[rank]
        if sample_weight is not None:
            weight = weight * np.asarray(sample_weight, dtype=float)
        stacked = self._stacked(self.prepare_.transform(X), cuts)
        above = np.concatenate([(rank > k).astype(int) for k in range(cuts)])
        self.logistic_ = LogisticRegression(C=self.C, fit_intercept=False, max_iter=5000)
        self.logistic_.fit(stacked, above, sample_weight=np.tile(weight, cuts))
        return self

    @staticmethod
    def _stacked(Z, cuts):
        """The rows once per cut, with one column per cut that is THRESHOLD_SCALE on its own copy: the
        thresholds are the coefficients of those columns, large so the penalty barely touches them."""
        flags = np.repeat(np.eye(cuts) * THRESHOLD_SCALE, len(Z), axis=0)
        return np.hstack([np.tile(Z, (cuts, 1)), flags])

    def predict_proba(self, X):
        check_is_fitted(self)
        Z = self.prepare_.transform(X)
        cuts = len(self.classes_) - 1
        return ordinal_proba(self.logistic_.predict_proba(self._stacked(Z, cuts))[:, 1].reshape(cuts, len(Z)).T)

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def ordinal_proba(above: np.ndarray) -> np.ndarray:
    """Tier probabilities from P(rank > k) per cut (n, K-1), made non-increasing over the cuts."""
    above = np.minimum.accumulate(above, axis=1)
    n = len(above)
    proba = np.column_stack([np.ones(n), above]) - np.column_stack([above, np.zeros(n)])
    proba = np.clip(proba, 0.0, 1.0)
    return proba / proba.sum(axis=1, keepdims=True)


def _weight_kw(member, weight) -> dict:
    """Sample weights in the form each member takes (a Pipeline routes them to its last step)."""
    if hasattr(member, "steps"):
        return {f"{member.steps[-1][0]}__sample_weight": weight}
    return {"sample_weight": weight}


def _named(X: np.ndarray, names: list[str], model: HardshipModel):
    """Keep feature names when the model was fitted with them (avoids sklearn's name warning)."""
    return pd.DataFrame(X, columns=names) if hasattr(model, "feature_names_in_") else X
