"""Providers and the service catalog as an Open Referral HSDS 3 directory (JSON), and providers loaded from one.

The document holds four lists of HSDS 3.1 objects:

- `taxonomies` and `taxonomy_terms`: the catalog's service categories and items (each item a term with its
  item id as `code`, under its category's term), and the kinds of providers;
- `organizations`: one per provider (`id` its directory id), its kind as an attribute pointing to a kind's
  term, its contact as a contact;
- `services`: one per provider and service item it offers, an attribute pointing to the item's term, its
  status (`active`, or `inactive` for a deactivated provider), the provider's town as a service area, and,
  when the provider has a capacity, a service capacity in open referrals (`maximum` the capacity, `available`
  what is free; the capacity is the provider's, shared by its services).

Ids this service makes are UUIDs derived from what they name, so the same directory exports the same ids.
An import reads organizations and their services: a provider is found again by its directory id (an
organization's `id`); a new one is added, a known one changed to what the file says; the same file twice
adds and changes nothing. Every entry that cannot be read is reported with its reason, and the rest go on.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit import service as audit
from api.auth.access import Caller, Role, require_role
from api.db.base import utcnow
from api.encoding import iso
from api.errors import Invalid, ServiceError
from api.geography.tables import Town
from api.referrals.providers import create_provider, open_referrals, update_provider
from api.referrals.tables import Provider
from api.referrals.workflow import workflow

HSDS_VERSION = "3.1"
NAMESPACE = uuid.UUID("6f1c2d44-5a1e-4a8b-9c55-3d0f5a9e7b21")  # this service's ids in directories
CAPACITY_UNIT = {"name": "open referrals", "scheme": "hardship-assessment", "identifier": "open_referrals"}


def _id(*parts: Any) -> str:
    return str(uuid.uuid5(NAMESPACE, ":".join(str(part) for part in parts)))


def _catalog_terms(catalog) -> tuple[dict, list[dict]]:
    """The catalog's taxonomy and its terms: a term per service category, a term per service item under it."""
    taxonomy = {"id": _id("taxonomy", catalog.id), "name": f"{catalog.id} service catalog",
                "description": "Service categories and items of the needs-assessment catalog "
                               "(社会救助服务转介驿站服务目录)", "version": catalog.version}
    terms = [{"id": _id("category", catalog.id, category.id), "code": category.id, "name": category.label.zh,
              "description": category.label.en, "taxonomy_id": taxonomy["id"], "taxonomy": taxonomy["name"],
              "language": "zh"} for category in catalog.categories]
    for service in catalog.services:
        terms.append({"id": _id("service", catalog.id, service.id), "code": service.id, "name": service.label.zh,
                      "description": service.label.en, "parent_id": _id("category", catalog.id, service.category),
                      "taxonomy_id": taxonomy["id"], "taxonomy": taxonomy["name"], "language": "zh"})
    return taxonomy, terms


def _kind_terms() -> tuple[dict, list[dict]]:
    taxonomy = {"id": _id("taxonomy", "provider_kinds"), "name": "provider kinds",
                "description": "Kinds of service providers (服务机构类型)"}
    terms = [{"id": _id("provider_kind", kind), "code": kind, "name": label.zh, "description": label.en,
              "taxonomy_id": taxonomy["id"], "taxonomy": taxonomy["name"], "language": "zh"}
             for kind, label in workflow().provider_kinds.items()]
    return taxonomy, terms


def _attribute(link_id: str, entity: str, link_type: str, term: dict) -> dict:
    return {"id": _id("attribute", link_id, term["id"]), "link_id": link_id, "link_entity": entity,
            "link_type": link_type, "taxonomy_term_id": term["id"], "taxonomy_term": term}


