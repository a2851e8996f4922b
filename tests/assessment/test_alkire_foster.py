from fractions import Fraction as F

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assessment.alkire_foster import af_from_sums, af_sums, alkire_foster, deprivation_counts
from assessment.errors import CoreError


def test_published_example_alkire_foster_2011():
    """The illustration of Alkire, S. and Foster, J. (2011), "Counting and multidimensional poverty
    measurement", Journal of Public Economics 95(7-8), 476-487 (section 2, notation; also OPHI
    Working Paper 32, 2009): four persons, four dimensions, achievement matrix y, cut-offs
    z = (13, 12, 3, 1), deprived when strictly below the cut-off, equal weights, k = 2 of 4.

    By hand: row 1 (13.1, 14, 4, 1) is below no cut-off -> 0; row 2 (15.2, 7, 5, 0) is below in
    dimensions 2 and 4 -> 2; row 3 (12.5, 10, 1, 0) is below in all four -> 4; row 4 (20, 11, 3, 1)
    is below only in dimension 2 (3 is not below 3) -> 1. So c = (0, 2, 4, 1); the poor are rows 2
    and 3: H = 2/4 = 1/2, A = (2/4 + 4/4) / 2 = 3/4, M0 = H x A = 3/8.
    Censored headcounts (rows 2 and 3 only): (1/4, 2/4, 1/4, 2/4); uncensored: (1/4, 3/4, 1/4, 2/4).
    Contributions w_j CH_j / M0 with w_j = 1/4: (1/16, 2/16, 1/16, 2/16) / (6/16) = (1/6, 1/3, 1/6, 1/3).
    """
    y = np.array([[13.1, 14, 4, 1], [15.2, 7, 5, 0], [12.5, 10, 1, 0], [20, 11, 3, 1]])
    z = np.array([13, 12, 3, 1])
    deprived = y < z
    weights = np.full(4, 0.25)

    np.testing.assert_allclose(deprivation_counts(deprived, weights) * 4, [0, 2, 4, 1])
    result = alkire_foster(deprived, weights, k=2 / 4)
    assert (result.n, result.q) == (4, 2)
    assert result.H == pytest.approx(1 / 2)
    assert result.A == pytest.approx(3 / 4)
    assert result.M0 == pytest.approx(3 / 8)
    np.testing.assert_array_equal(result.poor, [False, True, True, False])
    np.testing.assert_allclose(result.censored_headcount, [1 / 4, 2 / 4, 1 / 4, 2 / 4])
    np.testing.assert_allclose(result.uncensored_headcount, [1 / 4, 3 / 4, 1 / 4, 2 / 4])
    np.testing.assert_allclose(result.contribution, [1 / 6, 1 / 3, 1 / 6, 1 / 3])


NESTED_NAMES = ["a1", "a2", "b1", "c1", "c2", "c3"]
NESTED_DIMENSIONS = {"a1": "health", "a2": "health", "b1": "education", "c1": "living", "c2": "living",
                     "c3": "living"}
# three dimensions of weight 1/3, split equally over their indicators
NESTED_WEIGHTS = [1 / 6, 1 / 6, 1 / 3, 1 / 9, 1 / 9, 1 / 9]
NESTED_MATRIX = np.array([
    [1, 1, 0, 0, 0, 0],  # h1 north: 1/6 + 1/6 = 1/3          poor (exactly k)
    [0, 0, 0, 1, 1, 1],  # h2 north: 3 x 1/9 = 1/3            poor (exactly k)
    [0, 0, 1, 1, 0, 0],  # h3 south: 1/3 + 1/9 = 4/9          poor
    [1, 0, 0, 1, 1, 0],  # h4 south: 1/6 + 2/9 = 7/18         poor
    [0, 1, 0, 0, 0, 1],  # h5 south: 1/6 + 1/9 = 5/18 < 1/3   not poor
    [0, 0, 0, 0, 0, 0],  # h6 south: 0                        not poor
], dtype=bool)
NESTED_GROUPS = ["north", "north", "south", "south", "south", "south"]


