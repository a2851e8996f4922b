"""Bulk imports with their row-by-row outcomes; intake tokens, submissions waiting in the intake queue, and the
checkpoints of pulls from ODK Central."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, utcnow


class ImportJob(Base):
    """One import of a file into a station. `rows_done` is its checkpoint: the rows before it were handled and
    committed with their outcomes; an import of the same file into the same station resumes an unfinished job."""

    __tablename__ = "import_jobs"
    __table_args__ = (Index("ix_import_jobs_station_file", "station_id", "file_hash", "status"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    file_name: Mapped[str] = mapped_column(String(255))
    file_hash: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="running")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()


class ImportRow(Base):
    """The outcome of one row of an import: stored, already stored (by an earlier import), or refused with why.
    No personal data: the row's own key (`source_key`) and the service's household and assessment ids."""

    __tablename__ = "import_rows"
    job_id: Mapped[int] = mapped_column(ForeignKey("import_jobs.id", ondelete="CASCADE"), primary_key=True)
    row: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_key: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(16))
    household_id: Mapped[int | None] = mapped_column(Integer)
    registered: Mapped[bool] = mapped_column(default=False)
    assessment_id: Mapped[int | None] = mapped_column(Integer)
    code: Mapped[str | None] = mapped_column(String(64))
    path: Mapped[str | None] = mapped_column(String(200))
    message_zh: Mapped[str | None] = mapped_column(Text)
    message_en: Mapped[str | None] = mapped_column(Text)


class IntakeToken(Base):
    """A station's intake token (for KoboToolbox's REST service or a pull job), stored as its SHA-256."""

    __tablename__ = "intake_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))  # whom its assessments are stored as
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()


class IntakeSubmission(Base):
    """A collected submission, once per instance id: stored (its assessment), waiting in the queue with its
    errors, or rejected with a reason. `payload` is the submission as received, encrypted."""

    __tablename__ = "intake_submissions"
    __table_args__ = (Index("ix_intake_submissions_station_status", "station_id", "status", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(200), unique=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    source: Mapped[str] = mapped_column(String(16))
    form_version: Mapped[str | None] = mapped_column(String(128))
    payload: Mapped[str] = mapped_column(Text)
    household_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    errors: Mapped[list] = mapped_column(default=list)
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column()


class IntakeCheckpoint(Base):
    """How far a pull from an ODK Central form got: the latest submission date taken."""

    __tablename__ = "intake_checkpoints"
    source: Mapped[str] = mapped_column(String(500), primary_key=True)
    submitted_until: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
