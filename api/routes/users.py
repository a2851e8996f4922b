"""Users and tokens."""

from __future__ import annotations

from fastapi import APIRouter

from api import responses
from api.deps import BearerToken, Context, CurrentCaller
from api.intake import CheckedRoute
from api.schemas import RowId, UserCreate, problems
from api.services import users

router = APIRouter(tags=["users"], responses=problems(401, 413), route_class=CheckedRoute)


@router.get("/me", response_model=responses.Me,
            summary="The caller's role and scope, and when the token used expires")
def me(context: Context, token: BearerToken) -> dict:
    with context.database.session() as session:
        caller = users.authenticate(session=session, token=token)
        expires_at = users.token_expiry(session=session, token=token)
    return {"id": caller.id, "name": caller.name, "role": caller.role.value, "station_id": caller.station_id,
            "town_ids": sorted(caller.town_ids), "token_expires_at": expires_at}


@router.get("/users", response_model=list[responses.User], responses=problems(403),
            summary="Every user (admin)")
def list_users(context: Context, caller: CurrentCaller) -> list[dict]:
    with context.database.session() as session:
        return users.list_users(session=session, caller=caller)


@router.post("/users", status_code=201, response_model=responses.UserCreated,
             responses=problems(403, 404, 409, 422),
             summary="Add a user (admin); the token is shown only in this response")
def create_user(body: UserCreate, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        user, token = users.create_user(session=session, caller=caller, name=body.name, role=body.role,
                                        valid_days=context.settings.token_valid_days, station_id=body.station_id,
                                        town_ids=body.town_ids)
    return {"user": user, "token": token["token"], "token_expires_at": token["expires_at"]}


@router.post("/users/{user_id}/tokens", status_code=201, response_model=responses.IssuedToken,
             responses=problems(403, 404, 422), summary="Issue another token (admin)")
def issue_token(user_id: RowId, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return users.issue_token(session=session, caller=caller, user_id=user_id,
                                 valid_days=context.settings.token_valid_days)


@router.delete("/users/{user_id}/tokens", response_model=responses.Revoked, responses=problems(403, 422),
               summary="Revoke every token of a user (admin)")
def revoke_tokens(user_id: RowId, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return {"revoked": users.revoke_tokens(session=session, caller=caller, user_id=user_id)}
