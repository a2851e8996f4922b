"""Database tables (SQLAlchemy 2 declarative). The Alembic revisions in api/migrations mirror them."""

from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import (JSON, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, MetaData, String,
                        Text, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: DateTime(timezone=True), dict: JSON, list: JSON}


class Region(Base):
    """A region of the catalog (its id is the catalog's region id, which picks regional parameters)."""

    __tablename__ = "regions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("regions.id"))


class Town(Base):
    __tablename__ = "towns"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_id: Mapped[str] = mapped_column(ForeignKey("regions.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[Region] = relationship()


class Station(Base):
    __tablename__ = "stations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    town_id: Mapped[int] = mapped_column(ForeignKey("towns.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    town: Mapped[Town] = relationship()


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    towns: Mapped[list[UserTown]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def town_ids(self) -> set[int]:
        return {link.town_id for link in self.towns}


class UserTown(Base):
    """The towns a supervisor oversees."""

    __tablename__ = "user_towns"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    town_id: Mapped[int] = mapped_column(ForeignKey("towns.id"), primary_key=True)


class Token(Base):
    """A bearer token, stored as the SHA-256 of the token (the token itself is shown once)."""

    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column()  # None: valid until revoked
    revoked_at: Mapped[datetime | None] = mapped_column()


class Household(Base):
    """A household; `personal` is the Fernet-encrypted JSON of name, ID number and phone."""

    __tablename__ = "households"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="active")
    personal: Mapped[str] = mapped_column(Text)
    id_number_hash: Mapped[str] = mapped_column(String(64), index=True)
    members: Mapped[list] = mapped_column(default=list)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    station: Mapped[Station] = relationship()


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


class AuditEntry(Base):
    """Who did what to which record, and when; never holds plaintext personal data."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"))
    details: Mapped[dict] = mapped_column(default=dict)


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


class RankingSnapshot(Base):
    """An export or a published ranking: who, when, filters, versions, and the rows in rank order
    (`[rank, household_id, assessment_id, index, tier]`), so a rank on a day can be explained later."""

    __tablename__ = "ranking_snapshots"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    format: Mapped[str] = mapped_column(String(8))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    filters: Mapped[dict] = mapped_column()
    config_versions: Mapped[list] = mapped_column()
    catalog_version: Mapped[str] = mapped_column(String(64))
    total: Mapped[int] = mapped_column(Integer)
    rows: Mapped[list] = mapped_column()


class Provider(Base):
    """A government department, social organisation, volunteer team or charity offering service items."""

    __tablename__ = "providers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    services: Mapped[list] = mapped_column()
    capacity: Mapped[int | None] = mapped_column(Integer)
    town_id: Mapped[int | None] = mapped_column(ForeignKey("towns.id"))
    contact: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Referral(Base):
    """One service for one household, moving along api/data/workflows.yaml's transitions.

    `open_slot` is true while open and NULL once closed: with the UNIQUE constraint, a household has at
    most one open referral per service (NULLs never collide)."""

    __tablename__ = "referrals"
    __table_args__ = (UniqueConstraint("household_id", "service_id", "open_slot", name="uq_referrals_open"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    service_id: Mapped[str] = mapped_column(String(64))
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"), index=True)
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"))
    status: Mapped[str] = mapped_column(String(16), index=True)
    open_slot: Mapped[bool | None] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    feedback_note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReferralEvent(Base):
    """The history of a referral: every status change, who made it and why."""

    __tablename__ = "referral_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    provider_id: Mapped[int | None] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)


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


class AssessmentRescore(Base):
    """A stored assessment scored again under another configuration, beside (never over) the original."""

    __tablename__ = "assessment_rescores"
    __table_args__ = (UniqueConstraint("assessment_id", "config_version", name="uq_assessment_rescores_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"))
    config_version: Mapped[str] = mapped_column(String(128))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("rescoring_jobs.id"))
    index: Mapped[float] = mapped_column(Float)
    tier: Mapped[str] = mapped_column(String(64))
    completeness: Mapped[float] = mapped_column(Float)
    provisional: Mapped[bool] = mapped_column(Boolean)
    critical: Mapped[bool] = mapped_column(Boolean)
    dimension_scores: Mapped[dict] = mapped_column()
    services: Mapped[str] = mapped_column(Text)


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


class MaintenanceTask(Base):
    """A step a migration could not do itself because it needs the keys (migrations run without them), done
    by the service when it starts (`api.services.households.run_pending_maintenance`)."""

    __tablename__ = "maintenance_tasks"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
