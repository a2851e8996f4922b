"""Exits with a reason, re-entries (explicit, or by a new assessment) that keep the history, and exit proposals
(应退尽退) worked out by hand on a small population."""

from __future__ import annotations

import pytest

from tests.api.support import snapshot
from tests.api.workflow_helpers import TIER_BY_DEPRIVED, assess, deprived, new_household, publish_test_cutoffs


def history(client, city, household, user="caseworker_s1") -> list[tuple]:
    file = client.get(f"/v1/households/{household}/file", headers=city.auth(user)).json()
    return [(event["status"], event["reason"], event["assessment_id"]) for event in file["status_history"]]


def latest_status(client, city, household) -> str | None:
    items = client.get("/v1/rankings", params={"status": "exited"}, headers=city.auth("supervisor_t1")).json()["items"]
    if household in {item["household_id"] for item in items}:
        return "exited"
    items = client.get("/v1/rankings", headers=city.auth("supervisor_t1")).json()["items"]
    return "active" if household in {item["household_id"] for item in items} else None


def test_exit_and_re_entry_keep_the_history(client, city, catalog, app):
    household = new_household(client, city, "S1", "caseworker_s1")
    first = assess(client, city, "caseworker_s1", household, deprived(catalog, 3), "2026-01-10")
    exited = client.post(f"/v1/households/{household}/exit", json={"reason": "moved", "note": "迁往外市"},
                         headers=city.auth("caseworker_s1"))
    assert exited.status_code == 200, exited.text
    assert latest_status(client, city, household) == "exited"
    before = snapshot(app)
    assert client.post(f"/v1/households/{household}/exit", json={"reason": "moved"},
                       headers=city.auth("caseworker_s1")).json()["errors"][0]["code"] == "already_exited"
    assert client.post(f"/v1/households/{household}/reentry", json={"reason": "because"},
                       headers=city.auth("caseworker_s1")).json()["errors"][0]["path"] == "reason"
    assert snapshot(app) == before
    back = client.post(f"/v1/households/{household}/reentry", json={"reason": "returned_to_area"},
                       headers=city.auth("caseworker_s1"))
    assert back.json() == {"household_id": household, "status": "active", "reason": "returned_to_area"}
    assert client.post(f"/v1/households/{household}/reentry", json={"reason": "returned_to_area"},
                       headers=city.auth("caseworker_s1")).json()["errors"][0]["code"] == "not_exited"
    client.post(f"/v1/households/{household}/exit", json={"reason": "no_longer_in_hardship"},
                headers=city.auth("supervisor_t1"))
    # a new assessment of an exited household brings it back; a correction does not
    assess(client, city, "caseworker_s1", household, deprived(catalog, 2), "2026-01-10", corrects=first["id"])
    assert latest_status(client, city, household) == "exited"
    second = assess(client, city, "caseworker_s1", household, deprived(catalog, 4), "2026-05-01")
    assert latest_status(client, city, household) == "active"
    assert history(client, city, household) == [("exited", "moved", None), ("active", "returned_to_area", None),
                                                ("exited", "no_longer_in_hardship", None),
                                                ("active", "new_assessment", second["id"])]
    file = client.get(f"/v1/households/{household}/file", headers=city.auth("caseworker_s1")).json()
    assert len(file["assessments"]) == 3  # nothing of the history went
    client.patch(f"/v1/households/{household}", json={"status": "exited"}, headers=city.auth("caseworker_s1"))
    assert history(client, city, household)[-1] == ("exited", "unspecified", None)
    actions = [e["action"] for e in client.get("/v1/audit", params={"household_id": household},
                                               headers=city.auth("admin")).json()]
    assert actions.count("exit_household") == 2 and actions.count("reenter_household") == 2


# Two current assessments each, by the number of deprived answers (TIER_BY_DEPRIVED under the test cut-offs:
# 0 and 1 none, 2 light, 3 moderate, 4 severe); the entry threshold is the lowest tier above "none" (light).
POPULATION = {
    "none_twice": ("S1", [1, 0]),            # proposed
    "none_twice_at_s2": ("S2", [0, 1]),      # proposed (same town)
    "one_assessment": ("S1", [0]),           # not: only one assessment
    "rose": ("S1", [0, 2]),                  # not: the latest is light
    "fell": ("S1", [3, 1]),                  # not: the one before was moderate
    "light_twice": ("S1", [2, 2]),           # not
    "exited": ("S1", [0, 0]),                # not: exited
    "verified_light": ("S1", [1, 1]),        # not: a supervisor verified the latest as light
    "verified_none": ("S1", [2, 0]),         # proposed: the light one before was verified as none
    "other_town": ("S4", [0, 0]),            # proposed, but in town T3
}
EXPECTED_T1 = {"none_twice", "none_twice_at_s2", "verified_none"}


