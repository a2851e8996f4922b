"""The audit log (admins)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query

from api.audit import schemas
from api.audit import service as audit
from api.deps import Context, CurrentCaller
from api.request_checks import CheckedRoute
from api.schemas import Offset, RowId, page_limit, problem_responses

router = APIRouter(tags=["audit"], responses=problem_responses(401, 413), route_class=CheckedRoute)


@router.get("/audit", response_model=list[schemas.AuditEntry], responses=problem_responses(403, 422),
            summary="Audit log, newest first (admin)")
def list_audit(context: Context, caller: CurrentCaller, household_id: RowId | None = None,
               user_id: RowId | None = None, action: str | None = Query(None, max_length=64),
               date_from: date | None = Query(None, description="entries from this day (UTC) on"),
               date_to: date | None = Query(None, description="entries up to this day (UTC), included"),
               limit: page_limit(1000) = 100, offset: Offset = 0) -> list[dict]:
    with context.database.session() as session:
        return audit.list_entries(session=session, caller=caller, household_id=household_id, user_id=user_id,
                                  action=action, date_from=date_from, date_to=date_to, limit=limit, offset=offset)
