"""Referrals: every move of the table by its side and refused otherwise (wrong side, wrong status, stale version,
missing reason), the provider's view, declines going back to the station, history, audit, overdue, exports."""

from __future__ import annotations

import csv
import io
import threading
from datetime import date, datetime, timedelta, timezone

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from api.audit.tables import AuditEntry
from api.referrals.tables import Referral
from tests.api.factories import calm_answers
from tests.api.referrals.conftest import REASONS
from tests.api.support import snapshot
from tests.api.workflow_helpers import assess, new_household

# The table of docs/workflows.md written out by hand: from -> to -> who moves (S: station, P: provider).
TABLE = {"draft": {"requested": "S", "cancelled": "S"},
         "requested": {"received": "P", "accepted": "P", "rejected": "P", "cancelled": "S"},
         "received": {"accepted": "P", "rejected": "P", "cancelled": "S"},
         "accepted": {"in-progress": "P", "on-hold": "P", "failed": "P", "cancelled": "S"},
         "in-progress": {"on-hold": "P", "completed": "P", "failed": "P", "cancelled": "S"},
         "on-hold": {"in-progress": "P", "failed": "P", "cancelled": "S"},
         "rejected": {}, "completed": {}, "cancelled": {}, "failed": {}}
STATUSES = list(TABLE)
# How to reach each status from a referral requested of provider A: (to, side) steps.
PATH = {"draft": [], "requested": [], "received": [("received", "P")], "accepted": [("accepted", "P")],
        "rejected": [("rejected", "P")], "in-progress": [("accepted", "P"), ("in-progress", "P")],
        "on-hold": [("accepted", "P"), ("in-progress", "P"), ("on-hold", "P")],
        "completed": [("accepted", "P"), ("in-progress", "P"), ("completed", "P")],
        "cancelled": [("cancelled", "S")], "failed": [("accepted", "P"), ("in-progress", "P"), ("failed", "P")]}
USERS = {"S": "caseworker_s1", "P": "provider_a"}


def reach(loop, client, city, status: str) -> int:
    household = new_household(client, city, "S1", "caseworker_s1")
    referral = loop.refer(household, provider=None if status == "draft" else "a").json()
    for to, side in PATH[status]:
        response = loop.move(referral["id"], to, USERS[side])
        assert response.status_code == 200, (status, to, response.text)
    assert loop.get(referral["id"]).json()["status"] == status
    return referral["id"]


@pytest.mark.parametrize("start", STATUSES)
def test_every_move_is_made_by_its_side_and_refused_otherwise(app, client, city, loop, start):
    refused_here = reach(loop, client, city, start)
    for target in STATUSES:
        for side, user in USERS.items():
            allowed = TABLE[start].get(target)
            referral_id = reach(loop, client, city, start) if allowed == side else refused_here
            version = loop.version(referral_id)
            before = snapshot(app)
            extra = {"provider_id": loop.providers["a"]} if start == "draft" and target == "requested" else {}
            response = loop.move(referral_id, target, user, version=version, **extra)
            if allowed == side:
                assert response.status_code == 200, (start, target, side, response.text)
                body = response.json()
                assert body["status"] == target and body["history"][-1]["to"] == target
                assert body["history"][-1]["user_id"] == city.user_ids[user]
                continue
            if start == "draft" and side == "P":  # a draft is sent to no provider: not the provider's to see
                assert response.status_code == 403 and response.json()["errors"][0]["code"] == "out_of_scope"
            elif allowed is None:
                assert response.status_code == 409, (start, target, side, response.text)
                body = response.json()
                assert body["errors"][0]["code"] == "transition_not_allowed"
                assert body["from"] == start and set(body["allowed"]) == set(TABLE[start])
            else:
                assert response.status_code == 403, (start, target, side, response.text)
                body = response.json()
                assert body["errors"][0]["code"] == "not_your_move" and body["by"] == \
                    {"S": "station", "P": "provider"}[allowed]
                assert body["errors"][0]["message_zh"] and body["errors"][0]["message_en"]
            assert snapshot(app) == before


