"""Transfers between stations: requested by the sending side, refused and accepted by the receiving side, with
what each station then sees and may do; kinds `residence` (人户分离) and `move`; every refusal of a bad step."""

from __future__ import annotations

import pytest

from tests.api.factories import calm_answers
from tests.api.support import snapshot
from tests.api.workflow_helpers import assess, new_household

REASON = "随女儿迁居环翠区"


def ask(client, city, household, to="S3", kind="residence", user="caseworker_s1", reason=REASON):
    return client.post(f"/v1/households/{household}/transfers", headers=city.auth(user),
                       json={"to_station_id": city.stations[to], "kind": kind, "reason": reason})


def decide(client, city, transfer, decision, user="caseworker_s3", reason=None):
    body = {"decision": decision} | ({"reason": reason} if reason is not None else {})
    return client.post(f"/v1/transfers/{transfer}/decision", json=body, headers=city.auth(user))


def ranked(client, city, user) -> set[int]:
    response = client.get("/v1/rankings", headers=city.auth(user))
    assert response.status_code == 200, response.text
    return {item["household_id"] for item in response.json()["items"]}


def due(client, city, user) -> set[int]:
    response = client.get("/v1/reassessments", params={"due_before": "2100-01-01"}, headers=city.auth(user))
    assert response.status_code == 200, response.text
    return {item["household_id"] for item in response.json()["items"]}


def audit_actions(client, city, household) -> list[str]:
    entries = client.get("/v1/audit", params={"household_id": household, "limit": 1000},
                         headers=city.auth("admin")).json()
    return [entry["action"] for entry in reversed(entries) if entry["action"].endswith("_transfer")]


@pytest.fixture
def household(client, city, catalog):
    made = new_household(client, city, "S1", "caseworker_s1")
    assess(client, city, "caseworker_s1", made, calm_answers(catalog), "2026-03-01")
    return made


def test_a_transfer_refused_then_accepted_with_both_stations_views(client, city, household, app):
    transfer = ask(client, city, household)
    assert transfer.status_code == 201, transfer.text
    first = transfer.json()
    assert (first["status"], first["from_station_id"], first["to_station_id"], first["kind"]) == \
        ("requested", city.stations["S1"], city.stations["S3"], "residence")
    # waiting: the receiving side reads the household to decide, but it is not theirs yet
    assert client.get(f"/v1/households/{household}", headers=city.auth("caseworker_s3")).status_code == 200
    assert client.get(f"/v1/households/{household}", headers=city.auth("supervisor_t3")).status_code == 403
    incoming = client.get("/v1/transfers", params={"direction": "incoming"}, headers=city.auth("caseworker_s3")).json()
    assert [item["id"] for item in incoming["items"]] == [first["id"]]
    assert client.get("/v1/transfers", params={"direction": "incoming"},
                      headers=city.auth("caseworker_s1")).json()["items"] == []
    assert household in ranked(client, city, "caseworker_s1") and household not in ranked(client, city, "caseworker_s3")

    before = snapshot(app)
    missing_reason = decide(client, city, first["id"], "refused")
    assert missing_reason.status_code == 422
    assert missing_reason.json()["errors"][0]["path"] == "reason"
    assert snapshot(app) == before
    assert decide(client, city, first["id"], "accepted", user="caseworker_s1").status_code == 403  # the sender
    refused = decide(client, city, first["id"], "refused", reason="本站人手不足,请转区中心")
    assert refused.status_code == 200, refused.text
    assert (refused.json()["status"], refused.json()["decision_reason"]) == ("refused", "本站人手不足,请转区中心")
    assert decide(client, city, first["id"], "accepted").json()["errors"][0]["code"] == "transfer_decided"
    # refused: nothing moved, and the receiving side no longer reads it
    assert client.get(f"/v1/households/{household}", headers=city.auth("caseworker_s1")).json()["station_id"] == \
        city.stations["S1"]
    assert client.get(f"/v1/households/{household}", headers=city.auth("caseworker_s3")).status_code == 403

    second = ask(client, city, household).json()
    accepted = decide(client, city, second["id"], "accepted")
    assert accepted.status_code == 200, accepted.text
    # the station where it lives serves it: reads, writes, ranking and due list
    shown = client.get(f"/v1/households/{household}", headers=city.auth("caseworker_s3")).json()
    assert (shown["station_id"], shown["registered_station_id"]) == (city.stations["S3"], city.stations["S1"])
    assert household in ranked(client, city, "caseworker_s3") and household not in ranked(client, city, "caseworker_s1")
    assert household in due(client, city, "caseworker_s3") and household not in due(client, city, "caseworker_s1")
    assess(client, city, "caseworker_s3", household, calm_answers(app.state.context.scorer.catalog), "2026-04-01")
    # the registered station still sees it, read-only
    registered_view = client.get(f"/v1/households/{household}", headers=city.auth("caseworker_s1")).json()
    assert registered_view["personal_view"] == "full"
    file = client.get(f"/v1/households/{household}/file", headers=city.auth("caseworker_s1"))
    assert file.status_code == 200
    assert [(t["id"], t["status"]) for t in file.json()["transfers"]] == [(first["id"], "refused"),
                                                                          (second["id"], "accepted")]
    listed = client.get("/v1/households", headers=city.auth("caseworker_s1")).json()
    assert household in [item["id"] for item in listed["items"]]
    assert client.patch(f"/v1/households/{household}", json={"phone": "13900000000"},
                        headers=city.auth("caseworker_s1")).status_code == 403
    assert client.post(f"/v1/households/{household}/assessments", headers=city.auth("caseworker_s1"),
                       json={"submission_id": "00000000-0000-4000-8000-000000000001", "assessed_on": "2026-05-01",
                             "answers": calm_answers(app.state.context.scorer.catalog)}).status_code == 403
    assert ask(client, city, household, to="S1").status_code == 403  # only the serving side sends
    assert audit_actions(client, city, household) == ["request_transfer", "refuse_transfer", "request_transfer",
                                                      "accept_transfer"]


