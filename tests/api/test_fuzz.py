"""Schemathesis against the live service, with a token of each role over every operation.

It checks that no request gets a server error, that every status is documented for its operation, and that
every response has a documented content type and conforms to its schema. The database holds a small city
with households, assessments, referrals, configurations and snapshots, so generated ids (small numbers come
often) reach the routes' deeper code, not only their 404s.

`ASSESS_FUZZ_EXAMPLES` sets the generated requests per operation and role (default 8); a release runs it long,
e.g. `ASSESS_FUZZ_EXAMPLES=100` (docs/service.md). In the suite, PostgreSQL skips the random phase: what
differs between the databases (integer ranges, text they store) is at the boundaries the coverage phase sends.
A failure prints schemathesis's report, with a curl command that reproduces each failing request.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from api.auth import service as users
from api.auth.access import Role
from tests.api.factories import household_payload, submission
from tests.api.workflow_helpers import deprived, publish_test_cutoffs

LONG_RUN = "ASSESS_FUZZ_EXAMPLES" in os.environ
EXAMPLES = int(os.environ.get("ASSESS_FUZZ_EXAMPLES", "8"))
SEED = os.environ.get("ASSESS_FUZZ_SEED", "20260318")
ROLES = {"caseworker": "caseworker_s1", "supervisor": "supervisor_t1", "analyst": "analyst", "admin": "admin",
         "provider": "provider_a"}
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def _created(response, status: int = 201) -> dict:
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture
def seeded(client, city, app, catalog):
    seed(client, city, app, catalog)
    return city


def seed(client, city, app, catalog) -> None:
    """Households at three stations with assessments (one corrected), a provider with a user, referrals in
    several statuses with a delivery and feedback, a published configuration and a draft, a ranking snapshot and
    an export, a transfer waiting, a verified tier, an open appeal and a household proposed for exit."""
    publish_test_cutoffs(app)
    caseworker, supervisor = city.auth("caseworker_s1"), city.auth("supervisor_t1")
    households = [_created(client.post("/v1/households", json=household_payload(city.stations[station]),
                                       headers=city.auth(user)))["id"]
                  for station, user in (("S1", "caseworker_s1"), ("S1", "caseworker_s1"), ("S2", "supervisor_t1"),
                                        ("S3", "caseworker_s3"))]
    latest = []
    for position, household in enumerate(households):
        user = "caseworker_s3" if position == 3 else "supervisor_t1"
        _created(client.post(f"/v1/households/{household}/assessments",
                             json=submission(deprived(catalog, position), assessed_on="2025-09-01"),
                             headers=city.auth(user)))
        latest.append(_created(client.post(f"/v1/households/{household}/assessments",
                                           json=submission(deprived(catalog, position + 1, critical=position == 0)),
                                           headers=city.auth(user)))["id"])
    _created(client.post(f"/v1/households/{households[0]}/assessments",
                         json=submission(deprived(catalog, 2), corrects=latest[0]), headers=caseworker))
    provider = _created(client.post("/v1/providers", json={"name": "环翠区慈善总会", "kind": "charity",
                                                           "services": ["meal_assistance", "home_cleaning"]},
                                    headers=supervisor))["id"]
    with app.state.context.database.session(write=True) as session:
        _, token = users.create_user(session=session, caller=None, name="provider_a", role=Role.provider,
                                     valid_days=30, provider_id=provider)
    provider_user = {"Authorization": f"Bearer {token['token']}"}
    done = _created(client.post(f"/v1/households/{households[0]}/referrals",
                                json={"service_id": "meal_assistance", "provider_id": provider}, headers=caseworker))
    for version, status in enumerate(("accepted", "in-progress"), start=1):
        _created(client.post(f"/v1/referrals/{done['id']}/transitions", json={"to": status, "version": version},
                             headers=provider_user), 200)
    _created(client.post(f"/v1/referrals/{done['id']}/deliveries", json={
        "version": 3, "delivered_on": str(date.today()), "description": "送餐", "units": 5}, headers=provider_user))
    _created(client.post(f"/v1/referrals/{done['id']}/transitions",
                         json={"to": "completed", "version": 4, "outcome": "needs_met"}, headers=provider_user), 200)
    _created(client.post(f"/v1/referrals/{done['id']}/feedback",
                         json={"version": 5, "satisfaction": 4, "outcome": "needs_met"}, headers=caseworker), 200)
    declined = _created(client.post(f"/v1/households/{households[1]}/referrals",
                                    json={"service_id": "meal_assistance", "provider_id": provider}, headers=caseworker))
    _created(client.post(f"/v1/referrals/{declined['id']}/transitions",
                         json={"to": "rejected", "version": 1, "reason": "no_capacity"}, headers=provider_user), 200)
    _created(client.post(f"/v1/households/{households[1]}/referrals", json={"service_id": "home_cleaning"},
                         headers=caseworker))
    _created(client.post("/v1/configs", json={"version": "fuzz-draft", "tier_cutoffs": {"severe": 40}},
                         headers=city.auth("analyst")))
    _created(client.post("/v1/rankings/snapshots", json={}, headers=supervisor))
    assert client.get("/v1/rankings", params={"format": "csv"}, headers=supervisor).status_code == 200
    _created(client.post(f"/v1/households/{households[1]}/transfers", headers=caseworker,
                         json={"to_station_id": city.stations["S3"], "kind": "residence", "reason": "迁居"}))
    _created(client.post(f"/v1/assessments/{latest[1]}/verification", json={"tier": "light", "reason": "入户核查"},
                         headers=supervisor))
    _created(client.post(f"/v1/assessments/{latest[2]}/appeals", json={"reason": "收入有误"}, headers=supervisor))
    calm = _created(client.post("/v1/households", json=household_payload(city.stations["S1"]), headers=caseworker))
    for assessed_on in ("2025-09-01", "2026-03-01"):  # twice below the entry threshold: proposed for exit
        _created(client.post(f"/v1/households/{calm['id']}/assessments", headers=caseworker,
                             json=submission(deprived(catalog, 0), assessed_on=assessed_on)))


def _fresh_token(app, user: str) -> str:
    """A new token for `user`: the fuzzer may have revoked the ones before (DELETE /users/{id}/tokens)."""
    with app.state.context.database.session(write=True) as session:
        user_id = users.user_id_by_name(session, user)
        return users.issue_token(session=session, caller=None, user_id=user_id, valid_days=30)["token"]


def run_schemathesis(server: str, token: str, reports: Path, role: str, phases: str) -> subprocess.CompletedProcess:
    command = [str(SCHEMATHESIS), "run", f"{server}/openapi.json", "--header", f"Authorization: Bearer {token}",
               "--checks", CHECKS, "--phases", phases, "--max-examples", str(EXAMPLES), "--seed", SEED,
               "--workers", "1",
               "--suppress-health-check", "all", "--report", "junit,ndjson",
               "--report-junit-path", str(reports / f"{role}.xml"),
               "--report-ndjson-path", str(reports / f"{role}.ndjson"), "--no-color"]
    # Run in the reports' folder: schemathesis keeps a cache of what it found in the working directory.
    return subprocess.run(command, capture_output=True, text=True, timeout=3600, cwd=reports)


def figures(ndjson: Path) -> tuple[Counter, int]:
    """From a run's event report: the requests sent by status class, and the cases a check failed on."""
    statuses, failed = Counter(), 0
    with ndjson.open(encoding="utf-8") as events:
        for line in events:
            finished = json.loads(line).get("ScenarioFinished")
            if finished is None:
                continue
            for interaction in finished["recorder"].get("interactions", {}).values():
                response = interaction.get("response")
                statuses[f"{response['status_code'] // 100}xx" if response else "no response"] += 1
            failed += sum(any(check["status"] == "failure" for check in checks)
                          for checks in finished["recorder"].get("checks", {}).values())
    return statuses, failed


@pytest.mark.slow
def test_the_fuzzer_finds_no_server_error_and_nothing_undocumented(server, seeded, app, database_url, tmp_path):
    backend = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    phases = "examples,coverage,fuzzing,stateful" if backend == "sqlite" or LONG_RUN else "examples,coverage,stateful"
    reports = Path(os.environ.get("ASSESS_FUZZ_REPORTS") or tmp_path) / backend
    reports.mkdir(parents=True, exist_ok=True)
    failed = {}
    for role, user in ROLES.items():
        result = run_schemathesis(server, _fresh_token(app, user), reports, role, phases)
        (reports / f"{role}.txt").write_text(result.stdout + result.stderr, encoding="utf-8")
        statuses, failures = figures(reports / f"{role}.ndjson")
        shown = ", ".join(f"{status} {count}" for status, count in sorted(statuses.items()))
        print(f"{backend} {role}: {sum(statuses.values())} requests ({shown}), {failures} failing")
        if result.returncode != 0:
            failed[role] = result.stdout + result.stderr
    assert not failed, "\n\n".join(f"=== {role} ===\n{output}" for role, output in failed.items())
