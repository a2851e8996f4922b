"""The default catalog: counts, bilingual labels, answer types, worked scores, services, regions."""

from __future__ import annotations

import re

import pytest
from pydantic import BaseModel

from assessment import AnswersInvalid, assess
from assessment.catalog import Label
from indicators import default_catalog

CJK = re.compile(r"[\u4e00-\u9fff]")
LATIN = re.compile(r"[A-Za-z]")
REGION, YEAR = "weihai_huancui", 2026


@pytest.fixture(scope="module")
def catalog():
    return default_catalog()


def labels_in(node, path="catalog"):
    """Every Label anywhere inside a catalog model, with where it was found."""
    if isinstance(node, Label):
        yield path, node
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from labels_in(getattr(node, name), f"{path}.{name}")
    elif isinstance(node, (tuple, list)):
        for k, item in enumerate(node):
            yield from labels_in(item, f"{path}[{getattr(item, 'id', k)}]")


def calm_answers(catalog) -> dict:
    """A household of five (one school-age child, one elderly member, two working-age adults, one
    member with a disability who is also bedridden) whose every other answer is the least deprived."""
    answers = {
        "fam_household_size": 5, "fam_school_age_children": 1, "fam_elderly_count": 1,
        "fam_working_age_adults": 2, "fam_disabled_count": 1, "fam_bedridden_count": 1,
        "health_chronic_illness": 0, "emp_unemployed_count": 0,
        "econ_income_per_capita": 5 * 1130 * 3,   # three times the minimum-living standard per member
        "econ_medical_costs": 0, "econ_debt": 0, "house_rent_burden": 0, "edu_costs": 0,
        "care_lives_alone": False,
    }
    for ind in catalog.indicators:
        spec = ind.answer
        if ind.id in answers:
            continue
        if spec.type == "yes_no":
            answers[ind.id] = spec.score_yes < spec.score_no
        elif spec.type == "ordinal":
            answers[ind.id] = min(spec.levels, key=lambda lv: lv.score).value
        elif spec.type == "choice":
            answers[ind.id] = min(spec.options, key=lambda o: o.score).value
    return answers


def worst_answer(ind):
    """The answer with the highest deprivation score (the smallest such number for counts)."""
    spec = ind.answer
    if spec.type == "yes_no":
        return spec.score_yes > spec.score_no
    if spec.type == "ordinal":
        return max(spec.levels, key=lambda lv: lv.score).value
    if spec.type == "choice":
        return max(spec.options, key=lambda o: o.score).value
    top = max(b.score for b in spec.bands)
    lower = spec.min
    for band in spec.bands:
        if band.score == top:
            return lower
        lower = band.below
    raise AssertionError(ind.id)


def test_counts_version_and_description(catalog):
    assert (len(catalog.dimensions), len(catalog.indicators), len(catalog.need_areas),
            len(catalog.categories), len(catalog.services)) == (8, 52, 13, 5, 20)
    assert catalog.version == "2026.1"
    assert "52" in catalog.header.description.en and "52" in catalog.header.description.zh
    assert [c.id for c in catalog.categories] == [
        "living_security", "hygiene_cleaning", "health_care", "support_capacity", "resource_linking"]
    per_category = {c.id: sum(s.category == c.id for s in catalog.services) for c in catalog.categories}
    assert set(per_category.values()) == {4}
    assert [t.id for t in catalog.tiers] == ["none", "light", "moderate", "severe"]


def test_every_label_has_chinese_and_english(catalog):
    found = list(labels_in(catalog))
    assert len(found) > 250
    for path, label in found:
        assert CJK.search(label.zh), f"{path}: zh text has no Chinese: {label.zh!r}"
        english = re.sub(r"\([^)]*\)", "", label.en)  # a Chinese term may stand in brackets
        assert LATIN.search(english) and not CJK.search(english), f"{path}: en text: {label.en!r}"


def test_every_answer_type_and_amount_unit_is_used(catalog):
    types = {ind.answer.type for ind in catalog.indicators}
    assert types == {"yes_no", "ordinal", "choice", "count", "amount"}
    units = {ind.answer.unit for ind in catalog.indicators if ind.answer.type == "amount"}
    assert units == {"yuan_per_month", "yuan_per_year", "yuan"}
    for dim in catalog.dimensions:
        assert any(ind.dimension == dim.id for ind in catalog.indicators)
    for area in catalog.need_areas:
        assert any(area.id in ind.need_areas for ind in catalog.indicators), area.id


def test_controllers_of_applicability_are_required(catalog):
    for ind in catalog.indicators:
        for cond in ind.applies_when:
            assert catalog.indicator_by_id[cond.indicator].required, (ind.id, cond.indicator)
    required = {i.id for i in catalog.indicators if i.required}
    assert {"fam_household_size", "fam_school_age_children", "fam_elderly_count", "fam_disabled_count",
            "econ_income_per_capita"} <= required
    assert len(required) <= 12