def test_a_move_on_a_stale_version_is_refused_and_changes_nothing(app, loop, household):
    referral = loop.refer(household).json()
    assert referral["version"] == 1
    received = loop.move(referral["id"], "received", "provider_a", version=1)
    assert received.status_code == 200 and received.json()["version"] == 2
    before = snapshot(app)
    stale = loop.move(referral["id"], "accepted", "provider_a", version=1)
    assert stale.status_code == 409
    assert stale.json()["errors"][0]["code"] == "stale_version" and stale.json()["current_version"] == 2
    assert snapshot(app) == before
    for action, body in (("schedule", {"scheduled_on": str(date.today())}),
                         ("deliveries", {"delivered_on": str(date.today()), "description": "x", "units": 1})):
        assert loop.act(referral["id"], action, "provider_a", version=1, **body).status_code == 409
    assert loop.move(referral["id"], "accepted", "provider_a", version=2).status_code == 200


def test_two_moves_at_once_never_both_succeed(server, city, loop, household):
    """Twenty referrals, each accepted and declined at the same moment by the provider on the same version:
    one move wins, the other is a 409, and the history holds the winner's move alone."""
    ids = [loop.refer(new_household(loop.client, city, "S1", "caseworker_s1")).json()["id"] for _ in range(20)]
    headers = city.auth("provider_a")
    results: dict[int, list[httpx.Response]] = {referral_id: [] for referral_id in ids}
    with httpx.Client(base_url=server, headers=headers, timeout=60) as api:
        for referral_id in ids:
            barrier = threading.Barrier(2)

            def send(body):
                barrier.wait()
                results[referral_id].append(api.post(f"/v1/referrals/{referral_id}/transitions", json=body))

            threads = [threading.Thread(target=send, args=(body,)) for body in (
                {"to": "accepted", "version": 1}, {"to": "rejected", "version": 1, "reason": "no_capacity"})]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    for referral_id, responses in results.items():
        assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
        winner = next(r for r in responses if r.status_code == 200).json()
        loser = next(r for r in responses if r.status_code == 409).json()
        assert loser["errors"][0]["code"] in ("stale_version", "transition_not_allowed")
        stored = loop.get(referral_id).json()
        assert stored["status"] == winner["status"] and stored["version"] == 2
        assert [event["to"] for event in stored["history"]] == ["requested", winner["status"]]


def test_reasons_outcomes_and_providers_are_required_where_the_table_says(app, loop, household):
    referral = loop.refer(household).json()
    before = snapshot(app)
    for body, path, code in (
            ({"to": "rejected", "version": 1}, "reason", "reason_required"),
            ({"to": "rejected", "version": 1, "reason": "no_longer_needed"}, "reason", "unknown_reason"),
            ({"to": "rejected", "version": 1, "reason": "household_exited"}, "reason", "unknown_reason"),
            ({"to": "accepted", "version": 1, "outcome": "needs_met"}, "outcome", "outcome_not_expected"),
            ({"to": "nowhere", "version": 1}, "to", "unknown_status")):
        response = loop.client.post(f"/v1/referrals/{referral['id']}/transitions", json=body,
                                    headers=loop.city.auth("provider_a"))
        assert response.status_code == 422, (body, response.text)
        [error] = response.json()["errors"]
        assert (error["path"], error["code"]) == (path, code) and error["message_zh"] and error["message_en"]
    rejected = loop.client.post(f"/v1/referrals/{referral['id']}/transitions", json={"to": "rejected"},
                                headers=loop.city.auth("provider_a"))
    assert rejected.status_code == 422 and rejected.json()["errors"][0]["path"] == "version"
    assert snapshot(app) == before
    for to in ("accepted", "in-progress"):
        loop.move(referral["id"], to, "provider_a")
    done = loop.client.post(f"/v1/referrals/{referral['id']}/transitions",
                            json={"to": "completed", "version": loop.version(referral["id"])},
                            headers=loop.city.auth("provider_a"))
    assert done.status_code == 422 and done.json()["errors"][0]["path"] == "outcome"
    draft = loop.refer(household, service="home_cleaning", provider=None).json()
    assert draft["status"] == "draft"
    unsent = loop.move(draft["id"], "requested", "caseworker_s1")
    assert unsent.status_code == 422 and unsent.json()["errors"][0]["path"] == "provider_id"
    wrong = loop.move(draft["id"], "requested", "caseworker_s1", provider_id=999999)
    assert wrong.status_code == 404 and wrong.json()["errors"][0]["path"] == "provider_id"
    sent = loop.move(draft["id"], "requested", "caseworker_s1", provider_id=loop.providers["b"])
    assert sent.status_code == 200 and sent.json()["provider_id"] == loop.providers["b"]


