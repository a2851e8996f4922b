"""Database tables (SQLAlchemy 2 declarative). The Alembic revisions in api/migrations mirror them."""

from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import (JSON, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, MetaData, String,
                        Text)
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
    __table_args__ = (Index("ix_assessments_household_assessed", "household_id", "assessed_on"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    assessed_on: Mapped[date] = mapped_column(Date)
    region_id: Mapped[str] = mapped_column(String(64))
    answers: Mapped[dict] = mapped_column()
    result: Mapped[dict] = mapped_column()
    index: Mapped[float] = mapped_column(Float, index=True)
    tier: Mapped[str] = mapped_column(String(64), index=True)
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
