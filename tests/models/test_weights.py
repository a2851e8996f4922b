"""The weight learner: recovers known weights, maps them exactly onto the catalog's two levels."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from assessment import check_config
from experiments.costa_rica import CATALOG_DIR
from indicators import load_catalog
from models.weights import WeightLearner, flat_weights, read_config, write_config

TIERS = ["none", "light", "moderate", "severe"]


def households_with_weights(weights, n=3000, seed=0, missing=0.1):
    rng = np.random.default_rng(seed)
    X = rng.random((n, len(weights)))
    latent = X @ weights / weights.sum() + rng.normal(0, 0.03, n)
    ranks = np.digitize(latent, np.quantile(latent, [0.5, 0.75, 0.9]))
    X[rng.random(X.shape) < missing] = np.nan
    return X, np.array(TIERS)[ranks]


def test_recovers_the_order_of_known_weights_and_never_goes_negative():
    truth = np.array([5.0, 3.0, 2.0, 1.0, 0.5, 0.0])
    X, y = households_with_weights(truth)
    learner = WeightLearner(tier_order=TIERS).fit(X, y)
    assert (learner.weights_ >= 0).all()
    assert spearmanr(truth, learner.weights_).statistic > 0.95
    assert learner.weights_[-1] < 0.05 * learner.weights_[0]      # an irrelevant indicator gets ~0
    assert np.all(np.diff(learner.thresholds_) > 0)


def test_rows_with_zero_weight_are_ignored():
    truth = np.array([4.0, 1.0])
    X, y = households_with_weights(truth, missing=0.0)
    misleading = np.where(y == "severe", "none", y)                  # contradicting labels, weight 0
    keep = np.ones(len(y))
    keep[y == "severe"] = 0
    fitted = WeightLearner(tier_order=TIERS).fit(X, np.where(keep == 1, y, misleading), sample_weight=keep)
    plain = WeightLearner(tier_order=TIERS).fit(X[keep == 1], y[keep == 1])
    assert np.allclose(fitted.weights_, plain.weights_, rtol=1e-3, atol=1e-4)


def test_draft_config_keeps_the_learned_shares_and_round_trips(tmp_path):
    catalog = load_catalog(CATALOG_DIR)
    ids = [i.id for i in catalog.indicators]
    rng = np.random.default_rng(1)
    truth = rng.random(len(ids)) + 0.2
    X, y = households_with_weights(truth, n=2000, missing=0.0)
    learner = WeightLearner(tier_order=list(catalog.tier_ids)).fit(
        pd.DataFrame(X, columns=ids), np.array(catalog.tier_ids)[[TIERS.index(t) for t in y]])
    config = learner.to_config(catalog, version="draft-1")
    check_config(catalog, config)
    # dimension weight x within-dimension share = each indicator's share of the learned flat weights
    floored = np.maximum(learner.weights_, learner.min_weight_share * learner.weights_.mean())
    expected = dict(zip(ids, floored / floored.sum()))
    assert flat_weights(catalog, config) == pytest.approx(expected, rel=1e-4)
    assert list(config.tier_cutoffs.values())[0] == 0.0
    for name in ("draft.yaml", "draft.json"):
        assert read_config(write_config(config, tmp_path / name)) == config


def test_features_that_are_not_the_catalog_are_refused():
    catalog = load_catalog(CATALOG_DIR)
    X, y = households_with_weights(np.array([1.0, 2.0]), n=200)
    learner = WeightLearner(tier_order=TIERS).fit(pd.DataFrame(X, columns=["a", "b"]), y)
    with pytest.raises(ValueError, match="missing"):
        learner.to_config(catalog)
