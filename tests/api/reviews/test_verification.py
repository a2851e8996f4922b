"""Verified tiers (机查 + 人查): confirmed or overridden by a supervisor with a reason, audited, shown beside the
computed tier in the household file, the ranking and its exports, alerts and due lists, and exported as labels
that `assess train` trains on."""

from __future__ import annotations

import csv
import io

import pytest

from tests.api.support import snapshot
from tests.api.workflow_helpers import TIER_BY_DEPRIVED, assess, deprived, new_household, publish_test_cutoffs


def verify(client, city, assessment, tier, user="supervisor_t1", reason="入户核查:与问卷一致"):
    return client.post(f"/v1/assessments/{assessment}/verification", json={"tier": tier, "reason": reason},
                       headers=city.auth(user))


@pytest.fixture
def assessed(client, city, catalog, app):
    """A household at S1 assessed twice (moderate, then severe under the test cut-offs)."""
    publish_test_cutoffs(app)
    household = new_household(client, city, "S1", "caseworker_s1")
    first = assess(client, city, "caseworker_s1", household, deprived(catalog, 3), "2026-01-15")
    latest = assess(client, city, "caseworker_s1", household, deprived(catalog, 4), "2026-03-15")
    assert (first["tier"], latest["tier"]) == ("moderate", "severe")
    return household, first["id"], latest["id"]


def test_a_verified_tier_is_shown_beside_the_computed_one_everywhere(client, city, assessed):
    household, first, latest = assessed
    confirmed = verify(client, city, first, "moderate")
    assert confirmed.status_code == 201, confirmed.text
    assert (confirmed.json()["decision"], confirmed.json()["computed_tier"]) == ("confirmed", "moderate")
    overridden = verify(client, city, latest, "moderate", reason="子女已返家照料,未达重度")
    assert overridden.json()["decision"] == "overridden" and overridden.json()["verified_tier"] == "moderate"

    file = client.get(f"/v1/households/{household}/file", headers=city.auth("caseworker_s1")).json()
    shown = {entry["id"]: (entry["tier"], entry["verification"]["verified_tier"]) for entry in file["assessments"]}
    assert shown == {first: ("moderate", "moderate"), latest: ("severe", "moderate")}
    [item] = client.get("/v1/rankings", headers=city.auth("supervisor_t1")).json()["items"]
    assert (item["tier"], item["verified_tier"]) == ("severe", "moderate")
    exported = client.get("/v1/rankings", params={"format": "csv"}, headers=city.auth("supervisor_t1"))
    [row] = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert (row["tier"], row["verified_tier"]) == ("severe", "moderate")
    [alert] = client.get("/v1/alerts", headers=city.auth("supervisor_t1")).json()["items"]
    assert (alert["tier"], alert["verified_tier"]) == ("severe", "moderate")
    [due] = client.get("/v1/reassessments", params={"due_before": "2100-01-01"},
                       headers=city.auth("supervisor_t1")).json()["items"]
    assert due["verified_tier"] == "moderate"

    again = verify(client, city, latest, "severe", reason="复核:维持重度")
    assert again.json()["decision"] == "confirmed"
    [item] = client.get("/v1/rankings", headers=city.auth("supervisor_t1")).json()["items"]
    assert item["verified_tier"] == "severe"
    entries = client.get("/v1/audit", params={"action": "verify_tier"}, headers=city.auth("admin")).json()
    checks = [(e["assessment_id"], e["details"]["verified_tier"], e["details"]["decision"]) for e in reversed(entries)]
    assert checks == [(first, "moderate", "confirmed"), (latest, "moderate", "overridden"),
                      (latest, "severe", "confirmed")]


def test_who_may_verify_and_what_is_refused(client, city, catalog, assessed, app):
    household, first, latest = assessed
    before = snapshot(app)
    assert verify(client, city, latest, "light", user="caseworker_s1").status_code == 403
    assert verify(client, city, latest, "light", user="supervisor_t3").status_code == 403
    assert verify(client, city, latest, "light", user="analyst").status_code == 403
    unknown = verify(client, city, latest, "dire")
    assert (unknown.status_code, unknown.json()["errors"][0]["path"]) == (422, "tier")
    blank = verify(client, city, latest, "light", reason="  ")
    assert (blank.status_code, blank.json()["errors"][0]["code"]) == (422, "reason_required")
    assert verify(client, city, 999999, "light").status_code == 404
    assert snapshot(app) == before
    assess(client, city, "caseworker_s1", household, deprived(catalog, 1), "2026-03-15", corrects=latest)
    assert verify(client, city, latest, "light").json()["errors"][0]["code"] == "assessment_corrected"


def test_verified_tiers_are_exported_as_labels(client, city, catalog, assessed):
    household, first, latest = assessed
    verify(client, city, first, "light", reason="收入已恢复")
    assert client.get("/v1/verified-labels", headers=city.auth("supervisor_t1")).status_code == 403
    page = client.get("/v1/verified-labels", headers=city.auth("analyst")).json()
    assert page["total"] == 1
    [label] = page["items"]
    assert (label["assessment_id"], label["computed_tier"], label["verified_tier"]) == (first, "moderate", "light")
    assert label["answers"] == deprived(catalog, 3)
    exported = client.get("/v1/verified-labels", params={"format": "csv"}, headers=city.auth("analyst"))
    [row] = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert (int(row["household_id"]), int(row["assessment_id"]), row["verified_tier"]) == (household, first, "light")
    assert row["year"] == "2026" and all(indicator.id in row for indicator in catalog.indicators)


@pytest.mark.slow
def test_the_training_command_trains_on_the_exported_labels(client, city, catalog, app, tmp_path):
    """Forty households at S1 with a supervisor's verified tier each (some overriding the computed one): the
    exported file is `assess train`'s input as it is, and the model learns from its labels."""
    pytest.importorskip("mlflow")
    from experiments.train import train

    publish_test_cutoffs(app)
    expected = {}
    for number in range(40):
        household = new_household(client, city, "S1", "caseworker_s1")
        deprivations = number % 5
        stored = assess(client, city, "caseworker_s1", household, deprived(catalog, deprivations), "2026-02-01")
        tier = TIER_BY_DEPRIVED[deprivations] if number % 7 else "severe"
        assert verify(client, city, stored["id"], tier).status_code == 201
        expected[stored["id"]] = tier
    exported = client.get("/v1/verified-labels", params={"format": "csv"}, headers=city.auth("analyst"))
    path = tmp_path / "labels.csv"
    path.write_bytes(exported.content)
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert {int(row["assessment_id"]): row["verified_tier"] for row in rows} == expected
    run = train(path, None, tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", experiment="labels", folds=2,
                model_params={"boosting_rounds": 5, "calibration_cv": 2})
    import mlflow

    params = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}").get_run(run.run_id).data.params
    assert (params["rows"], params["label_column"]) == ("40", "verified_tier")
    assert run.model_version == "1" and 0 <= run.metrics["model.macro_f1"] <= 1