def test_a_provider_sees_only_its_referrals_with_the_least_personal_data(app, client, city, loop, household):
    sent_to_a = loop.refer(household).json()
    loop.refer(household, service="home_cleaning", provider="b")
    loop.refer(household, service="visiting_care", provider=None)  # a draft: no provider sees it
    listed = client.get("/v1/referrals", headers=city.auth("provider_a")).json()
    assert [item["id"] for item in listed["items"]] == [sent_to_a["id"]]
    contact = listed["items"][0]["contact"]
    personal = client.get(f"/v1/households/{household}", headers=city.auth("caseworker_s1")).json()["personal"]
    assert contact["name"] == personal["name"] and contact["phone"] == personal["phone"]
    assert contact["id_number"] == "*" * 14 + personal["id_number"][-4:]
    assert set(contact) == {"name", "phone", "id_number"}
    other = client.get("/v1/referrals", headers=city.auth("provider_b")).json()["items"]
    assert len(other) == 1 and other[0]["service_id"] == "home_cleaning"
    assert client.get(f"/v1/referrals/{sent_to_a['id']}", headers=city.auth("provider_b")).status_code == 403
    with app.state.context.database.session() as session:
        reads = session.scalars(select(AuditEntry).where(AuditEntry.action == "read_personal",
                                                         AuditEntry.user_id == city.user_ids["provider_a"])).all()
    assert [entry.household_id for entry in reads] == [household]
    for path in (f"/v1/households/{household}", "/v1/households", f"/v1/households/{household}/file",
                 "/v1/rankings", "/v1/alerts", "/v1/reassessments", "/v1/referrals/pipeline", "/v1/audit",
                 "/v1/users", "/v1/configs"):
        response = client.get(path, headers=city.auth("provider_a"))
        assert response.status_code == 403, (path, response.text)
    assert client.post("/v1/households/search", json={"name": "赵"},
                       headers=city.auth("provider_a")).status_code == 403
    assert loop.refer(household, service="laundry_bedding", user="provider_a").status_code == 403


def test_analysts_read_no_referral_and_admins_read_them_masked_without_moving_them(client, city, loop, household):
    referral = loop.refer(household).json()
    for path in ("/v1/referrals", f"/v1/referrals/{referral['id']}"):
        response = client.get(path, headers=city.auth("analyst"))
        assert response.status_code == 403 and response.json()["errors"][0]["code"] == "household_reads_not_allowed"
    masked = client.get(f"/v1/referrals/{referral['id']}", headers=city.auth("admin")).json()
    assert masked["contact"]["name"].endswith("*") and masked["caller_moves"] == []
    for user in ("admin", "analyst", "caseworker_s3", "supervisor_t3"):
        assert loop.move(referral["id"], "cancelled", user, version=1).status_code == 403, user
    assert client.get("/v1/referrals", headers=city.auth("supervisor_t3")).json()["total"] == 0
    assert client.get("/v1/referrals", headers=city.auth("supervisor_t1")).json()["total"] == 1