def test_hand_computed_nested_weights_and_groups():
    """k = 1/3. Poor: h1..h4, q = 4, n = 6, H = 2/3.
    Censored counts 1/3 + 1/3 + 4/9 + 7/18 = (6 + 6 + 8 + 7)/18 = 3/2; A = (3/2)/4 = 3/8;
    M0 = (3/2)/6 = 1/4 (= H x A = 2/3 x 3/8).
    Uncensored headcounts (of 6): a1 {h1,h4} 1/3, a2 {h1,h5} 1/3, b1 {h3} 1/6, c1 {h2,h3,h4} 1/2,
    c2 {h2,h4} 1/3, c3 {h2,h5} 1/3.
    Censored (poor h1..h4 only): a1 1/3, a2 1/6, b1 1/6, c1 1/2, c2 1/3, c3 1/6.
    w_j CH_j: 1/18, 1/36, 1/18, 1/18, 1/27, 1/54 = (6, 3, 6, 6, 4, 2)/108, total 27/108 = 1/4 = M0.
    Contributions (x 4): 2/9, 1/9, 2/9, 2/9, 4/27, 2/27 (sum 27/27).
    By dimension: health 2/9 + 1/9 = 1/3; education 2/9; living 2/9 + 4/27 + 2/27 = 4/9.
    Groups: north {h1,h2}: n 2, share 1/3, q 2, H 1, sum 2/3, A 1/3, M0 1/3, contribution
    (1/3 x 1/3)/(1/4) = 4/9. south {h3..h6}: n 4, share 2/3, q 2, H 1/2, sum 4/9 + 7/18 = 5/6,
    A 5/12, M0 5/24, contribution (2/3 x 5/24)/(1/4) = 5/9. Check: 1/3 x 1/3 + 2/3 x 5/24 = 1/4.
    """
    result = alkire_foster(NESTED_MATRIX, NESTED_WEIGHTS, k=1 / 3, groups=NESTED_GROUPS,
                           indicator_names=NESTED_NAMES, dimension_of=NESTED_DIMENSIONS)
    assert (result.n, result.q) == (6, 4)
    assert result.H == pytest.approx(2 / 3)
    assert result.A == pytest.approx(3 / 8)
    assert result.M0 == pytest.approx(1 / 4)
    np.testing.assert_array_equal(result.poor, [True, True, True, True, False, False])
    np.testing.assert_allclose(result.deprivation_score, [1 / 3, 1 / 3, 4 / 9, 7 / 18, 5 / 18, 0])
    np.testing.assert_allclose(result.uncensored_headcount[NESTED_NAMES],
                               [1 / 3, 1 / 3, 1 / 6, 1 / 2, 1 / 3, 1 / 3])
    np.testing.assert_allclose(result.censored_headcount[NESTED_NAMES],
                               [1 / 3, 1 / 6, 1 / 6, 1 / 2, 1 / 3, 1 / 6])
    np.testing.assert_allclose(result.contribution[NESTED_NAMES],
                               [2 / 9, 1 / 9, 2 / 9, 2 / 9, 4 / 27, 2 / 27])
    assert result.contribution_by_dimension.to_dict() == pytest.approx(
        {"health": 1 / 3, "education": 2 / 9, "living": 4 / 9})

    groups = result.by_group
    assert list(groups.index) == ["north", "south"]
    assert list(groups["n"]) == [2, 4]
    np.testing.assert_allclose(groups["population_share"], [1 / 3, 2 / 3])
    np.testing.assert_allclose(groups["H"], [1, 1 / 2])
    np.testing.assert_allclose(groups["A"], [1 / 3, 5 / 12])
    np.testing.assert_allclose(groups["M0"], [1 / 3, 5 / 24])
    np.testing.assert_allclose(groups["contribution"], [4 / 9, 5 / 9])


def test_reporting_helpers_carry_the_same_figures():
    result = alkire_foster(NESTED_MATRIX, NESTED_WEIGHTS, k=1 / 3, groups=NESTED_GROUPS,
                           indicator_names=NESTED_NAMES, dimension_of=NESTED_DIMENSIONS)
    frame = result.to_frame()
    assert list(frame.index) == NESTED_NAMES
    assert list(frame.columns) == ["dimension", "weight", "uncensored_headcount", "censored_headcount",
                                   "contribution"]
    assert frame.loc["b1", "dimension"] == "education"
    assert frame.loc["c1", "censored_headcount"] == pytest.approx(1 / 2)

    summary = result.as_dict()
    assert summary["M0"] == pytest.approx(1 / 4)
    assert [row["indicator"] for row in summary["indicators"]] == NESTED_NAMES
    assert summary["indicators"][1]["contribution"] == pytest.approx(1 / 9)
    assert summary["dimensions"]["living"] == pytest.approx(4 / 9)
    assert summary["groups"][1] == pytest.approx(
        {"group": "south", "n": 4, "population_share": 2 / 3, "H": 1 / 2, "A": 5 / 12, "M0": 5 / 24,
         "contribution": 5 / 9})
    assert all(type(row["n"]) is int for row in summary["groups"])


