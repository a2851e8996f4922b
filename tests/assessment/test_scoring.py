"""Worked examples on the mini catalog (tests/factories.py), every figure computed by hand.

Mini catalog weights: dimensions fam 1, econ 2, health 1.
fam: fam_size 1, fam_alone 1, fam_children 2, child_school 1; econ: econ_income 3, econ_debt 1;
health: health_chronic 2, health_costs 1, health_insured 1.
"""

import json

import pytest

from assessment import AnswersInvalid, assess
from assessment.scoring import assess_many
from tests.factories import mini_catalog

CATALOG = mini_catalog()

FULL = {  # deprivations: 0, 0, 0.25, 0.5 | 1.0 (900/1200 < 1), 0.5 | 1.0, 0.5, 0
    "fam_size": 2, "fam_alone": False, "fam_children": 1, "child_school": 1,
    "econ_income": 1800, "econ_debt": "small",
    "health_chronic": 2, "health_costs": 8000, "health_insured": True,
}


def test_full_answers():
    r = assess(CATALOG, FULL, region="city", year=2026)
    # fam (0+0+2*0.25+0.5)/5 = 0.2; econ (3*1+0.5)/4 = 0.875; health (2*1+0.5+0)/4 = 0.625
    assert dict(r.dimension_scores) == pytest.approx({"fam": 0.2, "econ": 0.875, "health": 0.625})
    # 100 * (1*0.2 + 2*0.875 + 1*0.625) / 4
    assert r.index == 64.375
    assert (r.index_low, r.index_high) == (64.375, 64.375)
    assert r.completeness == 1.0 and not r.provisional
    assert r.tier_from_index == "moderate"  # 45 <= 64.375 < 65
    assert r.tier == "severe" and r.raised_by == ("health_chronic",)
    # contribution = 100 * dim weight share * indicator weight share * d
    assert r.contributions["econ_income"] == pytest.approx(100 * 2 / 4 * 3 / 4 * 1.0)  # 37.5
    assert r.contributions["child_school"] == pytest.approx(100 * 1 / 4 * 1 / 5 * 0.5)  # 2.5
    assert sum(r.contributions.values()) == pytest.approx(r.index)
    assert [x.indicator for x in r.top_reasons] == ["econ_income", "health_chronic", "econ_debt"]
    # allowance: need 1, strength 3; medical: need 1, strength 2*1 + 1*0.5 = 2.5; tutoring need 0.5
    assert [x.service for x in r.recommendations] == ["svc_allowance", "svc_medical", "svc_tutoring"]
    medical = r.recommendations[1]
    assert [x.indicator for x in medical.reasons] == ["health_chronic", "health_costs"]
    assert r.catalog_id == "mini" and r.catalog_hash == CATALOG.content_hash and r.config_version == "mini@1"


def test_missing_answers_give_a_range_and_provisional():
    answers = {k: v for k, v in FULL.items() if k not in ("econ_debt", "health_costs", "health_insured")}
    r = assess(CATALOG, answers, region="city", year=2026)
    # point: fam 0.2, econ 1.0, health 1.0 -> 100 * (0.2 + 2 + 1) / 4 = 80
    assert r.index == 80.0
    # low: econ (3*1 + 0)/4 = 0.75, health (2*1 + 0 + 0)/4 = 0.5 -> 100 * (0.2 + 1.5 + 0.5)/4 = 55
    assert r.index_low == 55.0
    # high: econ 1, health (2 + 1 + 1)/4 = 1 -> 80
    assert r.index_high == 80.0
    assert r.completeness == pytest.approx(6 / 9)
    assert r.provisional
    assert r.missing == ("econ_debt", "health_costs", "health_insured")


