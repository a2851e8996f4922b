"""Every failure is RFC 9457 problem details; no stack trace; nothing stored on failure."""

from __future__ import annotations

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
            "id_number_hash": "0" * 64, "members": [], "created_by": city.user_ids["caseworker_s1"]}])
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