@pytest.fixture
def population(client, city, catalog, app):
    publish_test_cutoffs(app)
    users = {"S1": "caseworker_s1", "S2": "supervisor_t1", "S4": "supervisor_t3"}
    made = {}
    for name, (station, counts) in POPULATION.items():
        household = new_household(client, city, station, users[station])
        made[name] = household
        for month, count in enumerate(counts, start=1):
            made[name, month] = assess(client, city, users[station], household, deprived(catalog, count),
                                       f"2026-0{month}-15")["id"]
    client.post(f"/v1/households/{made['exited']}/exit", json={"reason": "deceased"},
                headers=city.auth("caseworker_s1"))
    for name, month, tier in (("verified_light", 2, "light"), ("verified_none", 1, "none")):
        response = client.post(f"/v1/assessments/{made[name, month]}/verification", headers=city.auth("supervisor_t1"),
                               json={"tier": tier, "reason": "入户核查"})
        assert response.status_code == 201, response.text
    return made


def proposed(client, city, user="supervisor_t1") -> dict[int, dict]:
    response = client.get("/v1/exit-proposals", headers=city.auth(user))
    assert response.status_code == 200, response.text
    return {item["household_id"]: item for item in response.json()["items"]}


def test_exit_proposals_by_hand(client, city, population):
    listed = proposed(client, city)
    assert set(listed) == {population[name] for name in EXPECTED_T1}
    assert set(proposed(client, city, "supervisor_t3")) == {population["other_town"]}
    assert set(proposed(client, city, "caseworker_s1")) == {population[name] for name in EXPECTED_T1} - {
        population["none_twice_at_s2"]}
    item = listed[population["verified_none"]]
    assert (item["tier"], item["verified_tier"], item["previous_tier"], item["previous_verified_tier"]) == \
        ("none", None, TIER_BY_DEPRIVED[2], "none")
    body = client.get("/v1/exit-proposals", headers=city.auth("supervisor_t1")).json()
    assert body["threshold"] == {"tier": "light", "index": None}
    assert [i["household_id"] for i in body["items"]] == sorted(
        listed, key=lambda h: (listed[h]["index"], h))  # lowest index first
    assert client.get("/v1/exit-proposals", headers=city.auth("analyst")).status_code == 403


def test_confirming_exits_and_dismissing_waits_for_a_new_assessment(client, city, catalog, population, app):
    confirm, dismiss = population["none_twice"], population["none_twice_at_s2"]
    referral = client.post(f"/v1/households/{confirm}/referrals", json={"service_id": "meal_assistance"},
                           headers=city.auth("caseworker_s1")).json()
    assert client.post(f"/v1/exit-proposals/{confirm}", json={"decision": "confirm"},
                       headers=city.auth("caseworker_s1")).status_code == 403
    before = snapshot(app)
    refused = client.post(f"/v1/exit-proposals/{dismiss}", json={"decision": "dismiss"},
                          headers=city.auth("supervisor_t1"))
    assert (refused.status_code, refused.json()["errors"][0]["path"]) == (422, "reason")
    assert client.post(f"/v1/exit-proposals/{population['rose']}", json={"decision": "confirm"},
                       headers=city.auth("supervisor_t1")).json()["errors"][0]["code"] == "not_proposed"
    assert snapshot(app) == before
    confirmed = client.post(f"/v1/exit-proposals/{confirm}", json={"decision": "confirm", "reason": "两次评估均无困难"},
                            headers=city.auth("supervisor_t1")).json()
    assert (confirmed["status"], confirmed["closed_referrals"]) == ("exited", [referral["id"]])
    assert history(client, city, confirm)[-1][:2] == ("exited", "no_longer_in_hardship")
    dismissed = client.post(f"/v1/exit-proposals/{dismiss}", json={"decision": "dismiss", "reason": "仍需照料服务"},
                            headers=city.auth("supervisor_t1")).json()
    assert (dismissed["decision"], dismissed["status"]) == ("dismiss", "active")
    assert set(proposed(client, city)) == {population["verified_none"]}
    assess(client, city, "supervisor_t1", dismiss, deprived(catalog, 0), "2026-06-15")
    assert set(proposed(client, city)) == {population["verified_none"], dismiss}  # proposed again
    actions = [e["action"] for e in client.get("/v1/audit", headers=city.auth("admin"), params={"limit": 1000}).json()]
    assert actions.count("confirm_exit_proposal") == 1 and actions.count("dismiss_exit_proposal") == 1