def test_question_that_does_not_apply_is_ignored_with_a_warning():
    answers = {"fam_size": 1, "fam_alone": "是", "fam_children": 0, "child_school": 2, "econ_income": 500,
               "econ_debt": "large", "health_chronic": 0, "health_costs": 25000, "health_insured": "no"}
    r = assess(CATALOG, answers, region="district", year=2026)  # 500 / 1 / 1500 -> d 1.0
    assert r.not_applicable == ("child_school",)
    assert "child_school" not in r.deprivations
    assert [(w.code, w.indicator, w.severity) for w in r.warnings] == [("not_applicable", "child_school", "warning")]
    # fam (0 + 1 + 0)/4 = 0.25 (child_school left out); econ 1; health (0 + 1 + 1)/4 = 0.5
    assert r.index == 68.75
    assert r.tier == r.tier_from_index == "severe" and r.raised_by == ()
    assert r.completeness == 1.0
    # all needs 1.0; strengths: allowance 3, medical 2, debt 1, visits 1 (debt listed first in the file)
    assert [x.service for x in r.recommendations] == ["svc_allowance", "svc_medical", "svc_debt"]
    # ties in contribution (6.25 each) are broken by catalog order
    assert [x.indicator for x in r.top_reasons] == ["econ_income", "econ_debt", "fam_alone"]
    # AF (z = 0.5): deprived shares 1/16 + 3/8 + 1/8 + 1/16 + 1/16
    assert r.af_score == pytest.approx(0.6875) and r.af_poor


def test_regional_parameter_falls_back_to_parent_and_earlier_year():
    answers = dict(FULL, fam_size=1, fam_children=0, econ_income=1200)
    answers.pop("child_school")
    in_2026 = assess(CATALOG, answers, region="district", year=2026)  # 1200 / 1500 = 0.8 -> 1.0
    in_2025 = assess(CATALOG, answers, region="district", year=2025)  # parent city 2025: 1200/1000 = 1.2 -> 0.6
    later = assess(CATALOG, answers, region="district", year=2030)  # latest earlier year: 2026
    assert in_2026.deprivations["econ_income"] == 1.0
    assert in_2025.deprivations["econ_income"] == 0.6
    assert later.deprivations["econ_income"] == 1.0
    assert assess(CATALOG, answers, region="district").deprivations["econ_income"] == 1.0


def test_alkire_foster_method():
    config = CATALOG.default_config().model_copy(update={"method": "alkire_foster", "version": "af"})
    r = assess(CATALOG, FULL, region="city", year=2026, config=config)
    # deprived (d >= 0.5): child_school 1/4*1/5, income 2/4*3/4, debt 2/4*1/4, chronic 1/4*2/4, costs 1/4*1/4
    assert r.af_score == pytest.approx(0.05 + 0.375 + 0.125 + 0.125 + 0.0625)
    assert r.index == 73.75 and r.method == "alkire_foster" and r.config_version == "af"
    assert r.contributions["econ_income"] == pytest.approx(37.5)
    assert r.contributions["fam_children"] == 0.0  # 0.25 is below the deprivation cut-off
    strict = config.model_copy(update={"af_poverty_cutoff": 0.8})
    censored = assess(CATALOG, FULL, region="city", year=2026, config=strict)
    assert censored.index == 0.0 and not censored.af_poor
    assert censored.tier_from_index == "none" and censored.tier == "severe"  # the critical answer still counts


def test_config_weights_and_cutoffs_change_the_result():
    base = CATALOG.default_config()
    config = base.model_copy(update={
        "dimension_weights": {"fam": 1, "econ": 1, "health": 2},
        "tier_cutoffs": {"none": 0, "light": 10, "moderate": 20, "severe": 90},
    })
    r = assess(CATALOG, FULL, region="city", year=2026, config=config)
    assert r.index == pytest.approx(100 * (0.2 + 0.875 + 2 * 0.625) / 4)  # 58.125
    assert r.tier_from_index == "moderate"


def test_errors_stop_scoring():
    with pytest.raises(AnswersInvalid) as info:
        assess(CATALOG, dict(FULL, econ_debt="huge"), region="city")
    assert info.value.status_hint == 422
    assert [f.code for f in info.value.findings] == ["unknown_option"]


