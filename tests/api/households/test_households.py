"""Households: registration, masking by role, duplicate ID numbers, override, encryption at rest, audit."""

from __future__ import annotations

import hashlib

from sqlalchemy import text

from tests.api.factories import household_payload, resident_id_number
from tests.api.support import snapshot


def register(client, city, user="caseworker_s1", station="S1", **kwargs):
    response = client.post("/v1/households", json=household_payload(city.stations[station], **kwargs),
                           headers=city.auth(user))
    assert response.status_code == 201, response.text
    return response.json()


def audit_entries(client, city, **params):
    response = client.get("/v1/audit", params=params, headers=city.auth("admin"))
    assert response.status_code == 200
    return response.json()


def test_caseworker_registers_at_own_station_and_sees_personal_data(client, city):
    id_number = resident_id_number(11)
    household = register(client, city, name="孙玉梅", id_number=id_number)
    assert household["station_id"] == city.stations["S1"]
    assert household["personal"] == {"name": "孙玉梅", "id_number": id_number, "phone": "13912345678"}
    read = client.get(f"/v1/households/{household['id']}", headers=city.auth("caseworker_s1")).json()
    assert read["personal"]["id_number"] == id_number and read["personal_view"] == "full"


def test_personal_data_is_masked_for_admin(client, city):
    household = register(client, city, name="孙玉梅", id_number="110101195003071227", phone="13800001234")
    admin = client.get(f"/v1/households/{household['id']}", headers=city.auth("admin")).json()
    assert admin["personal"] == {"name": "孙**", "id_number": "**************1227", "phone": "138****1234"}
    listed = client.get("/v1/households", headers=city.auth("admin")).json()
    assert listed["total"] == 1 and listed["items"][0]["personal"]["name"] == "孙**"


def test_raw_database_holds_no_plaintext_personal_data(client, city, app):
    id_number = resident_id_number(12)
    register(client, city, name="欧阳建国", id_number=id_number, phone="13700009999")
    with app.state.context.database.engine.connect() as connection:
        rows = [" ".join(str(v) for v in row) for table in ("households", "audit_log")
                for row in connection.execute(text(f"SELECT * FROM {table}"))]
    dump = "\n".join(rows)
    assert rows and id_number not in dump and "欧阳建国" not in dump and "13700009999" not in dump
    assert hashlib.sha256(id_number.encode()).hexdigest() not in dump  # keyed, not a plain hash


def test_same_id_number_at_another_station_is_409_pointing_to_the_existing_household(client, city, app):
    id_number = resident_id_number(13)
    first = register(client, city, id_number=id_number)
    before = snapshot(app)
    response = client.post("/v1/households", json=household_payload(city.stations["S3"], id_number=id_number),
                           headers=city.auth("caseworker_s3"))
    assert response.status_code == 409
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert problem["existing_household_id"] == first["id"]
    assert problem["existing_household"] == f"/v1/households/{first['id']}"
    assert problem["errors"][0]["path"] == "personal.id_number"
    assert problem["errors"][0]["message_zh"] and problem["errors"][0]["message_en"]
    assert snapshot(app) == before


def test_id_number_match_ignores_spacing_and_case_of_the_check_character(client, city):
    id_number = next(resident_id_number(n) for n in range(100, 400) if resident_id_number(n).endswith("X"))
    register(client, city, id_number=id_number)
    spaced = " ".join([id_number[:6], id_number[6:14], id_number[14:].lower()])
    response = client.post("/v1/households", json=household_payload(city.stations["S2"], id_number=spaced),
                           headers=city.auth("supervisor_t1"))
    assert response.status_code == 409


def test_supervisor_override_registers_the_duplicate_and_is_audited(client, city):
    id_number = resident_id_number(14)
    first = register(client, city, id_number=id_number)
    body = household_payload(city.stations["S2"], id_number=id_number,
                             override={"reason": "Family moved to station 2; confirmed by phone"})
    response = client.post("/v1/households", json=body, headers=city.auth("supervisor_t1"))
    assert response.status_code == 201
    second = response.json()
    [entry] = audit_entries(client, city, action="override_duplicate_id_number")
    assert entry["household_id"] == second["id"] and entry["user_id"] == city.user_ids["supervisor_t1"]
    assert entry["details"]["existing_household_ids"] == [first["id"]]
    assert entry["details"]["reason"] == "Family moved to station 2; confirmed by phone"
    assert id_number not in str(entry)


