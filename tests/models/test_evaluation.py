"""Metrics on small examples worked out by hand."""

import math

import numpy as np
import pandas as pd
import pytest

from models import evaluation


def test_budget_precision_and_recall_serve_the_top_scores():
    score = np.array([0.9, 0.8, 0.7, 0.1, 0.2])
    severe = np.array([True, False, True, True, False])
    selected = evaluation.budget_selection(score, 0.4)          # ceil(0.4 * 5) = 2 served: rows 0 and 1
    assert selected.tolist() == [True, True, False, False, False]
    assert evaluation.budget_precision_recall(severe, selected) == (0.5, pytest.approx(1 / 3))


def test_budget_ties_go_to_the_earlier_row_and_partial_households_round_up():
    assert evaluation.budget_selection(np.array([0.5, 0.5, 0.1]), 1 / 3).tolist() == [True, False, False]
    assert evaluation.budget_selection(np.array([0.1, 0.2, 0.3]), 0.34).sum() == 2   # ceil(1.02)


def test_budget_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match="budget"):
        evaluation.budget_selection(np.array([1.0]), 0)


def test_expected_calibration_error_by_hand():
    # bin [0.1, 0.2): 2 rows, observed 0.5 vs 0.1 -> 0.4 * 1/2; bin [0.9, 1]: observed 1 vs 0.9 -> 0.1 * 1/2
    assert evaluation.expected_calibration_error([0, 1, 1, 1], [0.1, 0.1, 0.9, 0.9]) == pytest.approx(0.25)
    assert evaluation.expected_calibration_error([0, 1], [0.0, 1.0]) == 0.0


def test_macro_f1_counts_every_tier():
    # tier 0: P 1, R 1/2 -> 2/3; tier 1: P 2/3, R 1 -> 4/5; tier 2 never present nor predicted -> 0
    assert evaluation.macro_f1(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), 3) == pytest.approx(
        (2 / 3 + 4 / 5 + 0) / 3)


def test_severe_auc_by_pairs():
    # pairs (severe, not): (.9,.8) ok, (.9,.1) ok, (.3,.8) wrong, (.3,.1) ok -> 3/4
    assert evaluation.severe_auc(np.array([1, 0, 1, 0]), np.array([0.9, 0.8, 0.3, 0.1])) == 0.75
    assert math.isnan(evaluation.severe_auc(np.array([1, 1]), np.array([0.2, 0.3])))


def test_cutoffs_give_each_tier_its_training_share():
    cutoffs = evaluation.cutoffs_matching_shares(np.array([10.0, 20, 30, 40]), np.array([0, 0, 1, 1]), 2)
    assert cutoffs == [0.0, 25.0]
    assert evaluation.tiers_from_index(np.array([10, 25, 30]), cutoffs).tolist() == [0, 1, 1]


def test_tier_ranks_follow_the_catalog_order_and_name_unknown_tiers():
    assert evaluation.tier_ranks(["severe", "none"], ["none", "light", "severe"]).tolist() == [2, 0]
    with pytest.raises(ValueError, match="extreme"):
        evaluation.tier_ranks(["extreme"], ["none", "severe"])


def test_evaluate_reports_groups_and_the_largest_gap():
    # tiers 0..3, severe = 2 and 3. Group a ranks perfectly (AUC 1); group b backwards (AUC 0).
    true_rank = np.array([3, 0, 2, 1, 3, 0, 2, 1])
    score = np.array([0.9, 0.1, 0.8, 0.2, 0.1, 0.9, 0.2, 0.8])
    groups = pd.DataFrame({"area": ["a"] * 4 + ["b"] * 4})
    report = evaluation.evaluate(true_rank, 4, score=score, groups=groups, budget=0.25, min_group_size=1)
    assert report["groups"]["area"]["a"]["auc_severe"] == 1.0
    assert report["groups"]["area"]["b"]["auc_severe"] == 0.0
    assert report["largest_gap"]["auc_severe"] == {"gap": 1.0, "group": "area", "lowest": "b", "highest": "a"}
    # the global budget serves 2 of 8: rows 0 and 5 (0.9 each); group a finds 1 of its 2 severe, b none
    assert report["groups"]["area"]["a"]["budget_recall"] == 0.5
    assert report["groups"]["area"]["b"]["budget_recall"] == 0.0
    flat = evaluation.flat_metrics(report, "model")
    assert flat["model.area.a.auc_severe"] == 1.0 and flat["model.gap.auc_severe"] == 1.0
