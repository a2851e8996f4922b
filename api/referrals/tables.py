"""Service providers, referrals, their history and deliveries, and the decision reasons."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, utcnow


def new_directory_id() -> str:
    return str(uuid.uuid4())


class Provider(Base):
    """A government department, social organisation, volunteer team or charity offering service items.

    `directory_id` is its id in a service directory (Open Referral HSDS: the organization's id): kept from an
    import, or made when the provider is added, so exports and imports find the same provider again."""

    __tablename__ = "providers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    directory_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_directory_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(Text)
    services: Mapped[list] = mapped_column()
    capacity: Mapped[int | None] = mapped_column(Integer)
    town_id: Mapped[int | None] = mapped_column(ForeignKey("towns.id"))
    contact: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Referral(Base):
    """One service for one household, moving along api/referrals/workflow.yaml's moves.

    `open_slot` is true while open and NULL once closed: with the UNIQUE constraint, a household has at
    most one open referral per service (NULLs never collide). `version` goes up by one with every move; a
    move names the version it was made on, so a move made on a stale page is refused. `due_at` is when the
    referral is overdue without another move (null once closed). `follows_id` links a referral to the
    declined or failed one it replaces."""

    __tablename__ = "referrals"
    __table_args__ = (UniqueConstraint("household_id", "service_id", "open_slot", name="uq_referrals_open"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    service_id: Mapped[str] = mapped_column(String(64))
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"), index=True)
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"))
    follows_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    open_slot: Mapped[bool | None] = mapped_column(Boolean)
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    reason_code: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    reason_en: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    scheduled_on: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(String(32))
    outcome_note: Mapped[str | None] = mapped_column(Text)
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    feedback_outcome: Mapped[str | None] = mapped_column(String(32))
    feedback_note: Mapped[str | None] = mapped_column(Text)
    acknowledged_at: Mapped[datetime | None] = mapped_column()
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReferralEvent(Base):
    """The history of a referral: every move (a status change, a schedule, a delivery, feedback, a referral
    elsewhere, a returned referral closed), who made it, when and why. A reason is kept as its text at the
    time of the decision."""

    __tablename__ = "referral_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32), default="status")
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    reason_code: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    reason_en: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict] = mapped_column(default=dict)
    provider_id: Mapped[int | None] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ReferralDelivery(Base):
    """A service delivered under a referral: when, what, and how many units (meals, hours, visits...)."""

    __tablename__ = "referral_deliveries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id", ondelete="CASCADE"), index=True)
    delivered_on: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text)
    units: Mapped[float] = mapped_column(Float)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReferralReason(Base):
    """A decision reason (declining, failing, cancelling, pausing) offered on the forms. The defaults come
    from api/referrals/workflow.yaml; an administrator adds, renames and retires them."""

    __tablename__ = "referral_reasons"
    __table_args__ = (UniqueConstraint("status", "code", name="uq_referral_reasons_code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(64))
    label_zh: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(200))
    system: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
