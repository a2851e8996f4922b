"""Members as persons: their own ID numbers, encrypted and found by their keyed hash, so that the same person in
two households (or registered again at another station, 跑站) is answered like a duplicate household, with the
same supervisor override."""

from __future__ import annotations

import hmac
import hashlib

import pytest
from sqlalchemy import text

from api.households.service import rotate_keys
from api.security import Keys
from tests.api.factories import household_payload, resident_id_number
from tests.api.support import DATA_KEY, HASH_KEY, snapshot


def to_fullwidth(text_: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text_)


def member(id_number: str | None, relation: str = "spouse", name: str | None = "李建国") -> dict:
    return {"relation": relation, "birth_year": 1968, "sex": "male", "name": name, "id_number": id_number}


def register(client, city, station="S1", user="caseworker_s1", members=(), **kwargs):
    return client.post("/v1/households", headers=city.auth(user),
                       json=household_payload(city.stations[station], members=list(members), **kwargs))


def keyed(id_number: str, key: str = HASH_KEY) -> str:
    return hmac.new(key.encode(), id_number.encode(), hashlib.sha256).hexdigest()


def test_a_member_already_in_another_household_is_a_409_like_a_duplicate_household(client, city, app):
    spouse = resident_id_number(201, birth="19680101")
    first = register(client, city, members=[member(None, "head"), member(spouse)])
    assert first.status_code == 201, first.text
    before = snapshot(app)
    for typed in (spouse, to_fullwidth(spouse)):  # the same number in fullwidth digits is the same person
        again = register(client, city, station="S3", user="caseworker_s3", members=[member(typed)])
        assert again.status_code == 409, again.text
        body = again.json()
        assert body["existing_household_id"] == first.json()["id"]
        assert body["existing_station_id"] == city.stations["S1"]
        assert body["errors"][0] == {"path": "members.0.id_number", "code": "duplicate_id_number",
                                     "message_zh": f"该身份证号码的人员已在驿站 {city.stations['S1']} 的家庭 "
                                                   f"{first.json()['id']}中。",
                                     "message_en": f"A person with this ID number is already in household "
                                                   f"{first.json()['id']} at station {city.stations['S1']}."}
    # the person registered as a household of their own, elsewhere (跑站)
    hopping = register(client, city, station="S3", user="caseworker_s3", id_number=to_fullwidth(spouse))
    assert (hopping.status_code, hopping.json()["errors"][0]["path"]) == (409, "personal.id_number")
    assert hopping.json()["existing_household_id"] == first.json()["id"]
    assert snapshot(app) == before


def test_a_household_number_held_by_a_member_elsewhere_and_the_override(client, city, app):
    head = resident_id_number(202, birth="19500307")
    first = register(client, city, id_number=head, members=[member(head, "head")])  # the applicant listed too
    assert first.status_code == 201, first.text
    as_member = register(client, city, station="S4", user="supervisor_t3", members=[member(head, "parent")])
    assert as_member.status_code == 409
    assert client.post("/v1/households", headers=city.auth("caseworker_s3"), json=household_payload(
        city.stations["S3"], members=[member(head, "parent")], override={"reason": "老人两地轮住,经核实"})).status_code == 403
    overridden = register(client, city, station="S4", user="supervisor_t3", members=[member(head, "parent")],
                          override={"reason": "老人两地轮住,经核实"})
    assert overridden.status_code == 201, overridden.text
    [entry] = client.get("/v1/audit", params={"action": "override_duplicate_id_number"},
                         headers=city.auth("admin")).json()
    assert entry["household_id"] == overridden.json()["id"]
    assert entry["details"] == {"reason": "老人两地轮住,经核实", "existing_household_ids": [first.json()["id"]]}
    # within one station the same person twice is never overridden
    same_station = register(client, city, station="S1", user="supervisor_t1", members=[member(head, "parent")],
                            override={"reason": "second file please"})
    assert same_station.status_code == 409


def test_changing_members_is_checked_the_same_way(client, city, app):
    held = resident_id_number(203, birth="19900101")
    register(client, city, station="S4", user="supervisor_t3", members=[member(held, "child")])
    household = register(client, city).json()["id"]
    before = snapshot(app)
    patched = client.patch(f"/v1/households/{household}", json={"members": [member(held, "child")]},
                           headers=city.auth("caseworker_s1"))
    assert (patched.status_code, patched.json()["errors"][0]["path"]) == (409, "members.0.id_number")
    twice = client.patch(f"/v1/households/{household}", headers=city.auth("caseworker_s1"),
                         json={"members": [member(held, "child"), member(to_fullwidth(held), "other")]})
    assert (twice.status_code, twice.json()["errors"][0]["code"]) == (422, "repeated_id_number")
    assert twice.json()["errors"][0]["path"] == "members.1.id_number"
    bad = client.patch(f"/v1/households/{household}", json={"members": [member(held[:-1] + "0", "child")]},
                       headers=city.auth("caseworker_s1"))
    assert (bad.status_code, bad.json()["errors"][0]["path"]) == (422, "members.0.id_number")
    assert snapshot(app) == before
    overridden = client.patch(f"/v1/households/{household}", headers=city.auth("supervisor_t1"),
                              json={"members": [member(held, "child")], "override": {"reason": "在两地上学,核实无误"}})
    assert overridden.status_code == 200, overridden.text
    assert overridden.json()["members"][0]["id_number"] == held


def test_member_numbers_are_encrypted_hashed_masked_and_found(client, city, app):
    number = resident_id_number(204, birth="19750101")
    household = register(client, city, members=[member(to_fullwidth(number), name="王小明")]).json()
    assert household["members"][0]["id_number"] == number  # stored in its normal form
    with app.state.context.database.engine.connect() as connection:
        [row] = connection.execute(text("SELECT personal, id_number_hash FROM household_members")).all()
    assert number not in row.personal and "王小明" not in row.personal
    assert row.id_number_hash == keyed(number)
    admin = client.get(f"/v1/households/{household['id']}", headers=city.auth("admin")).json()
    assert (admin["members"][0]["name"], admin["members"][0]["id_number"]) == ("王**", "*" * 14 + number[-4:])
    found = client.post("/v1/households/lookup", json={"id_number": number}, headers=city.auth("caseworker_s1"))
    assert [item["id"] for item in found.json()] == [household["id"]]
    assert client.post("/v1/households/lookup", json={"id_number": number},
                       headers=city.auth("caseworker_s3")).json() == []


def test_key_rotation_re_hashes_the_members_numbers(client, city, app):
    number = resident_id_number(205, birth="19800101")
    register(client, city, members=[member(number)])
    new_hash_key = "another-hash-key-for-rotation-0123456789"
    with app.state.context.database.session(write=True) as session:
        done = rotate_keys(session=session, keys=Keys((DATA_KEY,), new_hash_key))
    assert (done["households"], done["members"]) == (1, 1) and done["rehashed"] == 2
    with app.state.context.database.engine.connect() as connection:
        assert connection.execute(text("SELECT id_number_hash FROM household_members")).scalar_one() == \
            keyed(number, new_hash_key)


@pytest.mark.parametrize("blank", ["", "   ", None])
def test_a_member_without_an_id_number_has_no_hash(client, city, app, blank):
    response = register(client, city, members=[member(blank, name=None)])
    assert response.status_code == 201, response.text
    assert response.json()["members"][0]["id_number"] is None
    with app.state.context.database.engine.connect() as connection:
        assert connection.execute(text("SELECT personal, id_number_hash FROM household_members")).one() == (None, None)
