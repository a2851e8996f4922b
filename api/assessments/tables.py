"""Frozen assessments, their results re-scored under other configurations, and each household's latest one."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, utcnow


class Assessment(Base):
    """One frozen assessment: the answers, every figure of the result and the versions that made it."""

    __tablename__ = "assessments"
    # with id: a household's latest assessment is the first entry read backwards, even among several on one day
    __table_args__ = (Index("ix_assessments_household_assessed", "household_id", "assessed_on", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    assessed_on: Mapped[date] = mapped_column(Date)
    region_id: Mapped[str] = mapped_column(String(64))
    answers: Mapped[dict] = mapped_column()
    result: Mapped[dict] = mapped_column()
    index: Mapped[float] = mapped_column(Float)
    tier: Mapped[str] = mapped_column(String(64))
    completeness: Mapped[float] = mapped_column(Float)
    provisional: Mapped[bool] = mapped_column(Boolean)
    catalog_id: Mapped[str] = mapped_column(String(64))
    catalog_version: Mapped[str] = mapped_column(String(64))
    catalog_hash: Mapped[str] = mapped_column(String(64))
    config_version: Mapped[str] = mapped_column(String(128))
    model_version: Mapped[str | None] = mapped_column(String(128))
    model_opinion: Mapped[dict | None] = mapped_column()
    needs_review: Mapped[bool | None] = mapped_column(Boolean)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(36), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class HouseholdLatest(Base):
    """Each household's latest current assessment, denormalised so a ranking page is one indexed query.

    Kept in the submission's transaction (and by re-scoring); `previous_*` describe the current assessment
    before it, for alerts. `services` is the recommended service ids as `;a;b;` (a LIKE filter).
    """

    __tablename__ = "household_latest"
    # The rank indexes end with status so a page's count is an index-only scan; a tier filter reads the
    # town's index in rank order (each index more costs every re-scored row an index write).
    __table_args__ = (
        Index("ix_household_latest_town_rank", "town_id", "index", "tier_code", "completeness", "household_id",
              "status"),
        Index("ix_household_latest_station_rank", "station_id", "index", "tier_code", "completeness",
              "household_id", "status"),
        Index("ix_household_latest_rank", "index", "tier_code", "completeness", "household_id", "status"),
        Index("ix_household_latest_due", "station_id", "due_on"),
    )
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"), index=True)
    station_id: Mapped[int] = mapped_column(Integer)
    town_id: Mapped[int] = mapped_column(Integer)
    region_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10))
    assessed_on: Mapped[date] = mapped_column(Date)
    index: Mapped[float] = mapped_column(Float)
    tier: Mapped[str] = mapped_column(String(64))
    tier_code: Mapped[int] = mapped_column(Integer)
    completeness: Mapped[float] = mapped_column(Float)
    provisional: Mapped[bool] = mapped_column(Boolean)
    critical: Mapped[bool] = mapped_column(Boolean)
    dimension_scores: Mapped[dict] = mapped_column()
    services: Mapped[str] = mapped_column(Text)
    config_version: Mapped[str] = mapped_column(String(128))
    due_on: Mapped[date] = mapped_column(Date)
    previous_assessment_id: Mapped[int | None] = mapped_column(Integer, index=True)
    previous_index: Mapped[float | None] = mapped_column(Float)
    previous_tier_code: Mapped[int | None] = mapped_column(Integer)


class LatestAnswers(Base):
    """The answers of each household's latest assessment as one CSV line in the catalog's indicator order
    (`layout` names that order), so an impact preview reads a compact text instead of parsing JSON."""

    __tablename__ = "latest_answers"
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), primary_key=True)
    assessment_id: Mapped[int] = mapped_column(Integer)
    layout: Mapped[str] = mapped_column(String(16))
    answers: Mapped[str] = mapped_column(Text)


class AssessmentRescore(Base):
    """A stored assessment scored again under another configuration, beside (never over) the original."""

    __tablename__ = "assessment_rescores"
    __table_args__ = (UniqueConstraint("assessment_id", "config_version", name="uq_assessment_rescores_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"))
    config_version: Mapped[str] = mapped_column(String(128))
    catalog_version: Mapped[str | None] = mapped_column(String(64))  # null: re-scored before 0008 recorded it
    catalog_hash: Mapped[str | None] = mapped_column(String(64))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("rescoring_jobs.id"))
    index: Mapped[float] = mapped_column(Float)
    tier: Mapped[str] = mapped_column(String(64))
    completeness: Mapped[float] = mapped_column(Float)
    provisional: Mapped[bool] = mapped_column(Boolean)
    critical: Mapped[bool] = mapped_column(Boolean)
    dimension_scores: Mapped[dict] = mapped_column()
    services: Mapped[str] = mapped_column(Text)
