"""POST /v1/intake/submissions: KoboToolbox and ODK Central shapes, once per instance id (also at once from
several clients), every refused kind queued and fixed or rejected, and the intake tokens."""

from __future__ import annotations

import base64
import uuid

import pytest
from sqlalchemy import update

from api.auth.tables import User
from indicators.xlsform import form_version
from tests.api.assessments.test_concurrency import fire_together
from tests.api.factories import calm_answers, with_answer
from tests.api.support import count_rows, snapshot
from tests.api.workflow_helpers import assess, new_household

# The namespace of the submission ids of intake instances (uuid5), as the API documents it.
INSTANCE_NAMESPACE = uuid.UUID("6c1d2b44-5e0f-4b8e-9a43-7d1f0e2c9b71")


def kobo_value(value):
    """As KoboToolbox posts it: every value a string, yes/no as the choice names of the form."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def kobo_body(catalog, household_id, answers: dict, instance: str | None = None, version: str | None = None,
              today: str = "2026-03-01") -> dict:
    instance = instance or str(uuid.uuid4())
    body = {f"{catalog.indicator_by_id[key].dimension}/{key}": kobo_value(value) for key, value in answers.items()}
    body.update({"household_id": str(household_id), "today": today, "form_version": version or form_version(catalog),
                 "meta/instanceID": f"uuid:{instance}", "_uuid": instance, "_submission_time": "2026-03-01T10:15:00",
                 "__version__": "vQ8nGk3rKp2aB7xYzW4mLc",  # KoboToolbox's id of the deployment, not read
                 "formhub/uuid": "a1b2c3", "_id": 4711, "_attachments": []})
    return body


def odk_body(catalog, household_id, answers: dict, instance: str) -> dict:
    """As ODK Central's JSON (OData) export gives it: groups as objects, the system fields under __system."""
    body = {"__id": f"uuid:{instance}", "household_id": household_id, "today": "2026-03-01",
            "meta": {"instanceID": f"uuid:{instance}"},
            "__system": {"submissionDate": "2026-03-01T10:16:00.000Z", "formVersion": form_version(catalog),
                         "submitterName": "collect-1", "reviewState": None}}
    for key, value in answers.items():
        body.setdefault(catalog.indicator_by_id[key].dimension, {})[key] = value
    return body


@pytest.fixture
def intake(client, city):
    """An intake token of station S1, created by the supervisor of its town."""
    response = client.post("/v1/intake/tokens", json={"station_id": city.stations["S1"], "label": "Kobo project A"},
                           headers=city.auth("supervisor_t1"))
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_a_kobo_submission_is_stored_as_the_same_answers_would_be_scored(client, city, catalog, intake):
    household = new_household(client, city, "S1", "caseworker_s1")
    answers = with_answer(calm_answers(catalog), fam_elderly_count=1)
    response = client.post("/v1/intake/submissions", json=kobo_body(catalog, household, answers), headers=intake)
    assert response.status_code == 201, response.text
    record = response.json()
    assert record["status"] == "stored" and record["source"] == "kobo" and record["errors"] == []
    stored = client.get(f"/v1/assessments/{record['assessment_id']}", headers=city.auth("caseworker_s1")).json()
    assert stored["household_id"] == household and stored["assessed_on"] == "2026-03-01"
    assert stored["answers"] == answers  # "yes"/"no" and "1" read back as the catalog's answers
    station = client.get(f"/v1/households/{household}", headers=city.auth("caseworker_s1")).json()
    region = stored["region_id"]
    preview = client.post("/v1/score", json={"answers": answers, "region_id": region, "assessed_on": "2026-03-01"},
                          headers=city.auth("caseworker_s1")).json()
    assert stored["index"] == preview["index"] and stored["tier"] == preview["tier"]
    assert station["id"] == household


def test_the_same_instance_twice_and_from_odk_central_stores_one_assessment(client, city, catalog, intake):
    household = new_household(client, city, "S1", "caseworker_s1")
    instance = str(uuid.uuid4())
    first = client.post("/v1/intake/submissions", json=kobo_body(catalog, household, calm_answers(catalog),
                                                                 instance), headers=intake)
    again = client.post("/v1/intake/submissions", json=kobo_body(catalog, household, calm_answers(catalog),
                                                                 instance), headers=intake)
    odk = client.post("/v1/intake/submissions", json=odk_body(catalog, household, calm_answers(catalog), instance),
                      headers=intake)
    assert (first.status_code, again.status_code, odk.status_code) == (201, 201, 201)
    assert first.json() == again.json() == odk.json()
    assert count_rows(client.app, "assessments") == 1 and count_rows(client.app, "intake_submissions") == 1


def test_an_odk_central_submission_alone_is_stored(client, city, catalog, intake):
    household = new_household(client, city, "S1", "caseworker_s1")
    response = client.post("/v1/intake/submissions", json=odk_body(catalog, household, calm_answers(catalog),
                                                                   str(uuid.uuid4())), headers=intake)
    assert response.status_code == 201 and response.json()["status"] == "stored"
    assert response.json()["source"] == "odk_central"


