"""The audit log (admins)."""

from __future__ import annotations

from fastapi import APIRouter

from api import responses
from api.deps import Context, CurrentCaller
from api.intake import CheckedRoute
from api.schemas import Offset, RowId, page_limit, problems
from api.services import audit

router = APIRouter(tags=["audit"], responses=problems(401, 413), route_class=CheckedRoute)


@router.get("/audit", response_model=list[responses.AuditEntry], responses=problems(403, 422),
            summary="Audit log, newest first (admin)")
def list_audit(context: Context, caller: CurrentCaller, household_id: RowId | None = None,
               user_id: RowId | None = None, action: str | None = None, limit: page_limit(1000) = 100,
               offset: Offset = 0) -> list[dict]:
    with context.database.session() as session:
        return audit.list_entries(session=session, caller=caller, household_id=household_id, user_id=user_id,
                                  action=action, limit=limit, offset=offset)
