"""Request bodies and responses of the provider, referral, reason and directory routes."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import ConfigDict, Field

from api.schemas import INT32_MAX, Day, RowId, Strict, Timestamp, View

Version = Annotated[int, Field(ge=1, le=INT32_MAX, description="the version of the referral the move is made on "
                                                               "(its `version` as shown); an older one is a 409 "
                                                               "`stale_version`")]
Note = Annotated[str | None, Field(max_length=1000)]


class ProviderCreate(Strict):
    name: str = Field(min_length=1, max_length=200, examples=["环翠区慈善总会"])
    kind: str = Field(examples=["charity"], description="government_department, social_organisation, "
                                                        "volunteer_team or charity")
    services: list[str] = Field(min_length=1, max_length=200, description="service item ids of the catalog it offers")
    capacity: int | None = Field(None, ge=1, le=INT32_MAX, description="open referrals it can take at once")
    town_id: RowId | None = Field(None, description="the town it serves; none: the whole city")
    contact: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=2000)


class ProviderUpdate(Strict):
    """The fields to change; an absent one stays as it is. `active: false` deactivates the provider."""

    name: str | None = Field(None, min_length=1, max_length=200, description="cannot be cleared (null: 422)")
    kind: str | None = Field(None, examples=["charity"], description="cannot be cleared (null: 422)")
    services: list[str] = Field(None, min_length=1, max_length=200)
    capacity: int | None = Field(None, ge=1, le=INT32_MAX)
    town_id: RowId | None = None
    contact: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=2000)
    active: bool | None = Field(None, description="false deactivates the provider; cannot be cleared (null: 422)")


class ReferralCreate(Strict):
    service_id: str = Field(examples=["meal_assistance"])
    provider_id: RowId | None = Field(None, description="with a provider the referral starts as `requested`, "
                                                        "without one as `draft`")
    assessment_id: RowId | None = None
    note: Note = None


class Transition(Strict):
    to: str = Field(examples=["accepted"])
    version: Version
    reason: str | None = Field(None, max_length=64, description="the code of a reason of the target status "
                                                                "(GET /v1/referral-reasons); required for rejected, "
                                                                "failed, cancelled and on-hold")
    note: Note = None
    provider_id: RowId | None = Field(None, description="when referring a draft")
    outcome: str | None = Field(None, max_length=32, description="required on completion: needs_met, partly_met, "
                                                                 "not_met")


class Schedule(Strict):
    version: Version
    scheduled_on: date = Field(description="the appointment date")
    note: Note = None


class DeliveryCreate(Strict):
    version: Version
    delivered_on: date
    description: str = Field(min_length=1, max_length=500, description="what was delivered")
    units: float = Field(gt=0, le=100000, description="how many units (meals, hours, visits...)")


class Feedback(Strict):
    version: Version
    satisfaction: int = Field(ge=1, le=5)
    outcome: str = Field(max_length=32, description="needs_met, partly_met or not_met")
    note: Note = None


class ReferElsewhere(Strict):
    version: Version
    provider_id: RowId
    note: Note = None


class CloseReturned(Strict):
    version: Version
    note: Note = None


class ReasonCreate(Strict):
    status: str = Field(examples=["rejected"], description="rejected, failed, cancelled or on-hold")
    code: str = Field(min_length=2, max_length=64, examples=["no_vehicle"])
    label_zh: str = Field(min_length=1, max_length=200, examples=["没有车辆"])
    label_en: str = Field(min_length=1, max_length=200, examples=["No vehicle"])


class ReasonUpdate(Strict):
    """The fields to change; an absent one stays as it is, and none can be cleared (null: 422)."""

    label_zh: str | None = Field(None, min_length=1, max_length=200)
    label_en: str | None = Field(None, min_length=1, max_length=200)
    active: bool | None = None


class DirectoryDocument(Strict):
    """A service directory in Open Referral HSDS 3 (JSON): organizations, their services (with their
    capacities and attributes), and the taxonomies and terms the attributes point to. Entries keep every
    HSDS field; the import reads those it needs and reports each entry it refuses."""

    model_config = ConfigDict(extra="allow")

    organizations: list[dict[str, Any]] = Field(default_factory=list, max_length=10000)
    services: list[dict[str, Any]] = Field(default_factory=list, max_length=100000)
    taxonomies: list[dict[str, Any]] = Field(default_factory=list, max_length=1000)
    taxonomy_terms: list[dict[str, Any]] = Field(default_factory=list, max_length=10000)


# Responses


class Provider(View):
    id: int
    directory_id: str = Field(description="its id in a service directory (the HSDS organization id)")
    name: str
    kind: str
    description: str | None
    services: list[str]
    capacity: int | None
    town_id: int | None
    contact: str | None
    active: bool
    created_at: Timestamp
    updated_at: Timestamp


class Contact(View):
    """The household's name, phone and ID number as the caller may see them: name and phone in full for the
    provider and the station (audited), the ID number masked; everything masked for administrators."""

    name: str | None
    phone: str | None
    id_number: str | None


class ReferralFeedback(View):
    satisfaction: int
    outcome: str | None
    note: str | None


class Referral(View):
    id: int
    household_id: int
    service_id: str
    provider_id: int | None
    assessment_id: int | None
    follows_id: int | None = Field(description="the declined or failed referral this one replaces")
    followed_by: int | None = Field(description="the referral that replaced this one")
    status: str = Field(description="a FHIR Task status code")
    version: int = Field(description="goes up with every move; a move names it")
    open: bool
    due_at: Timestamp | None = Field(description="overdue without a move by then; null once closed")
    overdue: bool
    returned: bool = Field(description="declined or failed, waiting for the station to refer elsewhere or close it")
    reason_code: str | None
    reason: str | None = Field(description="the reason's Chinese text at the time of the decision")
    reason_en: str | None = Field(description="its English text then (null for reasons typed before 0007)")
    note: str | None
    scheduled_on: Day | None
    outcome: str | None
    outcome_note: str | None
    feedback: ReferralFeedback | None
    acknowledged_at: Timestamp | None = Field(description="when the station closed it after a decline or failure")
    contact: Contact | None
    allowed: list[str] = Field(description="the statuses it may move to")
    caller_moves: list[str] = Field(description="the statuses the caller may move it to")
    caller_actions: list[str] = Field(description="the caller's other moves: schedule, delivery, feedback, "
                                                  "refer_elsewhere, close_returned")
    created_by: int | None
    created_at: Timestamp
    changed_at: Timestamp


class ReferralEvent(View):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    kind: str = Field(description="status, schedule, delivery, feedback, referred_elsewhere or closed_return")
    from_status: str | None = Field(alias="from")
    to: str
    reason_code: str | None
    reason: str | None
    reason_en: str | None
    note: str | None
    details: dict[str, Any]
    provider_id: int | None
    user_id: int | None
    user_name: str | None
    at: Timestamp


class Delivery(View):
    id: int
    delivered_on: Day
    description: str
    units: float
    recorded_by: int | None
    recorded_at: Timestamp


class ReferralDetail(Referral):
    history: list[ReferralEvent]
    deliveries: list[Delivery]


class ReferralPage(View):
    total: int
    limit: int
    offset: int
    items: list[Referral]


class PipelineRow(View):
    provider_id: int | None
    service_id: str
    open: int
    overdue: int
    by_status: dict[str, int]
    reasons: dict[str, int] = Field(description="closed referrals by the text of their reason")


class Pipeline(View):
    due_days: dict[str, int] = Field(description="days each open status may last without a move")
    as_of: Timestamp
    items: list[PipelineRow]


class Reason(View):
    id: int
    status: str
    code: str
    label_zh: str
    label_en: str
    system: bool = Field(description="the service's own (an exit), never offered on a form")
    active: bool
    updated_at: Timestamp


class RefusedEntry(View):
    entry: str = Field(description="where in the file, e.g. organizations.3", examples=["organizations.3"])
    id: str | None
    name: str | None
    code: str
    message_zh: str
    message_en: str


class ImportReport(View):
    added: list[int] = Field(description="ids of the providers added")
    updated: list[int] = Field(description="ids of the providers changed")
    unchanged: list[int]
    refused: list[RefusedEntry]


class HsdsLink(View):
    """A part of an HSDS 3 entry this service writes; HSDS defines its fields."""

    model_config = ConfigDict(extra="allow")
    id: str


class HsdsTaxonomyTerm(HsdsLink):
    name: str
    description: str
    code: str | None = None
    parent_id: str | None = None
    taxonomy_id: str | None = None


class HsdsTaxonomy(HsdsLink):
    name: str
    description: str


class HsdsOrganization(HsdsLink):
    name: str
    description: str


class HsdsService(HsdsLink):
    name: str
    status: str
    organization_id: str | None = None
    capacities: list[HsdsLink] = Field(default_factory=list)
    attributes: list[HsdsLink] = Field(default_factory=list)


class Directory(View):
    """Providers and the service catalog as an Open Referral HSDS 3 directory."""

    hsds_version: str
    taxonomies: list[HsdsTaxonomy]
    taxonomy_terms: list[HsdsTaxonomyTerm]
    organizations: list[HsdsOrganization]
    services: list[HsdsService]
