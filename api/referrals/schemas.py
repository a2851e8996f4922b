"""Request bodies and responses of the provider and referral routes."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from api.schemas import INT32_MAX, RowId, Strict, Timestamp, View


class ProviderCreate(Strict):
    name: str = Field(min_length=1, max_length=200, examples=["环翠区慈善总会"])
    kind: str = Field(examples=["charity"], description="government_department, social_organisation, "
                                                        "volunteer_team or charity")
    services: list[str] = Field(min_length=1, description="service item ids of the catalog it offers")
    capacity: int | None = Field(None, ge=1, le=INT32_MAX, description="open referrals it can take at once")
    town_id: RowId | None = None
    contact: str | None = Field(None, max_length=200)


class ReferralCreate(Strict):
    service_id: str = Field(examples=["meal_assistance"])
    provider_id: RowId | None = Field(None, description="with a provider the referral starts as `referred`")
    assessment_id: RowId | None = None
    note: str | None = Field(None, max_length=1000)


class Transition(Strict):
    to: str = Field(examples=["accepted"])
    reason: str | None = Field(None, max_length=500, description="required for declined and cancelled")
    provider_id: RowId | None = None


class Feedback(Strict):
    satisfaction: int = Field(ge=1, le=5)
    note: str | None = Field(None, max_length=1000)


# Responses


class Provider(View):
    id: int
    name: str
    kind: str
    services: list[str]
    capacity: int | None
    town_id: int | None
    contact: str | None
    active: bool
    created_at: Timestamp


class ReferralFeedback(View):
    satisfaction: int
    note: str | None


class Referral(View):
    id: int
    household_id: int
    service_id: str
    provider_id: int | None
    assessment_id: int | None
    status: str
    open: bool
    reason: str | None
    note: str | None
    feedback: ReferralFeedback | None
    allowed: list[str] = Field(description="the statuses it may move to")
    created_by: int | None
    created_at: Timestamp
    changed_at: Timestamp


class ReferralEvent(View):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_status: str | None = Field(alias="from")
    to: str
    reason: str | None
    provider_id: int | None
    user_id: int | None
    at: Timestamp


class ReferralWithHistory(Referral):
    history: list[ReferralEvent]


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
    completed: int
    declined: int
    cancelled: int
    declined_reasons: dict[str, int]


class Pipeline(View):
    overdue_days: int
    as_of: Timestamp
    items: list[PipelineRow]
