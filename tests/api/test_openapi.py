"""The OpenAPI document describes every success response with a schema, and every failure as problem details
(`application/problem+json`) under the statuses the route returns. The fuzzer (test_fuzz.py) checks the
service's answers against this document."""

from __future__ import annotations

import pytest

from api.problems import MEDIA_TYPE

PROBLEM_REF = {"$ref": "#/components/schemas/ProblemDetails"}
EXPORT_TYPES = {"text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@pytest.fixture
def document(client) -> dict:
    return client.get("/openapi.json").json()


def operations(document: dict):
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def _resolve(document: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_every_success_response_has_a_typed_schema(document):
    untyped = []
    for name, operation in operations(document):
        [(status, success)] = [(s, r) for s, r in operation["responses"].items() if s.startswith("2")]
        schema = success["content"]["application/json"]["schema"]
        if schema.get("type") == "array":
            schema = schema["items"]
        schema = _resolve(document, schema)
        if not schema.get("properties"):
            untyped.append(f"{name} {status}: {schema}")
    assert not untyped, "\n".join(untyped)
    assert len(list(operations(document))) >= 47


def test_every_failure_is_documented_as_problem_details(document):
    wrong = []
    for name, operation in operations(document):
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")) and response.get("content") != {MEDIA_TYPE: {"schema": PROBLEM_REF}}:
                wrong.append(f"{name} {status}: {response.get('content')}")
    assert not wrong, "\n".join(wrong)
    assert not {"HTTPValidationError", "ValidationError"} & set(document["components"]["schemas"])
    problem = document["components"]["schemas"]["ProblemDetails"]
    assert set(problem["required"]) == {"type", "title", "status", "detail", "instance", "errors"}


def test_statuses_every_route_can_return_are_documented(document):
    """413 (the body limit applies to every request), 401 wherever a token is needed, 422 wherever there is a
    parameter or a body to be invalid."""
    missing = []
    for name, operation in operations(document):
        needed = {"413"}
        if name != "GET /v1/health":
            needed.add("401")
        if operation.get("parameters") or operation.get("requestBody"):
            needed.add("422")
        if needed - set(operation["responses"]):
            missing.append(f"{name}: {sorted(needed - set(operation['responses']))}")
    assert not missing, "\n".join(missing)


def test_exports_are_documented_with_their_media_types(document):
    success = document["paths"]["/v1/rankings"]["get"]["responses"]["200"]
    assert EXPORT_TYPES <= set(success["content"])
    assert success["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/RankingPage"}


def test_ranking_items_document_the_dimension_scores_beside_their_fields(document):
    item = document["components"]["schemas"]["RankingItem"]
    assert {"rank", "household_id", "index", "tier", "assessment_id"} <= set(item["required"])
    assert item["additionalProperties"] == {"anyOf": [{"type": "number"}, {"type": "null"}]}


def test_ids_of_the_catalog_and_the_workflow_tables_are_listed_as_choices(document, catalog):
    schemas = document["components"]["schemas"]
    services = [service.id for service in catalog.services]
    assert schemas["ReferralCreate"]["properties"]["service_id"]["enum"] == services
    assert schemas["ProviderCreate"]["properties"]["services"]["items"]["enum"] == services
    assert "charity" in schemas["ProviderCreate"]["properties"]["kind"]["enum"]
    assert "moved" in schemas["Exit"]["properties"]["reason"]["enum"]
    assert "returned_to_area" in schemas["Reentry"]["properties"]["reason"]["enum"]
    assert schemas["VerificationRequest"]["properties"]["tier"]["enum"] == list(catalog.tier_ids)
    ranking = {p["name"]: p["schema"] for p in document["paths"]["/v1/rankings"]["get"]["parameters"]}
    assert ranking["tier"]["anyOf"][0]["enum"] == list(catalog.tier_ids)
    assert ranking["dimension"]["anyOf"][0]["enum"] == [dimension.id for dimension in catalog.dimensions]
    referrals = {p["name"]: p["schema"] for p in document["paths"]["/v1/referrals"]["get"]["parameters"]}
    assert "completed" in referrals["status"]["anyOf"][0]["enum"]
    assert "enum" not in str(document["paths"]["/v1/households"]["get"]["parameters"][0])