def test_households_scored_together_get_each_the_result_assess_gives():
    """`assess_many` (the vectorised core, for bulk imports) gives each household the result `assess` gives it
    alone, to the byte of its JSON, and refuses the same households with the same findings."""
    not_applicable = {"fam_size": 1, "fam_alone": "是", "fam_children": 0, "child_school": 2, "econ_income": 500,
                      "econ_debt": "large", "health_chronic": 0, "health_costs": 25000, "health_insured": "no"}
    households = [FULL,
                  {k: v for k, v in FULL.items() if k not in ("econ_debt", "health_costs", "health_insured")},
                  not_applicable,
                  {**FULL, "fam_size": "many"},
                  {**FULL, "no_such_question": 1},
                  {**FULL, "econ_income": "1800", "fam_alone": "否", "health_insured": None}]
    regions = ["city", "city", "district", "city", "city", "city"]
    together = assess_many(CATALOG, households, regions=regions, years=[2026] * len(households))
    assert [isinstance(result, AnswersInvalid) for result in together] == [False, False, False, True, True, False]
    for answers, region, result in zip(households, regions, together):
        try:
            alone = assess(CATALOG, answers, region=region, year=2026)
        except AnswersInvalid as invalid:
            assert result.findings == invalid.findings
            continue
        assert json.dumps(result.as_dict(), ensure_ascii=False) == json.dumps(alone.as_dict(), ensure_ascii=False)
        assert result == alone
    # worked by hand (FULL): medical is triggered by health_chronic (d 1.0) and health_costs (d 0.5), highest first;
    # contribution = 100 * health's share 1/4 * the indicator's share of health (2/4, 1/4) * d
    medical = together[0].as_dict()["recommendations"][1]
    assert (medical["service"], medical["category"], medical["need"]) == ("svc_medical", "care", 1.0)
    assert [(r["indicator"], r["label_en"], r["score"]) for r in medical["reasons"]] == [
        ("health_chronic", "Illness", 1.0), ("health_costs", "Costs", 0.5)]
    assert [r["contribution"] for r in medical["reasons"]] == pytest.approx([12.5, 3.125])
    assert together[0].recommendations[1].reasons[0].label == CATALOG.indicator_by_id["health_chronic"].label
    assert together[2].as_dict()["not_applicable"] == ["child_school"]
    assert [w["code"] for w in together[2].as_dict()["warnings"]] == ["not_applicable"]


def test_a_result_rebuilt_from_its_dict_is_the_result():
    """`AssessmentResult.from_dict` (a result sent between processes, or stored) gives the result back: its
    dict, its warnings and what its attributes read."""
    import pandas as pd

    from assessment.results import AssessmentResult
    from indicators import default_catalog
    from indicators.synth import generate_households, load_spec

    catalog = default_catalog()
    region = next(r for r in catalog.regions if r.parent).id
    frame = generate_households(catalog, load_spec(), 200, 3)
    records = frame[[i.id for i in catalog.indicators if i.id in frame]].to_dict("records")
    answers = [{key: value for key, value in record.items() if not pd.isna(value)} for record in records]
    results = assess_many(catalog, answers, regions=[region] * len(records), years=[2026] * len(records),
                          config=catalog.default_config())
    with_warnings = [result for result in results if not isinstance(result, AnswersInvalid) and result.warnings]
    assert with_warnings
    for result in with_warnings[:5] + [r for r in results if not isinstance(r, AnswersInvalid)][:5]:
        again = AssessmentResult.from_dict(result.as_dict(), catalog)
        assert again.as_dict() == result.as_dict()
        assert [w.as_dict() for w in again.warnings] == [w.as_dict() for w in result.warnings]
        assert (again.top_reasons, again.recommendations, again.index, again.tier) == (
            result.top_reasons, result.recommendations, result.index, result.tier)