def test_poverty_cutoff_allows_for_floating_point_sums():
    # 0.7 + 0.1 is 0.7999999999999999 in binary floating point: the household is deprived in
    # indicators worth 0.8 of the weight and must count as poor at k = 0.8.
    deprived = np.array([[True, True, False], [True, False, False]])
    result = alkire_foster(deprived, [0.7, 0.1, 0.2], k=0.8)
    assert result.deprivation_score[0] < 0.8  # the premise: the sum really falls short of k
    np.testing.assert_array_equal(result.poor, [True, False])


def test_missing_indicators_renormalise_the_weights():
    """Weights (1/2, 1/4, 1/4), cut-off 0.5 (deprived when score >= 0.5).
    h1 (NaN, 1, 0): observed weight 1/2, deprived weight 1/4 -> c = 1/2.
    h2 (1, NaN, 0.5): observed 3/4, deprived 1/2 + 1/4 (0.5 >= 0.5) -> c = 1.
    h3 (0.2, 0.9, 0.1): complete, deprived 1/4 -> c = 1/4.
    h4 all missing -> no score, left out of n.
    With k = 1/2: poor h1, h2; n = 3, q = 2, H = 2/3, censored sum 3/2, A = 3/4, M0 = 1/2.
    Contributions with each household's own weights: h1 puts (1/4)/(1/2) = 1/2 on indicator 2;
    h2 puts (1/2)/(3/4) = 2/3 on indicator 1 and (1/4)/(3/4) = 1/3 on indicator 3. Totals
    (2/3, 1/2, 1/3) / (3/2) = (4/9, 1/3, 2/9).
    Headcounts over households observed in the indicator: indicator 1 observed in h2, h3 ->
    uncensored 1/2, censored 1/2; indicator 2 observed in h1, h3 -> uncensored 2/2, censored 1/2;
    indicator 3 observed in h1, h2, h3 -> uncensored 1/3, censored 1/3.
    """
    nan = np.nan
    scores = np.array([[nan, 1, 0], [1, nan, 0.5], [0.2, 0.9, 0.1], [nan, nan, nan]])
    weights = [0.5, 0.25, 0.25]
    np.testing.assert_allclose(deprivation_counts(scores, weights, cutoff=0.5), [1 / 2, 1, 1 / 4, nan])

    result = alkire_foster(scores, weights, k=0.5, cutoff=0.5)
    assert (result.n, result.n_unmeasured, result.q) == (3, 1, 2)
    assert (result.H, result.A, result.M0) == pytest.approx((2 / 3, 3 / 4, 1 / 2))
    np.testing.assert_array_equal(result.poor, [True, True, False, False])
    np.testing.assert_allclose(result.contribution, [4 / 9, 1 / 3, 2 / 9])
    np.testing.assert_allclose(result.uncensored_headcount, [1 / 2, 1, 1 / 3])
    np.testing.assert_allclose(result.censored_headcount, [1 / 2, 1 / 2, 1 / 3])


def test_per_indicator_cutoffs_on_scores():
    scores = np.array([[0.4, 0.4], [0.6, 0.2]])
    np.testing.assert_allclose(deprivation_counts(scores, [0.5, 0.5], cutoff=[0.3, 0.5]), [0.5, 0.5])


def test_no_poor_household_gives_zero_intensity_and_contributions():
    result = alkire_foster(NESTED_MATRIX, NESTED_WEIGHTS, k=1.0, groups=NESTED_GROUPS,
                           dimension_of=list(NESTED_DIMENSIONS.values()))
    assert (result.q, result.H, result.A, result.M0) == (0, 0.0, 0.0, 0.0)
    assert not result.contribution.any()
    assert not result.contribution_by_dimension.any()
    assert not result.by_group["contribution"].any()


