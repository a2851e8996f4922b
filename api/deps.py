"""FastAPI dependencies: the service context and the authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.context import ServiceContext
from api.services.access import Caller
from api.services.users import authenticate, require_token

bearer = HTTPBearer(auto_error=False, description="A token from `assess user add` or POST /v1/users")


async def service_context(request: Request) -> ServiceContext:
    """Async, so FastAPI calls it on the event loop instead of sending it to a worker thread."""
    return request.app.state.context


Context = Annotated[ServiceContext, Depends(service_context)]


def current_caller(context: Context,
                   credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Caller:
    with context.database.session() as session:
        return authenticate(session=session, token=credentials.credentials if credentials else None)


CurrentCaller = Annotated[Caller, Depends(current_caller)]


async def bearer_token(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str:
    """The bearer token (401 when there is none), checked later: for routes that authenticate in their own
    transaction."""
    return require_token(credentials.credentials if credentials else None)


BearerToken = Annotated[str, Depends(bearer_token)]
