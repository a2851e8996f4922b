"""Rendering a page: Jinja2 templates with the reader's language, the caller and the CSRF value."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates

from api.web.i18n import TEXT, translate
from api.web.session import PAGES, csrf_token, language, session_token

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
# The shared layout here, and each domain's pages in its own package's templates folder.
TEMPLATE_DIRS = [TEMPLATES_DIR, *sorted(Path(__file__).parent.parent.glob("*/templates"))]
CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                           "frame-ancestors 'none'; form-action 'self'")

TOKEN_WARNING = timedelta(days=14)
templates = Jinja2Templates(directory=TEMPLATE_DIRS)


def pick_label(item: Any, lang: str, field: str = "label") -> str:
    """A catalog Label (`.zh`/`.en`), a dict with `label_zh`/`label_en`, or a dict `{zh, en}`."""
    if isinstance(item, dict):
        if f"{field}_{lang}" in item:
            return item[f"{field}_{lang}"]
        return item.get(lang, "")
    return getattr(item, lang)


def expiring_on(request: Request) -> str | None:
    """The date the signed-in token expires, when that is at most TOKEN_WARNING away."""
    expires_at = getattr(request.state, "token_expires_at", None)
    if expires_at is None:
        return None
    expires = datetime.fromisoformat(expires_at)
    return expires.date().isoformat() if expires - datetime.now(timezone.utc) <= TOKEN_WARNING else None


def render(request: Request, template: str, *, caller: Any = None, status_code: int = 200,
           **context: Any):
    lang = language(request)
    token = session_token(request)
    response = templates.TemplateResponse(request, template, {
        "lang": lang, "caller": caller, "csrf": csrf_token(token) if token and caller else "",
        "t": lambda key, **values: translate(key, lang, **values),
        "L": lambda item, field="label": pick_label(item, lang, field),
        "texts": {key: translate(key, lang) for key in TEXT}, "root": PAGES, "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "token_expires_on": expiring_on(request) if caller else None, **context}, status_code=status_code)
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response
