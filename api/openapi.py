"""The OpenAPI document as the service serves it: FastAPI's, with the problem-details schemas, an answers
example from the catalog in use, and the ids a request field takes from the catalog or the workflow tables
listed as its choices (so a client generator, and the fuzzer, know them)."""

from __future__ import annotations

from typing import Any

from api.households.lifecycle import lifecycle
from api.referrals.workflow import workflow
from api.schemas import problem_schemas

# Request body fields (schema -> field) and query parameters (name, or path and name) whose values are ids of
# the catalog or of the workflow tables, by the list they come from.
BODY_CHOICES = {
    "ReferralCreate": {"service_id": "services"},
    "ProviderCreate": {"services": "services", "kind": "provider_kinds"},
    "ProviderUpdate": {"services": "services", "kind": "provider_kinds"},
    "Transition": {"to": "referral_statuses", "outcome": "referral_outcomes"},
    "Feedback": {"outcome": "referral_outcomes"},
    "ReasonCreate": {"status": "reason_statuses"},
    "Exit": {"reason": "exit_reasons"},
    "Reentry": {"reason": "reentry_reasons"},
    "VerificationRequest": {"tier": "tiers"},
    "ScorePreview": {"region_id": "regions"},
    "TownCreate": {"region_id": "regions"},
    "RankingFilters": {"region_id": "regions", "tier": "tiers", "dimension": "dimensions", "service": "services"},
}
QUERY_CHOICES = {"region_id": "regions", "tier": "tiers", "dimension": "dimensions", "service": "services",
                 "service_id": "services", ("/v1/referrals", "status"): "referral_statuses",
                 ("/v1/referral-reasons", "status"): "reason_statuses", "default_kind": "provider_kinds"}


def choices(catalog) -> dict[str, list[str]]:
    rules = workflow()
    return {"services": [service.id for service in catalog.services], "tiers": list(catalog.tier_ids),
            "dimensions": [dimension.id for dimension in catalog.dimensions],
            "regions": [region.id for region in catalog.regions], "provider_kinds": list(rules.provider_kinds),
            "exit_reasons": list(lifecycle().exit_reasons), "reentry_reasons": list(lifecycle().reentry_reasons),
            "referral_statuses": list(rules.statuses), "referral_outcomes": list(rules.outcomes),
            "reason_statuses": sorted(rules.reason_required)}


def _restrict(schema: dict[str, Any], values: list[str]) -> None:
    """Give the text part of `schema` (itself, its items, or its text branch) the choices `values`."""
    if schema.get("type") == "array":
        _restrict(schema["items"], values)
    elif "anyOf" in schema:
        for branch in schema["anyOf"]:
            if branch.get("type") in ("string", "array"):
                _restrict(branch, values)
    elif schema.get("type") == "string":
        schema["enum"] = values


def complete(document: dict[str, Any], scorer) -> dict[str, Any]:
    """FastAPI's document with what it cannot know by itself (changed in place and returned)."""
    catalog = scorer.catalog
    components = document.setdefault("components", {}).setdefault("schemas", {})
    components.update(problem_schemas())
    example = dict(list(scorer.example_answers().items())[:4])
    for name in ("AssessmentSubmission", "ScorePreview"):
        components[name]["properties"]["answers"]["examples"] = [example]
    lists = choices(catalog)
    for name, fields in BODY_CHOICES.items():
        for field, source in fields.items():
            _restrict(components[name]["properties"][field], lists[source])
    for path, methods in document["paths"].items():
        for operation in methods.values():
            for parameter in operation.get("parameters", []):
                source = QUERY_CHOICES.get((path, parameter["name"])) or QUERY_CHOICES.get(parameter["name"])
                if parameter["in"] == "query" and source is not None:
                    _restrict(parameter["schema"], lists[source])
    return document