@pytest.mark.parametrize(
    ("kwargs", "path", "code"),
    [
        ({"weights": [0.5, 0.4]}, "weights", "invalid_weights"),
        ({"weights": [0.5]}, "weights", "invalid_weights"),
        ({"weights": [1.5, -0.5]}, "weights", "invalid_weights"),
        ({"k": 0}, "k", "invalid_poverty_cutoff"),
        ({"k": 1.5}, "k", "invalid_poverty_cutoff"),
        ({"k": "half"}, "k", "invalid_poverty_cutoff"),
        ({"cutoff": 0.5}, "cutoff", "unexpected_cutoff"),
        ({"groups": ["a"]}, "groups", "invalid_shape"),
        ({"groups": ["a", None]}, "groups", "missing_value"),
        ({"indicator_names": ["x", "x"]}, "indicator_names", "invalid_indicator_names"),
        ({"indicator_names": ["x", "y"], "dimension_of": {"x": "d"}}, "dimension_of", "missing_dimension"),
        ({"dimension_of": ["d"]}, "dimension_of", "missing_dimension"),
        ({"deprivations": [True, False]}, "deprivations", "invalid_shape"),
        ({"deprivations": [["yes", "no"]]}, "deprivations", "invalid_type"),
        ({"deprivations": [[0.2, 0.9]]}, "cutoff", "missing_cutoff"),
        ({"deprivations": [[0.2, 0.9]], "cutoff": [0.5, 0.5, 0.5]}, "cutoff", "invalid_cutoff"),
        ({"deprivations": [[np.nan, np.nan]], "cutoff": 0.5}, "deprivations", "no_households"),
    ],
)
def test_bad_input_names_the_field(kwargs, path, code):
    arguments = {"deprivations": [[True, False], [True, True]], "weights": [0.5, 0.5], "k": 0.5} | kwargs
    with pytest.raises(CoreError) as raised:
        alkire_foster(**arguments)
    assert (raised.value.path, raised.value.code) == (path, code)
    assert raised.value.message.zh and raised.value.message.en


@st.composite
def populations(draw, min_households=1):
    n = draw(st.integers(min_households, 25))
    m = draw(st.integers(1, 6))
    matrix = np.array(draw(st.lists(st.lists(st.booleans(), min_size=m, max_size=m), min_size=n, max_size=n)))
    raw = np.array(draw(st.lists(st.integers(1, 9), min_size=m, max_size=m)), dtype=float)
    groups = draw(st.lists(st.sampled_from(["p", "q", "r"]), min_size=n, max_size=n))
    dimensions = draw(st.lists(st.sampled_from(["d1", "d2"]), min_size=m, max_size=m))
    k = draw(st.floats(0.01, 1.0))
    return matrix, raw / raw.sum(), k, groups, dimensions


@settings(max_examples=150, deadline=None)
@given(populations())
def test_measures_are_consistent(population):
    matrix, weights, k, groups, dimensions = population
    result = alkire_foster(matrix, weights, k, groups=groups, dimension_of=dimensions)
    censored = np.where(result.poor, result.deprivation_score, 0.0)
    assert result.M0 == pytest.approx(result.H * result.A, abs=1e-12)
    assert result.M0 == pytest.approx(censored.mean(), abs=1e-12)
    assert result.M0 == pytest.approx(float(weights @ result.censored_headcount.to_numpy()), abs=1e-12)
    assert np.all(result.censored_headcount <= result.uncensored_headcount)
    # subgroup consistency: population-weighted group M0 adds up to the overall M0
    table = result.by_group
    assert float((table["population_share"] * table["M0"]).sum()) == pytest.approx(result.M0, abs=1e-12)
    assert table["n"].sum() == result.n
    if result.M0 > 0:
        assert result.contribution.sum() == pytest.approx(1.0)
        assert result.contribution_by_dimension.sum() == pytest.approx(1.0)
        assert table["contribution"].sum() == pytest.approx(1.0)


@settings(max_examples=150, deadline=None)
@given(populations(), st.data())
def test_dimensional_monotonicity(population, data):
    matrix, weights, k, _, _ = population
    not_deprived = np.argwhere(~matrix)
    if len(not_deprived) == 0:
        return
    i, j = not_deprived[data.draw(st.integers(0, len(not_deprived) - 1))]
    worse = matrix.copy()
    worse[i, j] = True
    assert alkire_foster(worse, weights, k).M0 >= alkire_foster(matrix, weights, k).M0 - 1e-12


