"""Department records (one signal each), the imports that brought them, and the candidates found among them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, utcnow


class DiscoveryImport(Base):
    """One file loaded from a department: how many rows it had, how many were new."""

    __tablename__ = "discovery_imports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64), index=True)
    file_name: Mapped[str] = mapped_column(String(255))
    rows: Mapped[int] = mapped_column(Integer)
    added: Mapped[int] = mapped_column(Integer)
    refused: Mapped[int] = mapped_column(Integer)
    imported_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class DiscoveryRecord(Base):
    """One row of a department's file, as one signal. The ID number is kept only as its keyed hash; name, ID
    number and birth date are encrypted in `personal` while the person may have to be contacted (cleared once
    the record matches a household by ID number). `record_key` (keyed hash of the row's content) makes a
    second import of the same row add nothing. `name_hash`: keyed hash of the normal name; `name_birth_hash`
    (records without an ID number): of the normal name and birth date, as heads and members keep theirs
    (`api.persons`), so that matching by name compares hashes only; `person_key`: the ID number's hash, or
    without one the keyed hash of normal name, birth date and town (one person within a town). Match:
    `household_id`/`member_id` and `match_kind` (`id_number`, or `name_birth` which waits for a person:
    `match_confirmed` null until confirmed or refused)."""

    __tablename__ = "discovery_records"
    # Few indexes: matching rewrites most rows once, and every index is written again for each of them. Matching
    # joins on the households' and members' hash indexes and on the waiting records' one (partial: a matched
    # record leaves it, and costs it nothing); the lists join records on `household_id`.
    __table_args__ = (UniqueConstraint("source", "record_key", name="uq_discovery_records_key"),
                      Index("ix_discovery_records_waiting", "id_number_hash", sqlite_where=text("match_kind IS NULL"),
                            postgresql_where=text("match_kind IS NULL")))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("discovery_imports.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(64))
    record_key: Mapped[str] = mapped_column(String(64))
    signal: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(String(200))
    detail_number: Mapped[float | None] = mapped_column(Float)
    recorded_on: Mapped[date] = mapped_column(Date)
    fresh_until: Mapped[date] = mapped_column(Date)
    town_id: Mapped[int] = mapped_column(ForeignKey("towns.id"))
    id_number_hash: Mapped[str | None] = mapped_column(String(64))
    name_hash: Mapped[str] = mapped_column(String(64))
    name_birth_hash: Mapped[str | None] = mapped_column(String(64))
    person_key: Mapped[str] = mapped_column(String(64))
    birth_year: Mapped[int] = mapped_column(Integer)
    personal: Mapped[str | None] = mapped_column(Text)
    # No foreign key: matching sets it on most records at once, and checking each row cost a quarter of that;
    # it is set only from joins to the households, which are never deleted.
    household_id: Mapped[int | None] = mapped_column(Integer, index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("household_members.id", ondelete="SET NULL"))
    match_kind: Mapped[str | None] = mapped_column(String(16))
    match_confirmed: Mapped[bool | None] = mapped_column()
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Candidate(Base):
    """A person on no household's file whose fresh signals pass the discovery rules: one row per person
    (`person_key`: the ID number's keyed hash, or the name-and-birth-date key), on a station's visit list."""

    __tablename__ = "discovery_candidates"
    __table_args__ = (UniqueConstraint("person_key", name="uq_discovery_candidates_person_key"),
                      Index("ix_discovery_candidates_station", "station_id", "status", "priority"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_key: Mapped[str] = mapped_column(String(64))
    town_id: Mapped[int] = mapped_column(ForeignKey("towns.id"))
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    contact_record_id: Mapped[int] = mapped_column(ForeignKey("discovery_records.id"))
    priority: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[list] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(16), default="to_visit")
    due_on: Mapped[date] = mapped_column(Date)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(Text)
    visited_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    visited_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WarningEvent(Base):
    """An extreme-weather event a supervisor declared: its kind, towns and dates. Its list of households at risk
    (`WarningHousehold`) is computed once, at declaration, and kept as it was."""

    __tablename__ = "warning_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    town_ids: Mapped[list] = mapped_column(default=list)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    declared_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    declared_at: Mapped[datetime] = mapped_column(default=utcnow)


class WarningHousehold(Base):
    """A household at risk in an event, frozen at declaration (risk, reasons, station), with its checklist: who
    ticked each step, and when."""

    __tablename__ = "warning_households"
    __table_args__ = (Index("ix_warning_households_event_station", "event_id", "station_id", "risk"),)
    event_id: Mapped[int] = mapped_column(ForeignKey("warning_events.id", ondelete="CASCADE"), primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), primary_key=True)
    station_id: Mapped[int] = mapped_column(Integer)
    town_id: Mapped[int] = mapped_column(Integer)
    risk: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[list] = mapped_column(default=list)
    contacted_at: Mapped[datetime | None] = mapped_column()
    contacted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    visited_at: Mapped[datetime | None] = mapped_column()
    visited_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    supplies_delivered_at: Mapped[datetime | None] = mapped_column()
    supplies_delivered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
