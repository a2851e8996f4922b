"""Every kind of bad answer: its code, the indicator and path, and a message in Chinese and English."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from assessment import AnswersInvalid, assess, build_catalog, validate_answers
from assessment.answers import parse_answer
from tests.factories import mini_catalog, mini_documents

CATALOG = mini_catalog()
GOOD = {"fam_size": 3, "fam_alone": False, "fam_children": 1, "child_school": 0, "econ_income": 3000,
        "econ_debt": "none", "health_chronic": 1, "health_costs": 1000, "health_insured": True}


def errors(answers, **kw):
    return [(f.indicator, f.code) for f in validate_answers(CATALOG, answers, region="city", **kw)
            if f.severity == "error"]


def test_good_answers_have_no_findings():
    assert validate_answers(CATALOG, GOOD, region="city") == []


@pytest.mark.parametrize("indicator, value, code", [
    ("fam_alone", "maybe", "wrong_type"),
    ("fam_alone", 2, "wrong_type"),
    ("fam_alone", [True], "wrong_type"),
    ("child_school", 3, "unknown_level"),
    ("child_school", 1.5, "unknown_level"),
    ("child_school", "often", "wrong_type"),
    ("econ_debt", "huge", "unknown_option"),
    ("econ_debt", 1, "wrong_type"),
    ("fam_size", 2.5, "not_whole_number"),
    ("fam_size", 0, "out_of_range"),
    ("fam_size", 21, "out_of_range"),
    ("fam_size", True, "wrong_type"),
    ("econ_income", -1, "out_of_range"),
    ("econ_income", "lots", "wrong_type"),
    ("econ_income", float("inf"), "wrong_type"),
])
def test_bad_values(indicator, value, code):
    found = [f for f in validate_answers(CATALOG, dict(GOOD, **{indicator: value}), region="city")]
    assert [(f.indicator, f.code, f.severity) for f in found] == [(indicator, code, "error")]
    assert found[0].path == f"answers.{indicator}"
    label = CATALOG.indicator_by_id[indicator].label
    assert found[0].message.zh.startswith(label.zh) and found[0].message.en.startswith(label.en)
    assert repr(value) in found[0].message.en or str(value) in found[0].message.en


def test_accepted_spellings_of_yes_and_no():
    for yes in (True, "yes", "Yes", "是", 1, "1"):
        assert validate_answers(CATALOG, dict(GOOD, health_insured=yes), region="city") == []
    for no in (False, "no", "否", 0, "0"):
        assert validate_answers(CATALOG, dict(GOOD, health_insured=no), region="city") == []


NUMERIC = [i for i in CATALOG.indicators if i.answer.type in ("ordinal", "count", "amount")]


@given(st.sampled_from(NUMERIC), st.one_of(st.integers(-3, 10**6), st.floats(-10.0, 10**6),
                                           st.sampled_from([float("nan"), float("inf"), -float("inf"), True])))
def test_a_number_and_its_text_are_read_alike(indicator, number):
    # numbers sent as numbers take a shorter path than numbers sent as text
    assert parse_answer(indicator, number) == parse_answer(indicator, repr(number))


@pytest.mark.parametrize("indicator", [i for i in CATALOG.indicators if i.answer.type in ("choice", "yes_no")])
def test_options_and_yes_no_are_read_alike_in_every_spelling(indicator):
    spec = indicator.answer
    pairs = [(o.value, f" {o.value} ") for o in spec.options] if spec.type == "choice" else [(True, " yes "),
                                                                                            (False, "no")]
    for canonical, spelled in pairs:
        assert parse_answer(indicator, canonical) == parse_answer(indicator, spelled) == (canonical, None)


def test_messages_list_the_allowed_levels():
    finding = validate_answers(CATALOG, dict(GOOD, child_school=7), region="city")[0]
    assert "0=In school" in finding.message.en and "2=Dropped out" in finding.message.en
    assert "不是可选的等级" in finding.message.zh


def test_unknown_indicator():
    assert errors(dict(GOOD, ghost=1)) == [("ghost", "unknown_indicator")]


@pytest.mark.parametrize("missing", [None, "", "  ", float("nan"), np.float64("nan"), pd.NA])
def test_required_answer_missing(missing):
    assert errors(dict(GOOD, fam_size=missing)) == [("fam_size", "missing_required")]


@pytest.mark.parametrize("zero", [0, 0.0, np.int64(0), np.float64(0.0)])
def test_a_zero_is_an_answer_not_a_missing_one(zero):
    assert errors(dict(GOOD, fam_size=zero)) == [("fam_size", "out_of_range")]  # fam_size counts from 1


def test_missing_optional_answer_is_not_an_error():
    answers = dict(GOOD)
    del answers["health_costs"]
    assert validate_answers(CATALOG, answers, region="city") == []


def test_answer_to_a_question_that_does_not_apply_is_a_warning():
    found = validate_answers(CATALOG, dict(GOOD, fam_children=0), region="city")
    assert [(f.indicator, f.code, f.severity) for f in found] == [("child_school", "not_applicable", "warning")]


def test_contradictions_warn_or_stop():
    found = validate_answers(CATALOG, dict(GOOD, fam_alone=True), region="city")
    assert [(f.indicator, f.code, f.severity) for f in found] == [("fam_alone", "contradiction", "warning")]
    assert found[0].message.en == "Lives alone but household > 1"
    # children >= household size compares two answers (value_of) and is an error
    assert errors(dict(GOOD, fam_children=3)) == [("fam_children", "contradiction")]


def test_regional_parameter_problems():
    assert [(f.path, f.code) for f in validate_answers(CATALOG, GOOD)] == [("region", "missing_region")]
    assert [(f.path, f.code) for f in validate_answers(CATALOG, GOOD, region="atlantis")] == [
        ("region", "unknown_region")]
    found = validate_answers(CATALOG, GOOD, region="city", year=2020)
    assert [(f.path, f.code) for f in found] == [("region", "missing_parameter")]
    assert "2020" in found[0].message.en


def test_per_capita_divisor_of_zero():
    docs = mini_documents()
    size = next(i for i in docs["indicators.yaml"]["indicators"] if i["id"] == "fam_size")
    size["answer"]["min"] = 0
    docs["rules.yaml"]["contradictions"].pop()
    catalog = build_catalog(docs)
    found = validate_answers(catalog, dict(GOOD, fam_size=0, fam_children=0, child_school=None), region="city")
    assert [(f.indicator, f.code) for f in found] == [("econ_income", "bad_divisor")]
    assert "Household size" in found[0].message.en


def test_nothing_answered():
    catalog_answers = {"fam_size": 1, "fam_children": 0}
    # required answers alone still score (family dimension); an empty set has no required answers
    assert errors({}) == [("fam_size", "missing_required"), ("fam_children", "missing_required")]
    assert errors(catalog_answers) == []


def test_every_problem_is_listed_at_once_and_scoring_stops():
    bad = dict(GOOD, fam_alone="maybe", econ_debt="huge", fam_size=None, ghost=1)
    with pytest.raises(AnswersInvalid) as info:
        assess(CATALOG, bad, region="city")
    assert sorted((f.indicator, f.code) for f in info.value.findings) == [
        ("econ_debt", "unknown_option"), ("fam_alone", "wrong_type"), ("fam_size", "missing_required"),
        ("ghost", "unknown_indicator")]
    assert all(f.message.zh and f.message.en for f in info.value.findings)


def test_missing_region_names_the_catalogs_own_parameter():
    found = validate_answers(CATALOG, GOOD)
    # the mini catalog's parameter is "Minimum living standard" (label() adds "(中)" to its Chinese)
    assert "Minimum living standard(中)" in found[0].message.zh and "低保" not in found[0].message.zh
    assert "Minimum living standard" in found[0].message.en
    other = mini_documents()
    other["regions.yaml"]["parameters"][0]["label"] = {"zh": "贫困线", "en": "poverty line"}
    found = validate_answers(build_catalog(other), GOOD)
    assert "贫困线" in found[0].message.zh and "poverty line" in found[0].message.en


@pytest.mark.parametrize("region, year, used", [("city", 2027, 2026), ("district", 2030, 2026)])
def test_a_year_after_the_last_regional_value_is_scored_with_it_and_warned(region, year, used):
    found = validate_answers(CATALOG, GOOD, region=region, year=year)
    assert [(f.indicator, f.path, f.code, f.severity) for f in found] == [
        ("econ_income", "year", "parameter_from_earlier_year", "warning")]
    for text in (found[0].message.zh, found[0].message.en):
        assert region in text and str(year) in text and str(used) in text
    assert (assess(CATALOG, GOOD, region=region, year=year).deprivations
            == assess(CATALOG, GOOD, region=region, year=used).deprivations)


@pytest.mark.parametrize("region, year", [("city", 2026), ("city", None), ("district", 2025)])
def test_a_year_with_its_own_value_or_its_parents_is_not_warned(region, year):
    # district has 2026 only: in 2025 it takes its parent city's value of 2025
    assert validate_answers(CATALOG, GOOD, region=region, year=year) == []


def test_a_huge_bad_value_is_quoted_by_a_short_prefix_only():
    huge = "x" * 5_000_000
    found = validate_answers(CATALOG, {**GOOD, "econ_debt": huge, huge: 1}, region="city")
    assert sorted(f.code for f in found) == ["unknown_indicator", "unknown_option"]
    for f in found:
        assert "xxxx…" in f.message.en and "xxxx…" in f.message.zh
        assert max(len(f.message.zh), len(f.message.en), len(f.path), len(f.indicator)) < 200
