"""Reproducing a stored result: computed again from its stored answers under the catalog and configuration it
recorded, equal to what was stored, and naming what differs when a stored result was tampered with; catalogs kept
by content hash, so a result outlives a change of the catalog on disk; re-scored results record their catalog."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from api.assessments.tables import AssessmentRescore
from api.configs import rescoring
from api.configs.tables import CatalogVersion
from cli.main import app as cli
from tests.api.mini_city import ANSWERS, mini_city, write_catalog
from tests.api.support import DATA_KEY, HASH_KEY
from tests.api.workflow_helpers import assess, deprived, new_household, publish_test_cutoffs
from tests.factories import mini_documents


def reproduction(client, headers, assessment_id):
    response = client.get(f"/v1/assessments/{assessment_id}/reproduction", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def tamper(app, assessment_id: int, **changes) -> None:
    """Change a stored assessment behind the service's back: `result_index` in its result, or a column."""
    with app.state.context.database.engine.begin() as connection:
        if "result_index" in changes:
            stored = connection.execute(text("SELECT result FROM assessments WHERE id = :id"), {"id": assessment_id})
            result = stored.scalar_one()
            result = json.loads(result) if isinstance(result, str) else result
            result["index"] = changes.pop("result_index")
            connection.execute(text("UPDATE assessments SET result = :result WHERE id = :id"),
                               {"result": json.dumps(result), "id": assessment_id})
        for column, value in changes.items():
            connection.execute(text(f"UPDATE assessments SET {column} = :value WHERE id = :id"),
                               {"value": value, "id": assessment_id})


def test_a_stored_result_is_reproduced_and_tampering_is_named(app, client, city, catalog):
    publish_test_cutoffs(app)
    household = new_household(client, city, "S1", "caseworker_s1")
    stored = assess(client, city, "caseworker_s1", household, deprived(catalog, 3))
    done = reproduction(client, city.auth("caseworker_s1"), stored["id"])
    assert done["reproduced"] is True and done["differences"] == []
    assert (done["config_version"], done["catalog"]["hash"]) == ("test-cutoffs", catalog.content_hash)
    assert done["stored"] == done["computed"] == {"index": stored["index"], "tier": "moderate",
                                                  "completeness": stored["completeness"], "provisional": False}

    tamper(app, stored["id"], result_index=99.5, tier="severe")
    done = reproduction(client, city.auth("supervisor_t1"), stored["id"])
    assert done["reproduced"] is False
    assert done["differences"] == [{"path": "tier", "stored": "severe", "computed": "moderate"},
                                   {"path": "result.index", "stored": 99.5, "computed": stored["index"]}]
    assert client.get(f"/v1/assessments/{stored['id']}/reproduction",
                      headers=city.auth("caseworker_s3")).status_code == 403
    assert client.get(f"/v1/assessments/{stored['id']}/reproduction", headers=city.auth("analyst")).status_code == 403


def test_the_command_line_reproduces_and_exits_1_when_something_differs(app, client, city, catalog, database_url,
                                                                       monkeypatch):
    household = new_household(client, city, "S1", "caseworker_s1")
    stored = assess(client, city, "caseworker_s1", household, deprived(catalog, 2))
    for name, value in (("ASSESS_DATABASE_URL", database_url), ("ASSESS_DATA_KEY", DATA_KEY),
                        ("ASSESS_HASH_KEY", HASH_KEY)):
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    same = runner.invoke(cli, ["reproduce", str(stored["id"])])
    assert same.exit_code == 0, same.output
    assert "reproduced: the stored result is computed again exactly" in same.stdout
    tamper(app, stored["id"], completeness=0.5)
    differs = runner.invoke(cli, ["reproduce", str(stored["id"]), "--json"])
    assert differs.exit_code == 1
    assert json.loads(differs.stdout)["differences"] == [
        {"path": "completeness", "stored": 0.5, "computed": stored["completeness"]}]
    missing = runner.invoke(cli, ["reproduce", "999999"])
    assert missing.exit_code == 2 and "Assessment 999999 not found" in missing.stderr


def test_a_result_is_reproduced_under_its_own_catalog_after_the_catalog_changed(database_url, tmp_path):
    """Version 1 of the small catalog scores an assessment; the service then runs on version 2, whose income
    weighs 1 instead of 3 (the index of the same answers would be 100 * 2 * 0.5 / 4 = 25): the stored 37.5 is still
    reproduced, under version 1 as kept."""
    first = write_catalog(tmp_path / "v1", mini_documents())
    with mini_city(database_url, first) as city:
        household = city.client.post("/v1/households", headers=city.auth("caseworker"), json={
            "station_id": city.stations["S1"], "personal": {"name": "周", "id_number": "110101195003071227"}}).json()
        stored = city.client.post(f"/v1/households/{household['id']}/assessments", headers=city.auth("caseworker"),
                                  json={"submission_id": "6d3f1a52-2c5e-4c1a-9a83-0d1f2a3b4c5d", "answers": ANSWERS,
                                        "assessed_on": "2026-03-01"}).json()
        assert stored["index"] == 37.5
        tokens = city.tokens
    changed = mini_documents()
    changed["catalog.yaml"]["version"] = "2"
    [income] = [i for i in changed["indicators.yaml"]["indicators"] if i["id"] == "econ_income"]
    income["weight"] = 1
    with mini_city(database_url, write_catalog(tmp_path / "v2", changed), populate=False) as city:
        city.tokens = tokens
        with city.app.state.context.database.session() as session:
            assert {row.version for row in session.scalars(select(CatalogVersion))} == {"1", "2"}
        done = reproduction(city.client, city.auth("caseworker"), stored["id"])
        assert (done["reproduced"], done["catalog"]["version"], done["computed"]["index"]) == (True, "1", 37.5)
        tamper(city.app, stored["id"], catalog_hash="0" * 64)  # a catalog never kept
        unknown = city.client.get(f"/v1/assessments/{stored['id']}/reproduction", headers=city.auth("caseworker"))
        assert (unknown.status_code, unknown.json()["errors"][0]["code"]) == (409, "catalog_unknown")


def test_re_scored_results_record_their_catalog(app, client, city, catalog):
    household = new_household(client, city, "S1", "caseworker_s1")
    assess(client, city, "caseworker_s1", household, deprived(catalog, 1))
    publish_test_cutoffs(app)
    context = app.state.context
    with context.database.session(write=True) as session:
        job = rescoring.create_job(session=session, caller=None, catalog=catalog)
    rescoring.run_job(context.database, catalog, job["id"])
    with context.database.session() as session:
        [row] = session.execute(select(AssessmentRescore.config_version, AssessmentRescore.catalog_version,
                                       AssessmentRescore.catalog_hash)).all()
    assert tuple(row) == ("test-cutoffs", catalog.version, catalog.content_hash)


@pytest.mark.parametrize("starts", [1, 2])
def test_the_catalog_in_use_is_kept_once(app, database_url, starts):
    from api.app import create_app
    from tests.api.support import settings_for

    for _ in range(starts - 1):
        create_app(settings_for(database_url)).state.context.database.dispose()
    with app.state.context.database.session() as session:
        rows = session.execute(select(CatalogVersion.content_hash, CatalogVersion.documents)).all()
    assert len(rows) == 1
    assert rows[0].content_hash == app.state.context.scorer.catalog.content_hash
    assert set(rows[0].documents) == {"catalog.yaml", "dimensions.yaml", "indicators.yaml", "need_areas.yaml",
                                      "regions.yaml", "rules.yaml", "services.yaml", "tiers.yaml"}
