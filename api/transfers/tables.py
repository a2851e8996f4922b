"""Transfers of households between stations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, utcnow


class Transfer(Base):
    """A request to move a household's serving station (`kind` residence: it lives there, registered where it
    was) or both its stations (`kind` move), from `from_station_id` to `to_station_id`.

    `open_slot` is true while requested and NULL once decided: with the UNIQUE constraint a household has at
    most one transfer waiting (NULLs never collide)."""

    __tablename__ = "household_transfers"
    __table_args__ = (UniqueConstraint("household_id", "open_slot", name="uq_household_transfers_open"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    from_station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), index=True)
    to_station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    open_slot: Mapped[bool | None] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column()
