"""The pages' shell: signing in and out, the language switch, each role's start page; and the admin's users
and tokens page (its forms post to the JSON API)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from api.auth.access import Role, require_role
from api.auth.service import authenticate, list_users
from api.deps import Context, PageCaller
from api.errors import Unauthorized
from api.geography import service as geography
from api.referrals.providers import list_providers
from api.web.session import LANGUAGE_COOKIE, LANGUAGES, PAGES, SESSION_COOKIE, check_csrf, safe_next
from api.web.templating import render

router = APIRouter()
START_PAGES = {Role.caseworker: "/households", Role.supervisor: "/ranking", Role.analyst: "/configurations",
               Role.admin: "/households", Role.provider: "/inbox"}


@router.get("/")
def start(caller: PageCaller) -> RedirectResponse:
    return RedirectResponse(PAGES + START_PAGES[caller.role], status_code=303)


@router.get("/sign-in")
def sign_in_page(request: Request, next: str | None = None):
    return render(request, "sign_in.html", next=safe_next(next), token="", problems=[])


@router.post("/sign-in")
async def sign_in(request: Request, context: Context, token: Annotated[str, Form()] = "",
                  next: Annotated[str, Form()] = ""):
    token = token.strip()
    try:
        await context.database.read(authenticate, token=token)
    except Unauthorized as failure:
        return render(request, "sign_in.html", status_code=401, next=safe_next(next), token=token,
                      problems=failure.problems)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")
    return response


@router.post("/sign-out")
def sign_out(request: Request, csrf: Annotated[str, Form()] = "") -> RedirectResponse:
    check_csrf(request, csrf)
    response = RedirectResponse(f"{PAGES}/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    # What the device kept for working offline goes too (static/offline.js clears it first, even offline).
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


@router.get("/language/{code}")
def switch_language(code: str, next: str | None = None) -> RedirectResponse:
    response = RedirectResponse(safe_next(next), status_code=303)
    if code in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, code, samesite="lax", max_age=365 * 24 * 3600, path="/")
    return response


@router.get("/admin/users")
def users_page(request: Request, context: Context, caller: PageCaller):
    """Users with their scope; add one (its token shown once), issue another token, revoke every token."""
    require_role(caller, Role.admin)
    with context.database.session() as session:
        users = list_users(session=session, caller=caller)
        stations = {s["id"]: s for s in geography.list_stations(session=session)}
        towns = {t["id"]: t for t in geography.list_towns(session=session)}
        providers = {p["id"]: p for p in list_providers(session=session)}
    return render(request, "users.html", caller=caller, users=users, stations=stations, towns=towns,
                  providers=providers, roles=[role.value for role in Role])
