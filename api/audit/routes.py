"""The audit log (admins)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from api.audit import service as audit
from api.deps import Context, CurrentCaller
from api.schemas import PROBLEM_RESPONSES

router = APIRouter(tags=["audit"], responses=PROBLEM_RESPONSES)


@router.get("/audit", summary="Audit log, newest first (admin)")
def list_audit(context: Context, caller: CurrentCaller, household_id: int | None = None, user_id: int | None = None,
               action: str | None = None, limit: int = Query(100, ge=1, le=1000),
               offset: int = Query(0, ge=0)) -> list[dict]:
    with context.database.session() as session:
        return audit.list_entries(session=session, caller=caller, household_id=household_id, user_id=user_id,
                                  action=action, limit=limit, offset=offset)
