"""The web pages under /app: each domain's pages, their shared static files, the cookie session for page
scripts, and failures shown as pages."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from api import problems
from api.alerts import pages as alerts
from api.assessments import pages as assessments
from api.audit import pages as audit
from api.auth import pages as account
from api.configs import pages as configs
from api.deps import page_caller
from api.discovery import pages as discovery
from api.errors import ServiceError
from api.households import pages as households
from api.intake import pages as intake
from api.rankings import pages as rankings
from api.referrals import pages as referrals
from api.reviews import pages as reviews
from api.transfers import pages as transfers
from api.web import offline
from api.web.session import PAGES, CookieBearer, SignInRequired
from api.web.templating import STATIC_DIR, render

ROUTERS = (account, households, assessments, rankings, alerts, referrals, transfers, reviews, configs, audit, intake,
           offline, discovery)


async def sign_in_first(request: Request, exc: SignInRequired) -> RedirectResponse:
    from urllib.parse import quote

    return RedirectResponse(f"{PAGES}/sign-in?next={quote(exc.next_path, safe='/')}", status_code=303)


async def page_or_problem(request: Request, exc: ServiceError):
    """A failure on a page is a page in the reader's language; on the API it stays problem details."""
    if not request.url.path.startswith(PAGES + "/"):
        return await problems.handle(request, exc)
    try:
        caller = await page_caller(request, request.app.state.context)
    except SignInRequired as missing:
        return await sign_in_first(request, missing)
    return render(request, "error.html", caller=caller, status_code=exc.status, problems=exc.problems,
                  status=exc.status)


def install(app: FastAPI) -> None:
    """Mount the pages, their static files, and the cookie session for page scripts."""
    app.add_middleware(CookieBearer)
    app.mount(f"{PAGES}/static", StaticFiles(directory=STATIC_DIR), name="web-static")
    for module in ROUTERS:
        app.include_router(module.router, prefix=PAGES, include_in_schema=False)
    app.add_exception_handler(SignInRequired, sign_in_first)
    app.add_exception_handler(ServiceError, page_or_problem)
    app.add_api_route("/", lambda: RedirectResponse(f"{PAGES}/", status_code=307), include_in_schema=False)
