"""Ranking snapshots."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, utcnow


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
