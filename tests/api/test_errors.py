"""Every failure is RFC 9457 problem details; no stack trace; nothing stored on failure."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from cryptography.fernet import Fernet
from sqlalchemy import insert, update

from api.auth.tables import Token
from api.households.tables import Household
from api.security import token_hash
from tests.api.factories import calm_answers, household_payload, submission
from tests.api.support import snapshot

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "errors"}


def assert_problem(response, status):
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert PROBLEM_KEYS <= set(body) and body["status"] == status
    for error in body["errors"]:
        assert set(error) == {"path", "code", "message_zh", "message_en"}
    return body


def test_missing_malformed_and_revoked_tokens_are_401(client, city):
    assert_problem(client.get("/v1/households"), 401)
    assert_problem(client.get("/v1/households", headers={"Authorization": "Bearer nonsense"}), 401)
    assert_problem(client.get("/v1/households", headers={"Authorization": "Basic abc"}), 401)
    user_id = city.user_ids["caseworker_s1"]
    assert client.delete(f"/v1/users/{user_id}/tokens", headers=city.auth("admin")).json() == {"revoked": 1}
    body = assert_problem(client.get("/v1/me", headers=city.auth("caseworker_s1")), 401)
    assert body["errors"][0]["path"] == "headers.authorization"


def test_a_submission_without_a_valid_token_is_401_and_stores_nothing(client, city, app, catalog):
    """The caller of a submission is read in the submission's own database call (api.deps.caller_in_write)."""
    household = client.post("/v1/households", json=household_payload(city.stations["S1"]),
                            headers=city.auth("caseworker_s1")).json()
    url = f"/v1/households/{household['id']}/assessments"
    before = snapshot(app)
    for headers, code in (({}, "missing_token"), ({"Authorization": "Bearer nonsense"}, "invalid_token")):
        [error] = assert_problem(client.post(url, json=submission(calm_answers(catalog)), headers=headers),
                                 401)["errors"]
        assert error["code"] == code and error["path"] == "headers.authorization"
    # without a token the request is refused before its body is read
    [error] = assert_problem(client.post(url, json={"answers": 5}), 401)["errors"]
    assert error["code"] == "missing_token"
    assert snapshot(app) == before


def expire(app, token: str) -> None:
    with app.state.context.database.session(write=True) as session:
        session.execute(update(Token).where(Token.token_hash == token_hash(token))
                        .values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))


def test_an_expired_token_is_401_and_stores_nothing_until_an_admin_issues_another(client, city, app, catalog):
    household = client.post("/v1/households", json=household_payload(city.stations["S1"]),
                            headers=city.auth("caseworker_s1")).json()
    url = f"/v1/households/{household['id']}/assessments"
    assert client.post(url, json=submission(calm_answers(catalog)), headers=city.auth("caseworker_s1")).status_code \
        == 201  # the city's tokens are valid for 30 days
    expire(app, city.tokens["caseworker_s1"])
    before = snapshot(app)
    for response in (client.get("/v1/me", headers=city.auth("caseworker_s1")),
                     client.post(url, json=submission(calm_answers(catalog)), headers=city.auth("caseworker_s1"))):
        [error] = assert_problem(response, 401)["errors"]
        assert error["code"] == "token_expired" and error["path"] == "headers.authorization"
    assert snapshot(app) == before
    issued = client.post(f"/v1/users/{city.user_ids['caseworker_s1']}/tokens", headers=city.auth("admin")).json()
    expires = datetime.fromisoformat(issued["expires_at"])  # the settings' default: 180 days
    assert abs(expires - datetime.now(timezone.utc) - timedelta(days=180)) < timedelta(minutes=5)
    fresh = {"Authorization": f"Bearer {issued['token']}"}
    assert client.get("/v1/me", headers=fresh).json()["token_expires_at"] == issued["expires_at"]
    assert client.post(url, json=submission(calm_answers(catalog)), headers=fresh).status_code == 201


def test_unknown_route_and_record_are_404_and_wrong_method_405(client, city):
    assert_problem(client.get("/v1/nowhere", headers=city.auth("admin")), 404)
    assert_problem(client.get("/v1/households/424242", headers=city.auth("caseworker_s1")), 404)
    assert_problem(client.put("/v1/score", headers=city.auth("admin")), 405)


def test_malformed_json_is_422(client, city, app):
    before = snapshot(app)
    response = client.post("/v1/households", content=b"{not json", headers={**city.auth("caseworker_s1"),
                                                                            "content-type": "application/json"})
    assert_problem(response, 422)
    assert snapshot(app) == before


