"""The Costa Rica pipeline on the real survey file (skipped when the file is not there)."""

import os
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from assessment import assess_frame
from experiments.costa_rica import CATALOG_DIR
from experiments.costa_rica.__main__ import app
from experiments.costa_rica.adapter import households
from indicators import load_catalog

REPO = Path(__file__).resolve().parents[2]
SURVEY = Path(os.environ.get("ASSESS_COSTA_RICA_TRAIN", REPO / "../shared/data/costa-rica-idb/train.csv"))
pytestmark = pytest.mark.skipif(not SURVEY.is_file(), reason=f"Costa Rica survey not found at {SURVEY}; "
                                                          "set ASSESS_COSTA_RICA_TRAIN to its train.csv")


@pytest.fixture(scope="module")
def people():
    return pd.read_csv(SURVEY)


def test_every_household_of_the_survey_is_answered_validly(people):
    catalog = load_catalog(CATALOG_DIR)
    survey = households(people, catalog)
    assert len(survey.answers) == people["idhogar"].nunique()
    assert survey.has_head.sum() == people.loc[people["parentesco1"] == 1, "idhogar"].nunique()
    assert survey.labels.notna().all()
    assert assess_frame(catalog, survey.answers).valid.all()


@pytest.mark.slow
def test_predict_writes_one_row_per_household(people, tmp_path):
    ids = people["idhogar"].drop_duplicates()
    train_ids, input_ids = ids.iloc[:500], ids.iloc[500:540]
    people[people["idhogar"].isin(train_ids)].to_csv(tmp_path / "train.csv", index=False)
    people[people["idhogar"].isin(input_ids)].drop(columns=["Target"]).to_csv(tmp_path / "input.csv", index=False)
    outcome = CliRunner().invoke(app, ["predict", "--train", str(tmp_path / "train.csv"),
                                       "--input", str(tmp_path / "input.csv"), "--output", str(tmp_path / "out.csv")])
    assert outcome.exit_code == 0, outcome.output
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out.columns) == ["idhogar", "predicted_target", "p_poor", "index"]
    assert set(out["idhogar"]) == set(input_ids)
    assert out["predicted_target"].isin([1, 2, 3, 4]).all()
    assert out["p_poor"].between(0, 1).all() and out["index"].between(0, 100).all()
