"""Alerts and re-assessment due dates, worked out by hand from the schedule and the known indices."""

from __future__ import annotations

import pytest

from tests.api.factories import calm_answers
from tests.api.workflow_helpers import assess, deprived, new_household, publish_test_cutoffs


@pytest.fixture
def histories(app, client, city, catalog):
    """Households at S1 with two assessments each (deprived yes/no answers: first, then second)."""
    publish_test_cutoffs(app)
    plans = {"worse_tier": (2, 4), "big_rise": (0, 9), "better": (4, 2), "steady": (2, 2)}
    made = {}
    for name, (first, second) in plans.items():
        household = new_household(client, city, "S1", "caseworker_s1")
        assess(client, city, "caseworker_s1", household, deprived(catalog, first), "2025-09-01")
        assess(client, city, "caseworker_s1", household, deprived(catalog, second), "2026-03-01")
        made[name] = household
    made["critical"] = new_household(client, city, "S1", "caseworker_s1")
    assess(client, city, "caseworker_s1", made["critical"], deprived(catalog, 0, critical=True), "2026-03-01")
    return made


def alert_reasons(client, city, user, **params):
    body = client.get("/v1/alerts", params=params, headers=city.auth(user)).json()
    return {item["household_id"]: item["reasons"] for item in body["items"]}


def test_alert_list_by_hand(client, city, histories):
    # worse_tier: 4.41 (light) -> 9.55 (severe): rise 5.14 < 10, tier worse; big_rise: 0 -> 12.98, both;
    # better and steady: nothing; critical: a critical indicator raised its tier.
    assert alert_reasons(client, city, "supervisor_t1") == {
        histories["worse_tier"]: ["tier_worsened"], histories["big_rise"]: ["index_rose", "tier_worsened"],
        histories["critical"]: ["critical_indicator"]}
    assert alert_reasons(client, city, "supervisor_t3") == {}
    assert alert_reasons(client, city, "caseworker_s3") == {}
    assert len(alert_reasons(client, city, "caseworker_s1")) == 3


def test_the_rise_threshold_is_a_setting(client, city, histories, database_url):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from tests.api.support import settings_for

    with TestClient(create_app(settings_for(database_url, alert_index_rise=5.0))) as other:
        body = other.get("/v1/alerts", headers=city.auth("supervisor_t1")).json()
    reasons = {item["household_id"]: item["reasons"] for item in body["items"]}
    assert reasons[histories["worse_tier"]] == ["index_rose", "tier_worsened"]


def test_a_correction_replaces_the_assessment_the_alert_compares(client, city, catalog, histories):
    household = histories["big_rise"]
    latest = client.get(f"/v1/households/{household}/file", headers=city.auth("caseworker_s1")).json()
    last_id = latest["assessments"][-1]["id"]
    assess(client, city, "caseworker_s1", household, deprived(catalog, 0), "2026-03-01", corrects=last_id)
    assert household not in alert_reasons(client, city, "supervisor_t1")


def test_due_dates_follow_the_tier_schedule_and_low_completeness(app, client, city, catalog):
    publish_test_cutoffs(app)
    expected = {}
    for n, due in ((4, "2026-06-01"), (3, "2026-09-01"), (2, "2027-03-01"), (0, "2027-03-01")):
        household = new_household(client, city, "S1", "caseworker_s1")
        assess(client, city, "caseworker_s1", household, deprived(catalog, n), "2026-03-01")
        expected[household] = due
    sparse = {key: (value if catalog.indicator_by_id[key].required else None)
              for key, value in calm_answers(catalog).items()}
    household = new_household(client, city, "S1", "caseworker_s1")
    assert assess(client, city, "caseworker_s1", household, sparse, "2026-03-01")["provisional"] is True
    expected[household] = "2026-04-01"
    body = client.get("/v1/reassessments", params={"due_before": "2030-01-01"}, headers=city.auth("supervisor_t1"))
    assert {item["household_id"]: item["due_on"] for item in body.json()["items"]} == expected
    soon = client.get("/v1/reassessments", params={"due_before": "2026-07-01"}, headers=city.auth("caseworker_s1"))
    assert [item["due_on"] for item in soon.json()["items"]] == ["2026-04-01", "2026-06-01"]
    overdue = client.get("/v1/reassessments/overdue", headers=city.auth("supervisor_t1")).json()
    assert [(row["station_id"], row["households"]) for row in overdue] == [(city.stations["S1"], 5)]
    assert overdue[0]["overdue"] == sum(due < overdue[0]["as_of"] for due in expected.values())
    assert client.get("/v1/reassessments/overdue", headers=city.auth("supervisor_t3")).json() == []


def test_latest_and_previous_follow_dates_and_corrections(client, city, catalog):
    """Four submissions out of date order, the newest then corrected: the ranking row must point at the
    correction, and "previous" at the latest other current assessment by date, whatever the order of entry."""
    household = new_household(client, city, "S1", "caseworker_s1")
    march = assess(client, city, "caseworker_s1", household, deprived(catalog, 2), "2026-03-01")
    assess(client, city, "caseworker_s1", household, deprived(catalog, 9), "2026-01-01")  # older, entered later
    may = assess(client, city, "caseworker_s1", household, deprived(catalog, 0, critical=True), "2026-05-01")
    corrected = assess(client, city, "caseworker_s1", household, deprived(catalog, 4), "2026-05-01",
                       corrects=may["id"])
    body = client.get("/v1/reassessments", params={"due_before": "2100-01-01"},
                      headers=city.auth("supervisor_t1")).json()
    [row] = [item for item in body["items"] if item["household_id"] == household]
    assert row["assessment_id"] == corrected["id"] and row["index"] == corrected["index"]
    assert row["previous_assessment_id"] == march["id"] and row["previous_index"] == march["index"]
    assert row["critical"] is False  # the critical answer was corrected away
