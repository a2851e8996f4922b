"""Concurrent retries of one submission against a real server: exactly one assessment is stored."""

from __future__ import annotations

import threading
import time

import httpx
from sqlalchemy import text

from tests.api.factories import calm_answers, household_payload, with_answer
from tests.api.factories import submission as submission_body
from tests.api.support import count_rows


def fire_together(url: str | list[str], bodies: list[dict], headers: dict) -> list[httpx.Response]:
    """Post each body at the same moment (to one URL, or to the URL at the same position)."""
    urls = url if isinstance(url, list) else [url] * len(bodies)
    barrier = threading.Barrier(len(bodies))
    responses: list[httpx.Response | None] = [None] * len(bodies)

    def send(position: int) -> None:
        with httpx.Client(timeout=60) as http:
            barrier.wait()
            responses[position] = http.post(urls[position], json=bodies[position], headers=headers)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return responses


def test_concurrent_duplicate_submissions_store_exactly_one(server, client, city, catalog, app):
    household = client.post("/v1/households", json=household_payload(city.stations["S1"]),
                            headers=city.auth("caseworker_s1")).json()["id"]
    body = submission_body(calm_answers(catalog))
    responses = fire_together(f"{server}/v1/households/{household}/assessments", [body] * 8,
                              city.auth("caseworker_s1"))
    assert {r.status_code for r in responses} == {201}
    assert len({r.text for r in responses}) == 1
    assert count_rows(app, "assessments") == 1


def test_concurrent_corrections_of_one_assessment_keep_the_chain_linear(server, client, city, catalog, app):
    household = client.post("/v1/households", json=household_payload(city.stations["S1"]),
                            headers=city.auth("caseworker_s1")).json()["id"]
    calm = calm_answers(catalog)
    first = client.post(f"/v1/households/{household}/assessments", json=submission_body(calm),
                        headers=city.auth("caseworker_s1")).json()
    bodies = [submission_body(with_answer(calm, fam_household_size=size), corrects=first["id"]) for size in range(2, 8)]
    responses = fire_together(f"{server}/v1/households/{household}/assessments", bodies, city.auth("caseworker_s1"))
    assert sorted(r.status_code for r in responses) == [201] + [409] * 5
    assert count_rows(app, "assessments") == 2


def test_submissions_are_stored_by_at_most_writers_at_a_time(server, client, city, catalog, app, database_url,
                                                             monkeypatch):
    """More concurrent submissions than writers: the others wait their turn (one at a time on SQLite; on
    PostgreSQL as many as there are asyncio connections)."""
    from api.assessments import submission

    submit, lock = submission.submit, threading.Lock()
    inside = most = 0

    def counting(*, session, **arguments):
        nonlocal inside, most
        with lock:
            inside += 1
            most = max(most, inside)
        try:  # long enough for the others to arrive meanwhile
            if session.get_bind().dialect.name == "postgresql":
                session.execute(text("SELECT pg_sleep(0.2)"))  # waits on the event loop, as the statements do
            else:
                time.sleep(0.2)
            return submit(session=session, **arguments)
        finally:
            with lock:
                inside -= 1

    monkeypatch.setattr(submission, "submit", counting)
    # a household each: submissions for one household that overtake each other are stored again
    households = [client.post("/v1/households", json=household_payload(city.stations["S1"]),
                              headers=city.auth("caseworker_s1")).json()["id"] for _ in range(6)]
    responses = fire_together([f"{server}/v1/households/{household}/assessments" for household in households],
                              [submission_body(calm_answers(catalog)) for _ in households], city.auth("caseworker_s1"))
    assert [r.status_code for r in responses] == [201] * 6
    assert count_rows(app, "assessments") == 6
    allowed = 1 if database_url.startswith("sqlite") else app.state.context.settings.writer_threads
    assert 1 <= most <= allowed < len(households)
    if not database_url.startswith("sqlite"):
        assert most > 1  # they do run side by side on PostgreSQL


def test_concurrent_submissions_for_one_household_leave_its_latest_row_as_a_full_refresh(
        server, client, city, catalog, app):
    """Submissions for the same household at the same moment, some on the same day, some earlier: whichever
    order they commit in, the latest row (and its `previous_*`) is what a refresh from the stored assessments
    gives."""
    from tests.api.assessments.test_store import assert_matches_full_refresh

    auth = city.auth("caseworker_s1")
    household = client.post("/v1/households", json=household_payload(city.stations["S1"]), headers=auth).json()["id"]
    calm = calm_answers(catalog)
    assert client.post(f"/v1/households/{household}/assessments", json=submission_body(calm, assessed_on="2026-01-05"),
                       headers=auth).status_code == 201
    for _ in range(8):
        bodies = [submission_body(with_answer(calm, fam_household_size=size), assessed_on=day)
                  for size, day in zip(range(2, 10), ["2026-03-01", "2026-03-01", "2026-03-02", "2026-02-01"] * 2)]
        responses = fire_together(f"{server}/v1/households/{household}/assessments", bodies, auth)
        assert {r.status_code for r in responses} == {201}
        assert_matches_full_refresh(app, household)
