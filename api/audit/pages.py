"""The administrator's audit log page: filters (user, action, household, days) and paging."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from pydantic import ValidationError
from sqlalchemy import select

from api.audit import service as audit
from api.audit.schemas import AuditFilters
from api.audit.tables import AuditEntry
from api.auth.access import Role, require_role
from api.auth.service import list_users
from api.deps import Context, PageCaller
from api.errors import Invalid
from api.problems import validation_problems
from api.web.templating import render

router = APIRouter()
PAGE_SIZE = 50
MAX_PAGE = 1_000_000  # keeps the offset a number the database takes
FIELDS = tuple(AuditFilters.model_fields)


@router.get("/admin/audit")
def audit_page(request: Request, context: Context, caller: PageCaller, page: int = 1):
    """Entries newest first, 50 to a page; a filter that is not valid is explained beside its field."""
    require_role(caller, Role.admin)
    typed = {name: request.query_params.get(name, "").strip() for name in FIELDS}
    page = min(max(page, 1), MAX_PAGE)
    entries, problems, more = [], [], False
    try:
        filters = AuditFilters.model_validate({name: value for name, value in typed.items() if value})
    except ValidationError as invalid:
        filters, problems = None, validation_problems(invalid.errors())
    with context.database.session() as session:
        users = {u["id"]: u for u in list_users(session=session, caller=caller)}
        actions = sorted(session.scalars(select(AuditEntry.action).distinct()))
        if filters is not None:
            try:
                entries = audit.list_entries(session=session, caller=caller, limit=PAGE_SIZE + 1,
                                             offset=(page - 1) * PAGE_SIZE, **filters.model_dump())
            except Invalid as refused:
                problems = refused.problems
    more, entries = len(entries) > PAGE_SIZE, entries[:PAGE_SIZE]
    query = urlencode({name: value for name, value in typed.items() if value})
    return render(request, "audit.html", caller=caller, typed=typed, problems=problems, entries=entries,
                  users=users, actions=actions, page=page, more=more, query=query,
                  first=(page - 1) * PAGE_SIZE + 1)