def export_directory(*, session: Session, catalog) -> dict:
    """Every provider and the catalog as an HSDS 3 directory (no personal data: it can be published)."""
    catalog_taxonomy, catalog_terms = _catalog_terms(catalog)
    kind_taxonomy, kind_terms = _kind_terms()
    item_terms = {term["code"]: term for term in catalog_terms if "parent_id" in term}
    kinds = {term["code"]: term for term in kind_terms}
    towns = dict(session.execute(select(Town.id, Town.name)).all())
    providers = session.scalars(select(Provider).order_by(Provider.id)).all()
    taken = open_referrals(session)
    now = iso(utcnow())
    organizations, services = [], []
    for provider in providers:
        organization = {"id": provider.directory_id, "name": provider.name, "description": provider.description or "",
                        "attributes": [_attribute(provider.directory_id, "organization", "provider_kind",
                                                  kinds[provider.kind])] if provider.kind in kinds else []}
        if provider.contact:
            organization["contacts"] = [{"id": _id("contact", provider.directory_id),
                                         "organization_id": provider.directory_id, "name": provider.contact}]
        organizations.append(organization)
        for service_id in provider.services:
            term = item_terms.get(service_id)
            if term is None:  # an item a later catalog dropped
                continue
            service_uuid = _id("service", provider.directory_id, service_id)
            service = {"id": service_uuid, "organization_id": provider.directory_id, "name": term["name"],
                       "alternate_name": term["description"], "status": "active" if provider.active else "inactive",
                       "attributes": [_attribute(service_uuid, "service", "service_item", term)]}
            if provider.town_id is not None:
                service["service_areas"] = [{"id": _id("area", service_uuid), "service_id": service_uuid,
                                             "name": towns.get(provider.town_id, str(provider.town_id)),
                                             "extent_type": "town"}]
            if provider.capacity is not None:
                service["capacities"] = [{
                    "id": _id("capacity", service_uuid), "service_id": service_uuid,
                    "unit": {"id": _id("unit", CAPACITY_UNIT["identifier"]), **CAPACITY_UNIT},
                    "available": max(provider.capacity - taken.get(provider.id, 0), 0), "maximum": provider.capacity,
                    "description": "Referrals the provider can hold open at once, shared by all its services "
                                   "(机构可同时接收的转介数,各项服务共用)", "updated": now}]
            services.append(service)
    return {"hsds_version": HSDS_VERSION, "taxonomies": [catalog_taxonomy, kind_taxonomy],
            "taxonomy_terms": catalog_terms + kind_terms, "organizations": organizations, "services": services}


class Refused(Exception):
    """An entry of the file that cannot be read, with its reason in both languages."""

    def __init__(self, code: str, message_en: str, message_zh: str):
        super().__init__(message_en)
        self.code, self.message_en, self.message_zh = code, message_en, message_zh


def _text(entry: dict, field: str, *, required: bool = False, limit: int = 200) -> str | None:
    value = entry.get(field)
    if value is None or (isinstance(value, str) and not value.strip() and not required):
        if required:
            raise Refused("missing_field", f"{field} is required.", f"缺少 {field}。")
        return None
    if not isinstance(value, str) or not value.strip():
        raise Refused("invalid_field", f"{field} must be a non-empty text.", f"{field} 须为非空文本。")
    if len(value) > limit:
        raise Refused("invalid_field", f"{field} is longer than {limit} characters.", f"{field} 超过 {limit} 个字符。")
    return value.strip()


def _uuid(entry: dict, field: str) -> str:
    value = _text(entry, field, required=True, limit=64)
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise Refused("invalid_id", f"{field} {value!r} is not a UUID (HSDS ids are UUIDs).",
                      f"{field} {value!r} 不是 UUID(HSDS 的 id 为 UUID)。") from None


def _list(entry: dict, field: str) -> list[dict]:
    value = entry.get(field) or []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise Refused("invalid_field", f"{field} must be a list of objects.", f"{field} 须为对象列表。")
    return value