def test_a_move_moves_the_registration_too(client, city, household):
    transfer = ask(client, city, household, to="S4", kind="move", user="supervisor_t1").json()
    assert decide(client, city, transfer["id"], "accepted", user="supervisor_t3").status_code == 200
    shown = client.get(f"/v1/households/{household}", headers=city.auth("supervisor_t3")).json()
    assert (shown["station_id"], shown["registered_station_id"]) == (city.stations["S4"], city.stations["S4"])
    assert client.get(f"/v1/households/{household}", headers=city.auth("caseworker_s1")).status_code == 403
    assert household not in [item["id"] for item in client.get("/v1/households",
                                                               headers=city.auth("caseworker_s1")).json()["items"]]


def test_the_sender_cancels_and_bad_requests_store_nothing(client, city, household, app):
    before = snapshot(app)
    assert ask(client, city, household, to="S1").json()["errors"][0]["code"] == "same_station"
    unknown = client.post(f"/v1/households/{household}/transfers", headers=city.auth("caseworker_s1"),
                          json={"to_station_id": 99999, "kind": "move", "reason": REASON})
    assert (unknown.status_code, unknown.json()["errors"][0]["path"]) == (404, "to_station_id")
    assert ask(client, city, household, reason="   ").json()["errors"][0]["code"] == "reason_required"
    assert ask(client, city, household, user="caseworker_s3").status_code == 403
    assert snapshot(app) == before
    transfer = ask(client, city, household).json()
    again = ask(client, city, household, to="S2")
    assert (again.status_code, again.json()["existing_transfer_id"]) == (409, transfer["id"])
    assert decide(client, city, transfer["id"], "cancelled").status_code == 403  # the receiving side
    cancelled = decide(client, city, transfer["id"], "cancelled", user="caseworker_s1")
    assert cancelled.json()["status"] == "cancelled"
    assert client.get(f"/v1/transfers/{transfer['id']}", headers=city.auth("caseworker_s3")).status_code == 200
    assert client.get(f"/v1/transfers/{transfer['id']}", headers=city.auth("supervisor_t3")).status_code == 403
    assert client.get("/v1/transfers", headers=city.auth("analyst")).status_code == 403
    assert audit_actions(client, city, household) == ["request_transfer", "cancel_transfer"]
