"""Records matched to households and members by the keyed ID-number hash, records without an ID number by normal
name and birth date within the town (waiting for a person), "re-assess: new information" alerts with their reasons,
and the persons on no file who become candidates, each rule and each signal kind."""

from __future__ import annotations

import json

from sqlalchemy import text

from tests.api.discovery.helpers import DEATHS, DISABILITY, MEDICAL, UNEMPLOYMENT, csv_bytes, days_ago, upload
from tests.api.factories import household_payload, resident_id_number


def register(client, city, *, id_number, members=(), station="S1", user="caseworker_s1", name="赵春华"):
    answer = client.post("/v1/households", headers=city.auth(user),
                         json=household_payload(city.stations[station], id_number=id_number, name=name,
                                                members=list(members)))
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def records(app) -> list[tuple]:
    with app.state.context.database.engine.connect() as connection:
        return [tuple(r) for r in connection.execute(text(
            "SELECT id, household_id, member_id, match_kind, match_confirmed, personal IS NULL FROM discovery_records "
            "ORDER BY id"))]


def candidates(app) -> list[tuple]:
    with app.state.context.database.engine.connect() as connection:
        rows = connection.execute(text("SELECT station_id, town_id, priority, reasons, status "
                                       "FROM discovery_candidates "
                                       "ORDER BY priority DESC, id"))
        return [(*r[:3], json.loads(r[3]) if isinstance(r[3], str) else r[3], r[4]) for r in rows]


def new_information(client, city, user="supervisor_t1"):
    answer = client.get("/v1/alerts/new-information", headers=city.auth(user))
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_id_numbers_match_households_and_members_and_raise_new_information(client, city, app):
    head, spouse = resident_id_number(401, birth="19500101"), resident_id_number(402, birth="19520303")
    household = register(client, city, id_number=head, members=[
        {"relation": "head", "birth_year": 1950}, {"relation": "spouse", "birth_year": 1952, "id_number": spouse}])
    content = csv_bytes(DISABILITY, [[head, "赵春华", "1950-01-01", "T1", days_ago(30), "一级"],
                                     [spouse, "孙丽", "1952-03-03", "T1", days_ago(40), "四级"]])
    report = upload(client, city, "disability", content).json()
    assert report["matching"] == {"matched_by_id_number": 2, "matched_by_name_to_confirm": 0, "candidates_new": 0,
                                  "candidates_updated": 0}
    with app.state.context.database.engine.connect() as connection:
        member_id = connection.execute(text("SELECT id FROM household_members WHERE position = 1")).scalar_one()
    # matched by ID number: the household's file holds the person, so the record keeps no personal data
    assert [r[1:] for r in records(app)] == [(household, None, "id_number", True, True),
                                             (household, member_id, "id_number", True, True)]
    alerts = new_information(client, city)
    assert alerts["total"] == 1
    [alert] = alerts["items"]
    assert (alert["household_id"], alert["station_id"], alert["alert"], alert["assessed_on"]) == \
        (household, city.stations["S1"], "reassess_new_information", None)
    assert [(r["rule"], r["indicator"], r["detail"]) for r in alert["reasons"]] == \
        [("disability", "dis_severity", "四级"), ("severe_disability", "dis_severity", "一级")]  # oldest first
    assert new_information(client, city, "supervisor_t3")["total"] == 0  # another town's supervisor
    assert candidates(app) == []


def test_a_number_that_is_a_households_own_matches_it_before_a_member_of_an_earlier_household(client, city, app):
    number = resident_id_number(406, birth="19580808")
    earlier = register(client, city, id_number=resident_id_number(407), members=[
        {"relation": "head", "birth_year": 1970}, {"relation": "spouse", "birth_year": 1958, "id_number": number}])
    own = client.post("/v1/households", headers=city.auth("supervisor_t1"),
                      json=household_payload(city.stations["S2"], id_number=number,
                                             override={"reason": "分户后另立户,核实无误"}))
    assert own.status_code == 201, own.text
    content = csv_bytes(DISABILITY, [[number, "钱芳", "1958-08-08", "T1", days_ago(3), "二级"]])
    assert upload(client, city, "disability", content).json()["matching"]["matched_by_id_number"] == 1
    assert earlier < own.json()["id"]
    assert [r[1:4] for r in records(app)] == [(own.json()["id"], None, "id_number")]


