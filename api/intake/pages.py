"""The intake pages: the queue of a station's collected submissions that could not be stored, each with its
errors, to fix and store or to reject with a reason (the forms post to the JSON API); and the upload of a file to
import (as `assess import`), with its counts, its refused rows and the row-by-row report."""

from __future__ import annotations

from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from api.auth.access import Role, require_role, require_write
from api.deps import Context, PageCaller
from api.errors import not_found
from api.geography import service as geography
from api.geography.tables import Station
from api.intake import imports, service
from api.intake.tables import ImportJob
from api.web.session import check_csrf
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


@router.get("/import")
def import_form(request: Request, context: Context, caller: PageCaller):
    require_role(caller, Role.caseworker, Role.supervisor)
    with context.database.session() as session:
        stations = geography.stations_in_scope(session=session, caller=caller)
    return render(request, "import.html", caller=caller, stations=stations, job=None)


@router.post("/import")
async def import_upload(request: Request, context: Context, caller: PageCaller,
                        file: Annotated[UploadFile, File()], station_id: Annotated[int, Form()],
                        csrf: Annotated[str, Form()] = ""):
    """A file uploaded from the form, imported as `assess import` does; the page shows the counts, the refused rows
    and a link to the row-by-row report."""
    check_csrf(request, csrf)
    require_role(caller, Role.caseworker, Role.supervisor)
    content = await file.read()
    name = file.filename or "upload.csv"
    return await to_thread.run_sync(_import, request, context, caller, name, content, station_id)


def _import(request: Request, context, caller, name: str, content: bytes, station_id: int):
    frame = imports.read_file(name, content)
    job = imports.run(database=context.database, caller=caller, keys=context.keys, scorer=context.scorer,
                      station_id=station_id, file_name=name, file_hash=imports.content_hash(content),
                      frame=frame, earliest_assessed_on=context.settings.earliest_assessed_on)
    with context.database.session() as session:
        refused = [row for row in imports.job_rows(session=session, job_id=job["id"]) if row.outcome == "refused"]
        stations = geography.stations_in_scope(session=session, caller=caller)
    return render(request, "import.html", caller=caller, stations=stations, job=job, refused=refused, file_name=name)


@router.get("/import/{job_id}/report.csv")
def import_report(job_id: int, context: Context, caller: PageCaller):
    require_role(caller, Role.caseworker, Role.supervisor)
    with context.database.session() as session:
        job = session.get(ImportJob, job_id)
        if job is None:
            raise not_found(f"Import {job_id}", f"导入 {job_id}")
        station = session.get(Station, job.station_id)
        require_write(caller, station.id, station.town_id)
        text = imports.report_csv(imports.job_rows(session=session, job_id=job_id))
    return Response(("\ufeff" + text).encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="import-{job_id}-report.csv"',
                             "Cache-Control": "no-store"})
