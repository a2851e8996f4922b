"""train -> register -> promote -> load_champion -> opinion, against a real MLflow store in a tmp dir."""

import math

import pytest
from typer.testing import CliRunner

pytest.importorskip("mlflow")

from assessment import assess  # noqa: E402
from cli.main import app  # noqa: E402
from experiments.train import train  # noqa: E402
from indicators import default_catalog  # noqa: E402
from indicators.synth import generate_households, load_spec  # noqa: E402
from models.registry import list_versions, promote  # noqa: E402
from models.serving import load_champion  # noqa: E402

SMALL_MODEL = {"boosting_rounds": 5, "calibration_cv": 2}


def test_without_a_store_there_is_no_champion(tmp_path):
    missing = tmp_path / "nothing.db"
    assert load_champion(f"sqlite:///{missing}") is None
    assert not missing.exists()                        # looking does not create a store
    assert load_champion(str(tmp_path / "no_folder")) is None


@pytest.mark.slow
def test_train_register_promote_serve(tmp_path):
    catalog = default_catalog()
    frame = generate_households(catalog, load_spec(), 200, seed=3)
    frame.to_csv(tmp_path / "train.csv", index=False)
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"

    run = train(tmp_path / "train.csv", None, tracking_uri=store, experiment="test", folds=2,
                group_columns=("region",), model_params=SMALL_MODEL)
    assert {"model.macro_f1", "index_learned.auc_severe", "index_default.budget_recall"} <= set(run.metrics)
    assert any(k.startswith("model.region.") for k in run.metrics)
    assert load_champion(store) is None                # registered, not yet promoted

    assert promote(store, run.run_id) == run.model_version
    [version] = list_versions(store)
    assert version["aliases"] == ["champion"] and version["catalog_id"] == catalog.id

    import mlflow
    artifacts = {a.path for a in mlflow.MlflowClient(store).list_artifacts(run.run_id)}
    assert {"calibration.png", "confusion.png", "importance.png", "model.joblib", "learned_config.yaml"} <= artifacts

    champion = load_champion(store, review_tier_steps=1, review_min_probability=0.2)
    assert champion is not None and champion.fits(catalog)
    row = frame.iloc[0]
    answers = {i.id: (None if isinstance(row[i.id], float) and math.isnan(row[i.id]) else row[i.id])
               for i in catalog.indicators}
    result = assess(catalog, answers, region=str(row["region"]), year=int(row["year"]))
    opinion = champion.opinion(catalog, result)
    assert opinion.model_version == f"hardship-champion:{run.model_version}"
    assert set(opinion.probabilities) == set(catalog.tier_ids)
    assert sum(opinion.probabilities.values()) == pytest.approx(1.0)
    disagree = opinion.predicted_tier != result.tier or opinion.probabilities[result.tier] < 0.2
    assert opinion.needs_review == disagree
    assert opinion.as_dict()["probabilities"] == dict(opinion.probabilities)


def test_promoting_an_unknown_run_is_a_clear_error(tmp_path):
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    outcome = CliRunner().invoke(app, ["model", "promote", "no-such-run", "--tracking-uri", store])
    assert outcome.exit_code == 2
    assert "no MLflow store" in outcome.output


@pytest.mark.slow
def test_a_lookup_of_the_same_champion_keeps_the_loaded_model(tmp_path):
    generate_households(default_catalog(), load_spec(), 200, seed=4).to_csv(tmp_path / "train.csv", index=False)
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"

    def trained_and_promoted() -> str:
        run = train(tmp_path / "train.csv", None, tracking_uri=store, experiment="test", folds=2,
                    model_params=SMALL_MODEL)
        return promote(store, run.run_id)

    first = trained_and_promoted()
    champion = load_champion(store)
    assert champion.version == first
    assert load_champion(store, current=champion) is champion
    assert load_champion(store, current=champion, review_tier_steps=3).review_tier_steps == 3

    second = trained_and_promoted()
    newer = load_champion(store, current=champion)
    assert newer.version == second != first
