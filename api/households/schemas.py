"""Request bodies and responses of the household routes."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from api.discovery.schemas import DiscoveryOrigin
from api.reviews.schemas import Appeal, Verification
from api.schemas import Day, RowId, Strict, Timestamp, View, page_limit
from api.transfers.schemas import Transfer


class Personal(Strict):
    name: str = Field(min_length=1, max_length=100, examples=["王秀兰"])
    id_number: str = Field(min_length=1, max_length=32, examples=["110101195003071227"])
    phone: str | None = Field(None, max_length=32, examples=["13800001234"])


class Member(Strict):
    relation: str = Field(max_length=40, examples=["spouse"])
    birth_year: int | None = Field(None, ge=1900, le=2100)
    sex: Literal["female", "male"] | None = None
    name: str | None = Field(None, max_length=100, description="encrypted like the household's name")
    id_number: str | None = Field(None, max_length=32, examples=["110101198001011234"],
                                  description="the member's own ID number: encrypted, and its keyed hash finds the "
                                              "same person in another household (a 409 like a duplicate household)")


class Override(Strict):
    reason: str = Field(min_length=5, max_length=500, examples=["Moved from station 3; confirmed by phone"])


class HouseholdCreate(Strict):
    station_id: RowId | None = Field(None, description="defaults to the caseworker's station")
    personal: Personal
    members: list[Member] = Field(default_factory=list, max_length=30)
    override: Override | None = Field(None, description="supervisors only: register despite the same ID number "
                                                        "at another station (audited)")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "station_id": 1,
        "personal": {"name": "王秀兰", "id_number": "110101195003071227", "phone": "13800001234"},
        "members": [{"relation": "head", "birth_year": 1950, "sex": "female"}]}]})


class HouseholdUpdate(Strict):
    """The fields to change; an absent one stays as it is. Name and status cannot be cleared (null is a 422)."""

    name: str = Field(None, min_length=1, max_length=100)
    phone: str | None = Field(None, max_length=32)
    status: Literal["active", "exited"] = None
    members: list[Member] | None = Field(None, max_length=30)
    override: Override | None = Field(None, description="supervisors only: keep members whose ID numbers another "
                                                        "household holds (audited)")


class IdNumberLookup(Strict):
    id_number: str = Field(min_length=1, max_length=32, examples=["110101195003071227"])


class NameSearch(Strict):
    name: str = Field(min_length=1, max_length=100, description="text the household's name contains",
                      examples=["王"])
    limit: page_limit(200) = 50


class Exit(Strict):
    reason: str = Field(examples=["moved"], description="no_longer_in_hardship, moved or deceased")
    note: str | None = Field(None, max_length=500)


class Reentry(Strict):
    reason: str = Field(examples=["hardship_again"], description="hardship_again, exited_by_mistake or "
                                                                 "returned_to_area (api/households/lifecycle.yaml)")
    note: str | None = Field(None, max_length=500)


class ProposalDecision(Strict):
    decision: Literal["confirm", "dismiss"]
    reason: str | None = Field(None, max_length=500, description="required to dismiss; a note to a confirmation")


# Responses


class PersonalData(View):
    """Name, ID number and phone: in full for caseworkers and supervisors in scope, masked for admins."""

    name: str | None
    id_number: str | None
    phone: str | None


class MemberView(View):
    id: int
    relation: str
    birth_year: int | None
    sex: Literal["female", "male"] | None
    name: str | None = Field(description="in full or masked like the household's personal data")
    id_number: str | None = Field(description="in full or masked like the household's personal data")


class Household(View):
    id: int
    station_id: int = Field(description="the station that serves it (where it lives)")
    town_id: int
    registered_station_id: int = Field(description="where it is registered (户籍); it reads the household too")
    status: Literal["active", "exited"]
    members: list[MemberView]
    personal: PersonalData | None = Field(description="null when withheld (analysts)")
    personal_view: Literal["full", "masked", "withheld"]
    created_at: Timestamp
    updated_at: Timestamp


class HouseholdPage(View):
    total: int
    limit: int
    offset: int
    items: list[Household]


class NameSearchResult(View):
    items: list[Household]
    limit: int
    truncated: bool = Field(description="more households matched than `limit`")


class Change(View):
    since: int = Field(description="the assessment it is compared with")
    index: float = Field(description="index points since that assessment")
    tier_from: str
    tier_to: str
    tier_direction: Literal["up", "down", "same"]


class FileEntry(View):
    id: int
    assessed_on: Day
    index: float
    tier: str
    verification: Verification | None = Field(description="the supervisor's check of the tier in force, if any")
    completeness: float
    provisional: bool
    corrects: int | None
    corrected_by: int | None
    config_version: str
    catalog_version: str
    model_version: str | None
    needs_review: bool | None
    created_at: Timestamp
    change: Change | None = Field(description="null for the first current assessment and for corrected ones")


class StatusEvent(View):
    id: int
    status: Literal["active", "exited"]
    reason: str = Field(description="an exit or re-entry reason; `new_assessment` when an assessment brought it "
                                    "back, `unspecified` for a status set by PATCH")
    note: str | None
    assessment_id: int | None
    user_id: int | None
    at: Timestamp


class HouseholdFile(View):
    household: Household
    assessments: list[FileEntry]
    transfers: list[Transfer]
    status_history: list[StatusEvent] = Field(description="exits and re-entries, oldest first")
    appeals: list[Appeal]
    discovery_origin: DiscoveryOrigin | None = Field(
        description="the visit-list candidate the household was registered from (api/discovery); null otherwise")


class Exited(View):
    household_id: int
    status: Literal["exited"]
    reason: str
    closed_referrals: list[int] = Field(description="the open referrals cancelled with the reason")


class Reentered(View):
    household_id: int
    status: Literal["active"]
    reason: str


class Threshold(View):
    tier: str | None = Field(description="below this tier (the verified tier counting where there is one)")
    index: float | None = Field(description="below this index (when the threshold is an index cut-off)")


class Proposal(View):
    household_id: int
    station_id: int
    town_id: int
    assessment_id: int
    assessed_on: Day
    index: float
    tier: str
    verified_tier: str | None
    previous_assessment_id: int
    previous_index: float
    previous_tier: str
    previous_verified_tier: str | None


class ProposalPage(View):
    threshold: Threshold
    total: int
    limit: int
    offset: int
    items: list[Proposal]


class ProposalDecided(View):
    household_id: int
    assessment_id: int = Field(description="the latest assessment the decision was taken on")
    decision: Literal["confirm", "dismiss"]
    reason: str | None
    status: Literal["active", "exited"]
    closed_referrals: list[int]


class RevealedIdNumber(View):
    household_id: int
    id_number: str | None
