"""The pages as an installable web app that works without a network: the web app manifest, the service
worker (served under /app so that its scope covers the pages), and the outbox page where questionnaires
finished offline wait to be sent (its rows are drawn by static/offline.js from the device's queue).

Only pages a caseworker reads of their own station are kept on the device: such a page carries the header
`OFFLINE_HEADER` naming the caller, and the service worker keeps nothing else but the static files."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from api.auth.access import Caller, Role
from api.deps import Context, PageCaller
from api.web.i18n import translate
from api.web.session import PAGES, language
from api.web.templating import STATIC_DIR, pick_label, render

router = APIRouter()
OFFLINE_HEADER = "X-Offline-Copy"
OFFLINE_ROLES = (Role.caseworker,)
QUEUE_ROLES = (Role.caseworker, Role.supervisor)


def keep_offline(response: Response, caller: Caller) -> Response:
    """Mark a page of the caller's own station's households as one the device may keep (caseworkers only)."""
    if caller.role in OFFLINE_ROLES:
        response.headers[OFFLINE_HEADER] = str(caller.id)
    return response


@router.get("/sw.js")
def service_worker() -> Response:
    """The service worker's script; its default scope is /app/, the pages."""
    return Response((STATIC_DIR / "sw.js").read_bytes(), media_type="text/javascript",
                    headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": PAGES + "/",
                             "X-Content-Type-Options": "nosniff"})


@router.get("/manifest.webmanifest")
def manifest(request: Request) -> JSONResponse:
    lang = language(request)
    return JSONResponse({
        "name": translate("app_name", lang), "short_name": translate("app_name", lang),
        "lang": "zh-CN" if lang == "zh" else "en", "start_url": f"{PAGES}/households", "scope": f"{PAGES}/",
        "display": "standalone", "background_color": "#ffffff", "theme_color": "#1f4e79",
        "icons": [{"src": f"{PAGES}/static/icon.svg", "sizes": "any", "type": "image/svg+xml"}],
    }, media_type="application/manifest+json")


@router.get("/outbox")
def outbox(request: Request, context: Context, caller: PageCaller):
    lang = language(request)
    tiers = {tier.id: pick_label(tier.label, lang) for tier in context.scorer.catalog.tiers}
    return keep_offline(render(request, "outbox.html", caller=caller, tiers=tiers), caller)
