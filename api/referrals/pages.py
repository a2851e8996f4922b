"""Referral pages: the station's referrals (returned, overdue, open), a referral with its moves and history,
the provider's inbox by status, and the pipeline by provider with its overdue items and export. Reads call
the service functions; the forms post to the JSON API."""

from __future__ import annotations

import math
from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.auth.access import Role, require_role
from api.deps import Context, PageCaller
from api.encoding import dumps_bytes
from api.errors import Invalid, forbidden
from api.exports import MEDIA
from api.geography import service as geography
from api.referrals import directory
from api.referrals import providers as provider_records
from api.referrals import reasons as reason_lists
from api.referrals import service as referrals
from api.referrals.workflow import workflow
from api.schemas import RowId
from api.web.i18n import TEXT
from api.web.session import language
from api.web.templating import render

router = APIRouter()
PAGE_SIZE = 25
MAX_PAGE = 1_000_000  # keeps the offset a number the database takes
STATION_ROLES = (Role.caseworker, Role.supervisor)
CLOSED_COLUMNS = ("completed", "rejected", "failed", "cancelled")
# The workflow table's labels are the pages' words too (the referral buttons' script shows them).
TEXT.update({f"referral_status_{status}": (label.zh, label.en) for status, label in workflow().statuses.items()})
TEXT.update({f"outcome_{code}": (label.zh, label.en) for code, label in workflow().outcomes.items()})
TEXT.update({f"provider_kind_{kind}": (label.zh, label.en) for kind, label in workflow().provider_kinds.items()})


def inbox_groups() -> dict[str, tuple[str, ...]]:
    """The provider's inbox tabs: new referrals, then each open status, then the closed ones together."""
    rules = workflow()
    waiting = ("requested", "received")
    opened = tuple(status for status in rules.statuses if status in rules.open and status not in (*waiting, "draft"))
    return {"new": waiting, **{status: (status,) for status in opened},
            "closed": tuple(status for status in rules.statuses if status not in rules.open)}


def referral_context(session, catalog) -> dict:
    """What the referral parts need: the catalog's services, the providers (and which offer each service, among
    the active ones), the workflow table and the reasons offered for each status."""
    listed = provider_records.list_providers(session=session)
    offering: dict[str, list] = {}
    for provider in listed:
        if provider["active"]:
            for service_id in provider["services"]:
                offering.setdefault(service_id, []).append(provider)
    reasons: dict[str, list] = {}
    for reason in reason_lists.list_reasons(session=session):
        if not reason["system"]:
            reasons.setdefault(reason["status"], []).append(reason)
    return {"services": catalog.service_by_id, "providers": {p["id"]: p for p in listed}, "offering": offering,
            "rules": workflow(), "reasons": reasons}


def _page(number: int) -> int:
    return min(max(number, 1), MAX_PAGE)


@router.get("/referrals")
def referral_pipeline(request: Request, context: Context, caller: PageCaller):
    """The pipeline by provider; supervisors and admins also see the overdue referrals and export them."""
    with context.database.session(write=True) as session:  # the overdue list's contacts are audited reads
        pipeline = referrals.pipeline(session=session, caller=caller)
        overdue = None if caller.role is Role.analyst else referrals.list_referrals(
            session=session, caller=caller, keys=context.keys, overdue=True, limit=PAGE_SIZE)
        parts = referral_context(session, context.scorer.catalog)
    groups: dict = {}
    for item in pipeline["items"]:
        groups.setdefault(item["provider_id"], []).append(item)
    lang = language(request)
    labels = workflow().statuses
    due_text = ("、" if lang == "zh" else ", ").join(f"{getattr(labels[status], lang)} {days}"
                                                    for status, days in pipeline["due_days"].items())
    return render(request, "referrals.html", caller=caller, pipeline=pipeline, groups=groups, overdue=overdue,
                  shown_statuses=CLOSED_COLUMNS, due_text=due_text, can_export=overdue is not None, **parts)


@router.get("/referrals/export")
def export(request: Request, context: Context, caller: PageCaller, format: str = "csv"):
    """Every referral in scope as the API exports it (no personal data), labels in the reader's language."""
    if format not in MEDIA:
        raise Invalid("invalid_export", "format must be csv or xlsx.", "导出格式须为 csv 或 xlsx。", path="format")
    with context.database.session(write=True) as session:
        content = referrals.export_referrals(session=session, caller=caller, catalog=context.scorer.catalog,
                                             fmt=format, lang=language(request))
    return Response(content, media_type=MEDIA[format],
                    headers={"Content-Disposition": f'attachment; filename="referrals-{date.today()}.{format}"'})


