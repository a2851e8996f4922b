"""The hardship model: scikit-learn's estimator checks and its ordinal, calibrated behaviour."""

import numpy as np
import pandas as pd
import pytest
from lightgbm import LGBMClassifier
from sklearn.utils.estimator_checks import parametrize_with_checks

from models.hardship import HardshipModel

TIERS = ["none", "light", "moderate", "severe"]


def small_model(**params):
    return HardshipModel(boosting_rounds=5, calibration_cv=2, **params)


NOT_APPLICABLE = {
    "check_sample_weight_equivalence_on_dense_data":
        "calibration folds and histogram binning are not invariant to repeating rows",
    "check_classifiers_train":
        "predict decides on the uncalibrated balanced blend, so it may differ from argmax predict_proba",
}


CONTRACT_MODELS = [small_model(), small_model(booster="lightgbm", min_samples_leaf=2)]


@parametrize_with_checks(CONTRACT_MODELS)
def test_scikit_learn_contract(estimator, check):
    name = getattr(check, "func", check).__name__
    if name in NOT_APPLICABLE:
        pytest.skip(NOT_APPLICABLE[name])
    check(estimator)


def ordinal_households(n=600, seed=0):
    """Deprivation in two indicators drives the tier; a third is noise; a few answers are missing."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.random((n, 3)), columns=["income", "housing", "noise"])
    latent = 2.5 * X["income"] + 1.5 * X["housing"] + rng.normal(0, 0.3, n)
    ranks = np.digitize(latent, np.quantile(latent, [0.55, 0.75, 0.9]))
    X.loc[rng.random(n) < 0.05, "housing"] = np.nan
    return X, np.array(TIERS)[ranks]


def test_probabilities_are_ordered_and_sum_to_one():
    X, y = ordinal_households()
    model = small_model(tier_order=TIERS).fit(X, y)
    assert list(model.classes_) == TIERS
    proba = model.predict_proba(X)
    assert np.allclose(proba.sum(axis=1), 1.0) and (proba >= 0).all()
    assert (np.diff(model.cumulative_proba(X), axis=1) <= 1e-12).all()
    # more deprived households get a higher expected tier
    assert np.corrcoef(model.expected_severity(X), X["income"])[0, 1] > 0.5


def test_one_pass_for_serving_gives_predict_and_predict_proba():
    X, y = ordinal_households()
    model = small_model(tier_order=TIERS).fit(X, y)
    predicted, proba = model.predict_with_proba(X.iloc[:50])
    assert (predicted == model.predict(X.iloc[:50])).all()
    assert np.array_equal(proba, model.predict_proba(X.iloc[:50]))


def test_rare_tiers_are_predicted_with_the_prior_correction():
    X, y = ordinal_households()
    model = small_model(tier_order=TIERS, prior_correction=1.0).fit(X, y)
    predicted = model.predict(X)
    assert (predicted == "severe").sum() >= 0.5 * (y == "severe").sum()


def test_explanations_point_to_the_driving_indicator():
    X, y = ordinal_households()
    model = small_model(tier_order=TIERS).fit(X, y)
    worst = pd.DataFrame([[0.95, 0.9, 0.5]], columns=X.columns)
    best = pd.DataFrame([[0.02, 0.05, 0.5]], columns=X.columns)
    assert model.explain(worst).loc[0, "income"] > 0.3      # pushes towards severe
    assert model.explain(best).loc[0, "income"] < 0          # pushes away from it
    assert abs(model.explain(worst).loc[0, "noise"]) < model.explain(worst).loc[0, "income"]


def test_labels_outside_the_tier_order_are_refused():
    X, y = ordinal_households(n=60)
    with pytest.raises(ValueError, match="tier_order"):
        small_model(tier_order=["none", "light"]).fit(X, y)


def test_a_tier_absent_from_training_gets_probability_zero():
    X, y = ordinal_households()
    keep = y != "severe"
    model = small_model(tier_order=TIERS).fit(X[keep], y[keep])
    assert np.allclose(model.predict_proba(X)[:, 3], 0.0)


def test_the_lightgbm_booster_learns_the_ordered_tiers():
    X, y = ordinal_households()
    model = HardshipModel(tier_order=TIERS, booster="lightgbm", boosting_rounds=60, learning_rate=0.05,
                          min_samples_leaf=10, calibration_cv=2).fit(X, y)
    assert any(isinstance(member, LGBMClassifier) for member in model.members_)
    proba = model.predict_proba(X)
    assert np.allclose(proba.sum(axis=1), 1.0) and (proba >= 0).all()
    assert np.corrcoef(model.expected_severity(X), X["income"])[0, 1] > 0.5
    predicted, served = model.predict_with_proba(X.iloc[:20])
    assert (predicted == model.predict(X.iloc[:20])).all() and np.array_equal(served, proba[:20])


def test_an_unknown_booster_is_refused_at_fit():
    X, y = ordinal_households(n=60)
    model = small_model(tier_order=TIERS, booster="xgboost")   # __init__ only stores it
    with pytest.raises(ValueError, match="booster"):
        model.fit(X, y)
