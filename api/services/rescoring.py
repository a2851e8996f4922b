"""Re-scoring stored assessments under the published configuration, as a resumable background job.

The job walks the assessments by id in batches, scored with `assess_frame` (the next batch is read and
scored in a second thread while one is written). Each batch is one transaction: the new results go
beside the old ones in `assessment_rescores` (UNIQUE per assessment and configuration version, inserted
with ON CONFLICT DO NOTHING), `household_latest` takes the new figures, and the job's cursor and
counters move on. A crash loses at most the batch in flight; resuming starts after the cursor, and a
batch done twice writes nothing twice.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Text, cast, func, select, text
from sqlalchemy.orm import Session

from api.db import Database
from api.services.access import Caller, Role, require_role
from api.services.configs import as_config, published_config
from api.services.errors import Conflict, not_found
from api.services.latest import answers_frame
from api.services.views import iso
from api.services.workflows import workflows
from api.tables import Assessment, AssessmentRescore, RescoringJob, ScoringConfigRecord, utcnow
from assessment import assess_frame
from assessment.batch import join_codes

log = logging.getLogger(__name__)
STAGING_COLUMNS = ("assessment_id", "idx", "tier", "tier_code", "completeness", "provisional", "critical",
                   "dimension_scores", "services", "due_on")


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
    record = session.scalar(select(ScoringConfigRecord).where(ScoringConfigRecord.version == version))
    if record is not None:
        return as_config(record)
    default = catalog.default_config()
    if default.version != version:
        raise not_found(f"Scoring configuration {version!r}", f"评分配置 {version!r}")
    return default


def _dimension_json(catalog, scores: np.ndarray) -> np.ndarray:
    """Each row of dimension scores as a JSON object (null where a dimension has nothing answered)."""
    text = np.full(len(scores), "{", dtype=object)
    for k, dimension in enumerate(catalog.dimensions):
        column = scores[:, k]
        values = np.where(np.isnan(column), "null", column.astype(str)).astype(object)
        text = text + (", " if k else "") + f'"{dimension.id}": ' + values
    return text + "}"


def _score_batch(catalog, config, rows) -> pd.DataFrame:
    """The batch's assessments scored under `config`, as staging rows."""
    frame = answers_frame(catalog, [row[3] for row in rows])
    frame.insert(0, "household_id", np.array([row[0] for row in rows], dtype=np.int64))
    frame["region"] = np.array([row[1] for row in rows], dtype=object)
    frame["year"] = np.array([row[2].year for row in rows], dtype=np.int64)
    batch = assess_frame(catalog, frame, config=config, passthrough=())
    valid = batch.valid
    tiers = np.array(catalog.tier_ids, dtype=object)[batch.tier_code]
    services = np.asarray(join_codes(batch.recommendation_codes, [s.id for s in catalog.services]), dtype=object)
    assessed_on = pd.Series([row[2] for row in rows])[valid]
    return pd.DataFrame({
        "assessment_id": frame["household_id"].to_numpy()[valid], "idx": batch.index, "tier": tiers,
        "tier_code": batch.tier_code.astype(np.int64), "completeness": batch.completeness,
        "provisional": batch.provisional.astype(bool),
        "critical": (batch.raised_by >= 0).any(axis=1) if batch.raised_by.shape[1] else np.zeros(valid.sum(), bool),
        "dimension_scores": _dimension_json(catalog, batch.dimension_scores),
        "services": np.where(services == "", "", ";" + services + ";"),
        "due_on": workflows().due_dates(assessed_on, tiers, batch.provisional.astype(bool)),
    })


def _stage(session: Session, staged: pd.DataFrame) -> None:
    """Put the batch in a temporary table (COPY on PostgreSQL)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    session.execute(text("DROP TABLE IF EXISTS rescore_batch"))
    session.execute(text(
        "CREATE TEMPORARY TABLE rescore_batch (assessment_id INTEGER PRIMARY KEY, idx FLOAT, tier VARCHAR(64), "
        "tier_code INTEGER, completeness FLOAT, provisional BOOLEAN, critical BOOLEAN, dimension_scores TEXT, "
        "services TEXT, due_on DATE)"))
    if postgres:
        buffer = io.StringIO()
        staged.to_csv(buffer, index=False, header=False)
        cursor = session.connection().connection.driver_connection.cursor()
        with cursor.copy("COPY rescore_batch FROM STDIN WITH (FORMAT csv, FORCE_NOT_NULL (services))") as copy:
            copy.write(buffer.getvalue())
        session.execute(text("ANALYZE rescore_batch"))  # so the joins below use the indexes
    elif len(staged):
        records = staged.astype(object).assign(due_on=[d.isoformat() for d in staged["due_on"]]).to_dict("records")
        session.execute(text(f"INSERT INTO rescore_batch ({', '.join(STAGING_COLUMNS)}) VALUES "
                             f"({', '.join(':' + c for c in STAGING_COLUMNS)})"), records)


def _write(session: Session, config_version: str, job_id: int, first: int, last: int) -> None:
    """From the staging table: new result rows (never twice), and the ranking rows they change."""
    json_value = "CAST(b.dimension_scores AS JSON)" if session.get_bind().dialect.name == "postgresql" \
        else "b.dimension_scores"
    session.execute(text(
        "INSERT INTO assessment_rescores (assessment_id, config_version, job_id, \"index\", tier, completeness, "
        f"provisional, critical, dimension_scores, services) SELECT b.assessment_id, :version, :job, b.idx, b.tier, "
        f"b.completeness, b.provisional, b.critical, {json_value}, b.services FROM rescore_batch b WHERE 1 = 1 "
        "ON CONFLICT (assessment_id, config_version) DO NOTHING"), {"version": config_version, "job": job_id})
    session.execute(text(
        "UPDATE household_latest SET \"index\" = b.idx, tier = b.tier, tier_code = b.tier_code, "
        f"completeness = b.completeness, provisional = b.provisional, critical = b.critical, "
        f"dimension_scores = {json_value}, services = b.services, due_on = b.due_on, config_version = :version "
        "FROM rescore_batch b WHERE household_latest.assessment_id = b.assessment_id "
        "AND household_latest.assessment_id BETWEEN :first AND :last"),
        {"version": config_version, "first": first, "last": last})
    session.execute(text(
        "UPDATE household_latest SET previous_index = b.idx, previous_tier_code = b.tier_code "
        "FROM rescore_batch b WHERE household_latest.previous_assessment_id = b.assessment_id"))
    session.execute(text("DROP TABLE rescore_batch"))


def _written(session: Session, config_version: str, first: int, last: int) -> int:
    return session.scalar(select(func.count(AssessmentRescore.id)).where(
        AssessmentRescore.config_version == config_version, AssessmentRescore.assessment_id.between(first, last)))


@dataclass(frozen=True)
class _Batch:
    first: int
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
    return _Batch(rows[0][0], rows[-1][0], len(rows), _score_batch(catalog, config, rows))


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
                    before = _written(session, job.config_version, batch.first, batch.last)
                    _stage(session, batch.staged)
                    _write(session, job.config_version, job.id, batch.first, batch.last)
                    job.written += _written(session, job.config_version, batch.first, batch.last) - before
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