@router.get("/referrals/open")
def station_referrals(request: Request, context: Context, caller: PageCaller, page: int = 1):
    """The station's referrals: returned ones to follow up, overdue ones, and every open one (paged)."""
    require_role(caller, *STATION_ROLES)
    page = _page(page)
    with context.database.session(write=True) as session:  # contacts shown are audited reads
        returned = referrals.list_referrals(session=session, caller=caller, keys=context.keys, returned=True,
                                            limit=PAGE_SIZE)
        overdue = referrals.list_referrals(session=session, caller=caller, keys=context.keys, overdue=True,
                                           limit=PAGE_SIZE)
        listed = referrals.list_referrals(session=session, caller=caller, keys=context.keys, open=True,
                                          limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        parts = referral_context(session, context.scorer.catalog)
    return render(request, "station_referrals.html", caller=caller, returned=returned, overdue=overdue,
                  listed=listed, page=page, pages=max(1, math.ceil(listed["total"] / PAGE_SIZE)), **parts)


@router.get("/inbox")
def inbox(request: Request, context: Context, caller: PageCaller, group: str = "new", page: int = 1):
    """The provider's referrals by status, each with the provider's moves."""
    require_role(caller, Role.provider)
    groups = inbox_groups()
    chosen = group if group in groups else "new"
    page = _page(page)
    lang = language(request)
    with context.database.session(write=True) as session:  # contacts shown are audited reads
        counts = referrals.count_by_status(session=session, caller=caller)
        listed = referrals.list_referrals(session=session, caller=caller, keys=context.keys,
                                          statuses=groups[chosen], limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        provider = provider_records.get_provider(session=session, provider_id=caller.provider_id)
        parts = referral_context(session, context.scorer.catalog)
    labels = workflow().statuses
    tabs = [{"key": key, "count": sum(counts.get(status, 0) for status in statuses),
             "label": TEXT[f"inbox_{key}"][lang == "en"] if key in ("new", "closed") else getattr(labels[key], lang)}
            for key, statuses in groups.items()]
    return render(request, "inbox.html", caller=caller, groups=tabs, chosen=chosen, listed=listed, provider=provider,
                  page=page, pages=max(1, math.ceil(listed["total"] / PAGE_SIZE)), **parts)


@router.get("/referrals/{referral_id}")
def referral_page(request: Request, referral_id: RowId, context: Context, caller: PageCaller):
    with context.database.session(write=True) as session:  # the contact shown is an audited read
        referral = referrals.get_referral(session=session, caller=caller, keys=context.keys, referral_id=referral_id)
        parts = referral_context(session, context.scorer.catalog)
    side = "provider" if caller.role is Role.provider else "station" if caller.role in STATION_ROLES else None
    return render(request, "referral.html", caller=caller, r=referral, side=side, today=date.today().isoformat(),
                  **parts)


# The administrator's pages (providers: supervisors too, within their towns and city-wide)


def _editable(caller, provider: dict) -> bool:
    return caller.role is Role.admin or provider["town_id"] is None or provider["town_id"] in caller.town_ids


@router.get("/admin/providers")
def providers_page(request: Request, context: Context, caller: PageCaller):
    """The providers; add one; export the directory, and (admins) import one."""
    require_role(caller, *provider_records.PROVIDER_EDITORS)
    catalog = context.scorer.catalog
    with context.database.session() as session:
        parts = referral_context(session, catalog)
        towns = {t["id"]: t for t in geography.list_towns(session=session)}
    editable = {p["id"] for p in parts["providers"].values() if _editable(caller, p)}
    return render(request, "providers.html", caller=caller, towns=towns, catalog=catalog, p=None, editable=editable,
                  **parts)


@router.get("/admin/providers/{provider_id}")
def provider_page(request: Request, provider_id: RowId, context: Context, caller: PageCaller):
    require_role(caller, *provider_records.PROVIDER_EDITORS)
    catalog = context.scorer.catalog
    with context.database.session() as session:
        provider = provider_records.get_provider(session=session, provider_id=provider_id)
        towns = {t["id"]: t for t in geography.list_towns(session=session)}
    if not _editable(caller, provider):
        raise forbidden()
    return render(request, "provider_edit.html", caller=caller, p=provider, towns=towns, catalog=catalog,
                  rules=workflow())


@router.get("/admin/directory.json")
def directory_file(context: Context, caller: PageCaller):
    """The providers' directory (Open Referral HSDS 3) as a file to download."""
    require_role(caller, *provider_records.PROVIDER_EDITORS)
    with context.database.session() as session:
        document = directory.export_directory(session=session, catalog=context.scorer.catalog)
    return Response(dumps_bytes(document), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="providers-hsds-{date.today()}.json"'})


@router.get("/admin/reasons")
def reasons_page(request: Request, context: Context, caller: PageCaller):
    """The decision reasons by status, with the retired ones; add, rename, retire, restore."""
    require_role(caller, Role.admin)
    with context.database.session() as session:
        listed = reason_lists.list_reasons(session=session, include_retired=True)
    by_status = {status: [r for r in listed if r["status"] == status]
                 for status in workflow().statuses if status in workflow().reason_required}
    return render(request, "reasons.html", caller=caller, by_status=by_status)
