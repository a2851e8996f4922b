"""Scoring configurations: validation naming the field, publishing, and the impact preview by hand."""

from __future__ import annotations

import pytest

from tests.api.support import snapshot
from tests.api.workflow_helpers import TEST_CUTOFFS, assess, deprived, new_household


def test_bad_drafts_are_refused_with_the_field_named(app, client, city, catalog):
    first = catalog.indicators[0].id
    before = snapshot(app)
    for document, path in (({"indicator_weights": {"no_such_indicator": 1}}, "indicator_weights.no_such_indicator"),
                           ({"indicator_weights": {first: 0}}, f"indicator_weights.{first}"),
                           ({"dimension_weights": {catalog.dimensions[0].id: -2}},
                            f"dimension_weights.{catalog.dimensions[0].id}"),
                           ({"tier_cutoffs": {"moderate": 50, "severe": 40}}, "tier_cutoffs.severe"),
                           ({"tier_cutoffs": {"none": 5}}, "tier_cutoffs.none"),
                           ({"method": "astrology"}, "method")):
        response = client.post("/v1/configs", json=document, headers=city.auth("analyst"))
        assert response.status_code == 422, document
        assert response.json()["errors"][0]["path"] == path
    assert snapshot(app) == before
    assert client.post("/v1/configs", json={}, headers=city.auth("supervisor_t1")).status_code == 403


def test_publishing_changes_what_new_assessments_use_and_old_ones_keep_theirs(client, city, catalog):
    household = new_household(client, city, "S1", "caseworker_s1")
    old = assess(client, city, "caseworker_s1", household, deprived(catalog, 4))
    assert old["config_version"] == catalog.default_config().version and old["tier"] == "none"
    draft = client.post("/v1/configs", json={"version": "2026.2", "tier_cutoffs": TEST_CUTOFFS},
                        headers=city.auth("analyst")).json()
    assert draft["status"] == "draft"
    assert client.post("/v1/configs", json={"version": "2026.2"}, headers=city.auth("analyst")).status_code == 409
    assert _preview(client, city, catalog, deprived(catalog, 4)) == ("none", catalog.default_config().version)
    published = client.post(f"/v1/configs/{draft['id']}/publish", headers=city.auth("analyst")).json()
    assert published["status"] == "published"
    assert _preview(client, city, catalog, deprived(catalog, 4)) == ("severe", "2026.2")
    new = assess(client, city, "caseworker_s1", household, deprived(catalog, 4), "2026-04-01")
    assert new["config_version"] == "2026.2" and new["tier"] == "severe"
    again = client.get(f"/v1/assessments/{old['id']}", headers=city.auth("admin")).json()
    assert again["config_version"] == catalog.default_config().version and again["tier"] == "none"
    second = client.post("/v1/configs", json={"version": "2026.3"}, headers=city.auth("analyst")).json()
    assert second["document"]["tier_cutoffs"] == {k: float(v) for k, v in TEST_CUTOFFS.items()}  # built on 2026.2
    client.post(f"/v1/configs/{second['id']}/publish", headers=city.auth("analyst"))
    statuses = {c["version"]: c["status"] for c in client.get("/v1/configs", headers=city.auth("analyst")).json()}
    assert statuses == {"2026.2": "retired", "2026.3": "published"}
    assert client.post(f"/v1/configs/{draft['id']}/publish", headers=city.auth("analyst")).status_code == 409


def _preview(client, city, catalog, answers) -> tuple[str, str]:
    """Tier and configuration version of a `POST /v1/score` preview."""
    region = next(r.id for r in catalog.regions if r.parent)
    body = client.post("/v1/score", json={"answers": answers, "region_id": region, "assessed_on": "2026-04-01"},
                       headers=city.auth("caseworker_s1")).json()
    return body["tier"], body["config_version"]


@pytest.fixture
def small_population(client, city, catalog):
    """Six households; default cut-offs put all in `none` (indices 0, 0.60, 4.41, 6.98, 9.55, 12.98)."""
    plan = [("S1", "caseworker_s1", 0), ("S1", "caseworker_s1", 1), ("S2", "supervisor_t1", 2),
            ("S2", "supervisor_t1", 3), ("S3", "caseworker_s3", 4), ("S4", "supervisor_t3", 9)]
    for station, user, n in plan:
        household = new_household(client, city, station, user)
        assert assess(client, city, user, household, deprived(catalog, n))["tier"] == "none"