@settings(max_examples=100, deadline=None)
@given(populations())
def test_union_and_intersection_at_the_extremes_of_k(population):
    matrix, weights, _, _, _ = population
    union = alkire_foster(matrix, weights, k=weights.min())
    np.testing.assert_array_equal(union.poor, matrix.any(axis=1))
    intersection = alkire_foster(matrix, weights, k=1.0)
    np.testing.assert_array_equal(intersection.poor, matrix.all(axis=1))


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_counts_with_missing_match_exact_rational_arithmetic(data):
    """Reference: each household's count recomputed with exact fractions over its observed indicators."""
    n = data.draw(st.integers(1, 10))
    m = data.draw(st.integers(1, 5))
    raw = data.draw(st.lists(st.integers(1, 9), min_size=m, max_size=m))
    cells = st.one_of(st.none(), st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]))
    rows = data.draw(st.lists(st.lists(cells, min_size=m, max_size=m), min_size=n, max_size=n))
    scores = np.array([[np.nan if v is None else v for v in row] for row in rows])
    weights = np.array(raw, dtype=float) / sum(raw)

    counts = deprivation_counts(scores, weights, cutoff=0.5)
    for row, count in zip(rows, counts):
        observed = [F(w) for w, v in zip(raw, row) if v is not None]
        if not observed:
            assert np.isnan(count)
            continue
        deprived = sum((F(w) for w, v in zip(raw, row) if v is not None and v >= 0.5), F(0))
        assert count == pytest.approx(float(deprived / sum(observed)), abs=1e-12)


def test_groups_accept_a_pandas_series_and_numeric_labels():
    result = alkire_foster(NESTED_MATRIX, NESTED_WEIGHTS, k=1 / 3, groups=pd.Series([2, 2, 1, 1, 1, 1]))
    assert list(result.by_group.index) == [1, 2]
    np.testing.assert_allclose(result.by_group["M0"], [5 / 24, 1 / 3])


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_parts_sums_give_the_measures_of_the_whole(data):
    """A population cut in parts (partitions of a data set): the parts' sums added up give the measures of
    the whole, with per-household weights and missing answers."""
    n = data.draw(st.integers(1, 20))
    m = data.draw(st.integers(1, 5))
    cells = st.one_of(st.none(), st.sampled_from([0.0, 0.5, 1.0]))
    rows = data.draw(st.lists(st.lists(cells, min_size=m, max_size=m), min_size=n, max_size=n))
    scores = np.array([[np.nan if v is None else v for v in row] for row in rows])
    raw = np.array(data.draw(st.lists(st.lists(st.integers(1, 9), min_size=m, max_size=m), min_size=n,
                                      max_size=n)), dtype=float)
    weights = raw / raw.sum(axis=1, keepdims=True)
    groups = np.array(data.draw(st.lists(st.sampled_from(["p", "q", "r"]), min_size=n, max_size=n)), dtype=object)
    k = data.draw(st.floats(0.05, 1.0))
    names = [f"i{j}" for j in range(m)]
    cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=4)))
    bounds = [0, *cuts, n]
    parts = [af_sums(scores[a:b], weights[a:b], k, cutoff=0.5, groups=groups[a:b], indicator_names=names)
             for a, b in zip(bounds, bounds[1:])]
    summed = pd.concat(parts).groupby(["kind", "key"], sort=False, as_index=False).sum()
    try:
        whole = alkire_foster(scores, weights, k, cutoff=0.5, groups=groups, indicator_names=names)
    except CoreError as error:  # nothing observed anywhere: the same error from the sums
        with pytest.raises(CoreError) as raised:
            af_from_sums(summed, k, indicator_names=names)
        assert raised.value.code == error.code == "no_households"
        return
    combined = af_from_sums(summed, k, indicator_names=names)
    assert (combined.n, combined.n_unmeasured, combined.q) == (whole.n, whole.n_unmeasured, whole.q)
    for name in ("H", "A", "M0"):
        assert getattr(combined, name) == pytest.approx(getattr(whole, name), abs=1e-12)
    pd.testing.assert_frame_equal(combined.to_frame(), whole.to_frame(), atol=1e-12, rtol=0)
    pd.testing.assert_frame_equal(combined.by_group, whole.by_group, atol=1e-12, rtol=0)
    assert combined.deprivation_score is None and combined.poor is None