def test_a_new_assessment_after_the_record_clears_the_alert_and_stale_signals_raise_none(client, city, app, catalog):
    from tests.api.factories import calm_answers, submission

    head, other = resident_id_number(403), resident_id_number(404)
    household = register(client, city, id_number=head)
    stale = register(client, city, id_number=other)
    content = csv_bytes(UNEMPLOYMENT, [[head, "赵春华", "1970-01-01", "T1", days_ago(20)],
                                       [other, "赵春华", "1970-01-01", "T1", days_ago(400)]])  # fresh for 365 days
    assert upload(client, city, "unemployment", content).status_code == 201
    assert [i["household_id"] for i in new_information(client, city)["items"]] == [household]
    assessed = client.post(f"/v1/households/{household}/assessments", headers=city.auth("caseworker_s1"),
                           json=submission(calm_answers(catalog), assessed_on=days_ago(25)))
    assert assessed.status_code == 201, assessed.text
    assert [i["household_id"] for i in new_information(client, city)["items"]] == [household]  # assessed before
    again = client.post(f"/v1/households/{household}/assessments", headers=city.auth("caseworker_s1"),
                        json=submission(calm_answers(catalog), assessed_on=days_ago(1)))
    assert again.status_code == 201, again.text
    assert new_information(client, city)["items"] == []
    assert stale  # on file, with a stale signal only


def test_records_without_id_number_match_by_name_and_birth_date_in_the_town_and_wait_for_a_person(client, city, app):
    head = resident_id_number(405, birth="19700101")
    household = register(client, city, id_number=head, members=[
        {"relation": "head", "birth_year": 1970},
        {"relation": "spouse", "birth_year": 1968, "name": "李建国"}])
    content = csv_bytes(DISABILITY, [
        ["", "赵 春华", "1970-01-01", "T1", days_ago(3), "二级"],   # the head: birth date from the ID number
        ["", "李建国", "1968-05-20", "T1", days_ago(3), "一级"],    # the spouse: birth year only on file
        ["", "赵春华", "1970-01-02", "T1", days_ago(3), "一级"],    # another birth date: someone else
        ["", "李建国", "1968-05-20", "T2", days_ago(3), "三级"]])   # another town: someone else
    report = upload(client, city, "disability", content).json()
    assert report["matching"]["matched_by_name_to_confirm"] == 2
    assert report["matching"]["candidates_new"] == 2
    with app.state.context.database.engine.connect() as connection:
        spouse_id = connection.execute(text("SELECT id FROM household_members WHERE position = 1")).scalar_one()
    assert [r[1:5] for r in records(app)] == [(household, None, "name_birth", None),
                                              (household, spouse_id, "name_birth", None),
                                              (None, None, None, None), (None, None, None, None)]
    assert new_information(client, city)["items"] == []  # not until a person confirms
    waiting = client.get("/v1/discovery/matches", headers=city.auth("caseworker_s1"))
    assert waiting.status_code == 200
    assert [(m["household_id"], m["name"], m["birth_date"]) for m in waiting.json()] == \
        [(household, "赵 春华", "1970-01-01"), (household, "李建国", "1968-05-20")]
    assert client.get("/v1/discovery/matches", headers=city.auth("caseworker_s3")).json() == []
    first, second = (m["record_id"] for m in waiting.json())
    outsider = client.post(f"/v1/discovery/matches/{first}/decision", headers=city.auth("caseworker_s3"),
                           json={"confirmed": True})
    assert outsider.status_code == 403
    yes = client.post(f"/v1/discovery/matches/{first}/decision", headers=city.auth("caseworker_s1"),
                      json={"confirmed": True})
    assert yes.status_code == 200 and yes.json() == {"record_id": first, "household_id": household, "confirmed": True}
    again = client.post(f"/v1/discovery/matches/{first}/decision", headers=city.auth("caseworker_s1"),
                        json={"confirmed": False})
    assert again.status_code == 409
    no = client.post(f"/v1/discovery/matches/{second}/decision", headers=city.auth("supervisor_t1"),
                     json={"confirmed": False})
    assert no.status_code == 200
    [alert] = new_information(client, city)["items"]
    assert [r["rule"] for r in alert["reasons"]] == ["severe_disability"]
    # refused: 李建国 of T1 is on no file, and joins the two unmatched persons as a candidate
    assert sorted((c[1], c[2]) for c in candidates(app)) == sorted(
        [(city.towns["T1"], 40), (city.towns["T1"], 40), (city.towns["T2"], 20)])


