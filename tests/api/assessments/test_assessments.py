"""Assessments: submission, idempotent retries, corrections, the household file, previews."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import date, timedelta

import pytest

from api.assessments.tables import Assessment
from assessment import assess
from tests.api.factories import calm_answers, household_payload, submission, with_answer
from tests.api.support import count_rows, snapshot


@pytest.fixture
def household(client, city):
    response = client.post("/v1/households", json=household_payload(city.stations["S1"]),
                           headers=city.auth("caseworker_s1"))
    return response.json()["id"]


def top_level(catalog, indicator_id):
    """The most deprived level of an ordinal indicator."""
    return max(catalog.indicator_by_id[indicator_id].answer.levels, key=lambda level: level.score).value


def submit(client, city, household, body, user="caseworker_s1"):
    return client.post(f"/v1/households/{household}/assessments", json=body, headers=city.auth(user))


def test_least_deprived_answers_store_index_zero_in_the_lowest_tier_with_versions(client, city, household, catalog):
    response = submit(client, city, household, submission(calm_answers(catalog)))
    assert response.status_code == 201
    stored = response.json()
    assert stored["index"] == 0 and stored["tier"] == catalog.tiers[0].id
    assert stored["catalog"] == {"id": catalog.id, "version": catalog.version, "hash": catalog.content_hash}
    assert stored["config_version"] == catalog.default_config().version
    assert stored["model"] is None
    assert stored["result"]["completeness"] == 1.0 and stored["result"]["contributions"]
    again = client.get(f"/v1/assessments/{stored['id']}", headers=city.auth("supervisor_t1")).json()
    assert again == stored


def test_critical_answer_raises_the_tier(client, city, household, catalog):
    answers = with_answer(calm_answers(catalog), econ_food_insecurity=top_level(catalog, "econ_food_insecurity"))
    stored = submit(client, city, household, submission(answers)).json()
    assert stored["tier"] == "severe" and "econ_food_insecurity" in stored["result"]["raised_by"]


def test_stored_result_reproduces_from_stored_answers(client, city, household, catalog):
    answers = with_answer(calm_answers(catalog), health_self_rated=top_level(catalog, "health_self_rated"))
    stored = submit(client, city, household, submission(answers, assessed_on="2025-06-30")).json()
    again = assess(catalog, stored["answers"], region=stored["region_id"], year=2025)
    assert again.as_dict() == stored["result"]


def test_retry_with_same_submission_id_returns_first_response_and_stores_nothing(client, city, household, catalog, app):
    body = submission(calm_answers(catalog))
    first = submit(client, city, household, body)
    before = snapshot(app)
    retry = submit(client, city, household, body)
    assert (retry.status_code, retry.json()) == (first.status_code, first.json())
    assert snapshot(app) == before


def test_a_retry_of_a_submission_fingerprinted_by_an_earlier_version_is_still_a_retry(client, city, household,
                                                                                     catalog, app):
    # before orjson, the fingerprint was the standard library's JSON, which spells 0.00001 as 1e-05, not 1e-5
    amount = next(i for i in catalog.indicators if i.answer.type == "amount" and i.answer.min <= 1e-5)
    body = submission(with_answer(calm_answers(catalog), **{amount.id: 0.00001}))
    first = submit(client, city, household, body)
    earlier = hashlib.sha256(json.dumps(
        {"household_id": household, "answers": body["answers"], "assessed_on": body["assessed_on"], "corrects": None},
        sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")).hexdigest()
    with app.state.context.database.session(write=True) as session:
        stored = session.get(Assessment, first.json()["id"])
        assert stored.request_hash != earlier
        stored.request_hash = earlier
    before = snapshot(app)
    retry = submit(client, city, household, body)
    assert (retry.status_code, retry.json()) == (first.status_code, first.json())
    assert snapshot(app) == before


def test_same_submission_id_with_other_answers_is_409(client, city, household, catalog, app):
    body = submission(calm_answers(catalog))
    first = submit(client, city, household, body).json()
    before = snapshot(app)
    changed = {**body, "answers": with_answer(body["answers"], fam_household_size=3)}
    response = submit(client, city, household, changed)
    assert response.status_code == 409
    assert response.json()["errors"][0]["path"] == "submission_id"
    assert response.json()["existing_assessment_id"] == first["id"]
    assert snapshot(app) == before


def test_invalid_answers_are_422_listing_every_problem_and_store_nothing(client, city, household, catalog, app):
    answers = with_answer(calm_answers(catalog), fam_household_size=0, fam_school_age_children="many",
                          no_such_indicator=1)
    del answers["econ_income_per_capita"]
    before = snapshot(app)
    response = submit(client, city, household, submission(answers))
    assert response.status_code == 422
    problem = response.json()
    assert problem["status"] == 422 and response.headers["content-type"].startswith("application/problem+json")
    paths = {e["path"]: e for e in problem["errors"]}
    assert set(paths) == {"answers.fam_household_size", "answers.fam_school_age_children",
                          "answers.no_such_indicator", "answers.econ_income_per_capita"}
    assert all(e["message_zh"] and e["message_en"] and e["code"] for e in problem["errors"])
    assert paths["answers.econ_income_per_capita"]["code"] == "missing_required"
    assert snapshot(app) == before


def test_request_shape_errors_are_422_with_field_paths(client, city, household, app):
    before = snapshot(app)
    response = submit(client, city, household, {"submission_id": "not-a-uuid", "answers": {}, "extra": 1})
    assert response.status_code == 422
    paths = {e["path"] for e in response.json()["errors"]}
    assert paths == {"submission_id", "assessed_on", "extra"}
    assert all(e["message_zh"] and e["message_en"] for e in response.json()["errors"])
    assert snapshot(app) == before


def test_correction_chain_keeps_every_version(client, city, household, catalog):
    calm = calm_answers(catalog)
    first = submit(client, city, household, submission(calm)).json()
    second = submit(client, city, household, submission(with_answer(calm, fam_household_size=3),
                                                        corrects=first["id"])).json()
    third = submit(client, city, household, submission(with_answer(calm, fam_household_size=4),
                                                       corrects=second["id"])).json()
    assert (second["corrects"], third["corrects"]) == (first["id"], second["id"])
    assert client.get(f"/v1/assessments/{first['id']}", headers=city.auth("caseworker_s1")).json() == first
    branch = submit(client, city, household, submission(calm, corrects=first["id"]))
    assert branch.status_code == 409 and branch.json()["corrected_by"] == second["id"]
    entries = {e["id"]: e for e in client.get(f"/v1/households/{household}/file",
                                              headers=city.auth("caseworker_s1")).json()["assessments"]}
    assert entries[first["id"]]["corrected_by"] == second["id"]
    assert entries[second["id"]]["corrected_by"] == third["id"]
    assert entries[third["id"]]["corrected_by"] is None


def test_correction_must_name_an_assessment_of_the_same_household(client, city, household, catalog):
    other = client.post("/v1/households", json=household_payload(city.stations["S1"]),
                        headers=city.auth("caseworker_s1")).json()["id"]
    foreign = submit(client, city, other, submission(calm_answers(catalog))).json()
    response = submit(client, city, household, submission(calm_answers(catalog), corrects=foreign["id"]))
    assert response.status_code == 404 and response.json()["errors"][0]["path"] == "corrects"


def test_household_file_shows_change_in_index_and_tier_between_current_assessments(client, city, household, catalog):
    calm = calm_answers(catalog)
    severe = with_answer(calm, econ_food_insecurity=top_level(catalog, "econ_food_insecurity"))
    first = submit(client, city, household, submission(calm, assessed_on="2025-01-10")).json()
    typo = submit(client, city, household, submission(calm, assessed_on="2025-07-01")).json()
    fixed = submit(client, city, household, submission(severe, assessed_on="2025-07-01", corrects=typo["id"])).json()
    file = client.get(f"/v1/households/{household}/file", headers=city.auth("caseworker_s1")).json()
    assert [e["id"] for e in file["assessments"]] == [first["id"], typo["id"], fixed["id"]]
    latest = file["assessments"][-1]
    assert latest["change"]["since"] == first["id"]
    assert latest["change"]["index"] == pytest.approx(fixed["index"] - 0.0)
    assert (latest["change"]["tier_from"], latest["change"]["tier_to"]) == ("none", "severe")
    assert latest["change"]["tier_direction"] == "up"
    assert file["assessments"][1]["change"] is None  # corrected: not part of the series
    assert file["household"]["personal"]["name"]


def test_preview_scores_without_storing(client, city, catalog, app):
    region = next(r.id for r in catalog.regions if r.parent)
    before = count_rows(app, "assessments")
    response = client.post("/v1/score", json={"answers": calm_answers(catalog), "region_id": region,
                                              "assessed_on": "2026-01-01"}, headers=city.auth("analyst"))
    assert response.status_code == 200 and response.json()["index"] == 0
    assert count_rows(app, "assessments") == before
    unknown = client.post("/v1/score", json={"answers": {}, "region_id": "atlantis"}, headers=city.auth("analyst"))
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["path"] == "region_id"


def test_submission_to_missing_household_is_404(client, city, catalog):
    response = submit(client, city, 999999, submission(calm_answers(catalog)))
    assert response.status_code == 404 and response.json()["type"].endswith("/not_found")


def test_submission_ids_are_unique_across_households(client, city, household, catalog):
    body = submission(calm_answers(catalog), submission_id=str(uuid.uuid4()))
    submit(client, city, household, body)
    other = client.post("/v1/households", json=household_payload(city.stations["S1"]),
                        headers=city.auth("caseworker_s1")).json()["id"]
    assert submit(client, city, other, body).status_code == 409


def test_an_interview_date_after_tomorrow_or_before_the_earliest_is_refused_naming_assessed_on(
        client, city, household, catalog, app, monkeypatch):
    today = date.today()
    calm = calm_answers(catalog)
    region = next(r.id for r in catalog.regions if r.parent)
    before = snapshot(app)
    refused = {str(today + timedelta(days=2)): "date_in_future", "2999-01-01": "date_in_future",
               "9999-09-30": "date_in_future", "0001-01-01": "date_too_early", "1999-12-31": "date_too_early"}
    for assessed_on, code in refused.items():
        for user in ("caseworker_s1", "supervisor_t1"):  # the usual path and the writer's
            response = submit(client, city, household, submission(calm, assessed_on=assessed_on), user=user)
            assert response.status_code == 422, (assessed_on, response.text)
            [error] = response.json()["errors"]
            assert (error["path"], error["code"]) == ("assessed_on", code)
            assert assessed_on in error["message_en"] and assessed_on in error["message_zh"]
        preview = client.post("/v1/score", json={"answers": calm, "region_id": region, "assessed_on": assessed_on},
                              headers=city.auth("analyst"))
        assert preview.status_code == 422 and preview.json()["errors"][0]["path"] == "assessed_on"
    assert snapshot(app) == before
    tomorrow = submit(client, city, household, submission(calm, assessed_on=str(today + timedelta(days=1))))
    assert tomorrow.status_code == 201, tomorrow.text  # a device's clock a day ahead
    monkeypatch.setattr(app.state.context.settings, "earliest_assessed_on", today - timedelta(days=10))
    early = submit(client, city, household, submission(calm, assessed_on=str(today - timedelta(days=11))))
    assert early.status_code == 422 and early.json()["errors"][0]["code"] == "date_too_early"
    assert submit(client, city, household,
                  submission(calm, assessed_on=str(today - timedelta(days=10)))).status_code == 201


def test_based_on_an_assessment_that_is_no_longer_the_latest_is_409_household_changed(client, city, household,
                                                                                        catalog, app):
    calm = calm_answers(catalog)
    first = submit(client, city, household, {**submission(calm), "based_on": 0})
    assert first.status_code == 201  # the device saw no assessment, and there was none
    second = submit(client, city, household, {**submission(calm), "based_on": first.json()["id"]})
    assert second.status_code == 201
    before = snapshot(app)
    stale = {**submission(calm), "based_on": first.json()["id"]}  # opened before the second was stored
    refused = submit(client, city, household, stale)
    assert refused.status_code == 409
    assert [(e["path"], e["code"]) for e in refused.json()["errors"]] == [("based_on", "household_changed")]
    assert refused.json()["latest_assessment_id"] == second.json()["id"]
    assert submit(client, city, household, {**stale, "based_on": 0}).status_code == 409  # saw none: also stale
    assert snapshot(app) == before
    # Resolved: sent again naming the latest now seen, under the same submission id.
    resent = submit(client, city, household, {**stale, "based_on": second.json()["id"]})
    assert resent.status_code == 201
    # A retry of what is stored is a replay, whatever it names: it was checked when it was stored.
    assert submit(client, city, household, {**stale, "based_on": 0}).json() == resent.json()
    assert submit(client, city, household, submission(calm)).status_code == 201  # absent: not checked
