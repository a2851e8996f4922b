"""The engine-neutral partition contract, checked without any engine: a few lines of pandas stand in for one
(cut a frame into parts, cut the keys into intervals, bring each interval together) and must give the
figures of one process."""

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from assessment import assess_frame
from assessment.impact import kendall_tau_b
from assessment.partitions import (GROUP, INTERVAL, KEY, assess_partition, cross_block_discordant, discordant_pairs,
                                   findings_of, index_key, interval_bounds, interval_counts, interval_of,
                                   interval_offsets, key_sample, rank_partition, ranking_keys, scope_table,
                                   scope_values, scores_of)
from assessment.ranking import rank
from tests.assessment.test_batch import messy_frame
from tests.factories import mini_catalog

CATALOG = mini_catalog()


def test_a_partition_outcome_gives_back_the_scores_and_findings_of_one_process():
    frame = messy_frame(300, seed=4)
    batch = assess_frame(CATALOG, frame)
    assert 0 < batch.valid.sum() < len(frame) and len(batch.warnings)  # the messy frame has both kinds
    outcome = assess_partition(frame, CATALOG, first_row=1000)
    assert len(outcome) == len(frame)
    assert outcome["row"].tolist() == list(range(1000, 1300))
    assert outcome["valid"].tolist() == batch.valid.tolist()
    pd.testing.assert_frame_equal(scores_of(outcome), batch.scores)
    for severity, expected in (("error", batch.errors), ("warning", batch.warnings)):
        found = findings_of(outcome, severity)
        assert (found["row"] - 1000).tolist() == expected["row"].tolist()
        pd.testing.assert_frame_equal(found.drop(columns="row").astype(object),
                                      expected.drop(columns="row").astype(object))


def test_an_empty_partition_has_no_scores_and_no_findings():
    outcome = assess_partition(messy_frame(5, seed=1).iloc[:0], CATALOG)
    assert len(scores_of(outcome)) == 0 and list(scores_of(outcome).columns) == list(
        assess_frame(CATALOG, messy_frame(5, seed=1)).scores.columns)
    assert len(findings_of(outcome, "error")) == 0


def test_index_keys_never_put_a_higher_index_after_a_lower_one():
    index = np.array([100.0, 99.999999, 64.375, 64.375, 0.0, 0.000001])
    keys = index_key(index)
    assert keys[0] == 0 and keys[2] == keys[3]
    assert np.all(np.diff(keys[np.argsort(-index, kind="stable")]) >= 0)


def _engine_of_pandas(frame: pd.DataFrame, parts: int, intervals: int, scope: list[str]) -> pd.DataFrame:
    """What a distributed engine does with the partition functions, in one process."""
    cuts = np.linspace(0, len(frame), parts + 1).astype(int)
    pieces = [frame.iloc[a:b] for a, b in zip(cuts, cuts[1:])]
    table = scope_table(pd.concat([scope_values(p, scope) for p in pieces]), scope) if scope else pd.DataFrame()
    keyed = [ranking_keys(p, scope=scope, table=table, tier_order=CATALOG.tier_ids) for p in pieces]
    samples = pd.concat([key_sample(p[KEY].to_numpy(), 3) for p in keyed])
    bounds = interval_bounds(samples, intervals)
    counts = pd.concat([interval_counts(p, bounds, group=GROUP) for p in keyed])
    offsets, sizes = interval_offsets(counts)
    everything = pd.concat(keyed)
    everything[INTERVAL] = interval_of(everything[KEY].to_numpy(), bounds)
    shuffled = [group for _, group in everything.groupby(INTERVAL)]
    return pd.concat([rank_partition(p, tier_order=CATALOG.tier_ids, offsets=offsets, sizes=sizes)
                      for p in shuffled[::-1]], ignore_index=True)  # partitions may come back in any order


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 7), st.integers(1, 9), st.sampled_from([[], ["town_id"], ["town_id", "region"]]),
       st.integers(0, 10_000))
