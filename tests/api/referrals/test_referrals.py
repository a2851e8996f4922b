"""Referrals: every transition of the table allowed and refused, duplicates, history, pipeline, scope."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update

from api.auth.access import Caller, Role
from api.referrals import service as referrals
from api.referrals.tables import Referral
from tests.api.factories import calm_answers
from tests.api.support import snapshot
from tests.api.workflow_helpers import assess, new_household

# The table of docs/workflows.md, written out independently of api/data/workflows.yaml.
ALLOWED = {"recommended": {"referred", "cancelled"}, "referred": {"accepted", "declined", "cancelled"},
           "accepted": {"in_service", "declined", "cancelled"}, "in_service": {"completed", "cancelled"},
           "completed": set(), "declined": set(), "cancelled": set()}
STATUSES = list(ALLOWED)
PATH_TO = {"recommended": [], "referred": ["referred"], "accepted": ["referred", "accepted"],
           "in_service": ["referred", "accepted", "in_service"],
           "completed": ["referred", "accepted", "in_service", "completed"],
           "declined": ["referred", "declined"], "cancelled": ["cancelled"]}


@pytest.fixture
def provider(client, city):
    response = client.post("/v1/providers", json={"name": "环翠区慈善总会", "kind": "charity",
                                                  "services": ["meal_assistance", "home_cleaning"]},
                           headers=city.auth("supervisor_t1"))
    assert response.status_code == 201, response.text
    return response.json()["id"]


@pytest.fixture
def household(client, city):
    return new_household(client, city, "S1", "caseworker_s1")


def open_referral(client, city, household, service="meal_assistance", provider=None, user="caseworker_s1"):
    body = {"service_id": service} | ({"provider_id": provider} if provider else {})
    return client.post(f"/v1/households/{household}/referrals", json=body, headers=city.auth(user))


def move(client, city, referral_id, to, user="caseworker_s1", **extra):
    body = {"to": to, **extra}
    if to in ("declined", "cancelled") and "reason" not in extra:
        body["reason"] = "家属拒绝"
    return client.post(f"/v1/referrals/{referral_id}/transitions", json=body, headers=city.auth(user))


@pytest.mark.parametrize("start", STATUSES)
def test_every_transition_is_allowed_or_refused_as_the_table_says(client, city, household, provider, start, app):
    for target in STATUSES:
        referral = open_referral(client, city, household).json()
        for step in PATH_TO[start]:
            assert move(client, city, referral["id"], step, provider_id=provider).status_code == 200
        before = snapshot(app)
        response = move(client, city, referral["id"], target, provider_id=provider)
        if target in ALLOWED[start]:
            assert response.status_code == 200, (start, target, response.text)
            assert response.json()["status"] == target
        else:
            assert response.status_code == 409, (start, target)
            body = response.json()
            assert set(body["allowed"]) == ALLOWED[start] and body["from"] == start
            assert snapshot(app) == before
        final = client.get(f"/v1/referrals/{referral['id']}", headers=city.auth("caseworker_s1")).json()
        if final["open"]:
            assert move(client, city, referral["id"], "cancelled").status_code == 200


def test_history_keeps_every_change(client, city, household, provider):
    referral = open_referral(client, city, household).json()
    for step in ("referred", "accepted", "in_service", "completed"):
        move(client, city, referral["id"], step, provider_id=provider)
    history = client.get(f"/v1/referrals/{referral['id']}", headers=city.auth("supervisor_t1")).json()["history"]
    assert [(h["from"], h["to"]) for h in history] == [
        (None, "recommended"), ("recommended", "referred"), ("referred", "accepted"), ("accepted", "in_service"),
        ("in_service", "completed")]
    assert all(h["user_id"] == city.user_ids["caseworker_s1"] for h in history)


def test_reason_and_provider_are_required_where_the_table_says(client, city, household):
    referral = open_referral(client, city, household).json()
    refused = client.post(f"/v1/referrals/{referral['id']}/transitions", json={"to": "cancelled"},
                          headers=city.auth("caseworker_s1"))
    assert refused.status_code == 422 and refused.json()["errors"][0]["path"] == "reason"
    refused = move(client, city, referral["id"], "referred")
    assert refused.status_code == 422 and refused.json()["errors"][0]["path"] == "provider_id"


def test_the_same_service_cannot_be_open_twice(client, city, household, provider, app):
    first = open_referral(client, city, household, provider=provider)
    assert first.status_code == 201 and first.json()["status"] == "referred"
    before = snapshot(app)
    again = open_referral(client, city, household)
    assert again.status_code == 409 and again.json()["existing_referral_id"] == first.json()["id"]
    assert snapshot(app) == before
    assert open_referral(client, city, household, service="home_cleaning").status_code == 201
    move(client, city, first.json()["id"], "declined", reason="路途太远")
    assert open_referral(client, city, household).status_code == 201


def test_a_provider_must_offer_the_service_and_have_room(client, city, household):
    small = client.post("/v1/providers", json={"name": "志愿队", "kind": "volunteer_team",
                                               "services": ["meal_assistance"], "capacity": 1},
                        headers=city.auth("admin")).json()["id"]
    assert open_referral(client, city, household, "home_cleaning", small).json()["errors"][0]["path"] == "provider_id"
    assert open_referral(client, city, household, "meal_assistance", small).status_code == 201
    other = new_household(client, city, "S1", "caseworker_s1")
    full = open_referral(client, city, other, "meal_assistance", small)
    assert full.status_code == 409 and full.json()["errors"][0]["code"] == "provider_full"
    bad = client.post("/v1/providers", json={"name": "x", "kind": "shop", "services": ["nope"]},
                      headers=city.auth("admin"))
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "kind"
    assert client.post("/v1/providers", json={"name": "y", "kind": "charity", "services": ["nope"]},
                       headers=city.auth("caseworker_s1")).status_code == 403


def test_feedback_only_on_completed(client, city, household, provider):
    referral = open_referral(client, city, household, provider=provider).json()
    early = client.post(f"/v1/referrals/{referral['id']}/feedback", json={"satisfaction": 4},
                        headers=city.auth("caseworker_s1"))
    assert early.status_code == 409
    for step in ("accepted", "in_service", "completed"):
        move(client, city, referral["id"], step)
    assert client.post(f"/v1/referrals/{referral['id']}/feedback", json={"satisfaction": 6},
                       headers=city.auth("caseworker_s1")).status_code == 422
    done = client.post(f"/v1/referrals/{referral['id']}/feedback", json={"satisfaction": 5, "note": "很满意"},
                       headers=city.auth("caseworker_s1"))
    assert done.json()["feedback"] == {"satisfaction": 5, "note": "很满意"}


def test_referrals_are_scoped(client, city, household, provider):
    referral = open_referral(client, city, household).json()
    assert move(client, city, referral["id"], "referred", user="caseworker_s3",
                provider_id=provider).status_code == 403
    assert client.get(f"/v1/referrals/{referral['id']}", headers=city.auth("supervisor_t3")).status_code == 403
    assert client.get("/v1/referrals", headers=city.auth("supervisor_t3")).json()["total"] == 0
    assert client.get("/v1/referrals", headers=city.auth("supervisor_t1")).json()["total"] == 1
    assert open_referral(client, city, household, "home_cleaning", user="caseworker_s3").status_code == 403


def test_pipeline_by_provider_and_service(app, client, city, provider):
    households = [new_household(client, city, "S1", "caseworker_s1") for _ in range(5)]
    ids = [open_referral(client, city, h, provider=provider).json()["id"] for h in households]
    move(client, city, ids[0], "declined", reason="不需要")
    move(client, city, ids[1], "declined", reason="不需要")
    move(client, city, ids[2], "accepted")
    for step in ("accepted", "in_service", "completed"):
        move(client, city, ids[3], step)
    with app.state.context.database.session(write=True) as session:  # no change for 20 days
        session.execute(update(Referral).where(Referral.id == ids[4])
                        .values(changed_at=datetime.now(timezone.utc) - timedelta(days=20)))
    body = client.get("/v1/referrals/pipeline", headers=city.auth("supervisor_t1")).json()
    assert body["items"] == [{"provider_id": provider, "service_id": "meal_assistance", "open": 2, "overdue": 1,
                              "completed": 1, "declined": 2, "cancelled": 0, "declined_reasons": {"不需要": 2}}]
    assert client.get("/v1/referrals/pipeline", headers=city.auth("supervisor_t3")).json()["items"] == []
    caller = Caller(id=city.user_ids["supervisor_t1"], name="s", role=Role.supervisor,
                    town_ids=frozenset({city.towns["T1"]}))
    with app.state.context.database.session() as session:  # 25 days on, the accepted one is overdue too
        later = referrals.pipeline(session=session, caller=caller, overdue_days=14,
                                   now=datetime.now(timezone.utc) + timedelta(days=25))
    assert later["items"][0]["overdue"] == 2


def test_exit_cancels_open_referrals_with_the_reason(client, city, household, provider):
    open_one = open_referral(client, city, household, provider=provider).json()
    closed = open_referral(client, city, household, "home_cleaning").json()
    move(client, city, closed["id"], "cancelled", reason="重复")
    response = client.post(f"/v1/households/{household}/exit", json={"reason": "deceased"},
                           headers=city.auth("caseworker_s1"))
    assert response.status_code == 200 and response.json()["closed_referrals"] == [open_one["id"]]
    after = client.get(f"/v1/referrals/{open_one['id']}", headers=city.auth("caseworker_s1")).json()
    assert after["status"] == "cancelled" and after["reason"] == "household_exited:deceased"
    assert client.get(f"/v1/households/{household}", headers=city.auth("caseworker_s1")).json()["status"] == "exited"
    bad = client.post(f"/v1/households/{household}/exit", json={"reason": "bored"}, headers=city.auth("caseworker_s1"))
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "reason"
    assert open_referral(client, city, household).status_code == 409


def test_a_referral_names_an_assessment_of_its_own_household_only(client, city, household, catalog, app):
    own = assess(client, city, "caseworker_s1", household, calm_answers(catalog))
    elsewhere = new_household(client, city, "S4", "supervisor_t3")
    foreign = assess(client, city, "supervisor_t3", elsewhere, calm_answers(catalog))
    before = snapshot(app)
    for assessment_id in (foreign["id"], 999999):
        response = client.post(f"/v1/households/{household}/referrals",
                               json={"service_id": "meal_assistance", "assessment_id": assessment_id},
                               headers=city.auth("caseworker_s1"))
        assert response.status_code == 404, response.text
        [error] = response.json()["errors"]
        assert error["path"] == "assessment_id" and error["message_zh"] and error["message_en"]
    assert snapshot(app) == before
    created = client.post(f"/v1/households/{household}/referrals",
                          json={"service_id": "meal_assistance", "assessment_id": own["id"]},
                          headers=city.auth("caseworker_s1"))
    assert created.status_code == 201 and created.json()["assessment_id"] == own["id"]


def test_a_provider_belongs_to_a_known_town_in_the_supervisors_scope(client, city, app):
    before = snapshot(app)

    def add(user, **extra):
        return client.post("/v1/providers", json={"name": f"机构{len(extra)}{user}", "kind": "charity",
                                                  "services": ["meal_assistance"], **extra}, headers=city.auth(user))

    unknown = add("admin", town_id=999999)
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["path"] == "town_id"
    outside = add("supervisor_t1", town_id=city.towns["T3"])
    assert outside.status_code == 403
    [error] = outside.json()["errors"]
    assert (error["path"], error["code"]) == ("town_id", "out_of_scope") and error["message_zh"]
    assert snapshot(app) == before
    assert add("supervisor_t1", town_id=city.towns["T1"]).status_code == 201
    assert add("admin", town_id=city.towns["T3"]).status_code == 201


def test_a_refused_move_names_the_statuses_by_their_labels(client, city, household, provider):
    referral = open_referral(client, city, household).json()
    move(client, city, referral["id"], "cancelled", reason="重复")
    refused = move(client, city, referral["id"], "recommended")
    assert refused.status_code == 409
    [error] = refused.json()["errors"]
    assert error["message_zh"] == "转介不能从“已取消”变为“已建议”;允许:无(终态)。"
    assert error["message_en"] == ("A referral cannot move from “Cancelled” to “Recommended”; "
                                   "allowed: none (final status).")
    other = open_referral(client, city, household, "home_cleaning").json()
    refused = move(client, city, other["id"], "completed")
    assert refused.json()["errors"][0]["message_zh"] == "转介不能从“已建议”变为“已完成”;允许:已转介、已取消。"
    unknown = move(client, city, other["id"], "gone")
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["path"] == "to"
    assert "recommended" in unknown.json()["errors"][0]["message_en"]