def test_a_declined_referral_goes_back_to_the_station_to_be_referred_elsewhere(client, city, loop, household):
    first = loop.refer(household).json()
    declined = loop.move(first["id"], "rejected", "provider_a", note="本月名额已满").json()
    assert declined["returned"] and declined["reason"] == "名额已满" and declined["reason_en"] == "No free place"
    assert declined["caller_moves"] == [] and declined["caller_actions"] == []  # the provider's view
    station_view = loop.get(first["id"]).json()
    assert station_view["caller_actions"] == ["refer_elsewhere", "close_returned"]
    returned = client.get("/v1/referrals", params={"returned": "true"}, headers=city.auth("caseworker_s1")).json()
    assert [item["id"] for item in returned["items"]] == [first["id"]]
    same = loop.act(first["id"], "refer-elsewhere", "caseworker_s1", provider_id=loop.providers["a"])
    assert same.status_code == 422 and same.json()["errors"][0]["path"] == "provider_id"
    assert loop.act(first["id"], "refer-elsewhere", "provider_a",
                    provider_id=loop.providers["b"]).status_code == 403
    again = loop.act(first["id"], "refer-elsewhere", "caseworker_s1", provider_id=loop.providers["b"])
    assert again.status_code == 201, again.text
    second = again.json()
    assert second["status"] == "requested" and second["follows_id"] == first["id"]
    assert second["provider_id"] == loop.providers["b"]
    old = loop.get(first["id"]).json()
    assert old["followed_by"] == second["id"] and not old["returned"] and old["status"] == "rejected"
    assert [(e["kind"], e["to"]) for e in old["history"]] == [("status", "requested"), ("status", "rejected"),
                                                             ("referred_elsewhere", "rejected")]
    assert old["history"][1]["reason"] == "名额已满" and old["history"][1]["note"] == "本月名额已满"
    assert old["history"][2]["details"]["next_referral_id"] == second["id"]
    assert client.get("/v1/referrals", params={"returned": "true"},
                      headers=city.auth("caseworker_s1")).json()["total"] == 0
    twice = loop.act(first["id"], "refer-elsewhere", "caseworker_s1", provider_id=loop.providers["b"])
    assert twice.status_code == 409 and twice.json()["errors"][0]["code"] == "already_followed_up"
    # A failure goes back too; the station may close it without another referral.
    for to in ("accepted", "in-progress", "failed"):
        assert loop.move(second["id"], to, "provider_b").status_code == 200
    closed = loop.act(second["id"], "close-returned", "caseworker_s1", note="家庭暂不需要")
    assert closed.status_code == 200 and closed.json()["acknowledged_at"] and not closed.json()["returned"]
    assert loop.act(second["id"], "close-returned", "caseworker_s1").status_code == 409
    open_one = loop.refer(household, service="home_cleaning").json()
    refused = loop.act(open_one["id"], "close-returned", "caseworker_s1")
    assert refused.status_code == 409 and refused.json()["errors"][0]["code"] == "not_in_status"


def test_a_reason_keeps_its_text_when_it_is_renamed_or_retired(client, city, loop, household):
    reasons = client.get("/v1/referral-reasons", params={"status": "rejected"}, headers=city.auth("provider_a")).json()
    no_capacity = next(r for r in reasons if r["code"] == "no_capacity")
    declined = loop.move(loop.refer(household).json()["id"], "rejected", "provider_a").json()
    renamed = client.patch(f"/v1/referral-reasons/{no_capacity['id']}",
                           json={"label_zh": "暂无名额", "label_en": "No place at present"}, headers=city.auth("admin"))
    assert renamed.status_code == 200 and renamed.json()["label_zh"] == "暂无名额"
    kept = loop.get(declined["id"]).json()
    assert kept["reason"] == "名额已满" and kept["history"][-1]["reason"] == "名额已满"
    later = loop.move(loop.refer(household, service="home_cleaning").json()["id"], "rejected", "provider_a").json()
    assert later["reason"] == "暂无名额" and later["reason_en"] == "No place at present"
    client.patch(f"/v1/referral-reasons/{no_capacity['id']}", json={"active": False}, headers=city.auth("admin"))
    retired = loop.move(loop.refer(household, service="visiting_care", provider="b").json()["id"], "rejected",
                        "provider_b")
    assert retired.status_code == 422 and retired.json()["errors"][0]["code"] == "unknown_reason"
    assert "no_capacity" not in retired.json()["reasons"]


def test_administrators_keep_the_reason_lists(client, city):
    added = client.post("/v1/referral-reasons", json={"status": "rejected", "code": "no_vehicle", "label_zh": "没有车辆",
                                                      "label_en": "No vehicle"}, headers=city.auth("admin"))
    assert added.status_code == 201 and added.json()["active"]
    for body, status, path in (
            ({"status": "rejected", "code": "no_vehicle", "label_zh": "x", "label_en": "x"}, 409, "code"),
            ({"status": "accepted", "code": "other", "label_zh": "x", "label_en": "x"}, 422, "status"),
            ({"status": "failed", "code": "Bad Code", "label_zh": "x", "label_en": "x"}, 422, "code")):
        response = client.post("/v1/referral-reasons", json=body, headers=city.auth("admin"))
        assert response.status_code == status and response.json()["errors"][0]["path"] == path
    refused = client.post("/v1/referral-reasons", json={"status": "failed", "code": "x1", "label_zh": "x",
                                                        "label_en": "x"}, headers=city.auth("supervisor_t1"))
    assert refused.status_code == 403
    system = next(r for r in client.get("/v1/referral-reasons", params={"status": "cancelled"},
                                        headers=city.auth("admin")).json() if r["system"])
    assert client.patch(f"/v1/referral-reasons/{system['id']}", json={"active": False},
                        headers=city.auth("admin")).status_code == 409
    for body in ({"label_zh": None}, {"label_en": "  "}):
        cleared = client.patch(f"/v1/referral-reasons/{added.json()['id']}", json=body, headers=city.auth("admin"))
        assert cleared.status_code == 422 and cleared.json()["errors"][0]["path"] == next(iter(body))
    retired = client.patch(f"/v1/referral-reasons/{added.json()['id']}", json={"active": False},
                           headers=city.auth("admin"))
    assert retired.json()["active"] is False
    listed = client.get("/v1/referral-reasons", params={"status": "rejected"}, headers=city.auth("admin")).json()
    assert "no_vehicle" not in {r["code"] for r in listed}
    everything = client.get("/v1/referral-reasons", params={"status": "rejected", "include_retired": "true"},
                            headers=city.auth("admin")).json()
    assert "no_vehicle" in {r["code"] for r in everything}