def test_caseworker_may_not_override_and_nothing_is_stored(client, city, app):
    id_number = resident_id_number(15)
    register(client, city, id_number=id_number)
    before = snapshot(app)
    body = household_payload(city.stations["S3"], id_number=id_number, override={"reason": "I am sure it is fine"})
    response = client.post("/v1/households", json=body, headers=city.auth("caseworker_s3"))
    assert response.status_code == 403
    assert snapshot(app) == before


def test_override_cannot_duplicate_within_the_same_station(client, city):
    id_number = resident_id_number(16)
    register(client, city, id_number=id_number)
    body = household_payload(city.stations["S1"], id_number=id_number, override={"reason": "second file please"})
    assert client.post("/v1/households", json=body, headers=city.auth("supervisor_t1")).status_code == 409


def test_invalid_id_number_is_422_naming_the_field(client, city, app):
    before = snapshot(app)
    good = resident_id_number(17)
    wrong_check = good[:17] + ("0" if good[17] != "0" else "1")
    for bad in (wrong_check, "12345"):
        response = client.post("/v1/households", json=household_payload(city.stations["S1"], id_number=bad),
                               headers=city.auth("caseworker_s1"))
        assert response.status_code == 422
        [error] = response.json()["errors"]
        assert error["path"] == "personal.id_number" and error["code"] == "invalid_id_number"
    assert snapshot(app) == before


def test_lookup_by_id_number_finds_only_households_in_scope(client, city):
    id_number = resident_id_number(18)
    household = register(client, city, id_number=id_number)
    mine = client.post("/v1/households/lookup", json={"id_number": id_number}, headers=city.auth("caseworker_s1"))
    assert [h["id"] for h in mine.json()] == [household["id"]]
    other = client.post("/v1/households/lookup", json={"id_number": id_number}, headers=city.auth("caseworker_s3"))
    assert other.json() == []
    [entry] = audit_entries(client, city, action="lookup_id_number", user_id=city.user_ids["caseworker_s1"])
    assert id_number not in str(entry)


def test_every_full_read_of_personal_data_is_audited(client, city):
    household = register(client, city)
    client.get(f"/v1/households/{household['id']}", headers=city.auth("caseworker_s1"))
    client.get(f"/v1/households/{household['id']}/file", headers=city.auth("supervisor_t1"))
    client.get("/v1/households", headers=city.auth("caseworker_s1"))
    client.get(f"/v1/households/{household['id']}", headers=city.auth("analyst"))  # refused: not a read
    reads = audit_entries(client, city, action="read_personal", household_id=household["id"])
    assert sorted(e["user_id"] for e in reads) == sorted(
        [city.user_ids["caseworker_s1"], city.user_ids["supervisor_t1"], city.user_ids["caseworker_s1"]])


def test_update_changes_status_and_phone_and_is_audited(client, city):
    household = register(client, city)
    response = client.patch(f"/v1/households/{household['id']}", json={"status": "exited", "phone": "13011112222"},
                            headers=city.auth("caseworker_s1"))
    assert response.status_code == 200
    assert response.json()["status"] == "exited" and response.json()["personal"]["phone"] == "13011112222"
    [entry] = audit_entries(client, city, action="update_household")
    assert entry["details"]["fields"] == ["phone", "status"] and "13011112222" not in str(entry)
    bad = client.patch(f"/v1/households/{household['id']}", json={"status": "gone"}, headers=city.auth("caseworker_s1"))
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "status"


def test_audit_log_is_for_admins_only(client, city):
    for user in ("caseworker_s1", "supervisor_t1", "analyst"):
        assert client.get("/v1/audit", headers=city.auth(user)).status_code == 403



def search(client, city, user, name, **body):
    return client.post("/v1/households/search", json={"name": name, **body}, headers=city.auth(user))


def found(client, city, user, name, **body) -> list[int]:
    response = search(client, city, user, name, **body)
    assert response.status_code == 200, response.text
    return [h["id"] for h in response.json()["items"]]


def test_name_search_finds_names_containing_the_text_in_scope_newest_first(client, city):
    wang_s1 = register(client, city, name="王秀英")
    li_s1 = register(client, city, name="李建国")
    wang_s2 = register(client, city, user="supervisor_t1", station="S2", name="王建华")
    register(client, city, user="caseworker_s3", station="S3", name="王丽")  # town T2
    latin = register(client, city, name="Ayşe WANG")
    assert found(client, city, "caseworker_s1", "王") == [wang_s1["id"]]  # station S1 only
    assert found(client, city, "supervisor_t1", "王") == [wang_s2["id"], wang_s1["id"]]  # town T1, newest first
    assert found(client, city, "supervisor_t1", "建") == [wang_s2["id"], li_s1["id"]]
    assert found(client, city, "caseworker_s1", "wang") == [latin["id"]]  # letters without case
    assert found(client, city, "caseworker_s1", " 秀英 ") == [wang_s1["id"]]  # surrounding spaces ignored
    assert found(client, city, "supervisor_t3", "王") == []
    [shown] = search(client, city, "caseworker_s1", "秀英").json()["items"]
    assert shown["personal"]["name"] == "王秀英" and shown["personal_view"] == "full"