def test_the_same_instance_at_once_from_two_clients_stores_one(server, client, city, catalog, intake, app):
    household = new_household(client, city, "S1", "caseworker_s1")
    body = kobo_body(catalog, household, calm_answers(catalog))
    responses = fire_together(f"{server}/v1/intake/submissions", [body, body], intake)
    assert [r.status_code for r in responses] == [201, 201], [r.text for r in responses]
    assert responses[0].json() == responses[1].json()
    assert count_rows(app, "assessments") == 1 and count_rows(app, "intake_submissions") == 1


def test_every_refused_kind_waits_in_the_queue_and_is_fixed_or_rejected(client, city, catalog, intake):
    household = new_household(client, city, "S1", "caseworker_s1")
    other_station = new_household(client, city, "S3", "caseworker_s3")
    calm = calm_answers(catalog)
    size = catalog.indicator_by_id["fam_household_size"].answer
    bodies = {
        "unknown_household": kobo_body(catalog, other_station, calm),
        "missing_household": {k: v for k, v in kobo_body(catalog, household, calm).items() if k != "household_id"},
        "out_of_range": kobo_body(catalog, household, with_answer(calm, fam_household_size=size.max + 1)),
        "form_version_mismatch": kobo_body(catalog, household, calm, version="2025.1+0123456789ab"),
        "date_in_future": kobo_body(catalog, household, calm, today="2099-01-01"),
        "duplicate_kept_to_reject": kobo_body(catalog, other_station, calm),
    }
    before = count_rows(client.app, "assessments")
    ids = {}
    for code, body in bodies.items():
        response = client.post("/v1/intake/submissions", json=body, headers=intake)
        assert response.status_code == 201, response.text
        record = response.json()
        assert record["status"] == "queued" and record["assessment_id"] is None
        assert [error["code"] for error in record["errors"]] == [code.replace("duplicate_kept_to_reject",
                                                                              "unknown_household")]
        assert all(error["message_zh"] and error["message_en"] for error in record["errors"])
        ids[code] = record["id"]
    assert count_rows(client.app, "assessments") == before
    queue = client.get("/v1/intake/queue", headers=city.auth("caseworker_s1")).json()
    assert [item["id"] for item in queue["items"]] == list(ids.values())
    assert queue["items"][2]["answers"]["fam_household_size"] == size.max + 1
    assert client.get("/v1/intake/queue", headers=city.auth("caseworker_s3")).json()["items"] == []

    def fix(code, body):
        return client.post(f"/v1/intake/submissions/{ids[code]}/fix", json=body, headers=city.auth("caseworker_s1"))

    still_wrong = fix("out_of_range", {"answers": {"fam_household_size": size.max + 2}})
    assert still_wrong.status_code == 422 and still_wrong.json()["errors"][0]["path"] == "answers.fam_household_size"
    assert fix("unknown_household", {"household_id": other_station}).status_code == 422  # not this station's
    fixed = [fix("unknown_household", {"household_id": household}),
             fix("missing_household", {"household_id": household}),
             fix("out_of_range", {"answers": {"fam_household_size": calm["fam_household_size"]}}),
             fix("form_version_mismatch", {}),  # the station vouches for the old form's answers
             fix("date_in_future", {"assessed_on": "2026-03-02"})]
    for response in fixed:
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "stored" and response.json()["assessment_id"]
    stored = client.get(f"/v1/assessments/{fixed[2].json()['assessment_id']}",
                        headers=city.auth("caseworker_s1")).json()
    assert stored["answers"]["fam_household_size"] == calm["fam_household_size"]
    dated = client.get(f"/v1/assessments/{fixed[4].json()['assessment_id']}", headers=city.auth("caseworker_s1"))
    assert dated.json()["assessed_on"] == "2026-03-02"
    rejected = client.post(f"/v1/intake/submissions/{ids['duplicate_kept_to_reject']}/reject",
                           json={"reason": "重复录入,已另行保存"}, headers=city.auth("caseworker_s1"))
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert fix("duplicate_kept_to_reject", {"household_id": household}).status_code == 409
    assert fix("form_version_mismatch", {}).status_code == 409  # stored already
    assert count_rows(client.app, "assessments") == before + 5
    assert client.get("/v1/intake/queue", headers=city.auth("caseworker_s1")).json()["items"] == []
    kept = client.get("/v1/intake/queue?status=rejected", headers=city.auth("supervisor_t1")).json()["items"]
    assert [item["reason"] for item in kept] == ["重复录入,已另行保存"]