def test_the_provider_schedules_records_deliveries_and_completes_and_the_station_records_feedback(
        app, client, city, loop, household):
    referral = loop.refer(household).json()
    early = loop.act(referral["id"], "schedule", "provider_a", scheduled_on=str(date.today()))
    assert early.status_code == 409 and early.json()["errors"][0]["code"] == "not_in_status"
    version = loop.move(referral["id"], "accepted", "provider_a").json()["version"]
    before = snapshot(app)
    for day in (date.today() - timedelta(days=30), date.today() + timedelta(days=400)):
        bad = loop.act(referral["id"], "schedule", "provider_a", version=version, scheduled_on=str(day))
        assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "scheduled_on"
    assert loop.act(referral["id"], "schedule", "caseworker_s1", version=version,
                    scheduled_on=str(date.today())).status_code == 403
    assert snapshot(app) == before
    appointment = date.today() + timedelta(days=20)
    scheduled = loop.act(referral["id"], "schedule", "provider_a", scheduled_on=str(appointment)).json()
    assert scheduled["scheduled_on"] == str(appointment)
    assert datetime.fromisoformat(scheduled["due_at"]) == datetime.combine(appointment + timedelta(days=1),
                                                                           datetime.min.time(), timezone.utc)
    delivery = {"delivered_on": str(date.today()), "description": "送餐 5 次", "units": 5}
    assert loop.act(referral["id"], "deliveries", "provider_a", **delivery).status_code == 409  # not started
    loop.move(referral["id"], "in-progress", "provider_a")
    for wrong, path in (({"delivered_on": str(date.today() + timedelta(days=3))}, "delivered_on"),
                        ({"units": 0}, "units"), ({"description": "   "}, "description")):
        response = loop.act(referral["id"], "deliveries", "provider_a", **{**delivery, **wrong})
        assert response.status_code == 422 and response.json()["errors"][0]["path"] == path, wrong
    recorded = loop.act(referral["id"], "deliveries", "provider_a", **delivery)
    assert recorded.status_code == 201
    assert [(d["description"], d["units"]) for d in recorded.json()["deliveries"]] == [("送餐 5 次", 5.0)]
    assert loop.act(referral["id"], "feedback", "caseworker_s1", satisfaction=4,
                    outcome="needs_met").status_code == 409  # not completed yet
    done = loop.move(referral["id"], "completed", "provider_a", outcome="partly_met", note="每周送餐")
    assert done.json()["outcome"] == "partly_met" and done.json()["open"] is False and done.json()["due_at"] is None
    assert loop.act(referral["id"], "feedback", "provider_a", satisfaction=4, outcome="needs_met").status_code == 403
    for wrong in ({"satisfaction": 6, "outcome": "needs_met"}, {"satisfaction": 4, "outcome": "great"}):
        assert loop.act(referral["id"], "feedback", "caseworker_s1", **wrong).status_code == 422
    feedback = loop.act(referral["id"], "feedback", "caseworker_s1", satisfaction=5, outcome="needs_met",
                        note="很满意")
    assert feedback.json()["feedback"] == {"satisfaction": 5, "outcome": "needs_met", "note": "很满意"}
    assert [e["kind"] for e in feedback.json()["history"]] == [
        "status", "status", "schedule", "status", "delivery", "status", "feedback"]


