"""Visit lists: candidates ranked by their rules, per station and scope, visits with their outcomes, registration
prefilled and the household's file showing where it came from, overdue candidates, export and audit."""

from __future__ import annotations

import csv
import io

from sqlalchemy import text

from tests.api.discovery.helpers import DISABILITY, MEDICAL, csv_bytes, days_ago, upload
from tests.api.factories import household_payload, resident_id_number
from tests.api.support import count_rows


def seed(client, city):
    """Three persons on no file: two in T1 (S1, its first station) and one in T3 (S4)."""
    people = {"high": resident_id_number(601, birth="19400101"), "low": resident_id_number(602, birth="19800101"),
              "far": resident_id_number(603, birth="19500101")}
    assert upload(client, city, "disability", csv_bytes(DISABILITY, [
        [people["high"], "高桂兰", "1940-01-01", "T1", days_ago(5), "一级"],
        [people["low"], "吕明", "1980-01-01", "T1", days_ago(5), "三级"],
        [people["far"], "傅强", "1950-01-01", "T3", days_ago(5), "二级"]])).status_code == 201
    assert upload(client, city, "medical_bills", csv_bytes(MEDICAL, [
        [people["high"], "高桂兰", "1940-01-01", "T1", days_ago(3), "48000"]])).status_code == 201
    return people


