"""The referral pipeline by provider."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import Context, PageCaller
from api.referrals import service as referrals
from api.referrals.workflow import workflow
from api.web.i18n import TEXT
from api.web.templating import render

router = APIRouter()
# The statuses' labels are the pages' words too (the referral buttons' script shows them).
TEXT.update({f"referral_status_{status}": (label.zh, label.en) for status, label in workflow().statuses.items()})


@router.get("/referrals")
def referral_pipeline(request: Request, context: Context, caller: PageCaller):
    with context.database.session() as session:
        pipeline = referrals.pipeline(session=session, caller=caller,
                                      overdue_days=context.settings.referral_overdue_days)
        providers = {p["id"]: p for p in referrals.list_providers(session=session)}
    groups: dict = {}
    for item in pipeline["items"]:
        groups.setdefault(item["provider_id"], []).append(item)
    return render(request, "referrals.html", caller=caller, pipeline=pipeline, groups=groups, providers=providers,
                  services=context.scorer.catalog.service_by_id)