def test_impact_preview_on_a_hand_computed_population(client, city, small_population):
    draft = client.post("/v1/configs", json={"tier_cutoffs": TEST_CUTOFFS}, headers=city.auth("analyst")).json()
    preview = client.get(f"/v1/configs/{draft['id']}/impact", headers=city.auth("analyst")).json()
    # Under cut-offs 2/5/9: 0 and 0.60 stay none, 4.41 light, 6.98 moderate, 9.55 and 12.98 severe.
    assert preview["compared"] == 6 and preview["invalid"] == 0
    assert preview["tier_changes"]["none"] == {"none": 2, "light": 1, "moderate": 1, "severe": 2}
    assert preview["changed_tier"] == 4 and preview["tier_up"] == 4 and preview["tier_down"] == 0
    assert preview["spearman"] == pytest.approx(1.0) and preview["kendall"] == pytest.approx(1.0)
    assert preview["mean_abs_index_change"] == 0 and preview["movers"] == []  # same indices, same ranks
    by_station = {row["station_id"]: (row["households"], row["changed_tier"]) for row in preview["by_scope"]}
    assert by_station == {city.stations["S1"]: (2, 0), city.stations["S2"]: (2, 2), city.stations["S3"]: (1, 1),
                          city.stations["S4"]: (1, 1)}


def test_movers_carry_household_ids_for_analysts_only(client, city, catalog, small_population):
    heavy = {"dimension_weights": {catalog.dimensions[-1].id: 50}, "indicator_weights": {
        i.id: 0.01 for i in catalog.indicators if i.answer.type == "yes_no" and i.critical is None}}
    draft = client.post("/v1/configs", json=heavy, headers=city.auth("analyst")).json()
    for user, has_ids in (("analyst", True), ("admin", False), ("supervisor_t1", False)):
        preview = client.get(f"/v1/configs/{draft['id']}/impact", headers=city.auth(user))
        assert preview.status_code == 200
        assert all(("household_id" in mover) == has_ids for mover in preview.json()["movers"])
    assert client.get(f"/v1/configs/{draft['id']}/impact", headers=city.auth("supervisor_t1")).json()["compared"] == 4
    assert client.get(f"/v1/configs/{draft['id']}/impact", headers=city.auth("caseworker_s1")).status_code == 403


def test_compact_answer_lines_and_the_stored_json_give_the_same_preview(app, client, city, catalog,
                                                                          small_population):
    from sqlalchemy import delete, select

    from api.assessments.tables import LatestAnswers

    draft = client.post("/v1/configs", json={"tier_cutoffs": TEST_CUTOFFS}, headers=city.auth("analyst")).json()

    def preview() -> dict:
        return client.get(f"/v1/configs/{draft['id']}/impact", headers=city.auth("analyst")).json()

    from_lines = preview()
    assert from_lines["compared"] == 6 and from_lines["changed_tier"] == 4
    with app.state.context.database.session(write=True) as session:
        assert len(session.scalars(select(LatestAnswers.household_id)).all()) == 6  # kept by the submissions
        half = session.scalars(select(LatestAnswers.household_id).order_by(LatestAnswers.household_id)).all()[:3]
        session.execute(delete(LatestAnswers).where(LatestAnswers.household_id.in_(half)))
    assert preview() == from_lines
    with app.state.context.database.session(write=True) as session:
        session.execute(delete(LatestAnswers))
    assert preview() == from_lines


def test_the_command_line_drafts_publishes_and_rescores_in_the_database(app, client, city, catalog, database_url,
                                                                         tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from cli.main import app as cli
    from tests.api.support import DATA_KEY, HASH_KEY

    household = new_household(client, city, "S1", "caseworker_s1")
    stored = assess(client, city, "caseworker_s1", household, deprived(catalog, 4))
    for name, value in (("DATABASE_URL", database_url), ("DATA_KEY", DATA_KEY), ("HASH_KEY", HASH_KEY)):
        monkeypatch.setenv(f"ASSESS_{name}", value)
    draft = tmp_path / "draft.yaml"
    draft.write_text("version: cli-1\ntier_cutoffs: {light: 2, moderate: 5, severe: 9}\n", encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(cli, ["config", "draft", str(draft)]).output.strip().endswith("version cli-1")
    bad = tmp_path / "bad.yaml"
    bad.write_text("tier_cutoffs: {severe: 1}\n", encoding="utf-8")
    refused = runner.invoke(cli, ["config", "draft", str(bad)])
    assert refused.exit_code == 2 and "tier_cutoffs" in refused.output
    config_id = client.get("/v1/configs", headers=city.auth("analyst")).json()[0]["id"]
    assert runner.invoke(cli, ["config", "publish", str(config_id)]).exit_code == 0
    result = runner.invoke(cli, ["config", "rescore", "--batch-size", "1"])
    assert result.exit_code == 0 and "1 new results" in result.output
    ranked = client.get("/v1/rankings", headers=city.auth("analyst")).json()["items"]
    assert [(i["assessment_id"], i["tier"], i["config_version"]) for i in ranked] == [(stored["id"], "severe", "cli-1")]
