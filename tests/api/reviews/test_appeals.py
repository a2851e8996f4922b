"""Appeals re-scored under the catalog and configuration in force on the assessment's date, not today's, worked
out by hand on the small catalog (tests/api/mini_city.py), decided by a supervisor; a changed result is stored as
a correction and the original kept.

Configurations (dimension weights; the tier cut-offs are the catalog's: light 25, moderate 45, severe 65):
  default  family 1, economy 2,   health 1
  A        family 1, economy 6,   health 1   published 2026-02-01 (backdated: the test cannot wait for dates)
  B        family 1, economy 0.5, health 1   published today
With the economy at 0.75 (the stored answers) the index is 37.5 by default, 100*6*0.75/8 = 56.25 under A and
100*0.5*0.75/2.5 = 15 under B; with large debts (the corrected answers) the economy is (3*1 + 1*1)/4 = 1 and the
index 50, 75 and 20.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import update

from api.configs.tables import ScoringConfigRecord
from tests.api.factories import household_payload
from tests.api.mini_city import ANSWERS, mini_city, write_catalog
from tests.api.support import snapshot
from tests.factories import mini_documents

CORRECTED = {**ANSWERS, "econ_debt": "large"}


def publish(city, version: str, economy: float, published_at: datetime | None = None) -> None:
    draft = city.client.post("/v1/configs", json={"version": version, "dimension_weights": {"econ": economy}},
                             headers=city.auth("analyst"))
    assert draft.status_code == 201, draft.text
    published = city.client.post(f"/v1/configs/{draft.json()['id']}/publish", headers=city.auth("analyst"))
    assert published.status_code == 200, published.text
    if published_at is not None:
        with city.app.state.context.database.session(write=True) as session:
            session.execute(update(ScoringConfigRecord).where(ScoringConfigRecord.version == version)
                            .values(published_at=published_at))


def submit(city, answers: dict, assessed_on: str) -> dict:
    household = city.client.post("/v1/households", json=household_payload(city.stations["S1"]),
                                 headers=city.auth("caseworker")).json()["id"]
    stored = city.client.post(f"/v1/households/{household}/assessments", headers=city.auth("caseworker"),
                              json={"submission_id": str(uuid.uuid4()), "answers": answers, "assessed_on": assessed_on})
    assert stored.status_code == 201, stored.text
    return stored.json()


def lodge(city, assessment: int, answers: dict | None = None, user="caseworker"):
    body = {"reason": "低保金停发后收入有误"} | ({"answers": answers} if answers is not None else {})
    return city.client.post(f"/v1/assessments/{assessment}/appeals", json=body, headers=city.auth(user))


def decide(city, appeal: int, decision: str, user="supervisor", reason="核实后决定"):
    return city.client.post(f"/v1/appeals/{appeal}/decision", json={"decision": decision, "reason": reason},
                            headers=city.auth(user))


@pytest.fixture
def city(database_url, tmp_path):
    with mini_city(database_url, write_catalog(tmp_path / "mini", mini_documents())) as made:
        publish(made, "A", 6, datetime(2026, 2, 1, 9, 0, tzinfo=timezone.utc))
        yield made


def test_an_appeal_is_re_scored_under_the_configuration_in_force_on_its_date(city):
    march = submit(city, ANSWERS, "2026-03-01")
    january = submit(city, ANSWERS, "2026-01-15")
    assert (march["index"], march["tier"], march["config_version"]) == (56.25, "moderate", "A")
    assert (january["index"], january["config_version"]) == (56.25, "A")  # scored today, under A
    publish(city, "B", 0.5)  # today's configuration

    corrected = lodge(city, march["id"], CORRECTED)
    assert corrected.status_code == 201, corrected.text
    appeal = corrected.json()
    assert (appeal["rescored"]["index"], appeal["rescored"]["tier"], appeal["rescored"]["config_version"]) == \
        (75.0, "severe", "A")  # not B's 20 (none)
    assert (appeal["in_force_on"], appeal["original"]["index"], appeal["answers_corrected"]) == \
        ("2026-03-01", 56.25, True)
    assert appeal["result"]["dimension_scores"] == {"fam": 0.0, "econ": 1.0, "health": 0.0}
    # before A was published, the catalog's default was in force
    earlier = lodge(city, january["id"]).json()
    assert (earlier["rescored"]["index"], earlier["rescored"]["tier"], earlier["rescored"]["config_version"]) == \
        (37.5, "light", "mini@1")


def test_a_changed_result_is_stored_as_a_correction_and_the_original_kept(city):
    march = submit(city, ANSWERS, "2026-03-01")
    publish(city, "B", 0.5)
    appeal = lodge(city, march["id"], CORRECTED).json()
    assert decide(city, appeal["id"], "changed", user="caseworker").status_code == 403
    decided = decide(city, appeal["id"], "changed", reason="低保金自一月停发,负债属实")
    assert decided.status_code == 200, decided.text
    correction_id = decided.json()["correction_id"]
    correction = city.client.get(f"/v1/assessments/{correction_id}", headers=city.auth("caseworker")).json()
    assert (correction["corrects"], correction["index"], correction["tier"], correction["config_version"]) == \
        (march["id"], 75.0, "severe", "A")
    assert correction["answers"] == CORRECTED and correction["assessed_on"] == "2026-03-01"
    original = city.client.get(f"/v1/assessments/{march['id']}", headers=city.auth("caseworker")).json()
    assert (original["index"], original["answers"]) == (56.25, ANSWERS)
    file = city.client.get(f"/v1/households/{march['household_id']}/file", headers=city.auth("caseworker")).json()
    assert [(a["id"], a["corrected_by"]) for a in file["assessments"]] == [(march["id"], correction_id),
                                                                            (correction_id, None)]
    assert [(a["id"], a["decision"], a["correction_id"]) for a in file["appeals"]] == \
        [(appeal["id"], "changed", correction_id)]
    [ranked] = city.client.get("/v1/rankings", headers=city.auth("supervisor")).json()["items"]
    assert (ranked["assessment_id"], ranked["index"]) == (correction_id, 75.0)
    assert decide(city, appeal["id"], "upheld").json()["errors"][0]["code"] == "appeal_decided"
    assert lodge(city, march["id"]).json()["errors"][0]["code"] == "already_corrected"
    actions = [e["action"] for e in city.client.get("/v1/audit", params={"household_id": march["household_id"]},
                                                    headers=city.auth("admin")).json()]
    assert {"lodge_appeal", "decide_appeal", "correct_assessment"} <= set(actions)


def test_an_unchanged_result_is_upheld(city):
    march = submit(city, ANSWERS, "2026-03-01")
    appeal = lodge(city, march["id"]).json()
    assert (appeal["rescored"]["index"], appeal["rescored"]["config_version"]) == (56.25, "A")
    assert decide(city, appeal["id"], "changed").json()["errors"][0]["code"] == "result_unchanged"
    upheld = decide(city, appeal["id"], "upheld", reason="重新评分结果一致,维持原结果").json()
    assert (upheld["status"], upheld["decision"], upheld["correction_id"]) == ("decided", "upheld", None)
    listed = city.client.get("/v1/appeals", headers=city.auth("supervisor")).json()
    assert [(item["id"], item["decision"]) for item in listed["items"]] == [(appeal["id"], "upheld")]


def test_bad_appeals_are_refused_naming_the_field_and_store_nothing(city):
    march = submit(city, ANSWERS, "2026-03-01")
    before = snapshot(city.app)
    invalid = lodge(city, march["id"], {**ANSWERS, "econ_debt": "huge"})
    assert (invalid.status_code, invalid.json()["errors"][0]["path"]) == (422, "answers.econ_debt")
    blank = city.client.post(f"/v1/assessments/{march['id']}/appeals", json={"reason": " "},
                             headers=city.auth("caseworker"))
    assert (blank.status_code, blank.json()["errors"][0]["code"]) == (422, "reason_required")
    assert lodge(city, march["id"], user="analyst").status_code == 403
    assert lodge(city, 999999).status_code == 404
    assert snapshot(city.app) == before
    first = lodge(city, march["id"]).json()
    second = lodge(city, march["id"])
    assert (second.status_code, second.json()["existing_appeal_id"]) == (409, first["id"])
    assert decide(city, first["id"], "withdrawn").status_code == 422
