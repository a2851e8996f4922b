"""Signing in to the pages: the bearer token kept in an HttpOnly cookie, the language, and CSRF.

The browser never sees the token. Scripts on the pages call the JSON API (`/v1/...`) with the header
`X-CSRF-Token`; `CookieBearer` then hands the API the cookie's token as a bearer token, so pages and
scripts use the very endpoints, checks and messages of the API. Cross-site requests cannot set that
header (there is no CORS), and the cookie is SameSite=Strict.
"""

from __future__ import annotations

import hashlib
import hmac
from http.cookies import SimpleCookie

from fastapi import Request

SESSION_COOKIE = "assess_session"
LANGUAGE_COOKIE = "assess_lang"
CSRF_HEADER = "x-csrf-token"
LANGUAGES = ("zh", "en")
PAGES = "/app"


class SignInRequired(Exception):
    """A page was asked for without a valid session: the handler sends the browser to sign in."""

    def __init__(self, next_path: str):
        super().__init__(next_path)
        self.next_path = next_path


def csrf_token(session_token: str) -> str:
    """A value derived from the session token that a page embeds and scripts send back as a header."""
    return hashlib.sha256(b"csrf:" + session_token.encode("utf-8")).hexdigest()


def csrf_matches(session_token: str, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(csrf_token(session_token), sent)


def language(request: Request) -> str:
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    return chosen if chosen in LANGUAGES else LANGUAGES[0]


def session_token(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or None


def check_csrf(request: Request, sent: str | None) -> None:
    """Reject a form post that does not carry the page's CSRF value."""
    token = session_token(request)
    if token is None or not csrf_matches(token, sent):
        raise SignInRequired(PAGES + "/")


def safe_next(path: str | None) -> str:
    """Only a path of these pages: never another site."""
    if path and path.startswith(PAGES + "/") and not path.startswith("//"):
        return path
    return PAGES + "/"


class CookieBearer:
    """ASGI middleware: an API request from a page script (cookie plus matching CSRF header, no
    Authorization header) is authenticated with the cookie's token."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith("/v1/"):
            headers = dict(scope["headers"])
            if b"authorization" not in headers and b"cookie" in headers:
                cookie = SimpleCookie()
                cookie.load(headers[b"cookie"].decode("latin-1"))
                morsel = cookie.get(SESSION_COOKIE)
                sent = headers.get(CSRF_HEADER.encode("ascii"), b"").decode("latin-1")
                if morsel is not None and csrf_matches(morsel.value, sent):
                    scope = {**scope, "headers": [*scope["headers"],
                                                  (b"authorization", f"Bearer {morsel.value}".encode("latin-1"))]}
        await self.app(scope, receive, send)
