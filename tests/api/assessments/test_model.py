"""The learned model beside the index: train -> register -> promote -> served with every assessment,
against a real MLflow store; and the service without a model."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.api.factories import calm_answers, household_payload, submission
from tests.api.support import settings_for

pytest.importorskip("mlflow")

from experiments.train import train  # noqa: E402
from indicators import default_catalog  # noqa: E402
from indicators.synth import generate_households, load_spec  # noqa: E402
from models.registry import promote  # noqa: E402

SMALL_MODEL = {"boosting_rounds": 5, "calibration_cv": 2}


@pytest.fixture(scope="module")
def registered(tmp_path_factory):
    """A small model trained on synthetic households, registered but not yet promoted."""
    folder = tmp_path_factory.mktemp("mlflow")
    frame = generate_households(default_catalog(), load_spec(), 300, seed=5)
    frame.to_csv(folder / "train.csv", index=False)
    store = f"sqlite:///{folder / 'mlflow.db'}"
    run = train(folder / "train.csv", None, tracking_uri=store, experiment="service", folds=2,
                group_columns=(), model_params=SMALL_MODEL)
    return store, run


def demote(store: str) -> None:
    """Take the champion alias away again (the registered store is shared by the tests of this module)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        mlflow.MlflowClient(store).delete_registered_model_alias("hardship-champion", "champion")
    except MlflowException:
        pass


@pytest.fixture
def serve(database_url):
    """Start an app on the test database with a model store; its connections close after the test."""
    apps = []

    def start(store: str, **settings) -> TestClient:
        app = create_app(settings_for(database_url, mlflow_tracking_uri=store, model_refresh_seconds=0, **settings))
        apps.append(app)
        return TestClient(app, raise_server_exceptions=False)

    yield start
    for app in apps:
        app.state.context.database.dispose()


def register_household(client, city) -> int:
    response = client.post("/v1/households", json=household_payload(city.stations["S1"]),
                           headers=city.auth("caseworker_s1"))
    return response.json()["id"]


@pytest.mark.slow
def test_champion_is_shown_beside_the_index_once_promoted(serve, registered, city):
    store, run = registered
    demote(store)
    # `city` lives in the test database; this second app serves the same database with the model store
    client = serve(store, model_review_min_probability=1.01)
    household = register_household(client, city)
    answers = calm_answers(default_catalog())

    before = client.post(f"/v1/households/{household}/assessments", json=submission(answers),
                         headers=city.auth("caseworker_s1")).json()
    assert before["model"] is None  # registered, not promoted: the index alone

    promote(store, run.run_id)
    # the promotion is picked up by a lookup in the background, without a restart
    expected = f"hardship-champion:{run.model_version}"
    deadline = time.monotonic() + 60
    while client.get("/v1/health").json()["model"] != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.get("/v1/health").json()["model"] == expected
    after = client.post(f"/v1/households/{household}/assessments", json=submission(answers, assessed_on="2026-04-01"),
                        headers=city.auth("caseworker_s1"))
    assert after.status_code == 201, after.text
    body = after.json()
    model = body["model"]
    assert model["version"] == expected
    probabilities = model["opinion"]["probabilities"]
    assert set(probabilities) == set(default_catalog().tier_ids)
    assert sum(probabilities.values()) == pytest.approx(1.0)
    # every probability is below 1.01, so this configuration flags every household for review
    assert model["needs_review"] is True
    assert body["index"] == before["index"] and body["tier"] == before["tier"]  # the index is not replaced

    stored = client.get(f"/v1/assessments/{body['id']}", headers=city.auth("supervisor_t1")).json()
    assert stored["model"] == model
    alerts = client.get("/v1/alerts", headers=city.auth("supervisor_t1")).json()
    [item] = [i for i in alerts["items"] if i["household_id"] == household]
    assert "model_disagrees" in item["reasons"] and item["model_version"] == model["version"]


@pytest.mark.slow
def test_review_flag_follows_the_margin(serve, registered, city):
    store, run = registered
    promote(store, run.run_id)
    client = serve(store)  # defaults: 2 tier steps, probability 0.1
    household = register_household(client, city)
    body = client.post(f"/v1/households/{household}/assessments", json=submission(calm_answers(default_catalog())),
                       headers=city.auth("caseworker_s1")).json()
    opinion, tiers = body["model"]["opinion"], list(default_catalog().tier_ids)
    steps = abs(tiers.index(opinion["predicted_tier"]) - tiers.index(body["tier"]))
    expected = steps >= 2 or opinion["probabilities"][body["tier"]] < 0.1
    assert body["model"]["needs_review"] is expected


def test_without_a_model_store_the_index_alone_is_served(serve, tmp_path, city):
    client = serve(f"sqlite:///{tmp_path / 'absent.db'}")
    household = register_household(client, city)
    response = client.post(f"/v1/households/{household}/assessments", json=submission(calm_answers(default_catalog())),
                           headers=city.auth("caseworker_s1"))
    assert response.status_code == 201 and response.json()["model"] is None
    assert client.get("/v1/health").json()["model"] is None
    assert not (tmp_path / "absent.db").exists()


@pytest.mark.slow
def test_a_result_sent_as_its_text_gets_the_opinion_its_object_gets(serve, registered, city):
    """An import's rows are scored in a worker process and come back as the text of their results and answers: the
    model's opinion of such a result is the one `score_many` gives the same answers."""
    import pandas as pd

    from api.encoding import EncodedObject, dumps, dumps_bytes, encoded_sorted
    from assessment.scoring import assess_many

    store, run = registered
    promote(store, run.run_id)
    scorer = serve(store).app.state.context.scorer
    catalog = scorer.catalog
    region = next(r for r in catalog.regions if r.parent).id
    frame = generate_households(catalog, load_spec(), 8, seed=9)
    answers = [{key: value.item() if hasattr(value, "item") else value for key, value in row.items()
                if not pd.isna(value)} for row in frame[[i.id for i in catalog.indicators if i.id in frame]]
               .to_dict("records")]
    expected = scorer.score_many(answers, regions=[region] * 8, years=[2026] * 8)
    results = assess_many(catalog, answers, regions=[region] * 8, years=[2026] * 8, config=scorer.config)
    sent = [EncodedObject(dumps_bytes(result.as_dict()), {"index": result.index}) for result in results]
    judged = scorer.judged(sent, [encoded_sorted(one) for one in answers])
    assert all(scored.model_version == f"hardship-champion:{run.model_version}" for scored in judged)
    for one, other in zip(judged, expected):
        assert (one.model_version, one.model_opinion, one.needs_review) == (
            other.model_version, other.model_opinion, other.needs_review)
        assert dumps(one.result) == dumps(other.result)
