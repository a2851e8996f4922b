"""What a request passes before its route runs: the body size limit, the JSON body read by orjson, and
text that no database stores refused, each a problem naming the field.

A lone surrogate (`"\\ud800"`) cannot be encoded as UTF-8 and PostgreSQL stores no NUL character, so
either, anywhere in a JSON body (keys included) or in a query parameter, is a 422 `invalid_text` before
any service function sees it.
"""

from __future__ import annotations

import email.message
import json
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import problems
from api.encoding import INVALID_TEXT

INVALID_TEXT_MESSAGE = ("The text holds a NUL character or a lone surrogate, which cannot be stored.",
                        "文本含有空字符(NUL)或孤立的代理码位,无法保存。")
MAX_INVALID_TEXT_PROBLEMS = 10
_MISSING = object()


def invalid_text_paths(value: Any, limit: int = MAX_INVALID_TEXT_PROBLEMS) -> list[tuple]:
    """Where in a parsed JSON value a key or a string holds invalid text (at most `limit` places, in
    document order). Iterative, so a deeply nested body cannot exhaust the stack."""
    found, pending = [], [((), value)]
    while pending and len(found) < limit:
        path, item = pending.pop()
        if isinstance(item, str):
            if INVALID_TEXT.search(item):
                found.append(path)
        elif isinstance(item, dict):
            children = []
            for key, child in item.items():
                if INVALID_TEXT.search(key):
                    found.append((*path, key))
                else:
                    children.append(((*path, key), child))
            pending.extend(reversed(children))
        elif isinstance(item, list):
            pending.extend(((*path, position), child) for position, child in reversed(list(enumerate(item))))
    return found


def _invalid_text(location: str, paths: list[tuple]) -> RequestValidationError:
    return RequestValidationError([{"type": "invalid_text", "loc": (location, *path), "msg": INVALID_TEXT_MESSAGE[0],
                                    "input": None} for path in paths])


def parse_json(body: bytes) -> Any:
    """The JSON value of a request body; RequestValidationError for malformed JSON (`json_invalid`, NaN and
    Infinity included) and for invalid text (`invalid_text` at each place it is)."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        try:  # the standard library reads lone surrogates (and NaN), so it can say where they are
            lenient = json.loads(body)
        except (ValueError, RecursionError):
            lenient = _MISSING
        paths = [] if lenient is _MISSING else invalid_text_paths(lenient)
        if paths:
            raise _invalid_text("body", paths) from None
        raise RequestValidationError([{"type": "json_invalid", "loc": ("body",), "msg": f"JSON decode error: {exc}",
                                       "input": None}]) from None
    if b"\\u0000" in body:  # orjson reads escaped NULs; only then is the value walked
        paths = invalid_text_paths(value)
        if paths:
            raise _invalid_text("body", paths)
    return value


def _is_json(content_type: str | None) -> bool:
    """FastAPI's own test of a JSON body: no content type (FastAPI then reads none), application/json or
    application/*+json."""
    if not content_type:
        return False
    if content_type == "application/json" or content_type.startswith("application/json;"):
        return True  # what clients send, without parsing the header
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


class CheckedRequest(Request):
    """A request whose JSON body is read once, by `parse_json`."""

    _parsed: Any = _MISSING

    async def json(self) -> Any:
        if self._parsed is _MISSING:
            self._parsed = parse_json(await self.body())
        return self._parsed


class CheckedRoute(APIRoute):
    """The route class of the API: query parameters and the JSON body are checked for invalid text (and the
    body parsed) before FastAPI validates them, so every such problem is a 422 naming where it is."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        reads_body = self.body_field is not None
        query_names = frozenset(parameter.alias for parameter in self.dependant.query_params)

        async def checked_handler(request: Request) -> Response:
            request = CheckedRequest(request.scope, request.receive)
            if query_names:  # only the route's own parameters: it ignores any other
                bad = [(name,) for name, value in request.query_params.multi_items()
                       if name in query_names and INVALID_TEXT.search(value)]
                if bad:
                    raise _invalid_text("query", bad[:MAX_INVALID_TEXT_PROBLEMS])
            if reads_body and _is_json(request.headers.get("content-type")) and await request.body():
                await request.json()
            return await handler(request)

        return checked_handler


class BodyLimit:
    """ASGI middleware: a request body over `max_bytes` is a 413 problem, sent with `Connection: close`.
    A declared Content-Length over the limit is refused before any of the body is read; a body without
    one (chunked) is refused as soon as what has arrived passes the limit, so it is never held whole.
    (FastAPI's own limit answers a declared oversize body in plain text, not as problem details.)"""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            response = await problems.handle(Request(scope), problems.ContentTooLarge(self.max_bytes))
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise problems.ContentTooLarge(self.max_bytes)  # rendered by the app's error handler
            return message

        await self.app(scope, limited_receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