def test_name_search_stops_at_the_limit_and_says_more_matched(client, city):
    ids = [register(client, city, name=f"张{n}")["id"] for n in range(5)]
    body = search(client, city, "caseworker_s1", "张", limit=3).json()
    assert [h["id"] for h in body["items"]] == ids[::-1][:3] and body["truncated"] is True
    exactly = search(client, city, "caseworker_s1", "张", limit=5).json()
    assert len(exactly["items"]) == 5 and exactly["truncated"] is False


def test_name_search_audits_the_matches_alone_and_never_the_text(client, city):
    match = register(client, city, name="欧阳秀兰")
    other = register(client, city, name="赵春华")
    assert found(client, city, "caseworker_s1", "欧阳") == [match["id"]]
    [entry] = audit_entries(client, city, action="search_name", user_id=city.user_ids["caseworker_s1"])
    assert entry["details"] == {"matches": [match["id"]], "truncated": False}
    assert "欧阳" not in str(entry)
    assert len(audit_entries(client, city, action="read_personal", household_id=match["id"])) == 1
    assert audit_entries(client, city, action="read_personal", household_id=other["id"]) == []


def test_name_search_refusals_name_the_field_and_store_nothing(client, city, app):
    register(client, city, name="王秀英")
    before = snapshot(app)
    for user in ("analyst", "admin"):  # they never see names in full, so they may not probe them
        response = search(client, city, user, "王")
        assert response.status_code == 403
        [error] = response.json()["errors"]
        assert error["code"] == "name_search_not_allowed" and error["path"] == "name"
    for body, path in (({"name": "   "}, "name"), ({"name": ""}, "name"), ({"name": "王", "limit": 0}, "limit"),
                       ({"name": "王", "limit": 201}, "limit"), ({}, "name")):
        response = client.post("/v1/households/search", json=body, headers=city.auth("caseworker_s1"))
        assert response.status_code == 422, body
        assert [error["path"] for error in response.json()["errors"]] == [path], body
    assert snapshot(app) == before


def to_fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


ARABIC_INDIC = {str(d): chr(0x0660 + d) for d in range(10)}
SUPERSCRIPT = {"0": "⁰", "1": "¹", "2": "²", "3": "³", "4": "⁴", "5": "⁵", "6": "⁶", "7": "⁷", "8": "⁸", "9": "⁹"}


def test_an_id_number_in_other_digits_is_the_same_number(client, city, app):
    """Fullwidth at the same station, Arabic-Indic at another and superscript digits all name the number
    registered in ASCII digits: 409 each time, nothing stored, and the look-up finds it in any of them."""
    id_number = next(resident_id_number(n) for n in range(500, 900) if resident_id_number(n).endswith("X"))
    first = register(client, city, id_number=id_number)
    before = snapshot(app)
    for station, user, typed in (
            ("S1", "caseworker_s1", to_fullwidth(id_number.lower())),
            ("S3", "caseworker_s3", "".join(ARABIC_INDIC.get(c, c) for c in id_number)),
            ("S2", "supervisor_t1", "".join(SUPERSCRIPT.get(c, c) for c in id_number)),
            ("S4", "supervisor_t3", "\u3000".join([id_number[:6], id_number[6:]]))):  # ideographic space
        response = client.post("/v1/households", json=household_payload(city.stations[station], id_number=typed),
                               headers=city.auth(user))
        assert response.status_code == 409, (typed, response.text)
        assert response.json()["existing_household_id"] == first["id"]
    assert snapshot(app) == before
    for typed in (to_fullwidth(id_number), "".join(SUPERSCRIPT.get(c, c) for c in id_number)):
        found = client.post("/v1/households/lookup", json={"id_number": typed}, headers=city.auth("caseworker_s1"))
        assert found.status_code == 200 and [h["id"] for h in found.json()] == [first["id"]]


def test_an_id_number_is_stored_in_ascii_digits_whatever_digits_were_typed(client, city):
    id_number = resident_id_number(901)
    household = register(client, city, id_number=to_fullwidth(id_number))
    assert household["personal"]["id_number"] == id_number
    read = client.get(f"/v1/households/{household['id']}", headers=city.auth("caseworker_s1")).json()
    assert read["personal"]["id_number"] == id_number


