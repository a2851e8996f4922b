"""answers.yaml recipes on crafted members, every figure by hand."""

import math

import numpy as np
import pandas as pd
import pytest

from experiments.costa_rica.adapter import _apply

# Two households: "a" with three members (ages 40, 17, 70), "b" with one (age 30). The first row of
# each household stands for the household.
NUMBERS = pd.DataFrame(
    {"age": [40, 17, 70, 30], "escolari": [12, 9, 3, 6], "rooms": [3, 3, 3, 0], "hhsize": [3, 3, 3, 1],
     "a": [1.0, 1.0, 1.0, np.nan], "b": [2.0, 2.0, 2.0, np.nan], "c": [np.nan, np.nan, np.nan, 5.0]},
    index=pd.Index(["a", "a", "a", "b"]))
REPRESENTATIVE = NUMBERS[~NUMBERS.index.duplicated()]


def apply(recipe):
    return _apply(recipe, REPRESENTATIVE, NUMBERS).tolist()


def test_sum_of_is_missing_only_when_every_column_is():
    assert apply({"sum_of": ["a", "b"]})[0] == 3.0
    assert math.isnan(apply({"sum_of": ["a", "b"]})[1])
    assert apply({"sum_of": ["a", "c"]}) == [1.0, 5.0]


def test_members_mean_and_min_over_an_age_range():
    # adults (18+): a -> 12 and 3, b -> 6
    assert apply({"members": {"mean": "escolari", "age_from": 18}}) == [7.5, 6.0]
    assert apply({"members": {"min": "escolari", "age_from": 18}}) == [3.0, 6.0]
    assert apply({"members": {"count": True, "age_from": 65}}) == [1.0, 0.0]


def test_divide_by_another_recipe_and_by_zero():
    # rooms per adult: a 3 / 2, b 0 / 1
    assert apply({"column": "rooms", "divide_by": {"members": {"count": True, "age_from": 18}}}) == [1.5, 0.0]
    # divide hhsize by rooms: b has 0 rooms -> missing, not infinite
    values = apply({"column": "hhsize", "divide_by": "rooms"})
    assert values[0] == pytest.approx(1.0) and math.isnan(values[1])


def test_members_over_a_list_of_columns_sum_them_per_person_first():
    # per person a + b: a's members 3, 3, 3; b's member has neither (missing)
    assert apply({"members": {"sum": ["a", "b"]}}) == [9.0, 0.0]
    assert apply({"members": {"sum": ["a", "b"], "age_from": 18}}) == [6.0, 0.0]   # the 17-year-old is left out
    assert apply({"members": {"max": ["escolari", "a"]}})[0] == 13.0               # 12 + 1 for the 40-year-old
    assert math.isnan(apply({"members": {"mean": ["a", "b"]}})[1])
    with pytest.raises(Exception, match="missing"):
        apply({"members": {"sum": ["a", "nope"]}})
