"""FastAPI dependencies: the service context, and the authenticated caller of an API request or a page."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.auth.access import Caller
from api.auth.service import authenticate, require_token, token_expiry
from api.context import ServiceContext
from api.db import InSession
from api.errors import Unauthorized
from api.web.session import SignInRequired, session_token

bearer = HTTPBearer(auto_error=False, description="A token from `assess user add` or POST /v1/users")


async def service_context(request: Request) -> ServiceContext:
    """Async, so FastAPI calls it on the event loop instead of sending it to a worker thread."""
    return request.app.state.context


Context = Annotated[ServiceContext, Depends(service_context)]


async def bearer_token(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str | None:
    return credentials.credentials if credentials else None


BearerToken = Annotated[str | None, Depends(bearer_token)]


async def current_caller(context: Context, token: BearerToken) -> Caller:
    """The caller of the request's bearer token (401 when there is none, or it is not valid)."""
    return await context.database.read(authenticate, token=token)


CurrentCaller = Annotated[Caller, Depends(current_caller)]


async def caller_in_write(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> InSession:
    """The caller of a route whose one database call is `Database.write`, given to it as its `caller`: read in
    that call's session, before its work (401 then), so that the request makes one database call, not two.
    Without a token the request is refused here (401). (On `bearer` itself: each level of dependencies costs
    every submission.)"""
    return InSession(authenticate, token=require_token(credentials.credentials if credentials else None))


WritingCaller = Annotated[InSession, Depends(caller_in_write)]


async def page_caller(request: Request, context: Context) -> Caller:
    """The signed-in caller of a page (and, in `request.state.token_expires_at`, when their token expires);
    SignInRequired when there is no valid session."""
    token = session_token(request)
    next_path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if token is None:
        raise SignInRequired(next_path)
    try:
        caller, request.state.token_expires_at = await context.database.read(_caller_and_expiry, token=token)
    except Unauthorized:
        raise SignInRequired(next_path) from None
    return caller


def _caller_and_expiry(*, session, token: str) -> tuple[Caller, str | None]:
    return authenticate(session=session, token=token), token_expiry(session=session, token=token)


PageCaller = Annotated[Caller, Depends(page_caller)]
