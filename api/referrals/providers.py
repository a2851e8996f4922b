"""Service providers: who offers which service items of the catalog, where, and how many referrals at once.

Admins manage every provider; a supervisor adds and edits the providers of their towns and the city-wide ones
(no town). A provider is never deleted, since referrals point to it: deactivated, it
takes no new referral and its open ones go on.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.audit import service as audit
from api.auth.access import Caller, Role, require_role
from api.encoding import iso
from api.errors import Conflict, Forbidden, Invalid, not_found
from api.geography.tables import Town
from api.referrals.tables import Provider, Referral
from api.referrals.workflow import workflow

PROVIDER_EDITORS = (Role.supervisor, Role.admin)
EDITABLE = ("name", "kind", "description", "services", "capacity", "town_id", "contact", "active")


def provider_view(provider: Provider) -> dict:
    return {"id": provider.id, "directory_id": provider.directory_id, "name": provider.name, "kind": provider.kind,
            "description": provider.description, "services": provider.services, "capacity": provider.capacity,
            "town_id": provider.town_id, "contact": provider.contact, "active": provider.active,
            "created_at": iso(provider.created_at), "updated_at": iso(provider.updated_at)}


def check_service(catalog, service_id: str, path: str = "service_id") -> None:
    if service_id not in catalog.service_by_id:
        raise Invalid("unknown_service", f"Unknown service item {service_id!r}.", f"未知服务项目 {service_id!r}。",
                      path=path)


def _check_town(session: Session, caller: Caller | None, town_id: int | None) -> None:
    """A known town or none (the whole city); a supervisor's provider is in one of their towns or city-wide."""
    if town_id is None:
        return
    if session.get(Town, town_id) is None:
        raise not_found(f"Town {town_id}", f"镇街 {town_id}", "town_id")
    if caller is not None and caller.role is Role.supervisor and town_id not in caller.town_ids:
        raise Forbidden("out_of_scope", f"Town {town_id} is not one of your towns.",
                        f"镇街 {town_id} 不在您负责的镇街之内。", path="town_id")


def check_fields(session: Session, catalog, *, kind: str, services: list[str], name: str,
                 provider_id: int | None = None) -> None:
    """A known kind, known service items, and a name no other provider has."""
    kinds = workflow().provider_kinds
    if kind not in kinds:
        raise Invalid("unknown_provider_kind", f"kind must be one of {', '.join(kinds)}.",
                      f"机构类型必须为 {'、'.join(label.zh for label in kinds.values())} 之一。", path="kind")
    if not services:
        raise Invalid("services_required", "A provider offers at least one service item.",
                      "服务机构至少提供一个服务项目。", path="services")
    for position, service_id in enumerate(services):
        check_service(catalog, service_id, f"services.{position}")
    other = session.scalar(select(Provider.id).where(Provider.name == name))
    if other is not None and other != provider_id:
        raise Conflict("duplicate_provider", f"A provider named {name!r} exists already.",
                       f"名为 {name!r} 的服务机构已存在。", path="name", extra={"existing_provider_id": other})


def create_provider(*, session: Session, caller: Caller | None, catalog, name: str, kind: str,
                    services: list[str], capacity: int | None = None, town_id: int | None = None,
                    contact: str | None = None, description: str | None = None,
                    directory_id: str | None = None) -> dict:
    """A provider of the whole city (no town), or of one town. `caller` None is the command line or an import.
    `directory_id` keeps the provider's id in a service directory (a new one is made without it)."""
    if caller is not None:
        require_role(caller, *PROVIDER_EDITORS)
    _check_town(session, caller, town_id)
    name = name.strip()
    if not name:
        raise Invalid("value_required", "name cannot be blank.", "name 不能为空白。", path="name")
    check_fields(session, catalog, kind=kind, services=services, name=name)
    provider = Provider(name=name, kind=kind, services=list(dict.fromkeys(services)), capacity=capacity,
                        town_id=town_id, contact=contact, description=description, active=True,
                        **({"directory_id": directory_id} if directory_id else {}))
    session.add(provider)
    session.flush()
    audit.record(session, caller, "create_provider", provider_id=provider.id)
    return provider_view(provider)


