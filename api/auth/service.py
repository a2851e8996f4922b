"""Users, their role and scope, and bearer tokens (stored as SHA-256 hashes)."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.orm import Session

from api.audit import service as audit
from api.auth.access import Caller, Role, require_role
from api.auth.tables import Token, User, UserTown
from api.db import bound_connection
from api.db.statements import driver_statement
from api.encoding import iso
from api.errors import Conflict, Invalid, Unauthorized, not_found
from api.geography.tables import Station, Town
from api.referrals.tables import Provider
from api.security import new_token, token_hash


@functools.cache
def _token_user():
    """The user of `:token_hash` when the token is live and the user active, with whether the token has
    expired (the database's clock decides). Columns, not the User entity: every request runs this, and
    only a supervisor has towns to load."""
    expired = case((Token.expires_at <= func.current_timestamp(), 1), else_=0)
    return (select(User.id, User.name, User.role, User.station_id, User.provider_id, expired.label("expired"))
            .join(Token, Token.user_id == User.id)
            .where(Token.token_hash == bindparam("token_hash"), Token.revoked_at.is_(None), User.active.is_(True)))


def require_token(token: str | None) -> str:
    """The bearer token, else 401: none was sent."""
    if not token:
        raise Unauthorized("missing_token", "A bearer token is required.", "需要提供访问令牌(Bearer)。",
                           path="headers.authorization")
    return token


def authenticate(*, session: Session, token: str | None) -> Caller:
    """The caller a bearer token belongs to; 401 naming the header when it is missing, unknown, revoked,
    expired or its user inactive."""
    require_token(token)
    connection = bound_connection(session)
    row = driver_statement(connection, _token_user).first(connection, {"token_hash": token_hash(token)})
    if row is None:
        raise Unauthorized("invalid_token", "The bearer token is not valid.", "访问令牌无效。",
                           path="headers.authorization")
    if row.expired:
        raise Unauthorized("token_expired", "The bearer token has expired; an administrator can issue a new one.",
                           "访问令牌已过期,请联系管理员签发新令牌。", path="headers.authorization")
    return caller_of(session, row)


def caller_of(session: Session, user) -> Caller:
    """The caller a user acts as, from its columns (`id`, `name`, `role`, `station_id`, `provider_id`); a
    supervisor's towns are read here."""
    role = Role(user.role)
    town_ids = session.scalars(select(UserTown.town_id).where(UserTown.user_id == user.id)) \
        if role is Role.supervisor else ()
    return Caller(id=user.id, name=user.name, role=role, station_id=user.station_id, town_ids=frozenset(town_ids),
                  provider_id=user.provider_id)


def token_expiry(*, session: Session, token: str) -> str | None:
    """When `token` expires (ISO 8601), None when it does not."""
    return iso(session.scalar(select(Token.expires_at).where(Token.token_hash == token_hash(token))))


def user_view(user: User) -> dict:
    return {"id": user.id, "name": user.name, "role": user.role, "station_id": user.station_id,
            "town_ids": sorted(user.town_ids), "provider_id": user.provider_id, "active": user.active,
            "created_at": iso(user.created_at)}


def _check_scope(session: Session, role: Role, station_id: int | None, town_ids: list[int],
                 provider_id: int | None) -> None:
    """A caseworker has one station, a supervisor one or more towns, a provider's user one provider; the other
    roles none of these."""
    given = {"station_id": station_id is not None, "town_ids": bool(town_ids), "provider_id": provider_id is not None}
    needed = {Role.caseworker: "station_id", Role.supervisor: "town_ids", Role.provider: "provider_id"}.get(role)
    if needed is not None and not given[needed]:
        what = {"station_id": ("exactly one station", "一个驿站"), "town_ids": ("one or more towns", "一个或多个镇街"),
                "provider_id": ("the provider they act for", "所属的服务机构")}[needed]
        raise Invalid("scope_required", f"A user with role {role.value} needs {what[0]}.",
                      f"角色 {role.value} 必须指定{what[1]}。", path=needed)
    extra = [field for field, present in given.items() if present and field != needed]
    if extra:
        raise Invalid("scope_not_allowed", f"A user with role {role.value} has no {extra[0]}.",
                      f"角色 {role.value} 不设 {extra[0]}。", path=extra[0])
    if role is Role.caseworker and session.get(Station, station_id) is None:
        raise not_found(f"Station {station_id}", f"驿站 {station_id}", "station_id")
    for town_id in town_ids:
        if session.get(Town, town_id) is None:
            raise not_found(f"Town {town_id}", f"镇街 {town_id}", "town_ids")
    if provider_id is not None and session.get(Provider, provider_id) is None:
        raise not_found(f"Provider {provider_id}", f"服务机构 {provider_id}", "provider_id")


def create_user(*, session: Session, caller: Caller | None, name: str, role: Role, valid_days: int,
                station_id: int | None = None, town_ids: list[int] | None = None,
                provider_id: int | None = None) -> tuple[dict, dict]:
    """Create a user and a first token valid for `valid_days` (0: until revoked); returns the user and the
    token (`token`, shown only this once, and `expires_at`). `caller` None means the command line, which
    acts as the system."""
    if caller is not None:
        require_role(caller, Role.admin)
    town_ids = sorted(set(town_ids or []))
    _check_scope(session, role, station_id, town_ids, provider_id)
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        raise Conflict("duplicate_user", f"A user named {name!r} exists.", f"用户 {name!r} 已存在。", path="name")
    user = User(name=name, role=role.value, station_id=station_id, provider_id=provider_id, active=True,
                towns=[UserTown(town_id=t) for t in town_ids])
    session.add(user)
    session.flush()
    token = _issue(session, user.id, valid_days)
    audit.record(session, caller, "create_user", target_user_id=user.id, role=role.value,
                 token_expires_at=token["expires_at"])
    return user_view(user), token


def _issue(session: Session, user_id: int, valid_days: int) -> dict:
    token = new_token()
    now = datetime.now(timezone.utc)
    expires_at = now + timedelta(days=valid_days) if valid_days else None
    session.add(Token(user_id=user_id, token_hash=token_hash(token), created_at=now, expires_at=expires_at))
    return {"token": token, "expires_at": iso(expires_at)}


def user_id_by_name(session: Session, name: str) -> int:
    """The id of the user called `name`; 404 naming the field when there is none."""
    user_id = session.scalar(select(User.id).where(User.name == name))
    if user_id is None:
        raise not_found(f"User {name!r}", f"用户 {name!r}", "name")
    return user_id


def issue_token(*, session: Session, caller: Caller | None, user_id: int, valid_days: int) -> dict:
    """A new token for a user (admins only; `caller` None is the command line), valid for `valid_days` (0:
    until revoked); earlier tokens stay valid until they expire or are revoked. Returns `token` (shown only
    this once) and `expires_at`."""
    if caller is not None:
        require_role(caller, Role.admin)
    if session.get(User, user_id) is None:
        raise not_found(f"User {user_id}", f"用户 {user_id}")
    token = _issue(session, user_id, valid_days)
    audit.record(session, caller, "issue_token", target_user_id=user_id, token_expires_at=token["expires_at"])
    return token


def revoke_tokens(*, session: Session, caller: Caller | None, user_id: int) -> int:
    """Revoke every token of a user (admins only; `caller` None is the command line); returns how many."""
    if caller is not None:
        require_role(caller, Role.admin)
    tokens = session.scalars(select(Token).where(Token.user_id == user_id, Token.revoked_at.is_(None))).all()
    for token in tokens:
        token.revoked_at = datetime.now(timezone.utc)
    audit.record(session, caller, "revoke_tokens", target_user_id=user_id, count=len(tokens))
    return len(tokens)


def list_users(*, session: Session, caller: Caller) -> list[dict]:
    require_role(caller, Role.admin)
    return [user_view(u) for u in session.scalars(select(User).order_by(User.id))]


def user_caller(session: Session, user_id: int) -> Caller:
    """The caller an active user acts as, without a token (the command line, an intake token's user)."""
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise not_found(f"Active user {user_id}", f"有效用户 {user_id}", "user")
    return caller_of(session, user)
