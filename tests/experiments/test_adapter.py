"""The Costa Rica adapter on crafted person rows with every kind of messy value."""

import math

import pandas as pd
import pytest

from experiments.costa_rica import CATALOG_DIR
from experiments.costa_rica.adapter import AdapterError, households, load_mapping
from indicators import load_catalog


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(CATALOG_DIR)


def referenced_columns(mapping) -> set[str]:
    names = {"Id", "idhogar", "parentesco1", "Target", "age"}
    for recipe in [*mapping["recipes"].values(), *mapping["groups"].values()]:
        names |= {recipe[k] for k in ("column", "divide_by") if k in recipe}
        names |= set(recipe.get("max_of", [])) | set(recipe.get("one_hot", {}).values())
        for k, v in recipe.get("members", {}).items():
            if k in ("sum", "max"):
                names |= {v} if isinstance(v, str) else set(v)
    return names


def person(household, person_id, **values):
    """A person row: every referenced column 0, a plain brick house with water, electricity, a sewer."""
    row = {c: 0 for c in referenced_columns(load_mapping())}
    row.update(Id=person_id, idhogar=household, age=40, hhsize=2, Target=4, paredblolad=1, pisomoscer=1,
               techozinc=1, epared3=1, etecho3=1, eviv3=1, abastaguadentro=1, public=1, sanitario2=1,
               energcocinar2=1, elimbasu1=1, tipovivi1=1, lugar1=1, area1=1, male=1, overcrowding=1.0,
               meaneduc=11.0, edjefe="11", edjefa="no", dependency="no", v2a1=None, rez_esc=None,
               qmobilephone=2, r4t1=0, dis=0, cielorazo=1, v14a=1, refrig=1)
    row.update(values)
    return row


def test_messy_values_become_typed_answers(catalog):
    people = pd.DataFrame([
        # a renter whose dependency and schooling are "yes"/"no" words
        person("a", "a1", parentesco1=1, dependency="yes", edjefe="no", edjefa="9", tipovivi1=0, tipovivi3=1,
               v2a1=90000.0, Target=2),
        person("a", "a2", age=10, rez_esc=2, dis=1, Target=2, instlevel8=1),
        # owners: no rent recorded; the head says 3 while a member says 4 -> the head's label
        person("b", "b1", parentesco1=1, Target=3, techozinc=0, meaneduc=None),
        person("b", "b2", Target=4),
        # no head: the members' most common Target, the more severe one on a tie
        person("c", "c1", Target=1),
        person("c", "c2", Target=2),
    ])
    result = households(people, catalog)
    answers = result.answers.set_index("household_id")
    assert answers.loc["a", "demo_dependency"] == 3            # "yes" = 1 -> level for (0.5, 1]
    assert answers.loc["a", "edu_head_years"] == 9             # max of "no" (0) and "9"
    assert answers.loc["a", "econ_tenure"] == "rented"
    assert answers.loc["a", "econ_housing_payment_per_person"] == 45000    # 90000 rent / 2 persons
    assert answers.loc["a", "demo_school_age_children"] == 1
    assert answers.loc["a", "edu_children_behind"] == 2
    assert answers.loc["a", "health_disabled_members"] == 1
    assert answers.loc["a", "edu_no_higher_education"] is True     # a member with instlevel8 studied further
    assert answers.loc["b", "edu_no_higher_education"] is False
    assert answers.loc["a", "house_has_ceiling"] is True
    assert answers.loc["b", "econ_housing_payment_per_person"] is None      # owner: no rent, not a zero
    assert answers.loc["b", "house_roof_material"] is None                  # no roof column set
    assert answers.loc["b", "edu_adult_mean_years"] is None                 # blank meaneduc
    assert answers.loc["b", "edu_children_behind"] is None                  # no school-age child
    labels = result.labels.to_dict()
    assert labels == {"a": "moderate_poverty", "b": "vulnerable", "c": "extreme_poverty"}
    assert result.has_head.to_dict() == {"a": True, "b": True, "c": False}
    assert result.groups.loc["a", "disabled_member"] == 1 and result.groups.loc["b", "region"] == "central"
    assert result.raw.loc["a", "dependency"] == 1.0 and math.isnan(result.raw.loc["b", "v2a1"])


def test_unreadable_value_names_column_and_person(catalog):
    people = pd.DataFrame([person("a", "a1", parentesco1=1, edjefe="lots")])
    with pytest.raises(AdapterError) as error:
        households(people, catalog)
    assert error.value.column == "edjefe" and error.value.person == "a1"
    assert "yes/no" in error.value.message_en and "数字" in error.value.message_zh


def test_input_without_target_has_no_labels(catalog):
    people = pd.DataFrame([person("a", "a1", parentesco1=1)]).drop(columns=["Target"])
    assert households(people, catalog).labels.isna().all()


def test_every_answer_passes_the_catalog(catalog):
    from assessment import assess_frame

    people = pd.DataFrame([person("a", "a1", parentesco1=1), person("a", "a2", age=8, rez_esc=0)])
    batch = assess_frame(catalog, households(people, catalog).answers)
    assert batch.valid.all() and batch.errors.empty
