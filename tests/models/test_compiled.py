"""The model laid out for serving gives scikit-learn's own predictions, and its spline basis the worked
values of quadratic B-splines."""

import copy
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sklearn
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.requirements import Requirement
from sklearn.ensemble import HistGradientBoostingClassifier

from indicators import default_catalog
from indicators.synth import generate_households, load_spec
from models.compiled import (BoostingMember, ForestMember, OrdinalMember, ServedModel, boosting_trees, laid_out_member,
                             spline_basis)
from models.features import household_features
from models.hardship import HardshipModel

TIERS = ["none", "light", "moderate", "severe"]
# smaller than the defaults, with every kind of member: ordinal splines, boosting, forest, calibration
PARAMS = {"boosting_rounds": 40, "forest_trees": 40, "calibration_cv": 2}


@pytest.fixture(scope="module")
def households():
    catalog = default_catalog()
    frame = generate_households(catalog, load_spec(), 800, seed=21)
    features = household_features(catalog, frame.drop(columns=["verified_tier"]))
    return features, frame["verified_tier"].astype(str).to_numpy()


def shifted_rows(features: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """The households plus copies with answers blanked and values beyond the training range (where the
    splines extrapolate and the trees still split)."""
    rng = np.random.default_rng(seed)
    blanked = features.mask(rng.random(features.shape) < 0.3)
    beyond = features * rng.choice([-1.0, 1.5, 3.0], size=features.shape)
    return pd.concat([features, blanked, beyond], ignore_index=True)


def assert_same_predictions(model: HardshipModel, X: pd.DataFrame) -> None:
    served = ServedModel(model)
    expected_labels, expected_proba = model.predict_with_proba(X)
    labels, proba = served.predict_with_proba(X.to_numpy())
    assert (labels == expected_labels).all()
    np.testing.assert_allclose(proba, expected_proba, rtol=0, atol=1e-12)
    for row in range(0, len(X), 97):  # one household at a time, as the service asks
        label, one = served.predict_with_proba(X.to_numpy()[row:row + 1])
        assert label[0] == expected_labels[row]
        np.testing.assert_allclose(one[0], expected_proba[row], rtol=0, atol=1e-12)


def test_every_member_is_laid_out_and_predicts_as_scikit_learn(households):
    features, labels = households
    model = HardshipModel(tier_order=TIERS, **PARAMS).fit(features, labels)
    served = ServedModel(model)
    assert [type(m) for m in served.members] == [OrdinalMember, BoostingMember, ForestMember]
    X = shifted_rows(features).to_numpy()[:, model.observed_]
    for member, laid_out in zip(model.members_, served.members):
        expected = member.predict_proba(X)
        if isinstance(laid_out, OrdinalMember):  # a dot product in another order: the last bits may differ
            np.testing.assert_allclose(laid_out.predict_proba(X), expected, rtol=0, atol=1e-13)
        else:  # the same comparisons and the same sums in the same order
            assert np.array_equal(laid_out.predict_proba(X), expected)
    assert_same_predictions(model, shifted_rows(features))


def test_two_tiers_use_the_logistic_links(households):
    features, labels = households
    two = np.where(np.isin(labels, TIERS[:2]), "none", "severe")
    model = HardshipModel(tier_order=TIERS, **PARAMS).fit(features, two)
    assert model.members_[1].n_trees_per_iteration_ == 1
    assert_same_predictions(model, shifted_rows(features, seed=1))


def test_without_calibration(households):
    features, labels = households
    assert_same_predictions(HardshipModel(tier_order=TIERS, **{**PARAMS, "calibration_cv": 0}).fit(features, labels),
                            shifted_rows(features, seed=2))


def test_a_member_of_another_kind_is_called_as_it_is(households):
    features, labels = households
    model = HardshipModel(tier_order=TIERS, booster="lightgbm", **PARAMS).fit(features, labels)
    served = ServedModel(model)
    assert served.members[1] is model.members_[1]
    assert_same_predictions(model, shifted_rows(features, seed=3))


def test_scikit_learn_is_of_a_version_whose_boosting_trees_are_read(households):
    """The layout reads HistGradientBoosting's trees from scikit-learn's private attributes: the installed
    scikit-learn must lie in the range pyproject.toml pins, and keep them where they are read. When a new
    scikit-learn moves them this test fails (serving still works, through scikit-learn's own predict)."""
    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text(encoding="utf-8"))
    pinned = next(Requirement(r) for r in project["project"]["dependencies"] if r.startswith("scikit-learn"))
    assert pinned.specifier.contains(sklearn.__version__), (sklearn.__version__, str(pinned.specifier))
    features, labels = households
    X = features.to_numpy()
    booster = HistGradientBoostingClassifier(max_iter=8, random_state=0).fit(X, labels)
    found = boosting_trees(booster)
    assert found is not None, f"scikit-learn {sklearn.__version__} keeps HistGradientBoosting's trees elsewhere"
    baseline, iterations = found
    assert baseline.shape == (1, len(TIERS))
    assert [len(iteration) for iteration in iterations] == [len(TIERS)] * booster.n_iter_
    laid_out = laid_out_member(booster)
    assert isinstance(laid_out, BoostingMember)
    assert np.array_equal(laid_out.predict_proba(X), booster.predict_proba(X))


