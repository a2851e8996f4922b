"""Department records: sources, imports (supervisors), matches by name and birth date to confirm, visit lists,
early-warning events."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import Response

from api.deps import Context, CurrentCaller
from api.discovery import schemas
from api.discovery import service as discovery
from api.discovery import early_warning, visits
from api.discovery.definitions import discovery_of, warning_rules_of
from api.request_checks import CheckedRoute
from api.schemas import Offset, RowId, page_limit, problem_responses

router = APIRouter(tags=["discovery"], responses=problem_responses(401, 413), route_class=CheckedRoute)


@router.get("/discovery/sources", response_model=list[schemas.SourceView], summary="The department sources",
            description="Each source of the catalog's `discovery/sources/`: the columns its file must have, the "
                        "signal each row gives and how many days it stays fresh.")
def list_sources(context: Context, caller: CurrentCaller) -> list[dict]:
    return discovery.source_views(discovery_of(context))


@router.post("/discovery/imports", status_code=201, response_model=schemas.ImportReport,
             responses=problem_responses(400, 403, 422), summary="Load a department's file (supervisors, admins)",
             description="A multipart form: `source` (a source's id), `file` (.csv in UTF-8 or .xlsx), `skip_refused` "
                         "(store the good rows even when some are refused). An unknown source, missing columns or "
                         "(unless `skip_refused`) any refused row is a 422 listing every refused row (`refused`: "
                         "file, row, column, reason) with nothing stored. Rows loaded before add nothing. Matching "
                         "runs after the import. Audited.")
def import_file(context: Context, caller: CurrentCaller, source: Annotated[str, Form(max_length=64)],
                file: Annotated[UploadFile, File()], skip_refused: Annotated[bool, Form()] = False) -> dict:
    content = file.file.read()
    with context.database.session(write=True) as session:
        return discovery.import_records(session=session, keys=context.keys, discovery=discovery_of(context),
                                        caller=caller, source_id=source, content=content,
                                        file_name=file.filename or "upload.csv", skip_refused=skip_refused,
                                        today=date.today())


@router.get("/discovery/matches", response_model=list[schemas.MatchToConfirm], responses=problem_responses(403, 422),
            summary="Records matched by name and birth date, waiting for a person to confirm",
            description="For the households the caller's scope serves; every one shown is an audited read.")
def list_matches(context: Context, caller: CurrentCaller, limit: page_limit(500) = 100, offset: Offset = 0) -> list:
    with context.database.session(write=True) as session:
        return discovery.matches_to_confirm(session=session, caller=caller, keys=context.keys, limit=limit,
                                            offset=offset)


@router.post("/discovery/matches/{record_id}/decision", response_model=schemas.MatchDecided,
             responses=problem_responses(403, 404, 409, 422), summary="Confirm or refuse a match by name",
             description="The household's station or a supervisor of its town. Confirmed: the record counts for the "
                         "household's alerts; refused: the person may become a candidate. Decided already: 409.")
def decide_match(record_id: RowId, body: schemas.MatchDecision, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return discovery.decide_match(session=session, caller=caller, discovery=discovery_of(context),
                                      record_id=record_id, confirmed=body.confirmed, today=date.today())


CSV_EXPORT = {200: {"description": "The visit list page (JSON), or the whole filtered list as CSV (`format=csv`)",
                    "content": {"text/csv": {"schema": {"type": "string"}}}}}


@router.get("/discovery/candidates", response_model=schemas.CandidatePage,
            responses={**CSV_EXPORT, **problem_responses(403, 422)}, summary="The visit list: candidates in scope",
            description="Highest priority first (the sum of the rules passed, each a reason), then oldest. A "
                        "caseworker sees their station's, a supervisor their towns'; admins all, masked; analysts "
                        "none. `overdue=true`: still to visit after their time limit. `format=csv` exports the whole "
                        "filtered list. Audited.")
def list_candidates(context: Context, caller: CurrentCaller, station_id: RowId | None = None,
                    status: Literal["to_visit", "registered", "not_eligible", "not_found"] | None = None,
                    overdue: bool = False, limit: page_limit(500) = 100, offset: Offset = 0,
                    format: Literal["json", "csv"] = "json"):
    with context.database.session(write=True) as session:
        arguments = dict(session=session, caller=caller, keys=context.keys, discovery=discovery_of(context),
                         today=date.today(), station_id=station_id, status=status, overdue=overdue)
        if format == "csv":
            content = visits.export_candidates(**arguments)
        else:
            return visits.list_candidates(**arguments, limit=limit, offset=offset)
    return Response(content, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="visit-list.csv"'})


@router.get("/discovery/visits", response_model=list[schemas.StationVisits], responses=problem_responses(403),
            summary="Per station: candidates to visit, overdue, and each outcome")
def visits_by_station(context: Context, caller: CurrentCaller) -> list[dict]:
    with context.database.session() as session:
        return visits.visits_by_station(session=session, caller=caller, today=date.today())


@router.get("/discovery/candidates/{candidate_id}", response_model=schemas.CandidateView,
            responses=problem_responses(403, 404, 422), summary="One candidate (audited)")
def get_candidate(candidate_id: RowId, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return visits.get_candidate(session=session, caller=caller, keys=context.keys,
                                    discovery=discovery_of(context), candidate_id=candidate_id, today=date.today())


@router.get("/discovery/candidates/{candidate_id}/registration", response_model=schemas.RegistrationPrefill,
            responses=problem_responses(403, 404, 422), summary="What the registration form starts with",
            description="The candidate's station, name, ID number and birth year, for registering them (the "
                        "candidate's station or a supervisor of its town). Audited.")
def registration(candidate_id: RowId, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return visits.registration_prefill(session=session, caller=caller, keys=context.keys,
                                           candidate_id=candidate_id)


@router.post("/discovery/candidates/{candidate_id}/visit", response_model=schemas.CandidateView,
             responses=problem_responses(403, 404, 409, 422), summary="Record a visit's outcome",
             description="`registered` with the `household_id` registered for them (its file then shows where it "
                         "came from), `not_eligible` or `not_found`; the candidate's station or a supervisor of its "
                         "town. Visited already: 409 `candidate_visited`. Audited.")
def record_visit(candidate_id: RowId, body: schemas.Visit, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return visits.record_visit(session=session, caller=caller, keys=context.keys, discovery=discovery_of(context),
                                   candidate_id=candidate_id, outcome=body.outcome, household_id=body.household_id,
                                   note=body.note, today=date.today())


@router.post("/warnings", status_code=201, response_model=schemas.WarningDeclared,
             responses=problem_responses(403, 404, 422), summary="Declare an extreme-weather event (supervisors)",
             description="`kind` (warning.yaml's events), `town_ids` (a supervisor's own towns), `starts_on`, "
                         "`ends_on`. The households at risk are listed by warning.yaml's rules from their latest "
                         "assessment and frozen now. Audited.")
def declare_warning(body: schemas.WarningDeclaration, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return early_warning.declare(session=session, caller=caller, rules=warning_rules_of(context),
                                catalog=context.scorer.catalog, kind=body.kind, town_ids=body.town_ids,
                                starts_on=body.starts_on, ends_on=body.ends_on, note=body.note)


@router.get("/warnings", response_model=list[schemas.WarningEventView], responses=problem_responses(403),
            summary="Events whose towns touch the caller's scope, newest first")
def list_warnings(context: Context, caller: CurrentCaller) -> list[dict]:
    with context.database.session() as session:
        return early_warning.list_events(session=session, caller=caller, rules=warning_rules_of(context))


@router.get("/warnings/{event_id}", response_model=schemas.WarningProgress,
            responses=problem_responses(403, 404, 422), summary="An event and its progress per station")
def warning_progress(event_id: RowId, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session() as session:
        return early_warning.progress(session=session, caller=caller, rules=warning_rules_of(context),
                                      event_id=event_id)


@router.get("/warnings/{event_id}/households", response_model=schemas.HouseholdsAtRisk,
            responses={**CSV_EXPORT, **problem_responses(403, 404, 422)},
            summary="The frozen list of households at risk, highest risk first",
            description="Per station in scope, with the reasons, the name and phone to reach them and the checklist. "
                        "`format=csv` exports the whole list. Audited.")
def warning_households(event_id: RowId, context: Context, caller: CurrentCaller, station_id: RowId | None = None,
                       limit: page_limit(1000) = 100, offset: Offset = 0, format: Literal["json", "csv"] = "json"):
    with context.database.session(write=True) as session:
        arguments = dict(session=session, caller=caller, keys=context.keys, rules=warning_rules_of(context),
                         event_id=event_id, station_id=station_id)
        if format == "json":
            return early_warning.event_households(**arguments, limit=limit, offset=offset)
        content = early_warning.export_households(**arguments)
    return Response(content, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="warning-{event_id}.csv"'})


@router.post("/warnings/{event_id}/households/{household_id}/checklist", response_model=schemas.HouseholdAtRisk,
             responses=problem_responses(403, 404, 422), summary="Tick the checklist of a household at risk",
             description="`contacted`, `visited`, `supplies_delivered`: true ticks (keeping the first time), false "
                         "unticks. The household's station or a supervisor of its town. Audited.")
def tick_checklist(event_id: RowId, household_id: RowId, body: schemas.Checklist, context: Context,
                   caller: CurrentCaller) -> dict:
    steps = {k: v for k, v in body.model_dump().items() if v is not None}
    with context.database.session(write=True) as session:
        return early_warning.tick(session=session, caller=caller, keys=context.keys, rules=warning_rules_of(context),
                             event_id=event_id, household_id=household_id, steps=steps)


@router.post("/discovery/candidates/{candidate_id}/station", response_model=schemas.CandidateView,
             responses=problem_responses(403, 404, 409, 422), summary="Give a candidate to another station",
             description="A supervisor of the candidate's town (or an admin): a station of the same town (422 "
                         "`other_town` otherwise); a candidate visited already is a 409. Audited.")
def assign_station(candidate_id: RowId, body: schemas.Assignment, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return visits.assign_station(session=session, caller=caller, keys=context.keys,
                                     discovery=discovery_of(context), candidate_id=candidate_id,
                                     station_id=body.station_id, today=date.today())
