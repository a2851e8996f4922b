import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assessment.errors import CoreError
from assessment.ranking import _pack, rank, rank_order

TIERS = ("none", "light", "moderate", "severe")


def hand_table() -> pd.DataFrame:
    return pd.DataFrame(
        [
            ("A05", 80.0, "moderate", 0.9, "A"),
            ("A01", 80.0, "severe", 0.5, "A"),
            ("A03", 80.0, "severe", 0.8, "A"),
            ("A02", 80.0, "severe", 0.8, "A"),
            ("A04", 90.0, "none", 0.1, "A"),
            ("A06", 10.0, "severe", 1.0, "A"),
            ("B2", 50.0, "light", 1.0, "B"),
            ("B1", 50.0, "light", 1.0, "B"),
            ("B3", 60.0, "none", 0.2, "B"),
        ],
        columns=["household_id", "index", "tier", "completeness", "town_id"],
    )


def test_ties_at_every_level_within_towns():
    # Town A: A04 has the highest index (1). A01, A02, A03, A05 tie on 80: A05 is only moderate,
    # so last of the four (5); of the severe three A01 has the lowest completeness (4); A02 and
    # A03 tie on everything, so household_id ascending: A02 (2), A03 (3). A06 has index 10 (6).
    # Town B: B3 has 60 (1); B1 and B2 tie on everything: B1 (2), B2 (3).
    # Percentile 100 (n - rank + 1) / n with n = 6 in A and 3 in B.
    ranked = rank(hand_table(), scope="town_id", tier_order=TIERS).set_index("household_id")
    expected = {"A04": 1, "A02": 2, "A03": 3, "A01": 4, "A05": 5, "A06": 6, "B3": 1, "B1": 2, "B2": 3}
    assert ranked["rank"].to_dict() == expected
    assert ranked["percentile"].to_dict() == pytest.approx({
        "A04": 100, "A02": 500 / 6, "A03": 400 / 6, "A01": 50, "A05": 200 / 6, "A06": 100 / 6,
        "B3": 100, "B1": 200 / 3, "B2": 100 / 3})


def test_whole_population_when_no_scope():
    # A04 90; the four 80s as above; B3 60; B1, B2 50 (tie broken by id); A06 10.
    ranked = rank(hand_table(), tier_order=TIERS)
    assert list(ranked.sort_values("rank")["household_id"]) == [
        "A04", "A02", "A03", "A01", "A05", "B3", "B1", "B2", "A06"]
    assert list(ranked["household_id"]) == list(hand_table()["household_id"])  # input row order kept
    assert ranked["percentile"].max() == 100 and ranked["percentile"].min() == pytest.approx(100 / 9)


def test_rank_order_lists_rows_best_first():
    table = hand_table()
    order = rank_order(table, tier_order=TIERS)
    assert list(table["household_id"].iloc[order]) == [
        "A04", "A02", "A03", "A01", "A05", "B3", "B1", "B2", "A06"]


def test_numeric_household_ids_compare_as_numbers():
    table = pd.DataFrame({"household_id": [10, 2, 33], "index": [5.0, 5.0, 5.0],
                          "tier": ["light"] * 3, "completeness": [1.0] * 3})
    ranked = rank(table, tier_order=TIERS).set_index("household_id")
    assert ranked["rank"].to_dict() == {2: 1, 10: 2, 33: 3}


def test_tier_order_from_an_ordered_categorical():
    table = hand_table()
    table["tier"] = pd.Categorical(table["tier"], categories=list(TIERS), ordered=True)
    assert rank(table, scope="town_id")["rank"].tolist() == rank(
        hand_table(), scope="town_id", tier_order=TIERS)["rank"].tolist()


def test_several_scope_columns_and_the_input_left_unchanged():
    table = hand_table()
    table["station_id"] = ["s1", "s2", "s1", "s2", "s1", "s2", "s1", "s1", "s1"]
    before = table.copy()
    ranked = rank(table, scope=["town_id", "station_id"], tier_order=TIERS).set_index("household_id")
    # A/s1: A04 (90), A03 (80 severe 0.8), A05 (80 moderate); A/s2: A02, A01, A06; B/s1: B3, B1, B2
    assert ranked["rank"].to_dict() == {"A04": 1, "A03": 2, "A05": 3, "A02": 1, "A01": 2, "A06": 3,
                                        "B3": 1, "B1": 2, "B2": 3}
    pd.testing.assert_frame_equal(table, before)


def test_empty_frame():
    empty = hand_table().iloc[:0]
    ranked = rank(empty, scope="town_id", tier_order=TIERS)
    assert len(ranked) == 0 and {"rank", "percentile"} <= set(ranked.columns)


