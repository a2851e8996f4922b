"""Scoring configurations, every catalog the service has used, and re-scoring jobs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, utcnow


class ScoringConfigRecord(Base):
    """A scoring configuration: a draft, the one published (used by new assessments), or retired."""

    __tablename__ = "scoring_configs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    label: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    document: Mapped[dict] = mapped_column()
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column()
    published_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class RescoringJob(Base):
    """Re-scoring every stored assessment under one configuration, in committed batches after `cursor`."""

    __tablename__ = "rescoring_jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    config_version: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    total: Mapped[int] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer, default=0)
    written: Mapped[int] = mapped_column(Integer, default=0)
    cursor: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()


class CatalogVersion(Base):
    """A catalog the service has used, by its content hash: its files' text as read (`documents`, file name ->
    YAML text), kept when the service first starts with it, so that a result stored under it can be computed
    again after the catalog on disk has changed (api.configs.versions)."""

    __tablename__ = "catalog_versions"
    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    catalog_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(64))
    documents: Mapped[dict] = mapped_column()
    first_used_at: Mapped[datetime] = mapped_column(default=utcnow)
