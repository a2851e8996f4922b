"""Re-scoring: results beside the old ones, a job killed half-way and resumed with nothing lost or doubled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from api.assessments.tables import AssessmentRescore
from api.configs import rescoring
from api.configs.tables import RescoringJob
from tests.api.support import DATA_KEY, HASH_KEY, count_rows
from tests.api.workflow_helpers import TIER_BY_DEPRIVED, assess, deprived, new_household, publish_test_cutoffs

PLAN = [0, 1, 2, 3, 4, 2, 4]
REPOSITORY = Path(__file__).resolve().parents[3]


class Killed(BaseException):
    """Stands for the process dying: not an Exception, so the job is not marked failed."""


@pytest.fixture
def stored(app, client, city, catalog):
    """Seven assessments under the default configuration, then the test cut-offs published."""
    ids = {}
    for n in PLAN:
        household = new_household(client, city, "S1", "caseworker_s1")
        ids[assess(client, city, "caseworker_s1", household, deprived(catalog, n))["id"]] = n
    publish_test_cutoffs(app)
    return ids


def rescored(app) -> dict[int, str]:
    with app.state.context.database.session() as session:
        return dict(session.execute(select(AssessmentRescore.assessment_id, AssessmentRescore.tier)).all())


def test_a_job_killed_half_way_resumes_without_losing_or_doubling(app, client, city, stored, catalog):
    context = app.state.context
    with context.database.session(write=True) as session:
        job = rescoring.create_job(session=session, caller=None, catalog=catalog)
    assert job["total"] == 7 and job["config_version"] == "test-cutoffs"

    def die_after_two_batches(done: int) -> None:
        if done >= 4:
            raise Killed

    with pytest.raises(Killed):
        rescoring.run_job(context.database, catalog, job["id"], batch_size=2, after_batch=die_after_two_batches)
    with context.database.session() as session:
        half = rescoring.get_job(session=session, caller=None, job_id=job["id"])
    assert (half["status"], half["done"], half["written"]) == ("running", 4, 4)
    assert len(rescored(app)) == 4

    finished = rescoring.run_job(context.database, catalog, job["id"], batch_size=2)
    assert (finished["status"], finished["done"], finished["written"]) == ("completed", 7, 7)
    assert rescored(app) == {assessment: TIER_BY_DEPRIVED[n] for assessment, n in stored.items()}

    with context.database.session(write=True) as session:  # even a lost cursor cannot double a result
        session.execute(update(RescoringJob).where(RescoringJob.id == job["id"]).values(cursor=0, status="failed"))
    again = rescoring.run_job(context.database, catalog, job["id"], batch_size=3)
    assert again["written"] == 7 and count_rows(app, "assessment_rescores") == 7
    with context.database.session() as session:
        assert session.scalar(select(func.count(func.distinct(AssessmentRescore.assessment_id)))) == 7


def test_old_results_stay_and_the_ranking_takes_the_new_ones(app, client, city, stored, catalog):
    rescoring.run_job(app.state.context.database, catalog, _new_job(app, catalog), batch_size=3)
    for assessment_id in stored:
        old = client.get(f"/v1/assessments/{assessment_id}", headers=city.auth("admin")).json()
        assert old["config_version"] == catalog.default_config().version and old["tier"] == "none"
    items = client.get("/v1/rankings", params={"limit": 500}, headers=city.auth("analyst")).json()["items"]
    by_assessment = {item["assessment_id"]: (item["tier"], item["config_version"]) for item in items}
    assert by_assessment == {a: (TIER_BY_DEPRIVED[n], "test-cutoffs") for a, n in stored.items()}


def _new_job(app, catalog) -> int:
    with app.state.context.database.session(write=True) as session:
        return rescoring.create_job(session=session, caller=None, catalog=catalog)["id"]


def test_the_api_runs_a_job_in_the_background_with_progress(app, client, city, stored):
    assert client.post("/v1/rescoring-jobs", headers=city.auth("supervisor_t1")).status_code == 403
    started = client.post("/v1/rescoring-jobs", headers=city.auth("analyst"))
    assert started.status_code == 202
    job_id = started.json()["id"]
    for _ in range(200):
        job = client.get(f"/v1/rescoring-jobs/{job_id}", headers=city.auth("analyst")).json()
        if job["status"] in ("completed", "failed"):
            break
        time.sleep(0.05)
    assert (job["status"], job["done"], job["total"], job["progress"]) == ("completed", 7, 7, 1.0)
    assert client.post(f"/v1/rescoring-jobs/{job_id}/resume", headers=city.auth("analyst")).status_code == 409
    assert len(rescored(app)) == 7


def _rescore_command(database_url: str, *options: str) -> subprocess.Popen:
    """`assess config rescore` in a process of its own, against the test database."""
    environment = {**os.environ, "ASSESS_DATABASE_URL": database_url, "ASSESS_DATA_KEY": DATA_KEY,
                   "ASSESS_HASH_KEY": HASH_KEY, "ASSESS_ENV": "production"}
    return subprocess.Popen([sys.executable, "-m", "cli.main", "config", "rescore", "--batch-size", "1", *options],
                            cwd=REPOSITORY, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _job_row(app) -> RescoringJob | None:
    with app.state.context.database.session() as session:
        job = session.scalar(select(RescoringJob))
        if job is not None:
            session.expunge(job)
        return job


def test_a_job_process_killed_half_way_resumes_without_losing_or_doubling(app, client, city, stored, database_url):
    process = _rescore_command(database_url, "--pause", "0.4")
    try:
        for _ in range(600):  # until two batches are committed (at most a minute)
            job = _job_row(app)
            if job is not None and job.done >= 2 or process.poll() is not None:
                break
            time.sleep(0.1)
        assert process.poll() is None, process.communicate()
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    killed = _job_row(app)
    assert killed.status == "running" and 2 <= killed.done < 7 and killed.written == killed.done
    assert len(rescored(app)) == killed.done

    resumed = _rescore_command(database_url, "--resume", str(killed.id))
    output, errors = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, errors
    assert f"job {killed.id} completed: 7 new results" in output
    finished = _job_row(app)
    assert (finished.status, finished.done, finished.written, finished.total) == ("completed", 7, 7, 7)
    assert rescored(app) == {assessment: TIER_BY_DEPRIVED[n] for assessment, n in stored.items()}
    assert count_rows(app, "assessment_rescores") == 7
