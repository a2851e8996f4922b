"""Concurrent retries of one submission against a real server: exactly one assessment is stored."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time

import httpx

from tests.api.factories import calm_answers, household_payload, submission, with_answer
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
    body = submission(calm_answers(catalog))
    responses = fire_together(f"{server}/v1/households/{household}/assessments", [body] * 8,
                              city.auth("caseworker_s1"))
    assert {r.status_code for r in responses} == {201}
    assert len({r.text for r in responses}) == 1
    assert count_rows(app, "assessments") == 1


def test_concurrent_corrections_of_one_assessment_keep_the_chain_linear(server, client, city, catalog, app):
    household = client.post("/v1/households", json=household_payload(city.stations["S1"]),
                            headers=city.auth("caseworker_s1")).json()["id"]
    calm = calm_answers(catalog)
    first = client.post(f"/v1/households/{household}/assessments", json=submission(calm),
                        headers=city.auth("caseworker_s1")).json()
    bodies = [submission(with_answer(calm, fam_household_size=size), corrects=first["id"]) for size in range(2, 8)]
    responses = fire_together(f"{server}/v1/households/{household}/assessments", bodies, city.auth("caseworker_s1"))
    assert sorted(r.status_code for r in responses) == [201] + [409] * 5
    assert count_rows(app, "assessments") == 2


def test_submissions_are_stored_by_at_most_writer_threads_at_a_time(server, client, city, catalog, app, database_url,
                                                                    monkeypatch):
    """More concurrent submissions than writers: the others wait their turn (one at a time on SQLite; on
    PostgreSQL as many as there are writer threads, or asyncio connections for the usual ones)."""
    from api.services import assessments as service

    in_thread, on_loop, lock = service._submit_in_session, service._submit_usual, threading.Lock()
    inside = most = 0
    paths = set()

    @contextlib.contextmanager
    def counted(path: str):
        nonlocal inside, most
        paths.add(path)
        with lock:
            inside += 1
            most = max(most, inside)
        try:
            yield
        finally:
            with lock:
                inside -= 1

    def counting(*args):
        with counted("thread"):
            time.sleep(0.2)  # long enough for the others to arrive meanwhile
            return in_thread(*args)

    async def counting_on_loop(*args, **kwargs):
        with counted("loop"):
            await asyncio.sleep(0.2)
            return await on_loop(*args, **kwargs)

    monkeypatch.setattr(service, "_submit_in_session", counting)
    monkeypatch.setattr(service, "_submit_usual", counting_on_loop)
    # a household each: submissions for one household that overtake each other are stored by a writer
    households = [client.post("/v1/households", json=household_payload(city.stations["S1"]),
                              headers=city.auth("caseworker_s1")).json()["id"] for _ in range(6)]
    responses = fire_together([f"{server}/v1/households/{household}/assessments" for household in households],
                              [submission(calm_answers(catalog)) for _ in households], city.auth("caseworker_s1"))
    assert [r.status_code for r in responses] == [201] * 6
    assert count_rows(app, "assessments") == 6
    sqlite = database_url.startswith("sqlite")
    allowed = 1 if sqlite else app.state.context.settings.writer_threads
    assert 1 <= most <= allowed < len(households)
    assert paths == ({"thread"} if sqlite else {"loop"})


def test_concurrent_submissions_for_one_household_leave_its_latest_row_as_a_full_refresh(
        server, client, city, catalog, app):
    """Submissions for the same household at the same moment, some on the same day, some earlier: whichever
    order they commit in, the latest row (and its `previous_*`) is what a refresh from the stored assessments
    gives."""
    from tests.api.test_submission_paths import assert_matches_full_refresh

    auth = city.auth("caseworker_s1")
    household = client.post("/v1/households", json=household_payload(city.stations["S1"]), headers=auth).json()["id"]
    calm = calm_answers(catalog)
    assert client.post(f"/v1/households/{household}/assessments", json=submission(calm, assessed_on="2026-01-05"),
                       headers=auth).status_code == 201
    for _ in range(8):
        bodies = [submission(with_answer(calm, fam_household_size=size), assessed_on=day)
                  for size, day in zip(range(2, 10), ["2026-03-01", "2026-03-01", "2026-03-02", "2026-02-01"] * 2)]
        responses = fire_together(f"{server}/v1/households/{household}/assessments", bodies, auth)
        assert {r.status_code for r in responses} == {201}
        assert_matches_full_refresh(app, household)