def test_unexpected_error_is_500_without_stack_trace(client, city, app):
    """Personal data encrypted with a key the service does not hold cannot be decrypted: a real failure."""
    foreign = Fernet(Fernet.generate_key()).encrypt(b'{"name": "x"}').decode()
    with app.state.context.database.session(write=True) as session:
        household_id = session.scalar(insert(Household).returning(Household.id), [{
            "station_id": city.stations["S1"], "status": "active", "personal": foreign,
            "id_number_hash": "0" * 64, "created_by": city.user_ids["caseworker_s1"]}])
    before = snapshot(app)
    response = client.get(f"/v1/households/{household_id}", headers=city.auth("caseworker_s1"))
    body = assert_problem(response, 500)
    assert body["errors"][0]["code"] == "internal_error"
    for leak in ("Traceback", "File \"", "RuntimeError", "InvalidToken", "decrypt"):
        assert leak not in response.text
    assert snapshot(app) == before  # the audit entry of the failed read was rolled back


def test_conflicting_user_name_is_409(client, city):
    body = {"name": "analyst", "role": "analyst"}
    problem = assert_problem(client.post("/v1/users", json=body, headers=city.auth("admin")), 409)
    assert problem["errors"][0]["path"] == "name"


def test_household_at_unknown_station_is_404_naming_the_field(client, city, app):
    before = snapshot(app)
    problem = assert_problem(client.post("/v1/households", json=household_payload(9999),
                                         headers=city.auth("supervisor_t1")), 404)
    assert problem["errors"][0]["path"] == "station_id"
    assert snapshot(app) == before


INT32_OVER = 2**31  # one past PostgreSQL's `integer`
INT64_OVER = 2**63  # one past SQLite's integers
N = "{n}"  # where a case puts the integer under test


def integer_cases(household_id: int) -> list[tuple[str, str, dict | None, str, str]]:
    """(caller, method, URL, JSON body, the problem's path): every integer path, query and body parameter
    with N where the integer goes."""
    household = f"/v1/households/{household_id}"
    return [
        ("caseworker_s1", "GET", f"/v1/households/{N}", None, "path.household_id"),
        ("caseworker_s1", "GET", f"/v1/households/{N}/file", None, "path.household_id"),
        ("caseworker_s1", "PATCH", f"/v1/households/{N}", {"phone": "13800001234"}, "path.household_id"),
        ("caseworker_s1", "POST", f"/v1/households/{N}/exit", {"reason": "moved"}, "path.household_id"),
        ("caseworker_s1", "GET", f"/v1/assessments/{N}", None, "path.assessment_id"),
        ("caseworker_s1", "GET", f"/v1/referrals/{N}", None, "path.referral_id"),
        ("caseworker_s1", "POST", f"/v1/referrals/{N}/feedback", {"satisfaction": 3}, "path.referral_id"),
        ("analyst", "GET", f"/v1/configs/{N}", None, "path.config_id"),
        ("analyst", "GET", f"/v1/configs/{N}/impact", None, "path.config_id"),
        ("analyst", "GET", f"/v1/rescoring-jobs/{N}", None, "path.job_id"),
        ("analyst", "GET", f"/v1/rankings/snapshots/1/households/{N}", None, "path.household_id"),
        ("admin", "POST", f"/v1/users/{N}/tokens", None, "path.user_id"),
        ("caseworker_s1", "GET", f"/v1/households?station_id={N}", None, "query.station_id"),
        ("caseworker_s1", "GET", f"/v1/households?offset={N}", None, "query.offset"),
        ("caseworker_s1", "GET", f"/v1/stations?town_id={N}", None, "query.town_id"),
        ("caseworker_s1", "GET", f"/v1/referrals?provider_id={N}", None, "query.provider_id"),
        ("caseworker_s1", "GET", f"/v1/referrals?household_id={N}", None, "query.household_id"),
        ("caseworker_s1", "GET", f"/v1/alerts?offset={N}", None, "query.offset"),
        ("caseworker_s1", "GET", f"/v1/reassessments?station_id={N}", None, "query.station_id"),
        ("supervisor_t1", "GET", f"/v1/rankings?town_id={N}", None, "query.town_id"),
        ("supervisor_t1", "GET", f"/v1/rankings/snapshots?offset={N}", None, "query.offset"),
        ("admin", "GET", f"/v1/audit?user_id={N}", None, "query.user_id"),
        ("admin", "GET", f"/v1/audit?household_id={N}", None, "query.household_id"),
        ("supervisor_t1", "POST", "/v1/households", household_payload(N), "station_id"),
        ("caseworker_s1", "POST", f"{household}/referrals", {"service_id": "x", "provider_id": N}, "provider_id"),
        ("caseworker_s1", "POST", f"{household}/referrals", {"service_id": "x", "assessment_id": N},
         "assessment_id"),
        ("caseworker_s1", "POST", "/v1/referrals/1/transitions", {"to": "accepted", "provider_id": N},
         "provider_id"),
        ("caseworker_s1", "POST", f"{household}/assessments", {**submission({}), "corrects": N}, "corrects"),
        ("supervisor_t1", "POST", "/v1/providers", {"name": "p", "kind": "charity", "services": ["x"],
                                                    "capacity": N}, "capacity"),
        ("supervisor_t1", "POST", "/v1/providers", {"name": "p", "kind": "charity", "services": ["x"],
                                                    "town_id": N}, "town_id"),
        ("admin", "POST", "/v1/users", {"name": "u", "role": "caseworker", "station_id": N}, "station_id"),
        ("admin", "POST", "/v1/users", {"name": "u", "role": "supervisor", "town_ids": [N]}, "town_ids.0"),
        ("admin", "POST", "/v1/stations", {"name": "s", "town_id": N}, "town_id"),
        ("supervisor_t1", "POST", "/v1/rankings/snapshots", {"station_id": N}, "station_id"),
    ]


