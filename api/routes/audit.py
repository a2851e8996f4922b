"""The audit log (admins)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import Context, CurrentCaller
from api.intake import CheckedRoute
from api.schemas import PROBLEM_RESPONSES, Offset, RowId, page_limit
from api.services import audit

router = APIRouter(tags=["audit"], responses=PROBLEM_RESPONSES, route_class=CheckedRoute)


@router.get("/audit", summary="Audit log, newest first (admin)")
def list_audit(context: Context, caller: CurrentCaller, household_id: RowId | None = None, user_id: RowId | None = None,
               action: str | None = None, limit: page_limit(1000) = 100,
               offset: Offset = 0) -> list[dict]:
    with context.database.session() as session:
        return audit.list_entries(session=session, caller=caller, household_id=household_id, user_id=user_id,
                                  action=action, limit=limit, offset=offset)
