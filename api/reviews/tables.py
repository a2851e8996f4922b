"""Verified tiers and appeals."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, utcnow


class TierVerification(Base):
    """A supervisor's check of an assessment's computed tier: `confirmed` (the same tier) or `overridden` (another
    one), with the reason. A later check of the same assessment replaces it: `current_slot` is true on the one
    in force and NULL on those it replaced (UNIQUE with the assessment: one in force)."""

    __tablename__ = "tier_verifications"
    __table_args__ = (UniqueConstraint("assessment_id", "current_slot", name="uq_tier_verifications_current"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), index=True)
    computed_tier: Mapped[str] = mapped_column(String(64))
    verified_tier: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    current_slot: Mapped[bool | None] = mapped_column(Boolean)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Appeal(Base):
    """A household's appeal against an assessment's result, lodged through its caseworker, re-scored on the same
    (or corrected) answers under the catalog and configuration in force on the assessment's date, and decided
    by a supervisor: `upheld` (the result stands) or `changed` (the re-scored result is stored as a correction,
    `correction_id`). `open_slot`: true while open, NULL once decided (one open appeal per assessment)."""

    __tablename__ = "appeals"
    __table_args__ = (UniqueConstraint("assessment_id", "open_slot", name="uq_appeals_open"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    open_slot: Mapped[bool | None] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    answers: Mapped[dict | None] = mapped_column(JSON)
    in_force_on: Mapped[date] = mapped_column(Date)
    catalog_hash: Mapped[str] = mapped_column(String(64))
    catalog_version: Mapped[str] = mapped_column(String(64))
    config_version: Mapped[str] = mapped_column(String(128))
    result: Mapped[dict] = mapped_column(JSON)
    index: Mapped[float] = mapped_column(Float)
    tier: Mapped[str] = mapped_column(String(64))
    lodged_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    lodged_at: Mapped[datetime] = mapped_column(default=utcnow)
    decision: Mapped[str | None] = mapped_column(String(16))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column()
    correction_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"))
