"""Weight sensitivity: every figure equals a full re-scoring under the changed configuration."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from assessment import assess_frame
from assessment.errors import ConfigError
from assessment.sensitivity import weight_sensitivity
from indicators import default_catalog
from indicators.synth import generate_households, load_spec
from tests.assessment.test_impact import hand_frame
from tests.factories import mini_catalog


def rescored(catalog, frame, config, row) -> dict:
    """The row's figures from two full assess_frame runs, one with the weight changed."""
    field = "indicator_weights" if row["kind"] == "indicator" else "dimension_weights"
    changed = config.model_copy(update={field: {**getattr(config, field), row["id"]: row["changed_weight"]}})
    before = assess_frame(catalog, frame, config=config)
    after = assess_frame(catalog, frame, config=changed)
    return {
        "share_changing_tier": np.mean(after.tier_code != before.tier_code),
        "share_tier_up": np.mean(after.tier_code > before.tier_code),
        "share_tier_down": np.mean(after.tier_code < before.tier_code),
        "spearman": stats.spearmanr(before.index, after.index).statistic,
        "mean_abs_index_change": np.mean(np.abs(after.index - before.index)),
        "max_abs_index_change": np.max(np.abs(after.index - before.index)),
    }


def assert_equal_to_rescoring(catalog, frame, config, table):
    for _, row in table.iterrows():
        expected = rescored(catalog, frame, config, row)
        for key in ("share_changing_tier", "share_tier_up", "share_tier_down"):
            assert row[key] == expected[key], (row["id"], key)
        for key in ("mean_abs_index_change", "max_abs_index_change"):
            assert row[key] == pytest.approx(expected[key], abs=1e-9), (row["id"], key)
        if math.isnan(expected["spearman"]):
            assert math.isnan(row["spearman"]), row["id"]
        else:
            assert row["spearman"] == pytest.approx(expected["spearman"], abs=1e-12), row["id"]


@pytest.fixture(scope="module")
def synthetic():
    catalog = default_catalog()
    return catalog, generate_households(catalog, load_spec(), 1500, seed=11)


def chosen_indicators(catalog) -> list[str]:
    """The critical indicators (their tier raising must survive re-weighting), the heaviest, and the first."""
    critical = [i.id for i in catalog.indicators if i.critical is not None]
    heaviest = max(catalog.indicators, key=lambda i: i.weight).id
    return list(dict.fromkeys([*critical[:3], heaviest, catalog.indicators[0].id]))


@pytest.mark.parametrize("factor", [1.5, 0.4])
def test_weighted_mean_equals_full_rescoring(synthetic, factor):
    catalog, frame = synthetic
    table = weight_sensitivity(catalog, frame, factor=factor, indicators=chosen_indicators(catalog))
    assert table["kind"].tolist().count("dimension") == len(catalog.dimensions)
    assert table["share_changing_tier"].max() > 0  # the population is large enough for something to move
    assert_equal_to_rescoring(catalog, frame, catalog.default_config(), table)


def test_alkire_foster_equals_full_rescoring(synthetic):
    catalog, frame = synthetic
    config = catalog.default_config().model_copy(update={"method": "alkire_foster", "af_poverty_cutoff": 0.2})
    table = weight_sensitivity(catalog, frame, config=config, factor=2.0, indicators=chosen_indicators(catalog)[:2])
    assert table["mean_abs_index_change"].max() > 0
    assert_equal_to_rescoring(catalog, frame, config, table)


def test_hand_population_with_ties_critical_raise_and_an_invalid_row():
    catalog = mini_catalog()
    hands = hand_frame()
    # copies of h4, h5 and h7 under other ids: tied indices in both rankings
    copies = hands[hands["household_id"].isin(["h4", "h5", "h7"])].assign(
        household_id=lambda f: f["household_id"] + "_copy")
    frame = pd.concat([hands, copies], ignore_index=True)
    table = weight_sensitivity(catalog, frame, factor=3.0)
    assert len(table) == len(catalog.indicators) + len(catalog.dimensions)
    assert (table.attrs["households"], table.attrs["invalid"]) == (10, 1)
    assert_equal_to_rescoring(catalog, frame, catalog.default_config(), table)
    # Hand check, health dimension x 3: index' = 100 (family + 2 economy + 3 health) / 6 (test_impact's
    # table with fam_alone at its default weight, so family = .25 when alone). Tiers (cut-offs 25/45/65):
    # h1 0 none; h2 (.25+1)/6 = 20.8 light -> none; h3 1.8/6 = 30 none -> light; h4 (.25+2+.8)/6 = 50.8
    # moderate; h5 severe (critical) both; h6 (.25+1.8)/6 = 34.2 none -> light; h7 2.25/6 = 37.5
    # moderate -> light. With the copies of h4, h5, h7: changes h2 h3 h6 h7 h7_copy = 5 of 10.
    health = table.set_index("id").loc["health"]
    assert health["share_changing_tier"] == pytest.approx(0.5)
    assert health["share_tier_up"] == pytest.approx(0.2) and health["share_tier_down"] == pytest.approx(0.3)


def test_factor_one_changes_nothing(synthetic):
    catalog, frame = synthetic
    table = weight_sensitivity(catalog, frame, factor=1.0, indicators=[])
    assert (table["share_changing_tier"] == 0).all() and (table["mean_abs_index_change"] == 0).all()
    assert np.allclose(table["spearman"], 1.0)
    assert (table["weight"] == table["changed_weight"]).all()


@pytest.mark.parametrize("factor", [0, -1.5, math.inf, math.nan, True])
def test_bad_factor_is_named(factor):
    catalog = mini_catalog()
    with pytest.raises(ConfigError) as caught:
        weight_sensitivity(catalog, hand_frame(), factor=factor)
    assert caught.value.path == "factor" and caught.value.message.zh


def test_unknown_indicator_is_named():
    catalog = mini_catalog()
    with pytest.raises(ConfigError) as caught:
        weight_sensitivity(catalog, hand_frame(), indicators=["fam_alone", "xyz"])
    assert caught.value.path == "indicators.xyz" and caught.value.code == "unknown_indicator"
