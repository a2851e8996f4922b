"""Request bodies and responses of the audit routes."""

from __future__ import annotations

from typing import Any

from api.schemas import Timestamp, View

# Responses


class AuditEntry(View):
    id: int
    at: Timestamp
    user_id: int | None
    action: str
    household_id: int | None
    assessment_id: int | None
    details: dict[str, Any]