@pytest.mark.parametrize("income, expected", [
    (3 * 1130 * 0.9, 1.0),     # under the minimum-living standard
    (3 * 1130 * 1.0, 0.7),     # exactly the standard: low-income edge band
    (3 * 1130 * 1.49, 0.7),
    (3 * 1130 * 1.5, 0.4),     # 1.5x is no longer the low-income edge
    (3 * 1130 * 1.99, 0.4),
    (3 * 1130 * 2.0, 0.0),
])
def test_income_is_scored_per_member_against_the_regional_standard(catalog, income, expected):
    answers = calm_answers(catalog) | {"fam_household_size": 3, "fam_elderly_count": 0, "fam_disabled_count": 0,
                                       "fam_bedridden_count": 0, "econ_income_per_capita": income}
    result = assess(catalog, answers, region=REGION, year=YEAR)
    assert result.deprivations["econ_income_per_capita"] == pytest.approx(expected)


def test_a_calm_household_has_no_hardship_and_a_dilapidated_home_forces_severe(catalog):
    answers = calm_answers(catalog) | {"fam_disabled_count": 0, "fam_bedridden_count": 0}
    not_applicable = assess(catalog, answers, region=REGION, year=YEAR).not_applicable
    answers = {k: v for k, v in answers.items() if k not in not_applicable}
    calm = assess(catalog, answers, region=REGION, year=YEAR)
    # Only the child and the elderly member score (0.3 each, weight 0.5, in a family dimension of
    # weights 6.5); the disability dimension does not apply, the others sum to 8.75 of dimension weight.
    assert calm.index == pytest.approx(100 * (2 * 0.5 * 0.3 / 6.5) * 1.0 / 8.75, abs=1e-4)
    assert calm.tier == "none" and not calm.warnings
    unsafe = assess(catalog, answers | {"house_safety": 4}, region=REGION, year=YEAR)
    assert unsafe.tier_from_index != "severe"
    assert unsafe.tier == "severe"


def test_not_applicable_questions_follow_the_composition(catalog):
    answers = calm_answers(catalog) | {"fam_school_age_children": 0, "fam_disabled_count": 0,
                                       "fam_bedridden_count": 0, "fam_household_size": 3}
    for key in [k for k in answers if k.startswith(("edu_attendance", "dis_", "care_no_caregiver"))]:
        del answers[key]
    result = assess(catalog, answers, region=REGION, year=YEAR)
    for ind_id in ("edu_attendance", "edu_costs", "dis_severity", "dis_self_care", "care_no_caregiver",
                   "fam_child_guardianship"):
        assert ind_id in result.not_applicable


@pytest.mark.parametrize("service_index", range(20))
def test_every_service_is_recommended_for_some_household(catalog, service_index):
    service = catalog.services[service_index]
    trigger = catalog.indicator_by_id[service.triggers[0]]
    answers = calm_answers(catalog) | {trigger.id: worst_answer(trigger)}
    result = assess(catalog, answers, region=REGION, year=YEAR)
    assert service.id in [r.service for r in result.recommendations]


def test_contradictions(catalog):
    answers = calm_answers(catalog)
    alone = assess(catalog, answers | {"care_lives_alone": True}, region=REGION, year=YEAR)
    assert any(w.code == "contradiction" for w in alone.warnings)
    with pytest.raises(AnswersInvalid) as raised:
        assess(catalog, answers | {"fam_school_age_children": 6}, region=REGION, year=YEAR)
    assert any(f.code == "contradiction" and f.severity == "error" for f in raised.value.findings)
    with pytest.raises(AnswersInvalid):
        assess(catalog, answers | {"emp_unemployed_count": 3}, region=REGION, year=YEAR)


def test_regions_cover_weihai_with_three_years(catalog):
    city = catalog.region_by_id["weihai"]
    districts = [r for r in catalog.regions if r.parent == city.id]
    assert {"weihai_huancui", "weihai_wendeng", "weihai_rongcheng", "weihai_rushan"} <= {r.id for r in districts}
    for region in districts:
        for year in (2024, 2025, 2026):
            standard = catalog.parameter("min_living_standard", region.id, year)
            assert 602 < standard < 2000  # above Loudi's 602 yuan/month, a plausible Weihai level
            extreme = catalog.parameter("extreme_poverty_standard", region.id, year)
            assert extreme == city.values[year]["extreme_poverty_standard"]  # falls back to the city
            assert extreme >= 1.3 * city.values[year]["min_living_standard"]
        assert catalog.parameter("min_living_standard", region.id, 2024) <= \
            catalog.parameter("min_living_standard", region.id, 2026)
