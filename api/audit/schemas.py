"""Request bodies and responses of the audit routes."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import Field

from api.schemas import RowId, Strict, Timestamp, View


class AuditFilters(Strict):
    """The audit page's filters (the query of GET /v1/audit)."""

    user_id: RowId | None = None
    action: str | None = Field(None, max_length=64)
    household_id: RowId | None = None
    date_from: date | None = None
    date_to: date | None = None


# Responses


class AuditEntry(View):
    id: int
    at: Timestamp
    user_id: int | None
    action: str
    household_id: int | None
    assessment_id: int | None
    details: dict[str, Any]
