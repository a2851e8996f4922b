"""The rules both scoring paths share (assessment.rules): one condition checker for one household and for
columns, one way answers become codes, rounding and tiers, and the compiled plan they are scored with."""

import math
import typing

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from assessment import answer_matrix
from assessment.answers import parse_answer
from assessment.catalog import Condition, Operator
from assessment.layout import scoring_plan
from assessment.rules import (COMPARISONS, all_hold, answer_code, condition_holds, finite_codes, round_index,
                              tier_level)
from tests.assessment.test_batch import messy_frame
from tests.factories import mini_catalog

CATALOG = mini_catalog()
NAN = math.nan


def test_every_operator_of_the_catalog_has_its_meaning():
    assert set(COMPARISONS) | {"in"} == set(typing.get_args(Operator))


@pytest.mark.parametrize("indicator, value, code", [
    ("fam_alone", True, 1.0), ("fam_alone", False, 0.0),
    ("child_school", 2, 2.0), ("fam_size", 3, 3.0), ("econ_income", 1234.5, 1234.5),
    ("econ_debt", "none", 0.0), ("econ_debt", "small", 1.0), ("econ_debt", "large", 2.0),
])
def test_answer_codes_by_hand(indicator, value, code):
    assert answer_code(CATALOG.indicator_by_id[indicator], value) == code


def test_finite_codes_list_every_answer_with_its_score():
    assert finite_codes(CATALOG.indicator_by_id["health_insured"]) == ([0.0, 1.0], [1.0, 0.0])  # no insurance: 1
    assert finite_codes(CATALOG.indicator_by_id["econ_debt"]) == ([0.0, 1.0, 2.0], [0.0, 0.5, 1.0])
    with pytest.raises(ValueError):
        finite_codes(CATALOG.indicator_by_id["fam_size"])


def test_the_answer_matrix_holds_the_answer_codes_of_the_parsed_answers():
    frame = messy_frame(300, seed=4)
    matrix = answer_matrix(CATALOG, frame)
    for j, indicator in enumerate(CATALOG.indicators):
        for i, raw in enumerate(frame[indicator.id]):
            value, problem = parse_answer(indicator, raw) if raw is not None and not pd.isna(raw) else (None, "")
            if problem is None and not np.isnan(matrix[i, j]):
                assert matrix[i, j] == answer_code(indicator, value)
            elif problem is not None:
                assert np.isnan(matrix[i, j])


codes = st.one_of(st.just(NAN), st.sampled_from([0.0, 1.0, 2.0, 3.0, 5.0]))
CONDITIONS = [
    Condition(indicator="fam_size", op=op, value=3) for op in COMPARISONS
] + [
    Condition(indicator="fam_children", op=op, value_of="fam_size") for op in COMPARISONS
] + [
    Condition(indicator="econ_debt", op="in", value=["small", "large"]),
    Condition(indicator="fam_alone", op="ne", value=True),
]


@given(st.lists(st.tuples(codes, codes, codes, codes), min_size=1, max_size=30))
def test_one_household_and_columns_are_checked_alike(rows):
    """condition_holds on one household's codes equals its value in the columns; a missing answer never holds."""
    names = ("fam_size", "fam_children", "econ_debt", "fam_alone")
    columns = {name: np.array([row[k] for row in rows]) for k, name in enumerate(names)}
    for condition in CONDITIONS:
        held = condition_holds(CATALOG, condition, columns.__getitem__)
        for i, row in enumerate(rows):
            one = dict(zip(names, row))
            single = condition_holds(CATALOG, condition, one.__getitem__)
            assert isinstance(single, bool) and single == bool(held[i])
            needed = [condition.indicator] + ([condition.value_of] if condition.value_of else [])
            if any(math.isnan(one[name]) for name in needed):
                assert single is False


def test_conditions_by_hand():
    household = {"fam_size": 3.0, "fam_children": 3.0, "econ_debt": 2.0, "fam_alone": NAN}.__getitem__
    assert condition_holds(CATALOG, Condition(indicator="fam_size", op="ge", value=3), household) is True
    assert condition_holds(CATALOG, Condition(indicator="fam_children", op="ge", value_of="fam_size"), household)
    assert condition_holds(CATALOG, Condition(indicator="econ_debt", op="in", value=["large"]), household) is True
    assert condition_holds(CATALOG, Condition(indicator="econ_debt", op="eq", value="small"), household) is False
    # "ne" on a missing answer is false, as every comparison with a missing answer is
    assert condition_holds(CATALOG, Condition(indicator="fam_alone", op="ne", value=True), household) is False
    assert all_hold(CATALOG, (), household) is True


def test_rounding_and_tiers():
    assert round_index(64.3749999999999) == 64.375 and round_index(1 / 3) == 0.333333
    cutoffs = np.array([0.0, 25.0, 45.0, 65.0])
    assert [tier_level(cutoffs, x) for x in (0.0, 24.999999, 25.0, 64.9, 65.0, 100.0)] == [0, 0, 1, 2, 3, 3]


def test_a_plan_is_built_once_per_configuration_object():
    config = CATALOG.default_config()
    assert scoring_plan(CATALOG, config) is scoring_plan(CATALOG, config)
    changed = config.model_copy(update={"indicator_weights": {**config.indicator_weights, "fam_size": 5.0}})
    plan = scoring_plan(CATALOG, changed)
    assert plan is not scoring_plan(CATALOG, config)
    assert plan.weights[CATALOG.indicator_position["fam_size"]] == 5.0
