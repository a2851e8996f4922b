"""The audit log's filters: user, action, household, days; paged newest first."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import update

from api.audit.tables import AuditEntry
from tests.api.factories import household_payload


def test_the_audit_log_filters_by_user_action_household_and_days(app, client, city):
    households = [client.post("/v1/households", json=household_payload(city.stations["S1"]),
                              headers=city.auth("caseworker_s1")).json()["id"] for _ in range(3)]
    client.get(f"/v1/households/{households[0]}", headers=city.auth("supervisor_t1"))
    with app.state.context.database.session(write=True) as session:  # the first registration ten days ago
        session.execute(update(AuditEntry).where(AuditEntry.household_id == households[0],
                                                 AuditEntry.action == "create_household")
                        .values(at=datetime.now(timezone.utc) - timedelta(days=10)))
    admin = city.auth("admin")

    def entries(**params):
        response = client.get("/v1/audit", params=params, headers=admin)
        assert response.status_code == 200, response.text
        return [(e["action"], e["household_id"]) for e in response.json()]

    assert entries(action="create_household") == [("create_household", h) for h in reversed(households)]
    assert entries(user_id=city.user_ids["supervisor_t1"]) == [("read_personal", households[0])]
    assert entries(household_id=households[0]) == [("read_personal", households[0]),
                                                    ("create_household", households[0])]
    today, earlier = date.today(), date.today() - timedelta(days=10)
    assert entries(action="create_household", date_to=str(earlier)) == [("create_household", households[0])]
    assert entries(action="create_household", date_from=str(today)) == \
        [("create_household", h) for h in reversed(households[1:])]
    assert entries(action="create_household", limit=1, offset=1) == [("create_household", households[1])]
    backwards = client.get("/v1/audit", params={"date_from": str(today), "date_to": str(earlier)}, headers=admin)
    assert backwards.status_code == 422 and backwards.json()["errors"][0]["path"] == "date_from"
    assert client.get("/v1/audit", params={"date_to": "9999-12-31"}, headers=admin).status_code == 200
    assert client.get("/v1/audit", headers=city.auth("supervisor_t1")).status_code == 403