def page(client, city, user, **params):
    answer = client.get("/v1/discovery/candidates", headers=city.auth(user), params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_station_sees_its_own_candidates_ranked_with_their_reasons(client, city, app):
    people = seed(client, city)
    mine = page(client, city, "caseworker_s1")
    assert mine["total"] == 2
    assert [(c["name"], c["id_number"], c["priority"], c["status"], c["overdue"]) for c in mine["items"]] == [
        ("高桂兰", people["high"], 70, "to_visit", False), ("吕明", people["low"], 20, "to_visit", False)]
    assert [(r["rule"], r["reason_en"], r["priority"]) for r in mine["items"][0]["reasons"]] == [
        ("severe_disability", "Severe disability (grade 1 or 2)", 40),
        ("large_medical_bill", "Out-of-pocket medical bill of 20,000 or more", 30)]
    assert page(client, city, "caseworker_s3")["total"] == 0
    assert [c["name"] for c in page(client, city, "supervisor_t3")["items"]] == ["傅强"]
    assert page(client, city, "supervisor_t1")["total"] == 2
    admin = page(client, city, "admin")
    assert admin["total"] == 3 and {c["name"] for c in admin["items"]} == {"高**", "吕*", "傅*"}
    assert all(c["id_number"].startswith("**************") for c in admin["items"])
    assert client.get("/v1/discovery/candidates", headers=city.auth("analyst")).status_code == 403
    far = page(client, city, "supervisor_t3")["items"][0]["id"]
    assert client.get(f"/v1/discovery/candidates/{far}", headers=city.auth("caseworker_s1")).status_code == 403
    with app.state.context.database.engine.connect() as connection:
        actions = [r[0] for r in connection.execute(text("SELECT action FROM audit_log ORDER BY id"))]
    assert actions.count("read_candidates") >= 4


def test_a_candidate_visited_and_registered_becomes_a_household_that_shows_where_it_came_from(client, city, app):
    people = seed(client, city)
    top = page(client, city, "caseworker_s1")["items"][0]
    prefill = client.get(f"/v1/discovery/candidates/{top['id']}/registration", headers=city.auth("caseworker_s1"))
    assert prefill.status_code == 200
    assert prefill.json() == {"candidate_id": top["id"], "station_id": city.stations["S1"], "name": "高桂兰",
                              "id_number": people["high"], "birth_year": 1940}
    assert client.get(f"/v1/discovery/candidates/{top['id']}/registration",
                      headers=city.auth("caseworker_s3")).status_code == 403
    body = household_payload(prefill.json()["station_id"], name=prefill.json()["name"],
                             id_number=prefill.json()["id_number"])
    registered = client.post("/v1/households", headers=city.auth("caseworker_s1"), json=body)
    assert registered.status_code == 201, registered.text
    household_id = registered.json()["id"]
    missing = client.post(f"/v1/discovery/candidates/{top['id']}/visit", headers=city.auth("caseworker_s1"),
                          json={"outcome": "registered"})
    assert missing.status_code == 422 and missing.json()["errors"][0]["path"] == "household_id"
    visit = client.post(f"/v1/discovery/candidates/{top['id']}/visit", headers=city.auth("caseworker_s1"),
                        json={"outcome": "registered", "household_id": household_id, "note": "入户核实"})
    assert visit.status_code == 200, visit.text
    assert (visit.json()["status"], visit.json()["household_id"], visit.json()["note"]) == \
        ("registered", household_id, "入户核实")
    again = client.post(f"/v1/discovery/candidates/{top['id']}/visit", headers=city.auth("caseworker_s1"),
                        json={"outcome": "not_found"})
    assert again.status_code == 409
    file = client.get(f"/v1/households/{household_id}/file", headers=city.auth("caseworker_s1"))
    assert file.status_code == 200, file.text
    origin = file.json()["discovery_origin"]
    assert (origin["candidate_id"], origin["reasons"], origin["visited_by"]) == \
        (top["id"], ["severe_disability", "large_medical_bill"], city.user_ids["caseworker_s1"])
    # the person is on file now: a new record about them, and the two that found them, match the household
    report = upload(client, city, "medical_bills", csv_bytes(MEDICAL, [
        [people["high"], "高桂兰", "1940-01-01", "T1", days_ago(1), "30000"]])).json()
    assert report["matching"]["matched_by_id_number"] == 3 and report["matching"]["candidates_new"] == 0
    assert count_rows(app, "discovery_candidates") == 3


def test_outcomes_overdue_candidates_on_the_supervisors_list_and_the_export(client, city, app):
    seed(client, city)
    low = page(client, city, "caseworker_s1")["items"][1]
    with app.state.context.database.engine.begin() as connection:  # found long ago: its time limit has passed
        connection.execute(text("UPDATE discovery_candidates SET due_on = :day WHERE id = :id"),
                           {"day": days_ago(1), "id": low["id"]})
    assert [c["id"] for c in page(client, city, "supervisor_t1", overdue="true")["items"]] == [low["id"]]
    summary = client.get("/v1/discovery/visits", headers=city.auth("supervisor_t1")).json()
    assert [(s["station_id"], s["to_visit"], s["overdue"], s["not_found"]) for s in summary] == \
        [(city.stations["S1"], 2, 1, 0)]
    gone = client.post(f"/v1/discovery/candidates/{low['id']}/visit", headers=city.auth("supervisor_t1"),
                       json={"outcome": "not_found"})
    assert gone.status_code == 200 and gone.json()["overdue"] is False
    summary = client.get("/v1/discovery/visits", headers=city.auth("supervisor_t1")).json()
    assert [(s["to_visit"], s["overdue"], s["not_found"]) for s in summary] == [(1, 0, 1)]
    export = client.get("/v1/discovery/candidates", headers=city.auth("caseworker_s1"), params={"format": "csv"})
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert [(r["name"], r["status"], r["priority"]) for r in rows] == [("高桂兰", "to_visit", "70"),
                                                                       ("吕明", "not_found", "20")]
    assert rows[0]["reasons"] == "severe_disability 一、二级残疾;large_medical_bill 个人自付医疗费 2 万元以上"


def test_a_supervisor_gives_a_candidate_to_another_station_of_its_town(client, city, app):
    seed(client, city)
    low = page(client, city, "caseworker_s1")["items"][1]
    path = f"/v1/discovery/candidates/{low['id']}/station"
    assert client.post(path, headers=city.auth("caseworker_s1"), json={"station_id": city.stations["S2"]}) \
        .status_code == 403
    other_town = client.post(path, headers=city.auth("supervisor_t1"), json={"station_id": city.stations["S3"]})
    assert (other_town.status_code, other_town.json()["errors"][0]["code"]) == (422, "other_town")
    moved = client.post(path, headers=city.auth("supervisor_t1"), json={"station_id": city.stations["S2"]})
    assert moved.status_code == 200 and moved.json()["station_id"] == city.stations["S2"]
    assert [c["id"] for c in page(client, city, "caseworker_s1")["items"]] != [] and \
        low["id"] not in [c["id"] for c in page(client, city, "caseworker_s1")["items"]]