def _term_codes(entry: dict, terms: dict[str, str]) -> list[str]:
    """The codes of the terms an entry's attributes point to: the term given in the attribute, or the term of
    the file (or of this service's own ids) its `taxonomy_term_id` names."""
    codes = []
    for attribute in _list(entry, "attributes"):
        term = attribute.get("taxonomy_term")
        if isinstance(term, dict) and isinstance(term.get("code"), str):
            codes.append(term["code"])
        elif isinstance(attribute.get("taxonomy_term_id"), str) and attribute["taxonomy_term_id"] in terms:
            codes.append(terms[attribute["taxonomy_term_id"]])
    return codes


def _known_terms(document: dict, catalog) -> dict[str, str]:
    """Term id -> code: this service's own terms, and those of the file."""
    terms = {term["id"]: term["code"] for term in _catalog_terms(catalog)[1] + _kind_terms()[1]}
    for term in document.get("taxonomy_terms") or []:
        if isinstance(term, dict) and isinstance(term.get("id"), str) and isinstance(term.get("code"), str):
            terms[term["id"]] = term["code"]
    return terms


def _read_service(service: dict, catalog, terms: dict[str, str], towns: dict[str, int]) -> dict:
    items = [code for code in _term_codes(service, terms) if code in catalog.service_by_id]
    if not items:
        raise Refused("unknown_service_item", "The service names no service item of the catalog (an attribute "
                      "whose taxonomy term has an item id as its code).",
                      "该服务未对应服务目录中的任何服务项目(属性的分类词代码须为服务项目 id)。")
    status = service.get("status")
    if status not in ("active", "inactive", "defunct", "temporarily closed"):
        raise Refused("invalid_field", "status must be active, inactive, defunct or temporarily closed.",
                      "status 须为 active、inactive、defunct 或 temporarily closed。")
    areas = [_text(area, "name", required=True) for area in _list(service, "service_areas")]
    for area in areas:
        if area not in towns:
            raise Refused("unknown_service_area", f"The service area {area!r} is no town of this service.",
                          f"服务区域 {area!r} 不是本系统中的镇街。")
    maxima = [capacity.get("maximum") for capacity in _list(service, "capacities")
              if isinstance(capacity.get("unit"), dict)
              and capacity["unit"].get("identifier") == CAPACITY_UNIT["identifier"]]
    for maximum in maxima:
        if isinstance(maximum, bool) or not isinstance(maximum, (int, float)) or maximum != int(maximum) \
                or not 1 <= maximum <= 2**31 - 1:
            raise Refused("invalid_capacity", "A capacity in open referrals must be a whole number from 1.",
                          "以转介数计的容量须为不小于 1 的整数。")
    return {"items": items, "active": status == "active", "town_ids": [towns[area] for area in areas],
            "capacity": max((int(m) for m in maxima), default=None)}


def _read_organization(organization: dict, services: list[dict], *, default_kind: str | None,
                       terms: dict[str, str]) -> dict:
    directory_id = _uuid(organization, "id")
    name = _text(organization, "name", required=True)
    kinds = [code for code in _term_codes(organization, terms) if code in workflow().provider_kinds]
    kind = kinds[0] if kinds else default_kind
    if kind is None:
        raise Refused("unknown_provider_kind",
                      f"No provider kind: an attribute whose taxonomy term has one of "
                      f"{', '.join(workflow().provider_kinds)} as its code, or a default kind for the import.",
                      "未给出机构类型:须有分类词代码为机构类型之一的属性,或为导入指定默认类型。")
    contacts = [_text(contact, "name") for contact in _list(organization, "contacts")]
    phones = [_text(phone, "number", limit=100) for phone in _list(organization, "phones")]
    contact = next((c for c in contacts + phones if c), None)
    if not services:
        raise Refused("no_services", "The organization offers no service item of the catalog.",
                      "该机构未提供服务目录中的任何服务项目。")
    town_ids = sorted({town for service in services for town in service["town_ids"]})
    if len(town_ids) > 1:
        raise Refused("several_towns", "The organization's services name several towns; a provider serves one "
                      "town or the whole city.", "该机构的服务涉及多个镇街;一个服务机构只服务一个镇街或全市。")
    capacities = [service["capacity"] for service in services if service["capacity"] is not None]
    return {"directory_id": directory_id, "name": name, "kind": kind,
            "description": _text(organization, "description", limit=2000), "contact": contact,
            "services": list(dict.fromkeys(item for service in services for item in service["items"])),
            "capacity": max(capacities, default=None), "town_id": town_ids[0] if town_ids else None,
            "active": any(service["active"] for service in services)}


