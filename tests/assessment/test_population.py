"""Alkire-Foster population measures with the catalog's nested weights, by hand on three households."""

import pandas as pd
import pytest

from assessment import assess_frame
from assessment.population import household_weights, poverty_measures
from tests.assessment.test_batch import messy_frame
from tests.factories import mini_catalog

CATALOG = mini_catalog()
BASE = {"fam_size": 2, "fam_alone": False, "fam_children": 1, "child_school": 1, "econ_income": 1800,
        "econ_debt": "small", "health_chronic": 2, "health_costs": 8000, "health_insured": True}
ALONE = {"fam_size": 1, "fam_alone": True, "fam_children": 0, "econ_income": 500, "econ_debt": "large",
         "health_chronic": 0, "health_costs": 25000, "health_insured": False}
FINE = {"fam_size": 2, "fam_alone": False, "fam_children": 0, "econ_income": 5000, "econ_debt": "none",
        "health_chronic": 0, "health_costs": 0, "health_insured": True}


def population():
    return pd.DataFrame([
        {"household_id": "h1", "region": "city", "year": 2026, **BASE},
        {"household_id": "h2", "region": "district", "year": 2026, **ALONE},
        {"household_id": "h3", "region": "city", "year": 2026, **FINE},
    ])


def test_three_households_by_hand():
    result, left_out = poverty_measures(CATALOG, population(), k=0.4, group_column="region")
    assert left_out == 0
    # c: h1 0.05 + 0.375 + 0.125 + 0.125 + 0.0625 = 0.7375 (see test_scoring); h2 1/16 + 3/8 + 1/8 + 1/16 + 1/16
    # = 0.6875; h3 0
    assert result.deprivation_score.tolist() == pytest.approx([0.7375, 0.6875, 0.0])
    assert (result.n, result.q) == (3, 2)
    assert result.H == pytest.approx(2 / 3)
    assert result.A == pytest.approx((0.7375 + 0.6875) / 2)
    assert result.M0 == pytest.approx(1.425 / 3)
    # income: both poor households deprived, each with weight 2/4 * 3/4 = 0.375
    assert result.contribution["econ_income"] == pytest.approx(0.75 / 1.425)
    # child_school applies to h1 only (weight 1/4 * 1/5)
    assert result.contribution["child_school"] == pytest.approx(0.05 / 1.425)
    assert result.contribution.sum() == pytest.approx(1.0)
    groups = result.by_group
    assert groups.loc["city", "M0"] == pytest.approx(0.7375 / 2)
    assert groups.loc["district", "M0"] == pytest.approx(0.6875)
    assert groups.loc["city", "contribution"] == pytest.approx((2 / 3) * (0.7375 / 2) / (1.425 / 3))


def test_counts_equal_each_households_af_score():
    frame = messy_frame(1500, seed=5)
    batch = assess_frame(CATALOG, frame)
    result, left_out = poverty_measures(CATALOG, frame)
    assert left_out == int((~batch.valid).sum())
    assert result.deprivation_score == pytest.approx(batch.scores["af_score"].to_numpy())
    assert result.poor.tolist() == batch.scores["af_poor"].tolist()


def test_household_weights_sum_to_one_and_skip_unanswered():
    batch_frame = messy_frame(300, seed=9)
    from assessment import deprivation_matrix

    scores, _ = deprivation_matrix(CATALOG, batch_frame)
    answered = ~pd.isna(scores)
    keep = answered.any(axis=1)
    weights = household_weights(CATALOG, CATALOG.default_config(), scores[keep])
    assert weights.sum(axis=1) == pytest.approx(1.0)
    assert (weights[~answered[keep]] == 0).all()
