"""FastAPI dependencies: the service context and the authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.auth.access import Caller
from api.auth.service import authenticate
from api.context import ServiceContext

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