def import_directory(*, session: Session, caller: Caller | None, catalog, document: dict,
                     default_kind: str | None = None) -> dict:
    """Add or update the providers of an HSDS 3 directory; returns the ids added, updated and unchanged and
    every refused entry with its reason (`entry` is where it is in the file, e.g. `services.4`)."""
    if caller is not None:
        require_role(caller, Role.admin)
    if default_kind is not None and default_kind not in workflow().provider_kinds:
        raise Invalid("unknown_provider_kind", f"default_kind must be one of {', '.join(workflow().provider_kinds)}.",
                           f"默认机构类型必须为 {'、'.join(workflow().provider_kinds)} 之一。", path="default_kind")
    terms = _known_terms(document, catalog)
    towns = {name: town_id for town_id, name in session.execute(select(Town.id, Town.name)).all()}
    report = {"added": [], "updated": [], "unchanged": [], "refused": []}

    def refuse(entry: str, item: Any, problem: Refused | ServiceError) -> None:
        item = item if isinstance(item, dict) else {}
        first = problem.problems[0] if isinstance(problem, ServiceError) else problem
        report["refused"].append({
            "entry": entry, "id": item.get("id") if isinstance(item.get("id"), str) else None,
            "name": item.get("name") if isinstance(item.get("name"), str) else None,
            "code": first.code, "message_zh": first.message_zh, "message_en": first.message_en})

    offered: dict[str, list[dict]] = {}
    seen: set[str] = set()
    for position, service in enumerate(document.get("services") or []):
        try:
            if not isinstance(service, dict):
                raise Refused("invalid_entry", "A service must be an object.", "服务须为对象。")
            organization_id = _uuid(service, "organization_id")
            offered.setdefault(organization_id, []).append(_read_service(service, catalog, terms, towns))
        except Refused as problem:
            refuse(f"services.{position}", service, problem)
    for position, organization in enumerate(document.get("organizations") or []):
        entry = f"organizations.{position}"
        try:
            if not isinstance(organization, dict):
                raise Refused("invalid_entry", "An organization must be an object.", "机构须为对象。")
            directory_id = _uuid(organization, "id")
            if directory_id in seen:
                raise Refused("duplicate_id", "Another organization of the file has this id.",
                              "文件中另一个机构的 id 与此相同。")
            seen.add(directory_id)
            fields = _read_organization(organization, offered.get(directory_id, []), default_kind=default_kind,
                                        terms=terms)
            _store(session, caller, catalog, fields, report)
        except (Refused, ServiceError) as problem:
            refuse(entry, organization, problem)
    audit.record(session, caller, "import_providers", added=len(report["added"]), updated=len(report["updated"]),
                 unchanged=len(report["unchanged"]), refused=len(report["refused"]))
    return report


def _store(session: Session, caller: Caller | None, catalog, fields: dict, report: dict) -> None:
    """Add the provider, or bring the one with the same directory id up to date."""
    existing = session.scalar(select(Provider).where(Provider.directory_id == fields["directory_id"]))
    if existing is None:
        added = create_provider(session=session, caller=caller, catalog=catalog,
                                **{k: v for k, v in fields.items() if k != "active"})
        if not fields["active"]:
            update_provider(session=session, caller=caller, catalog=catalog, provider_id=added["id"],
                            changes={"active": False})
        report["added"].append(added["id"])
        return
    changes = {field: value for field, value in fields.items()
               if field != "directory_id" and value != getattr(existing, field)}
    if not changes:
        report["unchanged"].append(existing.id)
        return
    update_provider(session=session, caller=caller, catalog=catalog, provider_id=existing.id, changes=changes)
    report["updated"].append(existing.id)