def _filled(value, number: int):
    if value == N:
        return number
    if isinstance(value, str):
        return value.replace(N, str(number))
    if isinstance(value, dict):
        return {key: _filled(item, number) for key, item in value.items()}
    if isinstance(value, list):
        return [_filled(item, number) for item in value]
    return value


def test_integers_beyond_their_columns_are_422_naming_the_parameter(client, city, app):
    """PostgreSQL's integer columns end at 2^31 - 1 and SQLite's at 2^63 - 1; ids start at 1 and offsets
    at 0. Past any of these a parameter is a 422 naming it, never a 500, and nothing is stored."""
    household = client.post("/v1/households", json=household_payload(city.stations["S1"]),
                            headers=city.auth("caseworker_s1")).json()
    before = snapshot(app)
    failures = []
    for user, method, url, body, path in integer_cases(household["id"]):
        for number in (INT32_OVER, INT64_OVER, 2**80) + ((-1,) if path.endswith("offset") else (0, -1)):
            response = client.request(method, _filled(url, number), json=_filled(body, number),
                                      headers=city.auth(user))
            paths = [e["path"] for e in response.json().get("errors", [])] if response.status_code == 422 else []
            if response.status_code != 422 or path not in paths:
                failures.append(f"{method} {_filled(url, number)} {_filled(body, number)}: "
                                f"{response.status_code} {paths}")
    assert not failures, "\n".join(failures)
    assert snapshot(app) == before


BAD_TEXTS = {"lone surrogate": "\\ud800", "low surrogate first": "\\udc00\\ud800", "NUL": "\\u0000"}


def text_cases(household_id: int, answers: dict) -> list[tuple[str, str, str, str]]:
    """(caller, URL, JSON text with BAD where invalid text goes, the problem's path)."""
    answers_json = json.dumps(answers)[1:-1]
    household = f"/v1/households/{household_id}"
    submission_json = '{"submission_id": "6f1c2a7e-3b8d-4c1e-9a55-0d7b7f6f2c11", "assessed_on": "2026-03-01", '
    return [
        ("caseworker_s1", f"{household}/assessments", submission_json + '"answers": {"BAD": 1, ' + answers_json + "}}",
         "answers.BAD"),
        ("caseworker_s1", f"{household}/assessments",
         submission_json + '"answers": {' + answers_json + ', "x": ["ok", "BAD"]}}', "answers.x.1"),
        ("caseworker_s1", "/v1/households",
         '{"personal": {"name": "王BAD", "id_number": "110101195003071227"}}', "personal.name"),
        ("caseworker_s1", household, '{"phone": "138BAD"}', "phone"),
        ("caseworker_s1", "/v1/households/lookup", '{"id_number": "BAD"}', "id_number"),
        ("caseworker_s1", "/v1/score", '{"region_id": "x", "answers": {"a": "BAD"}}', "answers.a"),
        ("supervisor_t1", "/v1/providers", '{"name": "BAD", "kind": "charity", "services": ["x"]}', "name"),
        ("analyst", "/v1/configs", '{"indicator_weights": {"BAD": 1}}', "indicator_weights.BAD"),
        ("admin", "/v1/users", '{"name": "BAD", "role": "analyst"}', "name"),
        ("admin", "/v1/towns", '{"name": "BAD", "region_id": "x"}', "name"),
    ]