@pytest.mark.parametrize(
    ("change", "path", "code"),
    [
        (lambda t: t.drop(columns="completeness"), "completeness", "missing_column"),
        (lambda t: t.drop(columns="town_id"), "town_id", "missing_column"),
        (lambda t: t.assign(index=[np.nan] + [1.0] * 8), "index", "missing_value"),
        (lambda t: t.assign(index=["high"] * 9), "index", "invalid_value"),
        (lambda t: t.assign(tier=["extreme"] + ["none"] * 8), "tier", "unknown_tier"),
        (lambda t: t.assign(town_id=[None] + ["A"] * 8), "town_id", "missing_value"),
        (lambda t: t.assign(household_id=["A01"] * 9), "household_id", "duplicate_household_id"),
        (lambda t: t.assign(household_id=[1] + [f"h{i}" for i in range(8)]), "household_id", "invalid_value"),
    ],
)
def test_bad_input_names_the_column(change, path, code):
    with pytest.raises(CoreError) as raised:
        rank(change(hand_table()), scope="town_id", tier_order=TIERS)
    assert (raised.value.path, raised.value.code) == (path, code)
    assert raised.value.message.zh and raised.value.message.en


def test_unordered_tier_without_tier_order_is_refused():
    with pytest.raises(CoreError) as raised:
        rank(hand_table())
    assert (raised.value.path, raised.value.code) == ("tier", "missing_tier_order")


@st.composite
def score_tables(draw):
    n = draw(st.integers(1, 40))
    ids = draw(st.lists(st.integers(0, 10_000), min_size=n, max_size=n, unique=True))
    column = lambda values: draw(st.lists(st.sampled_from(values), min_size=n, max_size=n))  # noqa: E731
    return pd.DataFrame({
        "household_id": [f"h{i}" for i in ids],
        "index": column([0.0, 12.5, 50.0, 50.5, 100.0]),
        "tier": column(list(TIERS)),
        "completeness": column([0.0, 0.5, 1.0]),
        "town_id": column(["x", "y", "z"]),
    })


def expected_ranks(table: pd.DataFrame, scope: str | None) -> dict:
    """Independent reference: Python's sorted() with the documented key, per scope group."""
    ranks = {}
    groups = [table] if scope is None else [group for _, group in table.groupby(scope)]
    for group in groups:
        rows = sorted(group.itertuples(index=False),
                      key=lambda r: (-r.index, -TIERS.index(r.tier), -r.completeness, r.household_id))
        ranks.update({row.household_id: position for position, row in enumerate(rows, start=1)})
    return ranks


@settings(max_examples=150, deadline=None)
@given(score_tables(), st.sampled_from([None, "town_id"]))
def test_ranks_follow_the_documented_tie_rule(table, scope):
    ranked = rank(table, scope=scope, tier_order=TIERS)
    assert dict(zip(ranked["household_id"], ranked["rank"])) == expected_ranks(table, scope)


@settings(max_examples=150, deadline=None)
@given(score_tables(), st.randoms(use_true_random=False))
def test_rank_properties(table, random):
    ranked = rank(table, scope="town_id", tier_order=TIERS)
    for _, group in ranked.groupby("town_id"):
        n = len(group)
        assert sorted(group["rank"]) == list(range(1, n + 1))
        np.testing.assert_allclose(group["percentile"], 100 * (n - group["rank"] + 1) / n)
        # a higher index never gets a worse rank
        index, ranks = group["index"].to_numpy(), group["rank"].to_numpy()
        assert not np.any((index[:, None] > index[None, :]) & (ranks[:, None] > ranks[None, :]))
        # ranking a scope on its own gives the same ranks
        alone = rank(group.drop(columns=["rank", "percentile"]), tier_order=TIERS)
        assert alone["rank"].tolist() == group["rank"].tolist()

    shuffled = table.sample(frac=1, random_state=random.randint(0, 2**31))
    reranked = rank(shuffled, scope="town_id", tier_order=TIERS)
    assert dict(zip(reranked["household_id"], reranked["rank"])) == dict(
        zip(ranked["household_id"], ranked["rank"]))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2**40), st.integers(0, 2**40)), min_size=1, max_size=30))
def test_packed_keys_keep_lexicographic_order_when_cardinalities_are_huge(pairs):
    major = np.array([a for a, _ in pairs], dtype=np.int64)
    minor = np.array([b for _, b in pairs], dtype=np.int64)
    packed, _ = _pack((major, 2**41), (minor, 2**41))  # 2**82 combinations: must re-densify
    for i in range(len(pairs)):
        for j in range(len(pairs)):
            assert (packed[i] < packed[j]) == (pairs[i] < pairs[j])