def test_every_move_is_in_the_audit_log(app, client, city, loop, household):
    referral = loop.refer(household).json()
    loop.move(referral["id"], "accepted", "provider_a")
    loop.act(referral["id"], "schedule", "provider_a", scheduled_on=str(date.today()))
    loop.move(referral["id"], "in-progress", "provider_a")
    loop.act(referral["id"], "deliveries", "provider_a", delivered_on=str(date.today()), description="x", units=1)
    loop.move(referral["id"], "failed", "provider_a")
    following = loop.act(referral["id"], "refer-elsewhere", "caseworker_s1", provider_id=loop.providers["b"]).json()
    for to in ("accepted", "in-progress", "completed"):
        loop.move(following["id"], to, "provider_b")
    loop.act(following["id"], "feedback", "caseworker_s1", satisfaction=3, outcome="partly_met")
    declined = loop.refer(household, service="home_cleaning").json()
    loop.move(declined["id"], "rejected", "provider_a")
    loop.act(declined["id"], "close-returned", "caseworker_s1")
    with app.state.context.database.session() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action != "read_personal")
                                  .order_by(AuditEntry.id)).all()
    moves = [(e.action, e.user_id, e.details.get("status")) for e in entries
             if e.details.get("referral_id") == referral["id"]]
    a, s = city.user_ids["provider_a"], city.user_ids["caseworker_s1"]
    assert moves == [("create_referral", s, "requested"), ("move_referral", a, "accepted"),
                     ("schedule_referral", a, "accepted"), ("move_referral", a, "in-progress"),
                     ("record_delivery", a, "in-progress"), ("move_referral", a, "failed"),
                     ("refer_elsewhere", s, "failed")]
    failed = next(e for e in entries if e.details.get("status") == "failed" and e.action == "move_referral")
    assert failed.details["reason"] == "unreachable" and failed.household_id == household
    b = city.user_ids["provider_b"]
    assert [(e.action, e.user_id, e.details.get("status")) for e in entries
            if e.details.get("referral_id") == following["id"]] == [
        ("create_referral", s, "requested"), ("move_referral", b, "accepted"), ("move_referral", b, "in-progress"),
        ("move_referral", b, "completed"), ("referral_feedback", s, "completed")]
    assert [(e.action, e.user_id) for e in entries if e.details.get("referral_id") == declined["id"]] == [
        ("create_referral", s), ("move_referral", a), ("close_returned_referral", s)]


def test_a_referral_with_no_move_by_its_due_date_is_overdue_on_the_supervisors_list(app, client, city, loop):
    households = [new_household(client, city, "S1", "caseworker_s1") for _ in range(4)]
    ids = [loop.refer(h).json()["id"] for h in households]
    requested = loop.get(ids[0]).json()
    assert datetime.fromisoformat(requested["due_at"]) - datetime.fromisoformat(requested["changed_at"]) == \
        timedelta(days=3)  # a requested referral is due in 3 days
    accepted = loop.move(ids[1], "accepted", "provider_a").json()
    assert datetime.fromisoformat(accepted["due_at"]) - datetime.fromisoformat(accepted["changed_at"]) == \
        timedelta(days=7)
    loop.move(ids[2], "rejected", "provider_a")
    with app.state.context.database.session(write=True) as session:
        session.execute(update(Referral).where(Referral.id == ids[0])
                        .values(due_at=datetime.now(timezone.utc) - timedelta(hours=1)))
    overdue = client.get("/v1/referrals", params={"overdue": "true"}, headers=city.auth("supervisor_t1")).json()
    assert [item["id"] for item in overdue["items"]] == [ids[0]] and overdue["items"][0]["overdue"]
    pipeline = client.get("/v1/referrals/pipeline", headers=city.auth("supervisor_t1")).json()
    [row] = pipeline["items"]
    assert (row["provider_id"], row["service_id"], row["open"], row["overdue"]) == \
        (loop.providers["a"], "meal_assistance", 3, 1)
    assert (row["by_status"]["requested"], row["by_status"]["accepted"], row["by_status"]["rejected"]) == (2, 1, 1)
    assert row["reasons"] == {"名额已满": 1} and pipeline["due_days"]["requested"] == 3
    assert client.get("/v1/referrals/pipeline", headers=city.auth("supervisor_t3")).json()["items"] == []
    assert client.get("/v1/referrals/pipeline", headers=city.auth("caseworker_s1")).status_code == 403
    moved = loop.move(ids[0], "received", "provider_a").json()  # a move starts the clock again
    assert not moved["overdue"]


