"""The audit log (admins)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import Context, CurrentCaller
from api.request_checks import CheckedRoute
from api.audit import schemas
from api.audit import service as audit
from api.schemas import Offset, RowId, page_limit, problem_responses

router = APIRouter(tags=["audit"], responses=problem_responses(401, 413), route_class=CheckedRoute)


@router.get("/audit", response_model=list[schemas.AuditEntry], responses=problem_responses(403, 422),
            summary="Audit log, newest first (admin)")
def list_audit(context: Context, caller: CurrentCaller, household_id: RowId | None = None,
               user_id: RowId | None = None, action: str | None = None, limit: page_limit(1000) = 100,
               offset: Offset = 0) -> list[dict]:
    with context.database.session() as session:
        return audit.list_entries(session=session, caller=caller, household_id=household_id, user_id=user_id,
                                  action=action, limit=limit, offset=offset)
