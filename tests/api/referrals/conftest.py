"""A referral loop: two providers, a user of each, and helpers to refer and move referrals."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from api.auth.access import Role
from api.auth.service import create_user
from tests.api.workflow_helpers import new_household

# The first default reason of each status that needs one, and an outcome (api/referrals/workflow.yaml).
REASONS = {"rejected": "no_capacity", "failed": "unreachable", "cancelled": "no_longer_needed",
           "on-hold": "household_away"}


@dataclass
class Loop:
    client: object
    city: object
    providers: dict[str, int] = field(default_factory=dict)

    def refer(self, household: int, service: str = "meal_assistance", provider: str | None = "a",
              user: str = "caseworker_s1"):
        body = {"service_id": service} | ({"provider_id": self.providers[provider]} if provider else {})
        return self.client.post(f"/v1/households/{household}/referrals", json=body, headers=self.city.auth(user))

    def get(self, referral_id: int, user: str = "caseworker_s1"):
        return self.client.get(f"/v1/referrals/{referral_id}", headers=self.city.auth(user))

    def version(self, referral_id: int) -> int:
        return self.get(referral_id).json()["version"]

    def move(self, referral_id: int, to: str, user: str, version: int | None = None, **extra):
        """A move with the reason (or outcome) the table asks for, on the current version unless given."""
        body = {"to": to, "version": self.version(referral_id) if version is None else version}
        if to in REASONS:
            body["reason"] = REASONS[to]
        if to == "completed":
            body["outcome"] = "needs_met"
        body.update(extra)
        return self.client.post(f"/v1/referrals/{referral_id}/transitions", json=body, headers=self.city.auth(user))

    def act(self, referral_id: int, action: str, user: str, **body):
        if "version" not in body:
            body["version"] = self.version(referral_id)
        return self.client.post(f"/v1/referrals/{referral_id}/{action}", json=body, headers=self.city.auth(user))


@pytest.fixture
def loop(app, client, city) -> Loop:
    """Provider A (meal assistance, home cleaning; city-wide) with user provider_a, provider B (the same and
    visiting care) with user provider_b."""
    result = Loop(client, city)
    for key, services in (("a", ["meal_assistance", "home_cleaning"]),
                          ("b", ["meal_assistance", "home_cleaning", "visiting_care"])):
        response = client.post("/v1/providers", json={"name": f"机构{key.upper()}", "kind": "social_organisation",
                                                      "services": services}, headers=city.auth("admin"))
        assert response.status_code == 201, response.text
        result.providers[key] = response.json()["id"]
    with app.state.context.database.session(write=True) as session:
        for key, provider_id in result.providers.items():
            user, token = create_user(session=session, caller=None, name=f"provider_{key}", role=Role.provider,
                                      valid_days=30, provider_id=provider_id)
            city.tokens[f"provider_{key}"], city.user_ids[f"provider_{key}"] = token["token"], user["id"]
    return result


@pytest.fixture
def household(client, city) -> int:
    return new_household(client, city, "S1", "caseworker_s1")
