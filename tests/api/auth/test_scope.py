"""Scope isolation for each role: out-of-scope access is a 403 that reveals nothing."""

from __future__ import annotations

import pytest

from tests.api.factories import calm_answers, household_payload, submission
from tests.api.support import snapshot

SECRET_NAME = "慕容秋水"


@pytest.fixture
def households(client, city, catalog):
    """One household at S1 (town T1) and one at S4 (town T3), each with an assessment."""
    made = {}
    for station, user in (("S1", "caseworker_s1"), ("S4", "supervisor_t3")):
        body = household_payload(city.stations[station], name=SECRET_NAME)
        household = client.post("/v1/households", json=body, headers=city.auth(user)).json()
        assessment = client.post(f"/v1/households/{household['id']}/assessments",
                                 json=submission(calm_answers(catalog)), headers=city.auth(user)).json()
        made[station] = (household["id"], assessment["id"])
    return made


def reads(household_id, assessment_id):
    return [f"/v1/households/{household_id}", f"/v1/households/{household_id}/file",
            f"/v1/assessments/{assessment_id}"]


def assert_forbidden_without_data(response):
    assert response.status_code == 403
    body = response.text
    assert SECRET_NAME not in body and "index" not in response.json()
    assert response.json()["errors"][0]["code"] == "out_of_scope"


@pytest.mark.parametrize("user, allowed, denied", [
    ("caseworker_s1", "S1", "S4"),
    ("supervisor_t3", "S4", "S1"),
])
def test_caseworker_and_supervisor_see_only_their_scope(client, city, households, catalog, app, user, allowed, denied):
    for path in reads(*households[allowed]):
        assert client.get(path, headers=city.auth(user)).status_code == 200
    before = snapshot(app)
    for path in reads(*households[denied]):
        assert_forbidden_without_data(client.get(path, headers=city.auth(user)))
    denied_household = households[denied][0]
    assert_forbidden_without_data(client.post(f"/v1/households/{denied_household}/assessments",
                                              json=submission(calm_answers(catalog)), headers=city.auth(user)))
    assert_forbidden_without_data(client.patch(f"/v1/households/{denied_household}", json={"status": "exited"},
                                               headers=city.auth(user)))
    assert_forbidden_without_data(client.post("/v1/households", json=household_payload(city.stations[denied]),
                                              headers=city.auth(user)))
    assert snapshot(app) == before
    listed = client.get("/v1/households", headers=city.auth(user)).json()
    assert [h["id"] for h in listed["items"]] == [households[allowed][0]]


def test_caseworker_of_another_station_in_the_same_town_is_out_of_scope(client, city, households):
    household_id, _ = households["S1"]
    other_station = client.post("/v1/households", json=household_payload(city.stations["S3"]),
                                headers=city.auth("caseworker_s3")).json()
    assert other_station["station_id"] == city.stations["S3"]
    assert_forbidden_without_data(client.get(f"/v1/households/{household_id}", headers=city.auth("caseworker_s3")))


def test_supervisor_sees_every_station_of_their_towns(client, city, households):
    at_s2 = client.post("/v1/households", json=household_payload(city.stations["S2"]),
                        headers=city.auth("supervisor_t1")).json()
    listed = client.get("/v1/households", headers=city.auth("supervisor_t1")).json()
    assert sorted(h["id"] for h in listed["items"]) == sorted([households["S1"][0], at_s2["id"]])


def test_analysts_get_no_single_household_and_cannot_look_one_up(client, city, households, catalog, app):
    """Analysts see aggregates and pseudonymised rows only: every route that reads one household (or finds one
    by ID number) is a 403 of its own, the same for a household that does not exist."""
    household_id, assessment_id = households["S1"]
    referral = client.post(f"/v1/households/{household_id}/referrals", json={"service_id": "meal_assistance"},
                           headers=city.auth("caseworker_s1")).json()["id"]
    id_number = client.get(f"/v1/households/{household_id}",
                           headers=city.auth("caseworker_s1")).json()["personal"]["id_number"]
    before = snapshot(app)
    refused = [client.get(path, headers=city.auth("analyst")) for path in (
        *reads(household_id, assessment_id), *reads(99999, 99999), "/v1/households",
        f"/v1/referrals?household_id={household_id}", "/v1/referrals", f"/v1/referrals/{referral}")]
    refused.append(client.post("/v1/households/lookup", json={"id_number": id_number}, headers=city.auth("analyst")))
    bodies = []
    for response in refused:
        assert response.status_code == 403, response.url
        [error] = response.json()["errors"]
        assert error["code"] == "household_reads_not_allowed" and error["message_zh"] and error["message_en"]
        bodies.append({key: value for key, value in response.json().items() if key != "instance"})
    assert all(body == bodies[0] for body in bodies)  # the same answer whatever was asked: nothing about a record
    assert snapshot(app) == before
    for response in (
        client.post("/v1/households", json=household_payload(city.stations["S1"]), headers=city.auth("analyst")),
        client.post(f"/v1/households/{household_id}/assessments", json=submission(calm_answers(catalog)),
                    headers=city.auth("analyst")),
        client.patch(f"/v1/households/{household_id}", json={"status": "exited"}, headers=city.auth("analyst")),
        client.post("/v1/users", json={"name": "x", "role": "admin"}, headers=city.auth("analyst")),
    ):
        assert response.status_code == 403
    assert snapshot(app) == before


def test_analysts_read_aggregates_and_pseudonymised_rows(client, city, households, catalog):
    for path in ("/v1/rankings", "/v1/alerts", "/v1/reassessments", "/v1/reassessments/overdue",
                 "/v1/referrals/pipeline", "/v1/configs", "/v1/providers"):
        response = client.get(path, headers=city.auth("analyst"))
        assert response.status_code == 200, path
        assert SECRET_NAME not in response.text
    ranked = client.get("/v1/rankings", headers=city.auth("analyst")).json()["items"]
    assert {item["household_id"] for item in ranked} == {households["S1"][0], households["S4"][0]}
    assert all("name" not in item and "phone" not in item for item in ranked)


def test_admin_manages_users_but_cannot_change_households(client, city, households, catalog):
    response = client.post("/v1/users", json={"name": "new.worker", "role": "caseworker",
                                              "station_id": city.stations["S2"]}, headers=city.auth("admin"))
    assert response.status_code == 201
    token = response.json()["token"]
    me = client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["role"] == "caseworker" and me["station_id"] == city.stations["S2"]
    household_id, _ = households["S1"]
    assert client.post(f"/v1/households/{household_id}/assessments", json=submission(calm_answers(catalog)),
                       headers=city.auth("admin")).status_code == 403
    for user in ("caseworker_s1", "supervisor_t1"):
        assert client.get("/v1/users", headers=city.auth(user)).status_code == 403


def test_user_scope_must_fit_the_role(client, city):
    cases = [({"name": "a", "role": "caseworker"}, "station_id"),
             ({"name": "b", "role": "supervisor", "station_id": city.stations["S1"]}, "town_ids"),
             ({"name": "c", "role": "analyst", "town_ids": [city.towns["T1"]]}, "town_ids")]
    for body, path in cases:
        response = client.post("/v1/users", json=body, headers=city.auth("admin"))
        assert response.status_code == 422 and response.json()["errors"][0]["path"] == path
