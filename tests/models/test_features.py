"""The model's feature blocks: deprivations, raw answers (choices one-hot) and declared features."""

import numpy as np
import pandas as pd
import pytest

from assessment.catalog import build_catalog
from models.features import BLOCKS, household_features, model_columns
from tests.factories import mini_documents


def catalog_with_feature():
    docs = mini_documents()
    docs["features.yaml"] = {"features": [{"id": "rooms_per_person", "label": {"zh": "人均房间", "en": "Rooms pp"},
                                           "description": {"zh": "房间/人", "en": "rooms/person"}}]}
    return build_catalog(docs)


def test_blocks_are_named_apart_and_features_pass_as_given():
    catalog = catalog_with_feature()
    frame = pd.DataFrame({"rooms_per_person": [0.5, None]})
    features = household_features(catalog, frame, BLOCKS)
    assert list(features.columns) == model_columns(catalog)
    assert features["feature:rooms_per_person"].tolist()[0] == 0.5
    assert np.isnan(features["feature:rooms_per_person"].tolist()[1])
    deprivations = household_features(catalog, frame, ("deprivations",))
    assert list(deprivations.columns) == [i.id for i in catalog.indicators]


def test_choice_answers_become_one_column_per_option_missing_stays_nan():
    catalog = catalog_with_feature()
    choice = next(i for i in catalog.indicators if i.answer.type == "choice")
    first, second = choice.answer.options[0].value, choice.answer.options[1].value
    features = household_features(catalog, pd.DataFrame({choice.id: [second, None]}), ("answers",))
    assert features[f"answer:{choice.id}={second}"].tolist()[0] == 1.0
    assert features[f"answer:{choice.id}={first}"].tolist()[0] == 0.0
    assert np.isnan(features[f"answer:{choice.id}={first}"].tolist()[1])


def test_unknown_block_is_an_error_naming_it():
    with pytest.raises(ValueError, match="weather"):
        household_features(catalog_with_feature(), pd.DataFrame({"x": [1]}), ("weather",))


def test_default_blocks_are_the_deprivation_scores():
    catalog = catalog_with_feature()
    frame = pd.DataFrame({"rooms_per_person": [0.5]})
    assert list(household_features(catalog, frame).columns) == [i.id for i in catalog.indicators]