def test_a_booster_whose_trees_moved_is_called_as_scikit_learns_own(households):
    features, labels = households
    booster = HistGradientBoostingClassifier(max_iter=8, random_state=0).fit(features.to_numpy(), labels)
    moved = copy.deepcopy(booster)
    del moved._predictors  # as a scikit-learn that keeps them elsewhere would have it
    assert boosting_trees(moved) is None
    assert laid_out_member(moved) is moved


def test_wrong_number_of_columns_is_a_clear_error(households):
    features, labels = households
    served = ServedModel(HardshipModel(tier_order=TIERS, **PARAMS).fit(features, labels))
    with pytest.raises(ValueError, match=f"expected {features.shape[1]} feature columns"):
        served.predict_with_proba(features.to_numpy()[:, :3])


def basis(x: float, knots: list[float], degree: int = 2) -> np.ndarray:
    out = np.empty((1, len(knots) - degree - 1))
    spline_basis(np.array([[x]]), np.array([knots]), degree, out)
    return out[0]


# quadratic B-splines on the uniform knots 0..7 (base interval [2, 5], as SplineTransformer extends 4 knots
# by 2 on each side): inside an interval at fraction f the three non-zero functions are (1-f)^2/2,
# (1 + 2f - 2f^2)/2 and f^2/2; beyond the base interval the values at its ends
UNIFORM = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]


@pytest.mark.parametrize(("x", "expected"), [
    (2.0, [0.5, 0.5, 0.0, 0.0, 0.0]),
    (2.5, [0.125, 0.75, 0.125, 0.0, 0.0]),
    (3.25, [0.0, 0.28125, 0.6875, 0.03125, 0.0]),
    (5.0, [0.0, 0.0, 0.0, 0.5, 0.5]),
    (-4.0, [0.5, 0.5, 0.0, 0.0, 0.0]),
    (9.0, [0.0, 0.0, 0.0, 0.5, 0.5]),
])
def test_quadratic_basis_worked_values(x, expected):
    np.testing.assert_allclose(basis(x, UNIFORM), expected, rtol=0, atol=1e-15)


@settings(max_examples=200, deadline=None)
@given(st.floats(-10, 10), st.lists(st.floats(0.01, 3), min_size=7, max_size=7), st.integers(1, 3))
def test_basis_is_a_partition_of_unity(x, gaps, degree):
    knots = list(np.cumsum([-5.0, *gaps]))
    values = basis(x, knots, degree)
    assert (values >= -1e-15).all()
    assert values.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.count_nonzero(values) <= degree + 1