def test_ranks_from_intervals_equal_one_process(parts, intervals, scope, seed):
    rng = np.random.default_rng(seed)
    n = 60
    scores = pd.DataFrame({
        "household_id": [f"h{k:03d}" for k in rng.permutation(n)],
        # few distinct values: many ties on index, on tier and on completeness
        "index": rng.choice([10.5, 40.0, 64.375, 64.375, 90.0], n),
        "tier": pd.Categorical(rng.choice(CATALOG.tier_ids, n), categories=CATALOG.tier_ids, ordered=True),
        "completeness": rng.choice([0.5, 1.0], n),
        "town_id": rng.choice(["t1", "t2", "t3"], n),
        "region": rng.choice(["city", "district"], n),
    })
    expected = rank(scores, scope=scope or None, tier_order=CATALOG.tier_ids)
    got = _engine_of_pandas(scores, parts, intervals, scope)
    merged = expected.merge(got, on="household_id", suffixes=("", "_parts"))
    assert len(merged) == n
    assert merged["rank"].tolist() == merged["rank_parts"].tolist()
    assert merged["percentile"].tolist() == merged["percentile_parts"].tolist()


def _brute_discordant(x, y) -> int:
    return sum(1 for a, b in itertools.permutations(range(len(x)), 2) if x[a] < x[b] and y[a] > y[b])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=0, max_size=30))
def test_discordant_pairs_by_brute_force(pairs):
    x = np.array([p[0] for p in pairs], dtype=float)
    y = np.array([p[1] for p in pairs], dtype=float)
    assert discordant_pairs(x, y) == _brute_discordant(x, y)


def _equal_pairs(values) -> int:
    counts = pd.Series(list(values)).value_counts().to_numpy()
    return int((counts * (counts - 1) // 2).sum())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=2, max_size=40), st.integers(1, 4),
       st.integers(1, 4))
def test_kendall_from_blocks_and_intervals_equals_scipy(pairs, blocks, intervals):
    """Pairs cut by intervals of x (blocks) and of y: the discordant pairs within a block, within an
    interval of y across blocks, and across both (from counts alone) add up to scipy's tau-b."""
    x = np.array([p[0] for p in pairs], dtype=float)
    y = np.array([p[1] for p in pairs], dtype=float)
    # blocks: intervals of x, higher x first; intervals: of y, higher y first
    block = np.searchsorted(np.quantile(-x, np.linspace(0, 1, blocks + 1)[1:-1]), -x, side="right")
    interval = np.searchsorted(np.quantile(-y, np.linspace(0, 1, intervals + 1)[1:-1]), -y, side="right")
    within_blocks = sum(discordant_pairs(x[block == b], y[block == b]) for b in np.unique(block))
    across_in_interval = sum(discordant_pairs(y[interval == i], -block[interval == i]) for i in np.unique(interval))
    counts = pd.DataFrame({"interval": interval, "group": block}).value_counts().rename("households").reset_index()
    discordant = within_blocks + across_in_interval + cross_block_discordant(counts)
    assert discordant == _brute_discordant(x, y)
    n = len(x)
    tau = kendall_tau_b(n * (n - 1) // 2, _equal_pairs(x), _equal_pairs(y), _equal_pairs(zip(x, y)), discordant)
    expected = stats.kendalltau(x, y).statistic
    if np.isnan(expected):
        assert np.isnan(tau)
    else:
        assert tau == expected  # the same operations on the same counts


def test_interval_bounds_cut_in_parts_of_about_equal_weight():
    samples = pd.concat([key_sample(np.arange(0, 1000), 100), key_sample(np.arange(1000, 3000), 100)])
    bounds = interval_bounds(samples, 3)
    assert len(bounds) == 2
    sizes = np.bincount(interval_of(np.arange(3000), bounds))
    assert sizes.min() > 900 and sizes.max() < 1100
    assert len(interval_bounds(samples.iloc[:0], 5)) == 0
    with pytest.raises(ValueError, match="not counted"):
        from assessment.partitions import _earlier
        _earlier(interval_offsets(pd.DataFrame({"interval": [0], "group": [0], "households": [3]}))[0],
                 np.array([1]), np.array([0]))