def test_referrals_export_as_csv_with_a_byte_order_mark_and_as_excel(app, client, city, loop, household):
    ids = [loop.refer(household).json()["id"],
           loop.refer(household, service="home_cleaning", provider=None).json()["id"]]
    loop.move(ids[0], "rejected", "provider_a")
    response = client.get("/v1/referrals", params={"format": "csv"}, headers=city.auth("supervisor_t1"))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [(int(r["id"]), r["status"], r["status_label"], r["reason"]) for r in rows] == [
        (ids[0], "rejected", "已拒绝", "名额已满"), (ids[1], "draft", "待转介", "")]
    assert "name" not in rows[0] and "phone" not in rows[0]
    english = client.get("/v1/referrals", params={"format": "xlsx", "lang": "en", "status": "rejected"},
                         headers=city.auth("supervisor_t1"))
    table = list(load_workbook(io.BytesIO(english.content)).active.iter_rows(values_only=True))
    header = list(table[0])
    assert len(table) == 2 and table[1][header.index("status_label")] == "Declined"
    assert table[1][header.index("reason")] == "No free place"
    with app.state.context.database.session() as session:
        exports = session.scalars(select(AuditEntry).where(AuditEntry.action == "export_referrals")).all()
    assert [(e.details["rows"], e.details["format"]) for e in exports] == [(2, "csv"), (1, "xlsx")]


def test_an_exit_cancels_the_open_referrals_with_the_services_own_reason(client, city, loop, household):
    open_one = loop.refer(household).json()
    closed = loop.refer(household, service="home_cleaning").json()
    loop.move(closed["id"], "cancelled", "caseworker_s1")
    response = client.post(f"/v1/households/{household}/exit", json={"reason": "deceased"},
                           headers=city.auth("caseworker_s1"))
    assert response.status_code == 200 and response.json()["closed_referrals"] == [open_one["id"]]
    after = loop.get(open_one["id"]).json()
    assert (after["status"], after["reason_code"], after["reason"]) == ("cancelled", "household_exited", "家庭已退出")
    assert after["history"][-1]["details"] == {"exit": "household_exited:deceased"}
    assert loop.refer(household).status_code == 409


def test_the_same_service_is_open_once_and_a_provider_must_offer_it_and_have_room(app, client, city, loop, household):
    first = loop.refer(household)
    assert first.status_code == 201 and first.json()["status"] == "requested"
    before = snapshot(app)
    again = loop.refer(household, provider=None)
    assert again.status_code == 409 and again.json()["existing_referral_id"] == first.json()["id"]
    assert snapshot(app) == before
    assert loop.refer(household, service="visiting_care").json()["errors"][0]["path"] == "provider_id"
    small = client.post("/v1/providers", json={"name": "志愿队", "kind": "volunteer_team",
                                               "services": ["laundry_bedding"], "capacity": 1},
                        headers=city.auth("admin")).json()["id"]
    loop.providers["small"] = small
    assert loop.refer(household, service="laundry_bedding", provider="small").status_code == 201
    full = loop.refer(new_household(client, city, "S1", "caseworker_s1"), service="laundry_bedding", provider="small")
    assert full.status_code == 409 and full.json()["errors"][0]["code"] == "provider_full"


def test_a_referral_names_an_assessment_of_its_own_household_only(client, city, loop, household, catalog, app):
    own = assess(client, city, "caseworker_s1", household, calm_answers(catalog))
    elsewhere = new_household(client, city, "S4", "supervisor_t3")
    foreign = assess(client, city, "supervisor_t3", elsewhere, calm_answers(catalog))
    before = snapshot(app)
    for assessment_id in (foreign["id"], 999999):
        response = client.post(f"/v1/households/{household}/referrals",
                               json={"service_id": "meal_assistance", "assessment_id": assessment_id},
                               headers=city.auth("caseworker_s1"))
        assert response.status_code == 404 and response.json()["errors"][0]["path"] == "assessment_id"
    assert snapshot(app) == before
    created = client.post(f"/v1/households/{household}/referrals",
                          json={"service_id": "meal_assistance", "assessment_id": own["id"]},
                          headers=city.auth("caseworker_s1"))
    assert created.status_code == 201 and created.json()["assessment_id"] == own["id"]