def test_id_numbers_that_are_not_18_digits_after_normalising_are_422_and_store_nothing(client, city, app):
    good = resident_id_number(902)
    before = snapshot(app)
    for bad in ("①" + good[1:], good[:17] + "Y", good[:16] + "-" + good[17], good + "0"):
        for path, send in (("personal.id_number", lambda body: client.post(
                "/v1/households", json=household_payload(city.stations["S1"], id_number=body),
                headers=city.auth("caseworker_s1"))),
                           ("id_number", lambda body: client.post(
                "/v1/households/lookup", json={"id_number": body}, headers=city.auth("caseworker_s1")))):
            response = send(bad)
            assert response.status_code == 422, (bad, response.text)
            [error] = response.json()["errors"]
            assert (error["path"], error["code"]) == (path, "invalid_id_number")
            assert error["message_zh"] and error["message_en"]
    assert snapshot(app) == before


def test_the_name_cannot_be_cleared_and_nothing_is_stored(client, city, app):
    household = register(client, city, name="王秀英")
    before = snapshot(app)
    for name in (None, "", "   "):
        response = client.patch(f"/v1/households/{household['id']}", json={"name": name},
                                headers=city.auth("caseworker_s1"))
        assert response.status_code == 422, (name, response.text)
        [error] = response.json()["errors"]
        assert error["path"] == "name" and error["message_zh"] and error["message_en"]
    assert snapshot(app) == before
    assert found(client, city, "caseworker_s1", "秀英") == [household["id"]]
    read = client.get(f"/v1/households/{household['id']}", headers=city.auth("caseworker_s1")).json()
    assert read["personal"]["name"] == "王秀英"


def test_name_search_survives_any_stored_name(client, city, app):
    """Households stored before names were checked may hold no name, an empty one or a number."""
    from api.security import encrypt_json

    keys = app.state.context.keys
    kept = register(client, city, name="王秀英")
    odd = [register(client, city, name=f"待改{n}")["id"] for n in range(4)]
    with app.state.context.database.engine.begin() as connection:
        for household_id, personal in zip(odd, ({"name": None}, {}, {"name": ""}, {"name": 7})):
            value = encrypt_json(keys, {"id_number": resident_id_number(), "phone": None, **personal})
            connection.execute(text("UPDATE households SET personal = :p WHERE id = :id"),
                               {"p": value, "id": household_id})
    assert found(client, city, "caseworker_s1", "秀英") == [kept["id"]]
    assert found(client, city, "supervisor_t1", "王") == [kept["id"]]
    listed = client.get("/v1/households", headers=city.auth("admin"))
    assert listed.status_code == 200 and len(listed.json()["items"]) == 5


def test_phone_numbers_are_checked_and_kept_in_their_normal_form(client, city, app):
    household = register(client, city, phone="+86 138-0000-1234")
    assert household["personal"]["phone"] == "+86 138-0000-1234"
    before = snapshot(app)
    for phone in ("abc", "138 0000 abcd", "++8613800001234", "1234", "1" * 16, "138--0000", " -138", "١٣٨٠٠٠٠١٢٣٤"):
        created = client.post("/v1/households", json=household_payload(city.stations["S1"], phone=phone),
                              headers=city.auth("caseworker_s1"))
        changed = client.patch(f"/v1/households/{household['id']}", json={"phone": phone},
                               headers=city.auth("caseworker_s1"))
        for response, path in ((created, "personal.phone"), (changed, "phone")):
            assert response.status_code == 422, (phone, response.text)
            [error] = response.json()["errors"]
            assert (error["path"], error["code"]) == (path, "invalid_phone")
            assert "5" in error["message_en"] and "15" in error["message_zh"]
    assert snapshot(app) == before
    for typed, kept in (("0631-5201234", "0631-5201234"), (" １３８００００１２３４ ", "13800001234"),
                        ("12345", "12345"), ("", None), (None, None)):
        response = client.patch(f"/v1/households/{household['id']}", json={"phone": typed},
                                headers=city.auth("caseworker_s1"))
        assert response.status_code == 200 and response.json()["personal"]["phone"] == kept, typed


def test_a_change_whose_response_shows_the_personal_data_is_audited_as_a_read(client, city):
    household = register(client, city)
    response = client.patch(f"/v1/households/{household['id']}", json={"status": "exited"},
                            headers=city.auth("supervisor_t1"))
    assert response.json()["personal"]["id_number"] == household["personal"]["id_number"]
    [entry] = audit_entries(client, city, action="read_personal", household_id=household["id"])
    assert entry["user_id"] == city.user_ids["supervisor_t1"]
