"""Rankings: scope per role, filters, the tie rule, pagination, exports equal to the API, snapshots."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import event

from tests.api.support import count_rows
from tests.api.workflow_helpers import TIER_BY_DEPRIVED, assess, deprived, new_household, publish_test_cutoffs

TIER_ORDER = ["none", "light", "moderate", "severe"]


@pytest.fixture
def population(app, client, city, catalog):
    """Eleven households over S1, S2 (town T1), S3 (T2) and S4 (T3) with known tiers; two ties."""
    publish_test_cutoffs(app)
    plan = [("S1", "caseworker_s1", 4), ("S1", "caseworker_s1", 2), ("S1", "caseworker_s1", 2),
            ("S1", "caseworker_s1", 0), ("S2", "supervisor_t1", 3), ("S2", "supervisor_t1", 4),
            ("S2", "supervisor_t1", 1), ("S3", "caseworker_s3", 3), ("S3", "caseworker_s3", 2),
            ("S4", "supervisor_t3", 4), ("S4", "supervisor_t3", 0)]
    made = {}
    for station, user, n in plan:
        household = new_household(client, city, station, user, name="钱多多")
        stored = assess(client, city, user, household, deprived(catalog, n))
        assert stored["tier"] == TIER_BY_DEPRIVED[n]
        made[household] = {"station": station, "index": stored["index"], "tier": stored["tier"],
                           "completeness": stored["completeness"], "services": stored["result"]["recommendations"]}
    return made


def expected_order(population: dict, stations: set[str]) -> list[int]:
    """The documented tie rule, applied independently: index, tier, completeness desc, id asc."""
    chosen = [h for h, v in population.items() if v["station"] in stations]
    return sorted(chosen, key=lambda h: (-population[h]["index"], -TIER_ORDER.index(population[h]["tier"]),
                                         -population[h]["completeness"], h))


def ranking(client, city, user, **params):
    response = client.get("/v1/rankings", params=params, headers=city.auth(user))
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("user, stations", [
    ("caseworker_s1", {"S1"}), ("supervisor_t1", {"S1", "S2"}), ("supervisor_t3", {"S4"}),
    ("analyst", {"S1", "S2", "S3", "S4"}), ("admin", {"S1", "S2", "S3", "S4"})])
def test_each_role_sees_its_scope_in_the_documented_order(client, city, population, user, stations):
    body = ranking(client, city, user, limit=500)
    assert [item["household_id"] for item in body["items"]] == expected_order(population, stations)
    assert [item["rank"] for item in body["items"]] == list(range(1, len(body["items"]) + 1))
    assert body["total"] == len(body["items"])


def test_personal_data_follows_the_role(client, city, population):
    assert ranking(client, city, "supervisor_t1")["items"][0]["name"] == "钱多多"
    assert ranking(client, city, "admin")["items"][0]["name"] == "钱**"
    assert "name" not in ranking(client, city, "analyst")["items"][0]


def test_pages_join_up_to_the_whole_ranking(client, city, population):
    pages = [ranking(client, city, "analyst", limit=3, offset=offset)["items"] for offset in range(0, 12, 3)]
    joined = [item["household_id"] for page in pages for item in page]
    assert joined == expected_order(population, {"S1", "S2", "S3", "S4"})
    assert [item["rank"] for page in pages for item in page] == list(range(1, 12))


def test_next_offset_follows_the_pages_to_the_end_without_a_count(app, client, city, population):
    joined, offset, pages = [], 0, 0
    while offset is not None:
        page = ranking(client, city, "supervisor_t1", limit=2, offset=offset, count="false")
        assert page["total"] is None
        joined += [item["household_id"] for item in page["items"]]
        offset, pages = page["next_offset"], pages + 1
    assert joined == expected_order(population, {"S1", "S2"}) and pages == 4  # 7 households: 2, 2, 2, 1
    exact = ranking(client, city, "supervisor_t1", limit=7)
    assert (exact["total"], exact["next_offset"]) == (7, None)
    assert ranking(client, city, "supervisor_t1", limit=6)["next_offset"] == 6


def test_one_audit_entry_per_household_shown_with_personal_data(app, client, city, population):
    before = count_rows(app, "audit_log")
    shown = [item["household_id"] for item in ranking(client, city, "supervisor_t1", limit=5)["items"]]
    assert ranking(client, city, "analyst")["items"]  # personal data withheld: nothing to record
    entries = client.get("/v1/audit", params={"action": "read_personal", "limit": 5},
                         headers=city.auth("admin")).json()
    assert sorted(entry["household_id"] for entry in entries) == sorted(shown)
    assert count_rows(app, "audit_log") == before + 5


def test_filters(client, city, population, catalog):
    everyone = {"S1", "S2", "S3", "S4"}
    severe = ranking(client, city, "analyst", tier="severe", limit=500)["items"]
    assert [i["household_id"] for i in severe] == [h for h in expected_order(population, everyone)
                                                   if population[h]["tier"] == "severe"]
    town = ranking(client, city, "analyst", town_id=city.towns["T1"], tier="light")["items"]
    assert {i["household_id"] for i in town} == {h for h, v in population.items()
                                                 if v["station"] in {"S1", "S2"} and v["tier"] == "light"}
    station = ranking(client, city, "supervisor_t1", station_id=city.stations["S2"])["items"]
    assert [i["household_id"] for i in station] == expected_order(population, {"S2"})
    service = population[next(iter(population))]["services"][0]["service"]
    needing = ranking(client, city, "analyst", service=service, limit=500)["items"]
    assert {i["household_id"] for i in needing} == {
        h for h, v in population.items() if service in {r["service"] for r in v["services"]}}
    dimension = catalog.dimensions[0].id
    above = ranking(client, city, "analyst", dimension=dimension, min_score=0.0, limit=500)["items"]
    assert all(i[f"dim_{dimension}"] > 0 for i in above)
    assert ranking(client, city, "analyst", assessed_from="2026-03-02")["total"] == 0
    assert ranking(client, city, "analyst", assessed_to="2026-03-01")["total"] == 11


def test_unknown_filter_values_name_the_field(client, city, population):
    for params, field in (({"tier": "awful"}, "tier"), ({"service": "nope"}, "service"),
                          ({"dimension": "nope", "min_score": 0.5}, "dimension"), ({"dimension": "health"}, "min_score")):
        response = client.get("/v1/rankings", params=params, headers=city.auth("analyst"))
        assert response.status_code == 422 and response.json()["errors"][0]["path"] == field


def test_exited_households_leave_the_default_ranking(client, city, population):
    first = ranking(client, city, "supervisor_t1")["items"][0]["household_id"]
    assert client.post(f"/v1/households/{first}/exit", json={"reason": "moved"},
                       headers=city.auth("supervisor_t1")).status_code == 200
    assert first not in [i["household_id"] for i in ranking(client, city, "supervisor_t1")["items"]]
    assert [i["household_id"] for i in ranking(client, city, "supervisor_t1", status="exited")["items"]] == [first]


def _as_text(value) -> str:
    if isinstance(value, list):
        return ";".join(value)
    if value is None:
        return ""
    return str(value)


def _as_cell(value):
    """What an Excel cell holds: 15 significant digits, no empty text."""
    if isinstance(value, list):
        return ";".join(value) or None
    return pytest.approx(value, rel=1e-14) if isinstance(value, float) else value


@pytest.mark.parametrize("user", ["supervisor_t1", "analyst", "admin"])
def test_csv_and_excel_exports_hold_exactly_what_the_api_shows(app, client, city, population, user):
    shown = ranking(client, city, user, limit=500)["items"]
    response = client.get("/v1/rankings", params={"format": "csv"}, headers=city.auth(user))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [list(row) for row in rows[:1]] == [list(shown[0])]
    assert rows == [{key: _as_text(value) for key, value in item.items()} for item in shown]

    response = client.get("/v1/rankings", params={"format": "xlsx"}, headers=city.auth(user))
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    table = list(sheet.iter_rows(values_only=True))
    assert list(table[0]) == list(shown[0])
    assert [list(row) for row in table[1:]] == [[_as_cell(v) for v in item.values()] for item in shown]
    assert count_rows(app, "ranking_snapshots") == 2


def test_an_export_is_recorded_and_explains_a_rank_later(app, client, city, population):
    response = client.get("/v1/rankings", params={"format": "csv", "town_id": city.towns["T1"]},
                          headers=city.auth("supervisor_t1"))
    snapshot_id = int(response.headers["X-Snapshot-Id"])
    third = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))[2]
    listed = client.get("/v1/rankings/snapshots", headers=city.auth("supervisor_t1")).json()
    assert listed[0]["id"] == snapshot_id and listed[0]["filters"]["town_id"] == city.towns["T1"]
    assert listed[0]["config_versions"] == ["test-cutoffs"] and listed[0]["user_id"] == city.user_ids["supervisor_t1"]
    why = client.get(f"/v1/rankings/snapshots/{snapshot_id}/households/{third['household_id']}",
                     headers=city.auth("supervisor_t1")).json()
    assert why["rank"] == 3 and why["assessment_id"] == int(third["assessment_id"]) and why["of"] == 7
    assert client.get(f"/v1/rankings/snapshots/{snapshot_id}/households/{third['household_id']}",
                      headers=city.auth("supervisor_t3")).status_code == 404
    published = client.post("/v1/rankings/snapshots", json={"tier": "severe"}, headers=city.auth("supervisor_t1"))
    assert published.status_code == 201 and published.json()["total"] == 2 and published.json()["kind"] == "published"
    assert client.post("/v1/rankings/snapshots", json={}, headers=city.auth("caseworker_s1")).status_code == 403


def test_the_demo_city_is_ranked_and_has_providers_at_once(app, client, catalog):
    from sqlalchemy import func, select

    from api import demo
    from api.assessments.tables import Assessment
    from api.households.tables import Household
    from api.referrals.workflow import workflow

    context = app.state.context
    with context.database.session(write=True) as session:
        tokens = demo.seed(session=session, keys=context.keys, scorer=context.scorer, households=40)
        active_assessed = session.scalar(select(func.count(func.distinct(Household.id))).join(
            Assessment, Assessment.household_id == Household.id).where(Household.status == "active"))
    analyst = {"Authorization": f"Bearer {tokens['analyst']}"}
    body = client.get("/v1/rankings", params={"limit": 500}, headers=analyst).json()
    assert body["total"] == active_assessed == len(body["items"]) > 0
    providers = client.get("/v1/providers", headers=analyst).json()
    assert {p["kind"] for p in providers} == set(workflow().provider_kinds)
    offered = {service for p in providers for service in p["services"]}
    assert offered == {service.id for service in catalog.services}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_with_names_is_a_read_of_every_household_in_it(app, client, city, population, fmt):
    """Each household's audit trail shows the export that showed its name and phone, with the snapshot."""
    inserts = []

    def count_audit_inserts(_connection, _cursor, statement, *_):
        if statement.startswith("INSERT INTO audit_log"):
            inserts.append(statement)

    engine = app.state.context.database.engine
    event.listen(engine, "before_cursor_execute", count_audit_inserts)
    try:
        response = client.get("/v1/rankings", params={"format": fmt}, headers=city.auth("supervisor_t1"))
    finally:
        event.remove(engine, "before_cursor_execute", count_audit_inserts)
    assert len(inserts) == 2  # `export_ranking`, and one statement for all the households read, however many
    snapshot_id = int(response.headers["X-Snapshot-Id"])
    exported = {h for h, v in population.items() if v["station"] in {"S1", "S2"}}
    entries = client.get("/v1/audit", params={"action": "read_personal", "limit": 1000},
                         headers=city.auth("admin")).json()
    assert sorted(entry["household_id"] for entry in entries) == sorted(exported)
    assert all(entry["user_id"] == city.user_ids["supervisor_t1"] and entry["details"] == {"snapshot_id": snapshot_id}
               for entry in entries)
    one = next(iter(exported))
    trail = client.get("/v1/audit", params={"household_id": one}, headers=city.auth("admin")).json()
    assert [entry["action"] for entry in trail][:1] == ["read_personal"]
    before = count_rows(app, "audit_log")
    for user in ("admin", "analyst"):  # masked or withheld: no read of personal data, the export alone
        client.get("/v1/rankings", params={"format": fmt}, headers=city.auth(user))
    assert count_rows(app, "audit_log") == before + 2


def test_a_dimension_score_filter_above_one_is_refused_naming_min_score(app, client, city, population):
    before = count_rows(app, "ranking_snapshots")
    for body in ({"dimension": "health", "min_score": 2}, {"dimension": "health", "min_score": -0.5}):
        response = client.post("/v1/rankings/snapshots", json=body, headers=city.auth("supervisor_t1"))
        assert response.status_code == 422
        [error] = response.json()["errors"]
        assert error["path"] == "min_score" and "0" in error["message_zh"] and "1" in error["message_en"]
    assert count_rows(app, "ranking_snapshots") == before