def test_invalid_text_anywhere_in_a_body_is_422_naming_the_field(client, city, app, catalog):
    """Lone surrogates cannot be encoded as UTF-8, and PostgreSQL stores no NUL: either, in a key or a value
    at any depth, is a 422 naming where it is, and nothing is stored."""
    household = client.post("/v1/households", json=household_payload(city.stations["S1"]),
                            headers=city.auth("caseworker_s1")).json()
    before = snapshot(app)
    failures = []
    for user, url, text, path in text_cases(household["id"], calm_answers(catalog)):
        for bad in BAD_TEXTS.values():
            method = "PATCH" if url.endswith(str(household["id"])) else "POST"
            response = client.request(method, url, content=text.replace("BAD", bad).encode(),
                                      headers={**city.auth(user), "content-type": "application/json"})
            shown = path.replace("BAD", bad)  # invalid text in a path is shown as its JSON escape
            if response.status_code != 422:
                failures.append(f"{method} {url} {text.replace('BAD', bad)[:80]}: {response.status_code}")
                continue
            body = assert_problem(response, 422)
            if [(e["path"], e["code"]) for e in body["errors"]] != [(shown, "invalid_text")]:
                failures.append(f"{method} {url} {bad}: {body['errors']}")
    assert not failures, "\n".join(failures)
    assert snapshot(app) == before


def test_nul_in_a_query_parameter_is_422_naming_it(client, city, app):
    before = snapshot(app)
    for user, url, name in (("caseworker_s1", "/v1/towns?region_id=a%00b", "region_id"),
                            ("caseworker_s1", "/v1/referrals?status=%00", "status"),
                            ("caseworker_s1", "/v1/providers?service_id=%00", "service_id"),
                            ("admin", "/v1/audit?action=read%00", "action"),
                            ("supervisor_t1", "/v1/rankings?region_id=%00", "region_id")):
        body = assert_problem(client.get(url, headers=city.auth(user)), 422)
        assert [(e["path"], e["code"]) for e in body["errors"]] == [(f"query.{name}", "invalid_text")], url
        assert body["errors"][0]["message_zh"] and body["errors"][0]["message_en"]
    assert client.get("/v1/me?unused=%00", headers=city.auth("admin")).status_code == 200  # not its parameter
    assert snapshot(app) == before


def test_a_problems_own_members_keep_their_meaning(client, city, app):
    """A problem's extra members add to RFC 9457's, never replace them: feedback on a referral that is not
    completed says the referral's status beside the problem's status 409."""
    household = client.post("/v1/households", json=household_payload(city.stations["S1"]),
                            headers=city.auth("caseworker_s1")).json()
    referral = client.post(f"/v1/households/{household['id']}/referrals", json={"service_id": "meal_assistance"},
                           headers=city.auth("caseworker_s1")).json()
    before = snapshot(app)
    body = assert_problem(client.post(f"/v1/referrals/{referral['id']}/feedback",
                                      json={"version": 1, "satisfaction": 4, "outcome": "needs_met"},
                                      headers=city.auth("caseworker_s1")), 409)
    assert body["status"] == 409 and body["referral_status"] == "draft"
    assert snapshot(app) == before


def test_a_405_names_every_method_of_the_path(client, city):
    """RFC 9110: a 405 carries Allow with the methods the resource supports, not those of one route."""
    for url, allowed in (("/v1/households", {"GET", "POST"}), ("/v1/households/1", {"GET", "PATCH"}),
                         ("/v1/users/1/tokens", {"POST", "DELETE"})):
        response = client.request("PUT", url, headers=city.auth("admin"))
        assert_problem(response, 405)
        assert set(response.headers["allow"].split(", ")) == allowed, url


def test_json_that_is_not_json_is_422_json_invalid(client, city, app, catalog):
    """NaN and Infinity (which Python's own reader takes) and nesting deeper than the reader goes are malformed
    JSON: a 422 `json_invalid`, never stored."""
    household = client.post("/v1/households", json=household_payload(city.stations["S1"]),
                            headers=city.auth("caseworker_s1")).json()
    answers = json.dumps(calm_answers(catalog))[1:-1]
    before = snapshot(app)
    bodies = ['{"submission_id": "6f1c2a7e-3b8d-4c1e-9a55-0d7b7f6f2c11", "assessed_on": "2026-03-01", '
              f'"answers": {{{answers}, "fam_household_size": {bad}}}}}' for bad in ("NaN", "Infinity", "-Infinity")]
    bodies.append('{"submission_id": "6f1c2a7e-3b8d-4c1e-9a55-0d7b7f6f2c11", "answers": ' + "[" * 5000 + "]" * 5000
                  + "}")
    for body in bodies:
        response = client.post(f"/v1/households/{household['id']}/assessments", content=body.encode(),
                               headers={**city.auth("caseworker_s1"), "content-type": "application/json"})
        assert [e["code"] for e in assert_problem(response, 422)["errors"]] == ["json_invalid"], body[-40:]
    assert snapshot(app) == before
