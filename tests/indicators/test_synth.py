"""The synthetic household generator: reproducibility, shares, applicability, consistency, labels."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import spearmanr

from assessment import assess_frame, deprivation_matrix
from indicators import default_catalog
from indicators.synth import SpecError, generate_households, hidden_index, hidden_weights, load_spec

N = 4000
SEED = 20260101


@pytest.fixture(scope="module")
def catalog():
    return default_catalog()


@pytest.fixture(scope="module")
def spec():
    return load_spec()


@pytest.fixture(scope="module")
def frame(catalog, spec):
    return generate_households(catalog, spec, N, SEED)


@pytest.fixture(scope="module")
def batch(catalog, frame):
    return assess_frame(catalog, frame)


def test_same_seed_same_frame_other_seed_other_frame(catalog, spec, frame):
    pd.testing.assert_frame_equal(generate_households(catalog, spec, N, SEED), frame)
    other = generate_households(catalog, spec, N, SEED + 1)
    assert not other["econ_income_per_capita"].equals(frame["econ_income_per_capita"])
    assert (other["archetype"] != frame["archetype"]).mean() > 0.5


def test_columns_and_types(catalog, frame):
    assert list(frame.columns[:6]) == ["household_id", "region", "year", "town_id", "station_id", "archetype"]
    assert list(frame.columns[-2:]) == ["verified_tier", "synthetic"]
    assert frame["synthetic"].all()
    assert frame["household_id"].is_unique
    assert frame["household_id"].str.fullmatch(r"H\d{7}").all()
    assert frame["household_id"].iloc[0] == "H0000001"
    expected = {"yes_no": "boolean", "ordinal": "Int64", "count": "Int64", "choice": "category", "amount": "float64"}
    for ind in catalog.indicators:
        assert str(frame[ind.id].dtype) == expected[ind.answer.type], ind.id
        if ind.answer.type == "choice":
            assert set(frame[ind.id].cat.categories) == {o.value for o in ind.answer.options}


def test_geography(catalog, spec, frame):
    assert set(frame["region"]) <= set(spec["regions"])
    assert all(catalog.region_by_id[r].parent == "weihai" for r in spec["regions"])
    assert frame.groupby("station_id", observed=True)["town_id"].nunique().eq(1).all()
    assert frame.groupby("town_id", observed=True)["region"].nunique().eq(1).all()
    assert sum(r["towns"] for r in spec["regions"].values()) == 72
    assert frame["station_id"].nunique() == 72  # 4000 households reach every station
    assert set(frame["year"]) == {int(y) for y in spec["years"]}


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_archetype_shares_match_the_spec(catalog, spec, seed):
    n = 3000
    drawn = generate_households(catalog, spec, n, seed)["archetype"].value_counts(normalize=True)
    for name, archetype in spec["archetypes"].items():
        p = archetype["share"]
        assert abs(drawn.get(name, 0.0) - p) <= 5 * np.sqrt(p * (1 - p) / n), name


def test_required_answers_present_and_no_validation_errors(catalog, frame, batch):
    for ind in catalog.indicators:
        if ind.required:
            assert frame[ind.id].notna().all(), ind.id
    assert batch.valid.all()
    assert batch.errors.empty
    assert (batch.warnings["code"] == "not_applicable").sum() == 0
    assert batch.warnings["household_id"].nunique() < 0.02 * N  # contradictions are rare


def test_no_answers_to_questions_that_do_not_apply(catalog, frame):
    _, applicable = deprivation_matrix(catalog, frame)
    answered = frame[[i.id for i in catalog.indicators]].notna().to_numpy()
    assert not (answered & ~applicable).any()
    no_children = frame["fam_school_age_children"] == 0
    assert frame.loc[no_children, ["edu_attendance", "edu_costs", "fam_child_guardianship"]].isna().all().all()
    no_disability = frame["fam_disabled_count"] == 0
    assert frame.loc[no_disability, "dis_self_care"].isna().all()
    assert frame.loc[~no_disability, "dis_self_care"].notna().mean() > 0.9


def test_composition_is_consistent(frame):
    size = frame["fam_household_size"]
    members = frame["fam_elderly_count"] + frame["fam_working_age_adults"] + frame["fam_school_age_children"]
    assert (members <= size).all() and (size >= 1).all()
    for column in ("fam_disabled_count", "fam_bedridden_count", "health_chronic_illness"):
        assert (frame[column].dropna() <= size[frame[column].notna()]).all(), column
    working = frame["emp_unemployed_count"].notna()
    assert (frame.loc[working, "emp_unemployed_count"] <= frame.loc[working, "fam_working_age_adults"]).all()
    alone = frame["care_lives_alone"].notna()
    assert (frame.loc[alone, "care_lives_alone"] == (size[alone] == 1)).all()
    elderly_alone = frame[frame["archetype"] == "elderly_alone"]
    assert (elderly_alone["fam_household_size"] == 1).all() and (elderly_alone["fam_elderly_count"] == 1).all()


def test_a_few_percent_of_optional_answers_are_missing(catalog, spec, frame):
    _, applicable = deprivation_matrix(catalog, frame)
    optional = [j for j, ind in enumerate(catalog.indicators) if not ind.required]
    answered = frame[[catalog.indicators[j].id for j in optional]].notna().to_numpy()
    missing_share = 1 - answered[applicable[:, optional]].mean()
    assert 0.5 * spec["missing_rate"] < missing_share < 1.5 * spec["missing_rate"]


def test_archetypes_are_coherent(frame, batch):
    index = batch.scores.set_index("household_id")["index"]
    by_archetype = index.groupby(frame.set_index("household_id")["archetype"], observed=True).mean()
    assert by_archetype.idxmin() == "not_in_hardship"
    assert by_archetype["not_in_hardship"] < 0.5 * by_archetype.drop("not_in_hardship").min()
    disabled = frame[frame["archetype"] == "severe_disability"]
    assert (disabled["fam_disabled_count"] >= 1).all()
    income_ratio = frame["econ_income_per_capita"] / frame["fam_household_size"]
    assert income_ratio[frame["archetype"] == "not_in_hardship"].median() > \
        2 * income_ratio[frame["archetype"] == "elderly_alone"].median()


def test_hidden_weights(catalog, spec):
    weights = hidden_weights(catalog, spec, SEED)
    assert set(weights) == {i.id for i in catalog.indicators}
    assert all(w > 0 for w in weights.values()) and sum(weights.values()) == pytest.approx(1.0)
    assert hidden_weights(catalog, spec, SEED) == weights
    assert hidden_weights(catalog, spec, SEED + 1) != weights
    defaults = np.array([i.weight for i in catalog.indicators])
    hidden = np.array([weights[i.id] for i in catalog.indicators])
    assert not np.allclose(hidden / hidden.sum(), defaults / defaults.sum(), rtol=0.05)


def test_verified_tiers_follow_the_hidden_index(catalog, spec, frame):
    assert set(frame["verified_tier"].astype(str)) <= set(catalog.tier_ids)
    assert frame["verified_tier"].notna().all()
    scores, _ = deprivation_matrix(catalog, frame)
    index = hidden_index(catalog, hidden_weights(catalog, spec, SEED), scores)
    tier_rank = frame["verified_tier"].cat.codes.to_numpy()
    assert spearmanr(index, tier_rank).statistic > 0.8
    assert len(set(tier_rank)) == len(catalog.tier_ids)
    dilapidated = (frame["house_safety"] == 4).fillna(False).to_numpy()
    assert dilapidated.any() and (frame.loc[dilapidated, "verified_tier"] == "severe").all()


def test_bad_spec_is_rejected_with_the_field_named(catalog, spec):
    unknown = copy.deepcopy(spec)
    unknown["defaults"]["no_such_question"] = {"p_yes": 0.5}
    with pytest.raises(SpecError, match="defaults.no_such_question"):
        generate_households(catalog, unknown, 10, 1)
    shares = copy.deepcopy(spec)
    shares["archetypes"]["elderly_alone"]["share"] = 0.5
    with pytest.raises(SpecError, match="add up to 1") as raised:
        generate_households(catalog, shares, 10, 1)
    assert "合计" in raised.value.message.zh
    level = copy.deepcopy(spec)
    level["archetypes"]["elderly_alone"]["answers"]["house_safety"] = {"p": {9: 1.0}}
    with pytest.raises(SpecError, match="archetypes.elderly_alone.answers.house_safety"):
        generate_households(catalog, level, 10, 1)
    with pytest.raises(SpecError, match="positive whole number"):
        generate_households(catalog, spec, 0, 1)
    with pytest.raises(SpecError, match="cannot be read"):
        load_spec("no/such/spec.yaml")


def test_synthetic_households_reach_every_service(catalog, batch):
    recommended = set(";".join(batch.scores["recommended_services"]).split(";")) - {""}
    assert recommended == {s.id for s in catalog.services}


def test_a_derived_answer_follows_its_catalog_conditions(catalog, spec):
    derived = copy.deepcopy(spec)
    derived["defaults"]["care_lives_alone"] = {
        "when": [{"indicator": "house_tenure", "op": "in", "value": ["private_rental", "borrowed"]},
                 {"indicator": "fam_household_size", "op": "le", "value": 2}]}
    for archetype in derived["archetypes"].values():
        (archetype.get("answers") or {}).pop("care_lives_alone", None)
    frame = generate_households(catalog, derived, 400, 3)
    expected = frame["house_tenure"].isin(["private_rental", "borrowed"]) & (frame["fam_household_size"] <= 2)
    answered = frame["care_lives_alone"].notna()
    assert answered.sum() > 300 and expected.any()
    assert (frame.loc[answered, "care_lives_alone"].astype(bool) == expected[answered]).all()


def test_a_derived_answer_with_a_bad_condition_is_rejected_with_the_field_named(catalog, spec):
    bad = copy.deepcopy(spec)
    bad["defaults"]["care_lives_alone"] = {"when": [{"indicator": "house_tenure", "op": "eq", "value": "castle"}]}
    for archetype in bad["archetypes"].values():
        (archetype.get("answers") or {}).pop("care_lives_alone", None)
    with pytest.raises(SpecError, match="defaults.care_lives_alone.when") as raised:
        generate_households(catalog, bad, 10, 1)
    assert "castle" in raised.value.message.en
