"""Users and tokens."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth import schemas
from api.auth import service as users
from api.auth.schemas import UserCreate
from api.deps import BearerToken, Context, CurrentCaller
from api.request_checks import CheckedRoute
from api.schemas import RowId, problem_responses

router = APIRouter(tags=["users"], responses=problem_responses(401, 413), route_class=CheckedRoute)


@router.get("/me", response_model=schemas.Me,
            summary="The caller's role and scope, and when the token used expires")
def me(context: Context, caller: CurrentCaller, token: BearerToken) -> dict:
    with context.database.session() as session:
        expires_at = users.token_expiry(session=session, token=token)
    return {"id": caller.id, "name": caller.name, "role": caller.role.value, "station_id": caller.station_id,
            "town_ids": sorted(caller.town_ids), "provider_id": caller.provider_id, "token_expires_at": expires_at}


@router.get("/users", response_model=list[schemas.User], responses=problem_responses(403),
            summary="Every user (admin)")
def list_users(context: Context, caller: CurrentCaller) -> list[dict]:
    with context.database.session() as session:
        return users.list_users(session=session, caller=caller)


@router.post("/users", status_code=201, response_model=schemas.UserCreated,
             responses=problem_responses(403, 404, 409, 422),
             summary="Add a user (admin); the token is shown only in this response")
def create_user(body: UserCreate, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        user, token = users.create_user(session=session, caller=caller, name=body.name, role=body.role,
                                        valid_days=context.settings.token_valid_days, station_id=body.station_id,
                                        town_ids=body.town_ids, provider_id=body.provider_id)
    return {"user": user, "token": token["token"], "token_expires_at": token["expires_at"]}


@router.post("/users/{user_id}/tokens", status_code=201, response_model=schemas.IssuedToken,
             responses=problem_responses(403, 404, 422), summary="Issue another token (admin)")
def issue_token(user_id: RowId, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return users.issue_token(session=session, caller=caller, user_id=user_id,
                                 valid_days=context.settings.token_valid_days)


@router.delete("/users/{user_id}/tokens", response_model=schemas.Revoked, responses=problem_responses(403, 422),
               summary="Revoke every token of a user (admin)")
def revoke_tokens(user_id: RowId, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return {"revoked": users.revoke_tokens(session=session, caller=caller, user_id=user_id)}
