"""The providers' directory in Open Referral HSDS 3: the export is valid against the official schemas (vendored
in tests/data/hsds), an import reads it back into another database (round trip), the same file twice adds
nothing, and every entry it cannot read is reported with its reason."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy import select

from api.app import create_app
from api.audit.tables import AuditEntry
from api.geography.service import create_town
from api.referrals import directory
from api.referrals.providers import list_providers
from tests.api.support import settings_for, snapshot

SCHEMAS = Path(__file__).resolve().parents[2] / "data" / "hsds"
PROVIDER_FIELDS = ("directory_id", "name", "kind", "description", "services", "capacity", "contact", "active")


def hsds_validator(name: str) -> Draft202012Validator:
    """A validator of one HSDS object (`service`, `organization`...), its references resolved among the
    vendored schema files, formats (uuid, date-time, uri) checked."""
    registry = Registry().with_resources(
        (path.name, Resource(json.loads(path.read_text(encoding="utf-8")), specification=DRAFT202012))
        for path in SCHEMAS.glob("*.json"))
    return Draft202012Validator({"$ref": f"{name}.json"}, registry=registry, format_checker=FormatChecker())


def hsds_errors(document: dict) -> list[str]:
    problems = []
    for listed, schema in (("organizations", "organization"), ("services", "service"),
                           ("taxonomies", "taxonomy"), ("taxonomy_terms", "taxonomy_term")):
        validator = hsds_validator(schema)
        for position, entry in enumerate(document[listed]):
            problems += [f"{listed}.{position}: {error.json_path}: {error.message}"
                         for error in validator.iter_errors(entry)]
    return problems


def test_the_vendored_schemas_catch_what_hsds_forbids():
    """The checker works: a service without a status, with an id that is no UUID, or a capacity without its
    unit, is refused."""
    service = hsds_validator("service")
    good = {"id": str(uuid.uuid4()), "name": "助餐", "status": "active"}
    assert list(service.iter_errors(good)) == []
    assert list(service.iter_errors({**good, "id": "seven"}))
    assert list(service.iter_errors({k: v for k, v in good.items() if k != "status"}))
    assert list(service.iter_errors({**good, "status": "open"}))
    assert list(service.iter_errors({**good, "capacities": [{"id": str(uuid.uuid4()), "available": 1,
                                                             "updated": "2026-03-01T00:00:00Z"}]}))
    assert list(service.iter_errors({**good, "last_modified": "yesterday"}))


@pytest.fixture
def directory_city(client, city, loop, household):
    """Four providers: a town's with a capacity and a contact (one referral open), a city-wide one, one with
    a description, a deactivated one."""
    admin = city.auth("admin")
    town = client.post("/v1/providers", json={"name": "环翠区慈善总会", "kind": "charity", "town_id": city.towns["T1"],
                                              "services": ["meal_assistance", "home_cleaning"], "capacity": 10,
                                              "contact": "王主任 0631-5201234"}, headers=admin).json()
    described = client.post("/v1/providers", json={"name": "区卫健局", "kind": "government_department",
                                                   "services": ["health_management"],
                                                   "description": "家庭医生签约服务"}, headers=admin).json()
    assert client.patch(f"/v1/providers/{loop.providers['b']}", json={"active": False},
                        headers=admin).status_code == 200
    loop.providers["town"] = town["id"]
    assert loop.refer(household, provider="town").status_code == 201
    return {"town": town, "described": described}


def provider_rows(client, city) -> dict[str, dict]:
    return {p["directory_id"]: {field: p[field] for field in PROVIDER_FIELDS} | {"town_id": p["town_id"]}
            for p in client.get("/v1/providers", headers=city.auth("admin")).json()}


def test_the_export_is_valid_hsds_3(client, city, directory_city, catalog):
    exported = client.get("/v1/directory", headers=city.auth("caseworker_s1"))
    assert exported.status_code == 200
    document = exported.json()
    assert hsds_errors(document) == []
    assert document["hsds_version"] == "3.1"
    terms = {term["id"]: term for term in document["taxonomy_terms"]}
    items = [term for term in terms.values() if term.get("parent_id")]
    assert sorted(term["code"] for term in items) == sorted(service.id for service in catalog.services)
    assert {terms[term["parent_id"]]["code"] for term in items} == {c.id for c in catalog.categories}
    town = directory_city["town"]
    organization = next(o for o in document["organizations"] if o["id"] == town["directory_id"])
    assert organization["contacts"][0]["name"] == "王主任 0631-5201234"
    assert organization["attributes"][0]["taxonomy_term"]["code"] == "charity"
    offered = [s for s in document["services"] if s["organization_id"] == town["directory_id"]]
    assert sorted(s["attributes"][0]["taxonomy_term"]["code"] for s in offered) == ["home_cleaning", "meal_assistance"]
    assert {(c["maximum"], c["available"]) for s in offered for c in s["capacities"]} == {(10, 9)}  # 1 open
    assert {s["service_areas"][0]["name"] for s in offered} == {"T1"}
    inactive = [s for s in document["services"] if s["status"] == "inactive"]
    assert len(inactive) == 3  # provider B's three services
    assert client.get("/v1/directory", headers=city.auth("caseworker_s1")).json()["organizations"] == \
        document["organizations"]  # the same directory exports the same ids


def test_an_import_reads_the_export_back_and_the_same_file_twice_adds_nothing(
        app, client, city, directory_city, database_url, tmp_path):
    document = client.get("/v1/directory", headers=city.auth("admin")).json()
    before = provider_rows(client, city)
    towns = {t["id"]: t["name"] for t in client.get("/v1/towns", headers=city.auth("admin")).json()}
    other_url = f"sqlite:///{tmp_path / 'other.db'}"
    other = create_app(settings_for(other_url))
    try:
        context = other.state.context
        with context.database.session(write=True) as session:
            regions = [r.id for r in context.scorer.catalog.regions if r.parent]
            created = {name: create_town(session=session, caller=None, name=name, region_id=regions[0])["id"]
                       for name in sorted(set(towns.values()))}
            report = directory.import_directory(session=session, caller=None, catalog=context.scorer.catalog,
                                                document=document)
        assert report["refused"] == [] and len(report["added"]) == len(before)
        with context.database.session() as session:
            imported = {p["directory_id"]: p for p in list_providers(session=session)}
        for directory_id, row in before.items():
            copy = imported[directory_id]
            assert {field: copy[field] for field in PROVIDER_FIELDS} == \
                {field: row[field] for field in PROVIDER_FIELDS}, directory_id
            assert copy["town_id"] == (None if row["town_id"] is None else created[towns[row["town_id"]]])
        with context.database.session(write=True) as session:
            again = directory.import_directory(session=session, caller=None, catalog=context.scorer.catalog,
                                               document=document)
            exported = directory.export_directory(session=session, catalog=context.scorer.catalog)
        assert again["added"] == again["updated"] == [] and sorted(again["unchanged"]) == sorted(report["added"])
        assert exported["organizations"] == document["organizations"]
        assert [{k: v for k, v in s.items() if k != "capacities"} for s in exported["services"]] == \
            [{k: v for k, v in s.items() if k != "capacities"} for s in document["services"]]
    finally:
        other.state.context.database.dispose()
    before_tables = snapshot(app)
    same = client.post("/v1/directory", json=document, headers=city.auth("admin")).json()
    assert same["added"] == same["updated"] == [] and len(same["unchanged"]) == len(before)
    after_tables = snapshot(app)
    assert {k: v for k, v in after_tables.items() if k != "audit_log"} == \
        {k: v for k, v in before_tables.items() if k != "audit_log"}


def test_an_import_changes_a_known_provider_to_what_the_file_says(client, city, directory_city):
    document = client.get("/v1/directory", headers=city.auth("admin")).json()
    town = directory_city["town"]
    organization = next(o for o in document["organizations"] if o["id"] == town["directory_id"])
    organization["name"] = "环翠区慈善总会(新)"
    document["services"] = [s for s in document["services"]
                            if not (s["organization_id"] == town["directory_id"]
                                    and s["attributes"][0]["taxonomy_term"]["code"] == "home_cleaning")]
    report = client.post("/v1/directory", json=document, headers=city.auth("admin")).json()
    assert report["updated"] == [town["id"]] and report["added"] == []
    changed = client.get(f"/v1/providers/{town['id']}", headers=city.auth("admin")).json()
    assert changed["name"] == "环翠区慈善总会(新)" and changed["services"] == ["meal_assistance"]


def test_every_refused_entry_is_reported_with_its_reason(app, client, city):
    term = {"id": str(uuid.uuid4()), "code": "meal_assistance", "name": "助餐", "description": "meals"}
    kind = {"id": str(uuid.uuid4()), "code": "charity", "name": "慈善", "description": "charity"}

    def organization(name, **extra):
        return {"id": str(uuid.uuid4()), "name": name, "description": "",
                "attributes": [{"id": str(uuid.uuid4()), "taxonomy_term_id": kind["id"]}], **extra}

    def service(organization_id, **extra):
        return {"id": str(uuid.uuid4()), "organization_id": organization_id, "name": "助餐", "status": "active",
                "attributes": [{"id": str(uuid.uuid4()), "taxonomy_term": term}], **extra}

    good, kindless, lonely, elsewhere = (organization("好机构"), organization("无类型", attributes=[]),
                                         organization("无服务"), organization("外地机构"))
    twice = {**organization("重复"), "id": good["id"]}
    document = {"taxonomy_terms": [term, kind],
                "organizations": [good, kindless, lonely, {"id": "not-a-uuid", "name": "x", "description": ""},
                                  {"id": str(uuid.uuid4()), "description": ""}, elsewhere, twice],
                "services": [service(good["id"]), service(kindless["id"]),
                             service(good["id"], attributes=[{"id": str(uuid.uuid4()), "taxonomy_term": {
                                 "id": str(uuid.uuid4()), "code": "haircut", "name": "x", "description": "x"}}]),
                             service(elsewhere["id"], service_areas=[{"id": str(uuid.uuid4()), "name": "火星"}]),
                             service(good["id"], status="open")]}
    before = snapshot(app)
    response = client.post("/v1/directory", json=document, headers=city.auth("admin"))
    assert response.status_code == 200, response.text
    report = response.json()
    assert len(report["added"]) == 1
    refused = {entry["entry"]: entry["code"] for entry in report["refused"]}
    assert refused == {"services.2": "unknown_service_item", "services.3": "unknown_service_area",
                       "services.4": "invalid_field", "organizations.1": "unknown_provider_kind",
                       "organizations.2": "no_services", "organizations.3": "invalid_id",
                       "organizations.4": "missing_field", "organizations.5": "no_services",
                       "organizations.6": "duplicate_id"}
    assert all(entry["message_zh"] and entry["message_en"] for entry in report["refused"])
    after = snapshot(app)
    assert after["providers"] == before["providers"] + 1
    with_default = client.post("/v1/directory", params={"default_kind": "volunteer_team"},
                               json={"organizations": [kindless], "services": [service(kindless["id"])]},
                               headers=city.auth("admin")).json()
    assert len(with_default["added"]) == 1 and with_default["refused"] == []
    added = client.get(f"/v1/providers/{with_default['added'][0]}", headers=city.auth("admin")).json()
    assert added["kind"] == "volunteer_team"
    assert client.post("/v1/directory", json=document, headers=city.auth("supervisor_t1")).status_code == 403
    # Entries that are not objects: the API refuses the file (422 naming them); a file read from disk
    # (`assess providers import`) reports them.
    shapeless = {"organizations": ["text"], "services": [7]}
    refused = client.post("/v1/directory", json=shapeless, headers=city.auth("admin"))
    assert refused.status_code == 422
    assert [e["path"] for e in refused.json()["errors"]] == ["organizations.0", "services.0"]
    with app.state.context.database.session(write=True) as session:
        report = directory.import_directory(session=session, caller=None, catalog=app.state.context.scorer.catalog,
                                            document=shapeless)
    assert [(e["entry"], e["code"]) for e in report["refused"]] == [("services.0", "invalid_entry"),
                                                                    ("organizations.0", "invalid_entry")]
    with app.state.context.database.session() as session:
        imports = session.scalars(select(AuditEntry).where(AuditEntry.action == "import_providers")
                                  .order_by(AuditEntry.id)).all()
    assert [(e.details["added"], e.details["refused"]) for e in imports] == [(1, 9), (1, 0), (0, 2)]
