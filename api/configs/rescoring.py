"""Re-scoring stored assessments under the published configuration, as a resumable background job.

The job walks the assessments by id in batches, scored with `assess_frame` (the next batch is read and
scored in a second thread while one is written). Each batch is one transaction: api.assessments.store
writes the new results beside the old ones (never twice for one assessment and version) and moves the
latest rows to the new figures, and the job's cursor and counters move on. A crash loses at most the
batch in flight; resuming starts after the cursor, and a batch done twice writes nothing twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session

from api.assessments.frames import answers_frame
from api.assessments.latest import scored_columns
from api.assessments.store import store_rescored
from api.assessments.tables import Assessment
from api.auth.access import Caller, Role, require_role
from api.configs.records import published_config
from api.configs.tables import RescoringJob
from api.configs.versions import config_by_version
from api.db import Database
from api.db.base import utcnow
from api.encoding import iso
from api.errors import Conflict, not_found
from assessment import assess_frame

log = logging.getLogger(__name__)


def job_view(job: RescoringJob) -> dict:
    return {"id": job.id, "config_version": job.config_version, "status": job.status, "total": job.total,
            "done": job.done, "written": job.written, "cursor": job.cursor,
            "progress": round(job.done / job.total, 4) if job.total else 1.0, "error": job.error,
            "created_by": job.created_by, "created_at": iso(job.created_at), "started_at": iso(job.started_at),
            "finished_at": iso(job.finished_at)}


def create_job(*, session: Session, caller: Caller | None, catalog) -> dict:
    """A queued job over every stored assessment, under the configuration published now."""
    if caller is not None:
        require_role(caller, Role.analyst)
    config = published_config(session=session, catalog=catalog)
    job = RescoringJob(config_version=config.version, status="queued",
                       total=session.scalar(select(func.count(Assessment.id))), done=0, written=0, cursor=0,
                       created_by=caller.id if caller else None)
    session.add(job)
    session.flush()
    return job_view(job)


def get_job(*, session: Session, caller: Caller | None, job_id: int) -> dict:
    if caller is not None:
        require_role(caller, Role.analyst, Role.admin)
    return job_view(_job(session, job_id))


def list_jobs(*, session: Session, caller: Caller | None) -> list[dict]:
    if caller is not None:
        require_role(caller, Role.analyst, Role.admin)
    return [job_view(j) for j in session.scalars(select(RescoringJob).order_by(RescoringJob.id.desc()))]


def _job(session: Session, job_id: int) -> RescoringJob:
    job = session.get(RescoringJob, job_id)
    if job is None:
        raise not_found(f"Re-scoring job {job_id}", f"重新评分任务 {job_id}")
    return job


def check_resumable(*, session: Session, caller: Caller | None, job_id: int) -> dict:
    """A job that is not finished may be run again from its cursor (after a crash or a failure)."""
    if caller is not None:
        require_role(caller, Role.analyst)
    job = _job(session, job_id)
    if job.status == "completed":
        raise Conflict("job_completed", f"Job {job_id} is completed.", f"任务 {job_id} 已完成。", path="status")
    return job_view(job)


def _config(session: Session, catalog, version: str):
    config = config_by_version(session=session, catalog=catalog, version=version)
    if config is None:
        raise not_found(f"Scoring configuration {version!r}", f"评分配置 {version!r}")
    return config


def _score_batch(catalog, config, rows) -> pd.DataFrame:
    """The batch's assessments (id, region, date, answers JSON) scored under `config`: their ids and the
    latest-row columns a score decides."""
    frame = answers_frame(catalog, [row[3] for row in rows])
    frame.insert(0, "household_id", np.array([row[0] for row in rows], dtype=np.int64))
    frame["region"] = np.array([row[1] for row in rows], dtype=object)
    frame["year"] = np.array([row[2].year for row in rows], dtype=np.int64)
    batch = assess_frame(catalog, frame, config=config, passthrough=())
    valid = batch.valid
    scored = scored_columns(catalog, batch, pd.Series([row[2] for row in rows])[valid])
    scored.insert(0, "assessment_id", frame["household_id"].to_numpy()[valid])
    return scored


@dataclass(frozen=True)
class _Batch:
    last: int
    size: int
    staged: pd.DataFrame


def _next_batch(database: Database, catalog, config, cursor: int, batch_size: int) -> _Batch | None:
    """The assessments after `cursor` (by id), scored; None at the end."""
    with database.session() as session:
        rows = session.execute(select(Assessment.id, Assessment.region_id, Assessment.assessed_on,
                                      cast(Assessment.answers, Text))
                               .where(Assessment.id > cursor).order_by(Assessment.id).limit(batch_size)).all()
    if not rows:
        return None
    return _Batch(rows[-1][0], len(rows), _score_batch(catalog, config, rows))


def run_job(database: Database, catalog, job_id: int, *, batch_size: int = 50000, pause_s: float = 0.0,
            after_batch: Callable[[int], None] | None = None) -> dict:
    """Run (or resume) a job to the end, one committed batch at a time; `after_batch(done)` is called
    after each commit, then the job waits `pause_s`. The next batch is read and scored in a second thread
    while this one is written. A failure marks the job failed (resumable); the results so far stay."""
    with database.session(write=True) as session:
        job = _job(session, job_id)
        job.status, job.error = "running", None
        job.started_at = job.started_at or utcnow()
        config, cursor = _config(session, catalog, job.config_version), job.cursor
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"rescoring-{job_id}-read") as reader:
            pending = reader.submit(_next_batch, database, catalog, config, cursor, batch_size)
            while True:
                batch = pending.result()
                with database.session(write=True) as session:
                    job = _job(session, job_id)
                    if batch is None:
                        job.status, job.finished_at = "completed", utcnow()
                        return job_view(job)
                    pending = reader.submit(_next_batch, database, catalog, config, batch.last, batch_size)
                    job.written += store_rescored(session, staged=batch.staged, config_version=job.config_version,
                                                  catalog=catalog, job_id=job.id)
                    job.done += batch.size
                    job.cursor = batch.last
                    done = job.done
                if after_batch is not None:
                    after_batch(done)
                if pause_s:
                    time.sleep(pause_s)
    except Exception as exc:
        log.exception("re-scoring job %s failed", job_id)
        with database.session(write=True) as session:
            job = _job(session, job_id)
            job.status, job.error = "failed", f"{type(exc).__name__}: {exc}"
        raise


def start_in_background(database: Database, catalog, job_id: int, *, batch_size: int) -> threading.Thread:
    """Run the job in a daemon thread of this process (its progress is in the job row)."""
    def work() -> None:
        try:
            run_job(database, catalog, job_id, batch_size=batch_size)
        except Exception:  # already logged and recorded on the job
            pass

    thread = threading.Thread(target=work, name=f"rescoring-{job_id}", daemon=True)
    thread.start()
    return thread
