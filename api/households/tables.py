"""Households, with their personal data encrypted; their members; the history of their status in the programme;
and the supervisors' decisions on exit proposals."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.db.base import Base, utcnow
from api.geography.tables import Station


def _serving_station(context) -> int:
    """A household is registered where it is first served, unless told otherwise."""
    return context.get_current_parameters()["station_id"]


class Household(Base):
    """A household; `personal` is the Fernet-encrypted JSON of name, ID number and phone, `id_number_hash` the
    keyed hash of the ID number and `name_birth_hash` that of the normal name and birth date (`api.persons`).

    `station_id` is the station that serves it (where it lives: scope, rankings and due lists follow it);
    `registered_station_id` is where it is registered (户籍), the same unless it lives elsewhere (人户分离),
    which still sees it, read-only. A transfer (api.transfers) moves one or both."""

    __tablename__ = "households"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), index=True)
    registered_station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), index=True,
                                                       default=_serving_station)
    status: Mapped[str] = mapped_column(String(10), default="active")
    personal: Mapped[str] = mapped_column(Text)
    id_number_hash: Mapped[str] = mapped_column(String(64), index=True)
    name_birth_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    station: Mapped[Station] = relationship(foreign_keys=[station_id])
    members: Mapped[list[HouseholdMember]] = relationship(order_by="HouseholdMember.position", lazy="selectin")


class HouseholdMember(Base):
    """A person of a household, in the order given (`position`). `personal` is the Fernet-encrypted JSON of the
    member's name and ID number (either may be null), `id_number_hash` the keyed hash of the ID number
    (`api.security.id_number_hash`, as for households), so that a person is found by that hash alone: the
    same person in two households is a duplicate like a household's own number, and department records
    (matched on hashes) find the member without decrypting anything. `name_birth_hash`
    (`api.persons.person_hash`, as for households): the keyed hash of the normal name with the birth date the ID
    number carries, or of the name alone (then matched with `birth_year`), for records without an ID number."""

    __tablename__ = "household_members"
    __table_args__ = (UniqueConstraint("household_id", "position", name="uq_household_members_position"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    relation: Mapped[str] = mapped_column(String(40))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    sex: Mapped[str | None] = mapped_column(String(6))
    personal: Mapped[str | None] = mapped_column(Text)
    id_number_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    name_birth_hash: Mapped[str | None] = mapped_column(String(64), index=True)


class StatusEvent(Base):
    """A household leaving the programme (`exited`) or entering it again (`active`), with the reason: the
    history a re-entry keeps. `assessment_id` is the assessment that brought it back, when one did."""

    __tablename__ = "household_status_events"
    __table_args__ = (Index("ix_household_status_events_household", "household_id", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ExitProposalDecision(Base):
    """A supervisor's decision on an exit proposal, for the household's latest assessment at the time: a
    dismissed household is proposed again only after a new assessment."""

    __tablename__ = "exit_proposal_decisions"
    __table_args__ = (UniqueConstraint("household_id", "assessment_id", name="uq_exit_proposal_decisions_assessment"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"))
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class MaintenanceTask(Base):
    """A step a migration could not do itself because it needs the keys (migrations run without them), done
    by the service when it starts (`api.households.service.run_pending_maintenance`)."""

    __tablename__ = "maintenance_tasks"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
