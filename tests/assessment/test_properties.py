"""Properties of the index that must hold for any answers (hypothesis)."""

import math

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assessment import assess, assess_frame
from assessment.answers import deprivation
from tests.factories import mini_catalog

CATALOG = mini_catalog()
REGION = {"region": "city", "year": 2026}


def answer_strategy(ind):
    spec = ind.answer
    if spec.type == "yes_no":
        return st.booleans()
    if spec.type == "ordinal":
        return st.sampled_from([lv.value for lv in spec.levels])
    if spec.type == "choice":
        return st.sampled_from([o.value for o in spec.options])
    if spec.type == "count":
        return st.integers(spec.min, min(spec.max, 6))
    return st.floats(spec.min, min(spec.max, 60000), allow_nan=False)


@st.composite
def households(draw, allow_missing=True):
    answers = {}
    for ind in CATALOG.indicators:
        if ind.required or not allow_missing or draw(st.booleans()) or draw(st.booleans()):
            answers[ind.id] = draw(answer_strategy(ind))
    if answers["fam_children"] >= answers["fam_size"]:  # the catalog's contradiction rule is an error
        answers["fam_children"] = answers["fam_size"] - 1
    if answers["fam_children"] == 0:
        answers.pop("child_school", None)
    return answers


def score_of(ind_id, value, answers):
    ind = CATALOG.indicator_by_id[ind_id]
    divisor = answers["fam_size"] if ind.answer.type == "amount" and ind.answer.per_capita_of else None
    parameter = 1200.0 if ind.answer.type == "amount" and ind.answer.relative_to else None
    return deprivation(ind, value, divisor=divisor, parameter=parameter)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(households(), st.data())
def test_raising_a_deprivation_never_lowers_index_or_dimension(answers, data):
    candidates = [i for i in answers if CATALOG.indicator_by_id[i].applies_when == () and
                  not CATALOG.indicator_by_id[i].required]
    if not candidates:
        return
    ind_id = data.draw(st.sampled_from(candidates))
    other = data.draw(answer_strategy(CATALOG.indicator_by_id[ind_id]))
    before, after = answers, dict(answers, **{ind_id: other})
    if score_of(ind_id, other, answers) < score_of(ind_id, answers[ind_id], answers):
        before, after = after, before
    low, high = assess(CATALOG, before, **REGION), assess(CATALOG, after, **REGION)
    assert high.index >= low.index - 1e-9
    dim = CATALOG.indicator_by_id[ind_id].dimension
    assert high.dimension_scores[dim] >= low.dimension_scores[dim] - 1e-12


@settings(max_examples=200, deadline=None)
@given(households(), st.floats(0.01, 1000))
def test_scaling_all_weights_changes_nothing(answers, factor):
    base = CATALOG.default_config()
    scaled = base.model_copy(update={
        "indicator_weights": {k: v * factor for k, v in base.indicator_weights.items()},
        "dimension_weights": {k: v * factor for k, v in base.dimension_weights.items()},
    })
    a, b = assess(CATALOG, answers, **REGION), assess(CATALOG, answers, **REGION, config=scaled)
    assert math.isclose(a.index, b.index, abs_tol=1e-5)
    assert math.isclose(a.index_low, b.index_low, abs_tol=1e-5)
    assert math.isclose(a.index_high, b.index_high, abs_tol=1e-5)
    assert a.tier == b.tier or min(abs(a.index - c) for c in base.tier_cutoffs.values()) < 1e-5


@settings(max_examples=300, deadline=None)
@given(households(), households(allow_missing=False))
def test_any_filling_of_missing_answers_lies_in_the_range(answers, filler):
    result = assess(CATALOG, answers, **REGION)
    filled = dict(answers)
    for ind_id in result.missing:
        filled[ind_id] = filler.get(ind_id, answers.get(ind_id))
    filled = {k: v for k, v in filled.items() if v is not None}
    complete = assess(CATALOG, filled, **REGION)
    assert result.index_low - 1e-9 <= complete.index <= result.index_high + 1e-9
    assert result.index_low <= result.index <= result.index_high


@settings(max_examples=60, deadline=None)
@given(st.lists(households(), min_size=1, max_size=40))
def test_single_and_batch_paths_agree(rows):
    frame = pd.DataFrame([dict(a, household_id=f"h{n}", **REGION) for n, a in enumerate(rows)])
    batch = assess_frame(CATALOG, frame).scores
    assert len(batch) == len(rows)
    for n, answers in enumerate(rows):
        single = assess(CATALOG, answers, **REGION)
        row = batch.iloc[n]
        assert row["index"] == single.index
        assert (row.index_low, row.index_high) == (single.index_low, single.index_high)
        assert row.tier == single.tier and row.completeness == pytest.approx(single.completeness)
        assert row.top_reasons == ";".join(r.indicator for r in single.top_reasons)
        assert row.recommended_services == ";".join(r.service for r in single.recommendations)
