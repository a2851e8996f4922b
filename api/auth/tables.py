"""Users, the towns a supervisor oversees, and bearer tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.db.base import Base, utcnow


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"))
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"))  # a provider's user
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