def load_provider(session: Session, provider_id: int, path: str = "") -> Provider:
    provider = session.get(Provider, provider_id)
    if provider is None:
        raise not_found(f"Provider {provider_id}", f"服务机构 {provider_id}", path)
    return provider


def update_provider(*, session: Session, caller: Caller | None, catalog, provider_id: int, changes: dict) -> dict:
    """Change a provider's fields (`EDITABLE`); `active: false` deactivates it. A supervisor edits the providers
    of their towns, and may not move one out of them."""
    if caller is not None:
        require_role(caller, *PROVIDER_EDITORS)
    provider = load_provider(session, provider_id)
    _check_town(session, caller, provider.town_id)
    if "town_id" in changes:
        _check_town(session, caller, changes["town_id"])
    for field in ("name", "kind", "active"):
        if field in changes and changes[field] is None:
            raise Invalid("value_required", f"{field} cannot be cleared.", f"{field} 不能为空。", path=field)
    if isinstance(changes.get("name"), str):
        changes["name"] = changes["name"].strip()
        if not changes["name"]:
            raise Invalid("value_required", "name cannot be blank.", "name 不能为空白。", path="name")
    merged = {field: changes.get(field, getattr(provider, field)) for field in ("kind", "services", "name")}
    check_fields(session, catalog, provider_id=provider.id, **merged)
    if "services" in changes:
        changes["services"] = list(dict.fromkeys(changes["services"]))
    changed = sorted(field for field in EDITABLE if field in changes and changes[field] != getattr(provider, field))
    for field in changed:
        setattr(provider, field, changes[field])
    session.flush()
    if changed:
        audit.record(session, caller, "deactivate_provider" if changes.get("active") is False and "active" in changed
                     else "update_provider", provider_id=provider.id, fields=changed)
    return provider_view(provider)


def get_provider(*, session: Session, provider_id: int) -> dict:
    return provider_view(load_provider(session, provider_id))


def list_providers(*, session: Session, service_id: str | None = None, active: bool | None = None) -> list[dict]:
    query = select(Provider).order_by(Provider.id)
    if active is not None:
        query = query.where(Provider.active.is_(active))
    return [provider_view(p) for p in session.scalars(query) if service_id is None or service_id in p.services]


def open_referrals(session: Session, provider_ids: list[int] | None = None) -> dict[int, int]:
    """How many referrals each provider holds open (asked for and not yet closed: its capacity in use)."""
    query = (select(Referral.provider_id, func.count(Referral.id))
             .where(Referral.provider_id.isnot(None), Referral.open_slot.is_(True), Referral.status != "draft")
             .group_by(Referral.provider_id))
    if provider_ids is not None:
        query = query.where(Referral.provider_id.in_(provider_ids))
    return dict(session.execute(query).all())


def provider_for(session: Session, provider_id: int, service_id: str) -> Provider:
    """The provider a referral is sent to: it exists, is active, offers the service and has a free place
    (else 409 `provider_full`)."""
    provider = load_provider(session, provider_id, "provider_id")
    if service_id not in provider.services or not provider.active:
        raise Invalid("provider_does_not_offer", f"Provider {provider_id} does not offer {service_id!r}.",
                      f"服务机构 {provider_id} 不提供 {service_id!r}。", path="provider_id")
    if provider.capacity is not None:
        taken = open_referrals(session, [provider.id]).get(provider.id, 0)
        if taken >= provider.capacity:
            raise Conflict("provider_full", f"Provider {provider_id} has no free capacity ({provider.capacity}).",
                           f"服务机构 {provider_id} 已满额({provider.capacity})。", path="provider_id",
                           extra={"capacity": provider.capacity, "open": taken})
    return provider
