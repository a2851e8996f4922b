"""Households, with their personal data encrypted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.db.base import Base, utcnow
from api.geography.tables import Station


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


class MaintenanceTask(Base):
    """A step a migration could not do itself because it needs the keys (migrations run without them), done
    by the service when it starts (`api.households.service.run_pending_maintenance`)."""

    __tablename__ = "maintenance_tasks"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
