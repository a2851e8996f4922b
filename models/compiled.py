"""A fitted `HardshipModel` laid out for serving one household at a time.

For one row, scikit-learn's own prediction is nearly all overhead: every step checks and converts its
input, the forest predicts tree by tree through joblib, and the spline step calls scipy once per
feature. The default model took about 33 ms a household that way. Here each member's fitted
parameters are laid out as flat arrays once, when the model is loaded, and compiled loops (numba) walk
every tree and evaluate every spline basis. The probabilities and the decision are those of
`HardshipModel.predict_with_proba` (the tests compare them on thousands of households); a member or
step of a kind not laid out here is called as scikit-learn's own.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.feature_selection import VarianceThreshold
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import SplineTransformer, StandardScaler
from sklearn.utils.validation import check_is_fitted

from models.hardship import THRESHOLD_SCALE, HardshipModel, OrdinalLogistic, ordinal_proba

LEAF = -1
# one record per node, so that a step down a tree reads one place in memory (the forest's nodes run to
# megabytes, far beyond the processor's caches)
NODE = np.dtype([("threshold", np.float64), ("feature", np.int32), ("left", np.int32), ("right", np.int32),
                 ("missing_left", np.bool_)], align=True)


@njit(cache=True, nogil=True)
def add_leaf_values(X, roots, nodes, values, offsets, out) -> None:
    """For every row i and every tree t in order: find the row's leaf (x <= threshold goes left, NaN as
    `missing_left` says), and add the leaf's `values` into out[i, offsets[t]:], in tree order as
    scikit-learn sums them."""
    width = values.shape[1]
    for i in range(X.shape[0]):
        for t in range(len(roots)):
            node = roots[t]
            while nodes[node].left != LEAF:
                split = nodes[node]
                x = X[i, split.feature]
                if x != x:
                    node = split.left if split.missing_left else split.right
                elif x <= split.threshold:
                    node = split.left
                else:
                    node = split.right
            for c in range(width):
                out[i, offsets[t] + c] += values[node, c]


@njit(cache=True, nogil=True)
def spline_basis(Z, knots, degree, out) -> None:
    """B-spline basis of every column of Z (its knots a row of `knots`) into out, `len(knots[j]) - degree
    - 1` columns per column of Z, with constant extrapolation beyond the base interval (as
    SplineTransformer's `extrapolation="constant"`). De Boor's recurrence, in the order scipy evaluates it."""
    count = knots.shape[1] - degree - 1
    h = np.empty(degree + 1)
    hh = np.empty(degree + 1)
    for i in range(Z.shape[0]):
        for j in range(Z.shape[1]):
            t = knots[j]
            x = min(max(Z[i, j], t[degree]), t[count])
            span = degree
            while span < count - 1 and t[span + 1] <= x:
                span += 1
            h[0] = 1.0
            for step in range(1, degree + 1):
                hh[:step] = h[:step]
                h[0] = 0.0
                for n in range(1, step + 1):
                    xb, xa = t[span + n], t[span + n - step]
                    if xb == xa:
                        h[n] = 0.0
                        continue
                    w = hh[n - 1] / (xb - xa)
                    h[n - 1] += w * (xb - x)
                    h[n] = w * (x - xa)
            first = j * count
            out[i, first:first + count] = 0.0
            for n in range(degree + 1):
                out[i, first + span - degree + n] = h[n]


class Trees:
    """Trees laid end to end: per node its feature, threshold, children (-1 at a leaf), where NaN goes, and
    the leaf's values; tree t adds its leaf values from output column offsets[t] on."""

    def __init__(self, trees, offsets, width: int, float32: bool = False):
        """`trees`: (feature, threshold, left, right, missing_left, leaf, value) per tree, children numbered
        within the tree; `float32`: compare inputs cast to float32 first, as scikit-learn's decision trees do."""
        sizes = [len(tree[0]) for tree in trees]
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self.roots = starts
        self.nodes = np.empty(sum(sizes), dtype=NODE)
        for start, (feature, threshold, left, right, missing_left, leaf, _) in zip(starts, trees):
            nodes = self.nodes[start:start + len(feature)]
            nodes["threshold"], nodes["feature"], nodes["missing_left"] = threshold, feature, missing_left
            nodes["left"] = np.where(leaf, LEAF, left.astype(np.int64) + start)
            nodes["right"] = np.where(leaf, LEAF, right.astype(np.int64) + start)
        self.values = np.ascontiguousarray(np.concatenate([tree[6] for tree in trees]).reshape(-1, width),
                                           dtype=np.float64)
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self.float32 = float32

    def add_to(self, X: np.ndarray, out: np.ndarray) -> np.ndarray:
        if self.float32:
            X = X.astype(np.float32).astype(np.float64)
        add_leaf_values(np.ascontiguousarray(X), self.roots, self.nodes, self.values, self.offsets, out)
        return out


class ForestMember:
    """A RandomForestClassifier after its (optional) steps: the mean of its trees' leaf fractions."""

    def __init__(self, steps, forest: RandomForestClassifier):
        self.steps, self.classes_ = steps, forest.classes_
        self.n_trees = len(forest.estimators_)
        width = forest.n_classes_
        self.trees = Trees([(e.tree_.feature, e.tree_.threshold, e.tree_.children_left, e.tree_.children_right,
                             e.tree_.missing_go_to_left, e.tree_.children_left == LEAF, e.tree_.value[:, 0, :width])
                            for e in forest.estimators_], np.zeros(self.n_trees), width, float32=True)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        X = transformed(self.steps, X)
        return self.trees.add_to(X, np.zeros((len(X), len(self.classes_)))) / self.n_trees


# The node fields of a HistGradientBoostingClassifier's trees that the layout reads.
BOOSTING_NODE_FIELDS = ("feature_idx", "num_threshold", "left", "right", "missing_go_to_left", "is_leaf", "value",
                        "is_categorical")


def boosting_trees(booster: HistGradientBoostingClassifier) -> tuple[np.ndarray, list[list[np.ndarray]]] | None:
    """(baseline raw prediction, node records per iteration and class) of a fitted
    HistGradientBoostingClassifier, or None when this scikit-learn keeps them elsewhere.

    scikit-learn has no public accessor for these: they are its private `_baseline_prediction` and
    `_predictors` (TreePredictor.nodes), read here alone, for the versions pyproject.toml allows;
    tests/models/test_compiled.py fails when they move. A booster whose trees cannot be read is called as
    scikit-learn's own."""
    baseline, predictors = getattr(booster, "_baseline_prediction", None), getattr(booster, "_predictors", None)
    if baseline is None or predictors is None:
        return None
    nodes = [[getattr(predictor, "nodes", None) for predictor in iteration] for iteration in predictors]
    for iteration in nodes:
        for records in iteration:
            names = getattr(getattr(records, "dtype", None), "names", None) or ()
            if not set(BOOSTING_NODE_FIELDS) <= set(names):
                return None
    return np.asarray(baseline, dtype=np.float64), nodes


class BoostingMember:
    """A HistGradientBoostingClassifier on numeric features: baseline plus the leaves of every iteration's
    trees, through the loss's link (softmax, or the logistic for two classes)."""

    def __init__(self, booster: HistGradientBoostingClassifier):
        self.classes_ = booster.classes_
        baseline, iterations = boosting_trees(booster)
        self.baseline = baseline.reshape(1, -1)
        trees, offsets = [], []
        for iteration in iterations:
            for k, nodes in enumerate(iteration):
                trees.append((nodes["feature_idx"], nodes["num_threshold"], nodes["left"], nodes["right"],
                              nodes["missing_go_to_left"], nodes["is_leaf"].astype(bool), nodes["value"]))
                offsets.append(k)
        self.trees = Trees(trees, offsets, 1) if trees else None

    @staticmethod
    def supports(booster) -> bool:
        if not isinstance(booster, HistGradientBoostingClassifier) or booster.is_categorical_ is not None:
            return False
        found = boosting_trees(booster)
        return found is not None and not any(nodes["is_categorical"].any() for iteration in found[1]
                                             for nodes in iteration)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        raw = np.repeat(self.baseline, len(X), axis=0)
        if self.trees is not None:
            self.trees.add_to(X, raw)
        return class_proba(raw)


class OrdinalMember:
    """An OrdinalLogistic: its prepared features, one score, and a logistic per cut."""

    def __init__(self, member: OrdinalLogistic):
        self.classes_ = member.classes_
        self.steps = [laid_out_step(step) for _, step in member.prepare_.steps]
        coef = member.logistic_.coef_[0]
        cuts = len(member.classes_) - 1
        self.weights, self.thresholds = coef[:-cuts], THRESHOLD_SCALE * coef[-cuts:]
        self.intercept = member.logistic_.intercept_[0] if member.logistic_.fit_intercept else 0.0

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        score = transformed(self.steps, X) @ self.weights + self.intercept
        above = 1.0 / (1.0 + np.exp(-(score[:, None] + self.thresholds)))
        return ordinal_proba(above)


class LogisticMember:
    """A fitted LogisticRegression's probabilities from its coefficients."""

    def __init__(self, logistic: LogisticRegression):
        self.classes_, self.coef, self.intercept = logistic.classes_, logistic.coef_, logistic.intercept_

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return class_proba(X @ self.coef.T + self.intercept)


class Splines:
    """SplineTransformer with constant extrapolation and every basis column kept."""

    def __init__(self, splines: SplineTransformer):
        self.degree = splines.degree
        self.knots = np.ascontiguousarray(np.vstack([spline.t for spline in splines.bsplines_]), dtype=np.float64)

    @staticmethod
    def supports(splines) -> bool:
        return (isinstance(splines, SplineTransformer) and splines.extrapolation == "constant"
                and splines.include_bias and not splines.sparse_output
                and len({len(spline.t) for spline in splines.bsplines_}) == 1)

    def transform(self, Z: np.ndarray) -> np.ndarray:
        out = np.empty((len(Z), Z.shape[1] * (self.knots.shape[1] - self.degree - 1)))
        spline_basis(np.ascontiguousarray(Z, dtype=np.float64), self.knots, self.degree, out)
        return out


class Imputer:
    """SimpleImputer of NaN with its fitted statistics, with or without the missing-value flags."""

    def __init__(self, imputer: SimpleImputer):
        self.fill = imputer.statistics_
        self.kept = ~np.isnan(self.fill)
        self.flagged = imputer.indicator_.features_ if imputer.add_indicator else None

    @staticmethod
    def supports(imputer) -> bool:
        return (isinstance(imputer, SimpleImputer) and isinstance(imputer.missing_values, float)
                and np.isnan(imputer.missing_values) and imputer.statistics_.dtype.kind == "f")

    def transform(self, X: np.ndarray) -> np.ndarray:
        missing = np.isnan(X)
        filled = np.where(missing, self.fill, X)[:, self.kept]
        if self.flagged is None:
            return filled
        return np.hstack([filled, missing[:, self.flagged].astype(np.float64)])


class Selection:
    def __init__(self, selector: VarianceThreshold):
        self.kept = selector.get_support()

    def transform(self, X: np.ndarray) -> np.ndarray:
        return X[:, self.kept]


class Scaling:
    def __init__(self, scaler: StandardScaler):
        self.mean = scaler.mean_ if scaler.with_mean else 0.0
        self.scale = scaler.scale_ if scaler.with_std else 1.0

    def transform(self, X: np.ndarray) -> np.ndarray:
        return (X - self.mean) / self.scale


def laid_out_step(step):
    """The step laid out as arrays, or the step itself when it is of another kind or setting."""
    if Imputer.supports(step):
        return Imputer(step)
    if isinstance(step, VarianceThreshold):
        return Selection(step)
    if isinstance(step, StandardScaler):
        return Scaling(step)
    if Splines.supports(step):
        return Splines(step)
    return step


def transformed(steps, X: np.ndarray) -> np.ndarray:
    for step in steps:
        X = step.transform(X)
    return X


def laid_out_member(member):
    """A blend member laid out as arrays, or the member itself when it is of a kind not laid out here."""
    if isinstance(member, OrdinalLogistic):
        return OrdinalMember(member)
    if BoostingMember.supports(member):
        return BoostingMember(member)
    if isinstance(member, Pipeline) and isinstance(member.steps[-1][1], RandomForestClassifier):
        forest = member.steps[-1][1]
        if forest.n_outputs_ == 1:
            return ForestMember([laid_out_step(step) for _, step in member.steps[:-1]], forest)
    if isinstance(member, RandomForestClassifier) and member.n_outputs_ == 1:
        return ForestMember([], member)
    return member


def class_proba(raw: np.ndarray) -> np.ndarray:
    """Probabilities from raw scores: the softmax over the columns, or for one column (two classes) the
    logistic of the second class."""
    if raw.shape[1] == 1:
        positive = 1.0 / (1.0 + np.exp(-raw[:, 0]))
        return np.column_stack([1.0 - positive, positive])
    exp = np.exp(raw - raw.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


class ServedModel:
    """`HardshipModel.predict_with_proba` from the laid-out members; `predict_with_proba(X)` takes an
    array with the model's feature columns in `feature_names` order."""

    def __init__(self, model: HardshipModel):
        check_is_fitted(model)
        self.model = model
        self.feature_names = list(getattr(model, "feature_names_in_", []))
        self.members = [laid_out_member(member) for member in model.members_]
        calibrator = model.calibrator_
        self.calibrator = LogisticMember(calibrator) if isinstance(calibrator, LogisticRegression) else calibrator
        self.predict_with_proba(np.full((1, model.n_features_in_), np.nan))  # compiled now, not on a request

    def predict_with_proba(self, X) -> tuple[np.ndarray, np.ndarray]:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.model.n_features_in_:
            raise ValueError(f"expected {self.model.n_features_in_} feature columns, got shape {X.shape} / "
                             f"特征列数应为 {self.model.n_features_in_}")
        shifted = self.model.blend(self.members, X[:, self.model.observed_])
        return self.model.decide(shifted), self.model.calibrate(shifted, self.calibrator)