def test_tokens_and_bad_requests(client, city, catalog, intake):
    household = new_household(client, city, "S1", "caseworker_s1")
    body = kobo_body(catalog, household, calm_answers(catalog))
    before = snapshot(client.app)
    assert client.post("/v1/intake/submissions", json=body).status_code == 401
    assert client.post("/v1/intake/submissions", json=body, headers=city.auth("caseworker_s1")).status_code == 401
    no_instance = {k: v for k, v in body.items() if k not in ("meta/instanceID", "_uuid")}
    response = client.post("/v1/intake/submissions", json=no_instance, headers=intake)
    assert response.status_code == 422 and response.json()["errors"][0]["path"] == "meta/instanceID"
    assert snapshot(client.app) == before
    basic = base64.b64encode(f"kobo:{intake['Authorization'].split()[1]}".encode()).decode()
    assert client.post("/v1/intake/submissions", json=body, headers={"Authorization": f"Basic {basic}"}) \
        .status_code == 201
    assert client.post("/v1/intake/tokens", json={"station_id": city.stations["S1"], "label": "x"},
                       headers=city.auth("caseworker_s1")).status_code == 403
    assert client.post("/v1/intake/tokens", json={"station_id": city.stations["S3"], "label": "x"},
                       headers=city.auth("supervisor_t1")).status_code == 403
    admin = client.post("/v1/intake/tokens", json={"station_id": city.stations["S1"], "label": "x"},
                        headers=city.auth("admin"))
    assert admin.status_code == 422 and admin.json()["errors"][0]["path"] == "user_id"
    out_of_scope = client.post("/v1/intake/tokens", json={"station_id": city.stations["S1"], "label": "x",
                                                          "user_id": city.user_ids["caseworker_s3"]},
                               headers=city.auth("admin"))
    assert out_of_scope.status_code == 422 and out_of_scope.json()["errors"][0]["code"] == "user_out_of_scope"
    created = client.post("/v1/intake/tokens", json={"station_id": city.stations["S1"], "label": "ODK pull",
                                                     "user_id": city.user_ids["caseworker_s1"]},
                          headers=city.auth("admin")).json()
    revoked = client.delete(f"/v1/intake/tokens/{created['id']}", headers=city.auth("admin"))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    listed = client.get("/v1/intake/tokens", headers=city.auth("admin")).json()
    assert [(t["label"], t["revoked_at"] is None) for t in listed] == [("Kobo project A", True), ("ODK pull", False)]
    assert "token" not in listed[0]
    assert client.get("/v1/intake/tokens", headers=city.auth("supervisor_t3")).json() == []  # S1 is in T1
    assert client.get("/v1/intake/tokens", headers=city.auth("caseworker_s1")).status_code == 403
    other = kobo_body(catalog, household, calm_answers(catalog))
    assert client.post("/v1/intake/submissions", json=other,
                       headers={"Authorization": f"Bearer {created['token']}"}).status_code == 401


def test_the_token_is_checked_before_the_submission_is_read(client, city, catalog, intake):
    household = new_household(client, city, "S1", "caseworker_s1")
    body = kobo_body(catalog, household, calm_answers(catalog))
    no_instance = {k: v for k, v in body.items() if k not in ("meta/instanceID", "_uuid")}
    before = snapshot(client.app)
    missing = client.post("/v1/intake/submissions", json=no_instance)
    assert missing.status_code == 401 and missing.json()["errors"][0]["code"] == "missing_token"
    wrong = client.post("/v1/intake/submissions", json=no_instance, headers={"Authorization": "Bearer as_nope"})
    assert wrong.status_code == 401 and wrong.json()["errors"][0]["code"] == "invalid_token"
    with client.app.state.context.database.session(write=True) as session:  # the token's user leaves
        session.execute(update(User).where(User.id == city.user_ids["supervisor_t1"]).values(active=False))
    for posted in (body, no_instance):
        inactive = client.post("/v1/intake/submissions", json=posted, headers=intake)
        assert inactive.status_code == 401, inactive.text
        error = inactive.json()["errors"][0]
        assert error["code"] == "invalid_token" and "no longer active" in error["message_en"]
        assert error["path"] == "headers.authorization"
    assert snapshot(client.app) == before


def test_an_instance_whose_assessment_was_stored_before_its_record_is_recorded_with_that_assessment(
        client, city, catalog, intake):
    """What a post finds after a failure between storing the assessment and keeping the submission: the retry
    records the stored assessment and stores nothing more."""
    household = new_household(client, city, "S1", "caseworker_s1")
    instance = str(uuid.uuid4())
    answers = calm_answers(catalog)
    stored = assess(client, city, "caseworker_s1", household, answers,
                    submission_id=str(uuid.uuid5(INSTANCE_NAMESPACE, f"intake\n{instance}")))
    before = count_rows(client.app, "assessments")
    response = client.post("/v1/intake/submissions", json=kobo_body(catalog, household, answers, instance),
                           headers=intake)
    assert response.status_code == 201, response.text
    record = response.json()
    assert record["status"] == "stored" and record["assessment_id"] == stored["id"]
    assert record["household_id"] == household and record["instance_id"] == instance
    assert count_rows(client.app, "assessments") == before and count_rows(client.app, "intake_submissions") == 1
    again = client.post("/v1/intake/submissions", json=kobo_body(catalog, household, answers, instance),
                        headers=intake)
    assert again.status_code == 201 and again.json() == record