def test_a_refused_move_names_the_statuses_by_their_labels(loop, household):
    referral = loop.refer(household).json()
    loop.move(referral["id"], "cancelled", "caseworker_s1")
    refused = loop.move(referral["id"], "requested", "caseworker_s1")
    [error] = refused.json()["errors"]
    assert error["message_zh"] == "转介不能从“已取消”变为“已转介”;允许:无(终态)。"
    assert error["message_en"] == \
        "A referral cannot move from “Cancelled” to “Requested”; allowed: none (final status)."
    other = loop.refer(household, service="home_cleaning").json()
    refused = loop.move(other["id"], "completed", "provider_a")
    assert refused.json()["errors"][0]["message_zh"] == "转介不能从“已转介”变为“已完成”;允许:已签收、已接受、已拒绝、已取消。"
    yours = loop.move(other["id"], "accepted", "caseworker_s1")
    assert yours.json()["errors"][0]["message_zh"] == "只有接收转介的服务机构可以将转介变为“已接受”。"


def test_provider_users_belong_to_a_provider(client, city, loop):
    for body, status, path in (({"name": "p1", "role": "provider"}, 422, "provider_id"),
                               ({"name": "p2", "role": "provider", "provider_id": 999999}, 404, "provider_id"),
                               ({"name": "p3", "role": "provider", "provider_id": loop.providers["a"],
                                 "station_id": city.stations["S1"]}, 422, "station_id"),
                               ({"name": "p4", "role": "caseworker", "station_id": city.stations["S1"],
                                 "provider_id": loop.providers["a"]}, 422, "provider_id")):
        response = client.post("/v1/users", json=body, headers=city.auth("admin"))
        assert response.status_code == status and response.json()["errors"][0]["path"] == path, body
    created = client.post("/v1/users", json={"name": "p5", "role": "provider", "provider_id": loop.providers["b"]},
                          headers=city.auth("admin"))
    assert created.status_code == 201 and created.json()["user"]["provider_id"] == loop.providers["b"]
    me = client.get("/v1/me", headers={"Authorization": f"Bearer {created.json()['token']}"}).json()
    assert me["role"] == "provider" and me["provider_id"] == loop.providers["b"]


def test_providers_are_edited_and_deactivated_within_the_editors_scope(app, client, city, loop, household):
    town_provider = client.post("/v1/providers", json={"name": "镇机构", "kind": "charity", "town_id": city.towns["T3"],
                                                       "services": ["meal_assistance"]},
                                headers=city.auth("admin")).json()
    assert client.patch(f"/v1/providers/{town_provider['id']}", json={"capacity": 3},
                        headers=city.auth("supervisor_t1")).status_code == 403
    before = snapshot(app)
    for body, status, path in (({"kind": "shop"}, 422, "kind"), ({"services": ["nope"]}, 422, "services.0"),
                               ({"name": "机构B"}, 409, "name"), ({"town_id": 999999}, 404, "town_id"),
                               ({"name": None}, 422, "name"), ({"name": "  "}, 422, "name"),
                               ({"active": None}, 422, "active"), ({"services": []}, 422, "services")):
        response = client.patch(f"/v1/providers/{loop.providers['a']}", json=body, headers=city.auth("admin"))
        assert response.status_code == status and response.json()["errors"][0]["path"] == path, body
    assert snapshot(app) == before
    edited = client.patch(f"/v1/providers/{loop.providers['a']}", json={"capacity": 5, "contact": "王主任 0631-5201234"},
                          headers=city.auth("supervisor_t1"))
    assert edited.status_code == 200 and edited.json()["capacity"] == 5
    deactivated = client.patch(f"/v1/providers/{loop.providers['a']}", json={"active": False},
                               headers=city.auth("admin")).json()
    assert deactivated["active"] is False
    refused = loop.refer(household)
    assert refused.status_code == 422 and refused.json()["errors"][0]["code"] == "provider_does_not_offer"
    with app.state.context.database.session() as session:
        actions = [(e.action, e.details.get("fields")) for e in session.scalars(
            select(AuditEntry).where(AuditEntry.action.in_(("update_provider", "deactivate_provider")))
            .order_by(AuditEntry.id))]
    assert actions == [("update_provider", ["capacity", "contact"]), ("deactivate_provider", ["active"])]


def test_reasons_defaults_are_data(client, city):
    listed = client.get("/v1/referral-reasons", headers=city.auth("caseworker_s1")).json()
    codes = {(r["status"], r["code"]) for r in listed}
    assert {(status, code) for status, code in REASONS.items()} <= codes
