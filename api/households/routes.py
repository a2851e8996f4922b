"""Households, their files, exits and re-entries, and exit proposals."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from api.deps import Context, CurrentCaller
from api.households import file, lifecycle, proposals, reveal, schemas
from api.households import service as households
from api.households.schemas import (Exit, HouseholdCreate, HouseholdUpdate, IdNumberLookup, NameSearch,
                                    ProposalDecision, Reentry)
from api.request_checks import CheckedRoute
from api.schemas import Offset, RowId, page_limit, problem_responses

router = APIRouter(tags=["households"], responses=problem_responses(401, 413), route_class=CheckedRoute)


@router.post("/households", status_code=201, response_model=schemas.Household,
             responses=problem_responses(403, 404, 409, 422), summary="Register a household",
             description="An ID number (the household's or a member's) that another household holds, as its own or "
                         "a member's, is a 409 naming that household and the field; a supervisor may override one "
                         "held at another station with a reason, which is audited.")
def create_household(body: HouseholdCreate, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return households.create_household(
            session=session, caller=caller, keys=context.keys, name=body.personal.name,
            id_number=body.personal.id_number, phone=body.personal.phone, station_id=body.station_id,
            members=[m.model_dump() for m in body.members],
            override_reason=body.override.reason if body.override else None)


@router.get("/households", response_model=schemas.HouseholdPage, responses=problem_responses(403, 422),
            summary="Households in the caller's scope")
def list_households(context: Context, caller: CurrentCaller, station_id: RowId | None = None,
                    status: Literal["active", "exited"] | None = None,
                    limit: page_limit(200) = 50, offset: Offset = 0) -> dict:
    with context.database.session(write=True) as session:  # writes the audit log
        return households.list_households(session=session, caller=caller, keys=context.keys,
                                          station_id=station_id, status=status, limit=limit, offset=offset)


@router.post("/households/lookup", response_model=list[schemas.Household], responses=problem_responses(403, 422),
             summary="Find households by ID number",
             description="POST so the ID number never appears in a URL or an access log.")
def lookup(body: IdNumberLookup, context: Context, caller: CurrentCaller) -> list[dict]:
    with context.database.session(write=True) as session:
        return households.find_by_id_number(session=session, caller=caller, keys=context.keys,
                                            id_number=body.id_number)


@router.post("/households/search", response_model=schemas.NameSearchResult, responses=problem_responses(403, 422),
             summary="Find households by name",
             description="Households in the caller's scope whose name contains the text, newest first, for "
                         "caseworkers and supervisors. POST so the name never appears in a URL or an access log; "
                         "only the households found are logged as read.")
def search(body: NameSearch, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return households.search_by_name(session=session, caller=caller, keys=context.keys, name=body.name,
                                         limit=body.limit)


@router.get("/households/{household_id}", response_model=schemas.Household, responses=problem_responses(403, 404, 422),
            summary="One household")
def get_household(household_id: RowId, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return households.get_household(session=session, caller=caller, keys=context.keys,
                                        household_id=household_id)


@router.patch("/households/{household_id}", response_model=schemas.Household,
              responses=problem_responses(403, 404, 409, 422), summary="Change name, phone, status or members",
              description="Members' ID numbers are checked as at registration (409, with the same override).")
def update_household(household_id: RowId, body: HouseholdUpdate, context: Context, caller: CurrentCaller) -> dict:
    changes = body.model_dump(exclude_unset=True)
    changes.pop("members", None)
    if body.members is not None:  # each member whole, its unset fields null
        changes["members"] = [member.model_dump() for member in body.members]
    with context.database.session(write=True) as session:
        return lifecycle.update_household(session=session, caller=caller, keys=context.keys,
                                          catalog=context.scorer.catalog, household_id=household_id, changes=changes)


@router.get("/households/{household_id}/file", response_model=schemas.HouseholdFile,
            responses=problem_responses(403, 404, 422), summary="The household's file: assessments over time",
            description="Each current assessment with the change in index and tier since the previous one and its "
                        "verified tier; corrected assessments stay listed with `corrected_by`. Then the household's "
                        "transfers, exits and re-entries, and appeals.")
def household_file(household_id: RowId, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return file.household_file(session=session, caller=caller, keys=context.keys,
                                   catalog=context.scorer.catalog, household_id=household_id)


@router.post("/households/{household_id}/exit", response_model=schemas.Exited,
             responses=problem_responses(403, 404, 409, 422), summary="A household leaves the programme",
             description="Sets the status to exited and cancels its open referrals with the reason; kept in the "
                         "household's history. An exited household is a 409 `already_exited`.")
def exit_household(household_id: RowId, body: Exit, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return lifecycle.exit_household(session=session, caller=caller, catalog=context.scorer.catalog,
                                        household_id=household_id, reason=body.reason, note=body.note)


@router.post("/households/{household_id}/reentry", response_model=schemas.Reentered,
             responses=problem_responses(403, 404, 409, 422), summary="An exited household enters the programme again",
             description="Its history stays. A new assessment of an exited household brings it back by itself. "
                         "A household in the programme is a 409 `not_exited`.")
def reenter(household_id: RowId, body: Reentry, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return lifecycle.reenter_household(session=session, caller=caller, catalog=context.scorer.catalog,
                                           household_id=household_id, reason=body.reason, note=body.note)


@router.get("/exit-proposals", response_model=schemas.ProposalPage, responses=problem_responses(403, 422),
            summary="Households proposed for exit (应退尽退)",
            description="Active households in scope whose last two current assessments are both below the entry "
                        "threshold (api/households/lifecycle.yaml; a verified tier counts instead of the computed "
                        "one), not dismissed since their latest assessment; lowest index first. Caseworkers, "
                        "supervisors, admins.")
def exit_proposals(context: Context, caller: CurrentCaller, station_id: RowId | None = None,
                   limit: page_limit(500) = 100, offset: Offset = 0) -> dict:
    with context.database.session() as session:
        return proposals.exit_proposals(session=session, caller=caller, catalog=context.scorer.catalog,
                                        station_id=station_id, limit=limit, offset=offset)


@router.post("/exit-proposals/{household_id}", response_model=schemas.ProposalDecided,
             responses=problem_responses(403, 404, 409, 422), summary="Confirm or dismiss an exit proposal",
             description="Supervisors: `confirm` exits the household (cancelling its open referrals); `dismiss` "
                         "needs a reason and keeps it off the list until a new assessment. A household not proposed "
                         "is a 409 `not_proposed`.")
def decide_exit_proposal(household_id: RowId, body: ProposalDecision, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return proposals.decide(session=session, caller=caller, catalog=context.scorer.catalog,
                                household_id=household_id, decision=body.decision, reason=body.reason)


@router.post("/households/{household_id}/id-number", response_model=schemas.RevealedIdNumber,
             responses=problem_responses(403, 404, 422), summary="Show a household's whole ID number (audited)",
             description="For the caseworkers and supervisors the household belongs to; lists show the number "
                         "masked. POST, so the number is never in a URL.")
def reveal_id_number(household_id: RowId, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return reveal.reveal_id_number(session=session, caller=caller, keys=context.keys, household_id=household_id)