def test_a_record_without_id_number_takes_the_first_person_of_its_town_by_name_and_birth_date_or_year(
        client, city, app):
    """Worked by hand: 张三 born 1960-05-01 heads `first` (the birth date from the ID number) and is a member of
    `second` (own ID number): the record takes `first`, the lower household. 李四 is a member of `first` born
    1971 and, written 李 四, of `second` born 1970, both by birth year only: the record of 1970 takes `second`'s.
    Another birth date, or the same person in another town, matches nobody."""
    first = register(client, city, id_number=resident_id_number(420, birth="19600501"), name="张三", members=[
        {"relation": "head", "birth_year": 1960}, {"relation": "child", "birth_year": 1971, "name": "李四"}])
    second = register(client, city, id_number=resident_id_number(421, birth="19800101"), name="王五", members=[
        {"relation": "head", "birth_year": 1980}, {"relation": "father", "birth_year": 1970, "name": "李 四"},
        {"relation": "mother", "birth_year": 1960, "name": "张三",
         "id_number": resident_id_number(422, birth="19600501")}])
    content = csv_bytes(DISABILITY, [["", "张三", "1960-05-01", "T1", days_ago(3), "二级"],
                                     ["", "张三", "1961-05-01", "T1", days_ago(3), "二级"],
                                     ["", "张三", "1960-05-01", "T2", days_ago(3), "二级"],
                                     ["", "李四", "1970-01-01", "T1", days_ago(3), "二级"]])
    report = upload(client, city, "disability", content).json()
    assert report["matching"]["matched_by_name_to_confirm"] == 2
    with app.state.context.database.engine.connect() as connection:
        father = connection.execute(text("SELECT id FROM household_members WHERE household_id = :h AND position = 1"),
                                    {"h": second}).scalar_one()
    assert [r[1:4] for r in records(app)] == [(first, None, "name_birth"), (None, None, None), (None, None, None),
                                              (second, father, "name_birth")]


def test_each_rule_and_signal_kind_makes_candidates_with_priorities_summed_per_person(client, city, app):
    alone, both, small_bill, dead, old = (resident_id_number(410 + i) for i in range(5))
    assert upload(client, city, "disability", csv_bytes(DISABILITY, [
        [alone, "甲", "1950-01-01", "T1", days_ago(1), "三级"],
        [both, "乙", "1960-01-01", "T3", days_ago(1), "二级"],
        [old, "戊", "1960-01-01", "T1", days_ago(800), "一级"]])).status_code == 201  # fresh 730 days
    assert upload(client, city, "medical_bills", csv_bytes(MEDICAL, [
        [both, "乙", "1960-01-01", "T3", days_ago(2), "20000"],
        [small_bill, "丙", "1970-01-01", "T1", days_ago(2), "19999.5"]])).status_code == 201
    assert upload(client, city, "deaths_moves", csv_bytes(DEATHS, [
        [dead, "丁", "1940-01-01", "T1", days_ago(2), "死亡"]])).status_code == 201
    assert candidates(app) == [
        (city.stations["S4"], city.towns["T3"], 70, ["severe_disability", "large_medical_bill"], "to_visit"),
        (city.stations["S1"], city.towns["T1"], 20, ["disability"], "to_visit")]
    assert upload(client, city, "unemployment", csv_bytes(UNEMPLOYMENT, [
        [alone, "甲", "1950-01-01", "T1", days_ago(1)]])).json()["matching"]["candidates_updated"] == 1
    assert candidates(app)[1][2:4] == (35, ["disability", "unemployed"])


def test_the_new_information_list_is_paged_by_household(client, city, app):
    numbers = [resident_id_number(420 + i) for i in range(3)]
    households = [register(client, city, id_number=n) for n in numbers]
    assert upload(client, city, "unemployment", csv_bytes(UNEMPLOYMENT, [
        [n, "赵春华", "1970-01-01", "T1", days_ago(5 + i)] for i, n in enumerate(numbers)])).status_code == 201
    first = client.get("/v1/alerts/new-information", headers=city.auth("caseworker_s1"), params={"limit": 2}).json()
    rest = client.get("/v1/alerts/new-information", headers=city.auth("caseworker_s1"),
                      params={"limit": 2, "offset": 2}).json()
    assert (first["total"], rest["total"]) == (3, 3)
    assert [i["household_id"] for i in first["items"] + rest["items"]] == households
