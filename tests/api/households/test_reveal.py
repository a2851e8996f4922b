"""A household's whole ID number on request: for the caseworkers and supervisors it belongs to, audited."""

from __future__ import annotations

from sqlalchemy import select

from api.audit.tables import AuditEntry
from tests.api.factories import household_payload, resident_id_number
from tests.api.support import snapshot


def test_the_whole_id_number_is_shown_on_request_and_audited(app, client, city):
    number = resident_id_number(serial=433)
    household = client.post("/v1/households", json=household_payload(city.stations["S1"], id_number=number),
                            headers=city.auth("caseworker_s1")).json()["id"]
    for user in ("caseworker_s1", "supervisor_t1"):
        response = client.post(f"/v1/households/{household}/id-number", headers=city.auth(user))
        assert response.status_code == 200 and response.json() == {"household_id": household, "id_number": number}
    before = snapshot(app)
    for user in ("caseworker_s3", "supervisor_t3", "admin", "analyst"):
        assert client.post(f"/v1/households/{household}/id-number", headers=city.auth(user)).status_code == 403, user
    assert client.post("/v1/households/999999/id-number", headers=city.auth("caseworker_s1")).status_code == 404
    assert client.get(f"/v1/households/{household}/id-number", headers=city.auth("caseworker_s1")).status_code == 405
    assert snapshot(app) == before
    with app.state.context.database.session() as session:
        reveals = session.scalars(select(AuditEntry).where(AuditEntry.action == "reveal_id_number")).all()
    assert [(e.user_id, e.household_id) for e in reveals] == [(city.user_ids["caseworker_s1"], household),
                                                               (city.user_ids["supervisor_t1"], household)]
    assert all(number not in str(e.details) for e in reveals)
