"""The champion's opinion of one assessed household: the model's own prediction on that household's features."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from assessment import assess
from indicators import default_catalog
from indicators.synth import generate_households, load_spec
from models.features import household_features, result_features
from models.hardship import HardshipModel
from models.serving import Champion

PARAMS = {"boosting_rounds": 20, "forest_trees": 20, "calibration_cv": 2}


@pytest.fixture(scope="module")
def catalog():
    return default_catalog()


@pytest.fixture(scope="module")
def frame(catalog):
    return generate_households(catalog, load_spec(), 600, seed=8)


def champion_on(catalog, frame, blocks) -> Champion:
    features = household_features(catalog, frame.drop(columns=["verified_tier"]), blocks=blocks)
    model = HardshipModel(tier_order=list(catalog.tier_ids), **PARAMS).fit(features, frame["verified_tier"])
    return Champion("hardship-champion", "1", model, {"catalog_id": catalog.id})


def assessed(catalog, row) -> tuple[dict, object]:
    answers = {i.id: (None if pd.isna(row[i.id]) else row[i.id]) for i in catalog.indicators}
    return answers, assess(catalog, answers, region=str(row["region"]), year=int(row["year"]))


@pytest.mark.parametrize("blocks", [("deprivations",), ("deprivations", "answers")])
def test_opinion_is_the_models_prediction_on_the_households_features(catalog, frame, blocks):
    champion = champion_on(catalog, frame, blocks)
    assert champion.fits(catalog)
    names = list(champion.model.feature_names_in_)
    for _, row in frame.head(150).iterrows():
        answers, result = assessed(catalog, row)
        [label], [proba] = champion.model.predict_with_proba(result_features(catalog, result, answers)[names])
        opinion = champion.opinion(catalog, result, answers=answers)
        assert opinion.predicted_tier == label and opinion.index_tier == result.tier
        np.testing.assert_allclose([opinion.probabilities[t] for t in champion.model.classes_], proba,
                                   rtol=0, atol=1e-12)


def test_a_model_of_another_catalog_gives_no_opinion(catalog, frame):
    champion = champion_on(catalog, frame, ("deprivations",))
    other = dataclasses.replace(champion, tags={"catalog_id": "another-survey"})
    assert not other.fits(catalog)
    _, result = assessed(catalog, frame.iloc[0])
    with pytest.raises(ValueError, match="another-survey"):
        other.opinion(catalog, result)
