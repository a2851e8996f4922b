"""The intake queue page: a station's collected submissions that could not be stored, each with its errors, to
fix and store or to reject with a reason. The forms post to the JSON API."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import Context, PageCaller
from api.intake import service
from api.web.templating import render

router = APIRouter()


@router.get("/intake")
def intake_queue(request: Request, context: Context, caller: PageCaller):
    with context.database.session(write=True) as session:  # the answers shown are audited as read
        queued = service.list_queue(session=session, caller=caller, keys=context.keys, catalog=context.scorer.catalog,
                                    limit=200)
    catalog = context.scorer.catalog
    return render(request, "intake_queue.html", caller=caller, items=queued["items"],
                  indicators=catalog.indicator_by_id)
