"""Early warning: a list reproduced by hand on a small town, frozen at declaration, per station and scope, with a
checklist whose progress is tracked, exported; bad declarations refused with nothing stored."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from tests.api.factories import calm_answers, household_payload, resident_id_number, submission, with_answer
from tests.api.support import snapshot

TODAY = date.today()


def household(client, city, answers, *, station="S1", user="caseworker_s1", name="赵春华"):
    created = client.post("/v1/households", headers=city.auth(user),
                          json=household_payload(city.stations[station], name=name, id_number=resident_id_number()))
    assert created.status_code == 201, created.text
    household_id = created.json()["id"]
    assessed = client.post(f"/v1/households/{household_id}/assessments", headers=city.auth(user),
                           json=submission(answers, assessed_on=(TODAY - timedelta(days=30)).isoformat()))
    assert assessed.status_code == 201, assessed.text
    return household_id


def declare(client, city, kind, towns=("T1",), user="supervisor_t1", **extra):
    body = {"kind": kind, "town_ids": [city.towns[t] for t in towns], "starts_on": TODAY.isoformat(),
            "ends_on": (TODAY + timedelta(days=3)).isoformat(), **extra}
    return client.post("/v1/warnings", headers=city.auth(user), json=body)


def listed(client, city, event_id, user="supervisor_t1"):
    answer = client.get(f"/v1/warnings/{event_id}/households", headers=city.auth(user))
    assert answer.status_code == 200, answer.text
    return [(i["household_id"], i["risk"], [r["rule"] for r in i["reasons"]]) for i in answer.json()["items"]]


def test_an_early_warning_list_reproduced_by_hand_on_a_small_town(client, city, app, catalog):
    calm = calm_answers(catalog)
    # A (S1): an elderly person living alone with no heating: cold wave 40 + 30 = 70, heat wave 40
    a = household(client, city, with_answer(calm, care_lives_alone=True, fam_elderly_count=1, house_no_heating=True),
                  name="甲")
    # B (S1): bedridden with no caregiver (50) in a grade-D dwelling (35 in a cold wave, not in a heat wave)
    b = household(client, city, with_answer(calm, fam_bedridden_count=1, care_no_caregiver=True, house_safety=4),
                  name="乙")
    # C (S2): a grade-C dwelling only: 35 in a cold wave, nothing in a heat wave
    c = household(client, city, with_answer(calm, house_safety=3), station="S2", user="supervisor_t1", name="丙")
    # D (S1): nothing; E (S1): living alone but no elderly member: the rule needs both
    d = household(client, city, calm, name="丁")
    household(client, city, with_answer(calm, care_lives_alone=True, fam_elderly_count=0), name="戊")
    # F (T3): at risk, but in another town
    household(client, city, with_answer(calm, fam_bedridden_count=2, care_no_caregiver=True), station="S4",
              user="supervisor_t3", name="己")

    cold = declare(client, city, "cold_wave", note="寒潮蓝色预警")
    assert cold.status_code == 201, cold.text
    assert (cold.json()["households"], cold.json()["label_en"]) == (3, "Cold wave")
    cold_id = cold.json()["id"]
    assert listed(client, city, cold_id) == [(b, 85, ["bedridden_no_caregiver", "unsafe_housing"]),
                                             (a, 70, ["elderly_alone", "no_heating"]),
                                             (c, 35, ["unsafe_housing"])]
    heat = declare(client, city, "heat_wave").json()
    assert listed(client, city, heat["id"]) == [(b, 50, ["bedridden_no_caregiver"]), (a, 40, ["elderly_alone"])]

    # a station sees its own households; the names and phones to reach them
    mine = client.get(f"/v1/warnings/{cold_id}/households", headers=city.auth("caseworker_s1")).json()
    assert [(i["household_id"], i["name"], i["phone"]) for i in mine["items"]] == [(b, "乙", "13912345678"),
                                                                                   (a, "甲", "13912345678")]
    assert client.get(f"/v1/warnings/{cold_id}/households", headers=city.auth("supervisor_t3")).status_code == 403
    assert client.get(f"/v1/warnings/{cold_id}/households", headers=city.auth("caseworker_s3")).status_code == 403
    admin = client.get(f"/v1/warnings/{cold_id}/households", headers=city.auth("admin")).json()
    assert [(i["name"], i["phone"]) for i in admin["items"]] == [("*", "139****5678")] * 3  # masked

    # frozen: D's new assessment puts it at risk, the declared list stays, a new declaration has it
    again = client.post(f"/v1/households/{d}/assessments", headers=city.auth("caseworker_s1"),
                        json=submission(with_answer(calm, house_no_heating=True), assessed_on=TODAY.isoformat()))
    assert again.status_code == 201
    assert [h for h, _, _ in listed(client, city, cold_id)] == [b, a, c]
    later = declare(client, city, "cold_wave").json()
    assert (d, 30, ["no_heating"]) in listed(client, city, later["id"])

    # the checklist and the progress per station
    tick = client.post(f"/v1/warnings/{cold_id}/households/{a}/checklist", headers=city.auth("caseworker_s1"),
                       json={"contacted": True, "supplies_delivered": True})
    assert tick.status_code == 200, tick.text
    assert (tick.json()["contacted"]["done"], tick.json()["visited"]["done"], tick.json()["contacted"]["by"]) == \
        (True, False, city.user_ids["caseworker_s1"])
    assert client.post(f"/v1/warnings/{cold_id}/households/{c}/checklist", headers=city.auth("caseworker_s1"),
                       json={"visited": True}).status_code == 403  # S2's household
    assert client.post(f"/v1/warnings/{cold_id}/households/{d}/checklist", headers=city.auth("caseworker_s1"),
                       json={"visited": True}).status_code == 404  # not on the frozen list
    progress = client.get(f"/v1/warnings/{cold_id}", headers=city.auth("supervisor_t1")).json()
    assert [(s["station_id"], s["households"], s["contacted"], s["visited"], s["supplies_delivered"])
            for s in progress["stations"]] == [(city.stations["S1"], 2, 1, 0, 1), (city.stations["S2"], 1, 0, 0, 0)]
    export = client.get(f"/v1/warnings/{cold_id}/households", headers=city.auth("supervisor_t1"),
                        params={"format": "csv"})
    rows = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert [(int(r["household_id"]), r["risk"], r["contacted"]) for r in rows] == [(b, "85", ""), (a, "70", "✓"),
                                                                                   (c, "35", "")]
    assert [e["id"] for e in client.get("/v1/warnings", headers=city.auth("caseworker_s1")).json()] == \
        [later["id"], heat["id"], cold_id]
    assert client.get("/v1/warnings", headers=city.auth("supervisor_t3")).json() == []


def test_bad_declarations_are_refused_and_store_nothing(client, city, app):
    before = snapshot(app)
    assert declare(client, city, "earthquake").status_code == 422
    reversed_ = declare(client, city, "flood", ends_on=(TODAY - timedelta(days=1)).isoformat())
    assert (reversed_.status_code, reversed_.json()["errors"][0]["path"]) == (422, "ends_on")
    assert declare(client, city, "flood", towns=("T3",)).status_code == 403  # not the supervisor's town
    assert declare(client, city, "flood", user="caseworker_s1").status_code == 403
    missing = client.post("/v1/warnings", headers=city.auth("admin"),
                          json={"kind": "flood", "town_ids": [999], "starts_on": TODAY.isoformat(),
                                "ends_on": TODAY.isoformat()})
    assert (missing.status_code, missing.json()["errors"][0]["path"]) == (404, "town_ids.0")
    assert snapshot(app) == before
