"""Request bodies of the provider and referral routes."""

from __future__ import annotations

from pydantic import Field

from api.schemas import Strict


class ProviderCreate(Strict):
    name: str = Field(min_length=1, max_length=200, examples=["环翠区慈善总会"])
    kind: str = Field(examples=["charity"], description="government_department, social_organisation, "
                                                        "volunteer_team or charity")
    services: list[str] = Field(min_length=1, description="service item ids of the catalog it offers")
    capacity: int | None = Field(None, ge=1, description="open referrals it can take at once")
    town_id: int | None = None
    contact: str | None = Field(None, max_length=200)


class ReferralCreate(Strict):
    service_id: str = Field(examples=["meal_assistance"])
    provider_id: int | None = Field(None, description="with a provider the referral starts as `referred`")
    assessment_id: int | None = None
    note: str | None = Field(None, max_length=1000)


class Transition(Strict):
    to: str = Field(examples=["accepted"])
    reason: str | None = Field(None, max_length=500, description="required for declined and cancelled")
    provider_id: int | None = None


class Feedback(Strict):
    satisfaction: int = Field(ge=1, le=5)
    note: str | None = Field(None, max_length=1000)
