"""The ranking: households by their latest assessment's index within the caller's scope.

One indexed query over `household_latest` per page, in the documented total order (index, then tier,
then completeness, all descending, then household id ascending), and an index-only count when asked. Exports (CSV, Excel) hold exactly the
rows and columns the API shows, for the same filters and role, and each export and each published
ranking is stored as a snapshot (who, when, filters, versions, the rows in rank order).
"""

from __future__ import annotations

from sqlalchemy import and_, func, select, true
from sqlalchemy.orm import Session

from api.assessments.scope import latest_scope
from api.assessments.tables import HouseholdLatest
from api.audit import service as audit
from api.auth.access import Caller, PersonalView, Role
from api.encoding import iso
from api.errors import Invalid, forbidden, not_found
from api.exports import table_file
from api.households.tables import Household
from api.rankings.schemas import RankingFilters
from api.rankings.tables import RankingSnapshot
from api.reviews.tables import TierVerification
from api.reviews.verification import verified_latest
from api.security import Keys, decrypt_json, masked_personal

RANK_ORDER = (HouseholdLatest.index.desc(), HouseholdLatest.tier_code.desc(), HouseholdLatest.completeness.desc(),
              HouseholdLatest.household_id.asc())
COLUMNS = (HouseholdLatest.household_id, HouseholdLatest.station_id, HouseholdLatest.town_id,
           HouseholdLatest.region_id, HouseholdLatest.status, HouseholdLatest.assessment_id,
           HouseholdLatest.assessed_on, HouseholdLatest.index, HouseholdLatest.tier, TierVerification.verified_tier,
           HouseholdLatest.completeness, HouseholdLatest.provisional, HouseholdLatest.critical,
           HouseholdLatest.services, HouseholdLatest.dimension_scores, HouseholdLatest.config_version,
           HouseholdLatest.due_on)
EXPORT_ROLES_PERSONAL = {Role.caseworker: PersonalView.full, Role.supervisor: PersonalView.full,
                         Role.admin: PersonalView.masked, Role.analyst: PersonalView.withheld}


def filter_condition(filters: RankingFilters, catalog):
    """The SQL filter; unknown tier, dimension or service ids are a 422 naming the field."""
    parts = []
    for column, value in ((HouseholdLatest.town_id, filters.town_id), (HouseholdLatest.station_id, filters.station_id),
                          (HouseholdLatest.region_id, filters.region_id), (HouseholdLatest.status, filters.status)):
        if value is not None:
            parts.append(column == value)
    if filters.tier is not None:
        if filters.tier not in catalog.tier_ids:
            raise _unknown("tier", filters.tier, "tier", "分档")
        parts.append(HouseholdLatest.tier_code == catalog.tier_ids.index(filters.tier))
    if (filters.dimension is None) != (filters.min_score is None):
        raise Invalid("incomplete_filter", "dimension and min_score go together.",
                      "dimension 与 min_score 须同时给出。", path="min_score" if filters.dimension else "dimension")
    if filters.dimension is not None:
        if filters.dimension not in catalog.dimension_by_id:
            raise _unknown("dimension", filters.dimension, "dimension", "维度")
        if not 0 <= filters.min_score <= 1:
            raise Invalid("out_of_range", "min_score must be from 0 to 1: a dimension score runs from 0 (no "
                          "hardship) to 1 (the worst in that dimension).",
                          "min_score 须在 0 到 1 之间:维度得分从 0(无困难)到 1(该维度最困难)。", path="min_score")
        parts.append(HouseholdLatest.dimension_scores[filters.dimension].as_float() > filters.min_score)
    if filters.service is not None:
        if filters.service not in catalog.service_by_id:
            raise _unknown("service", filters.service, "service item", "服务项目")
        parts.append(HouseholdLatest.services.like(f"%;{filters.service};%"))
    if filters.assessed_from is not None:
        parts.append(HouseholdLatest.assessed_on >= filters.assessed_from)
    if filters.assessed_to is not None:
        parts.append(HouseholdLatest.assessed_on <= filters.assessed_to)
    return and_(true(), *parts)  # no filter at all is "every row"


def _unknown(field: str, value: str, what_en: str, what_zh: str) -> Invalid:
    return Invalid(f"unknown_{field}", f"Unknown {what_en} {value!r}.", f"未知{what_zh} {value!r}。", path=field)


def _personal(view: PersonalView, keys: Keys, encrypted: str) -> dict:
    personal = decrypt_json(keys, encrypted)
    if view is PersonalView.masked:
        personal = masked_personal(personal)
    return {"name": personal.get("name"), "phone": personal.get("phone")}


def _items(session: Session, caller: Caller, keys: Keys, catalog, rows, first_rank: int) -> list[dict]:
    view = EXPORT_ROLES_PERSONAL[caller.role]
    personal = {}
    if view is not PersonalView.withheld and rows:
        ids = [row.household_id for row in rows]
        for start in range(0, len(ids), 5000):
            chunk = ids[start:start + 5000]
            personal.update(session.execute(select(Household.id, Household.personal)
                                            .where(Household.id.in_(chunk))).all())
    items = []
    for position, row in enumerate(rows):
        item = {"rank": first_rank + position, "household_id": row.household_id}
        if view is not PersonalView.withheld:
            item.update(_personal(view, keys, personal[row.household_id]))
        item.update({"station_id": row.station_id, "town_id": row.town_id, "status": row.status,
                     "assessed_on": row.assessed_on.isoformat(), "index": row.index, "tier": row.tier,
                     "verified_tier": row.verified_tier, "completeness": row.completeness,
                     "provisional": row.provisional, "critical": row.critical,
                     "recommended_services": [s for s in row.services.split(";") if s]})
        for dimension in catalog.dimensions:
            item[f"dim_{dimension.id}"] = row.dimension_scores.get(dimension.id)
        item.update({"config_version": row.config_version, "due_on": row.due_on.isoformat(),
                     "assessment_id": row.assessment_id})
        items.append(item)
    return items


def _query(caller: Caller, catalog, filters: RankingFilters):
    return (select(*COLUMNS).outerjoin(TierVerification, verified_latest())
            .where(latest_scope(caller), filter_condition(filters, catalog)))


def ranking_page(*, session: Session, caller: Caller, keys: Keys, catalog, filters: RankingFilters,
                 limit: int = 50, offset: int = 0, count: bool = True) -> dict:
    """One page of the ranking; `rank` is the position in the whole filtered ranking (1 = most in need).
    `next_offset` is null on the last page (one row more than the page is read to know); `total` is
    counted only when `count` (an index-only scan, but it grows with the scope)."""
    rows = session.execute(_query(caller, catalog, filters).order_by(*RANK_ORDER).limit(limit + 1)
                           .offset(offset)).all()
    more = len(rows) > limit
    total = session.scalar(select(func.count()).select_from(HouseholdLatest)
                           .where(latest_scope(caller), filter_condition(filters, catalog))) if count else None
    items = _items(session, caller, keys, catalog, rows[:limit], offset + 1)
    if EXPORT_ROLES_PERSONAL[caller.role] is PersonalView.full:
        audit.record_reads(session, caller, [item["household_id"] for item in items])
    return {"total": total, "limit": limit, "offset": offset, "next_offset": offset + limit if more else None,
            "filters": filters.as_dict(), "items": items}


def _snapshot(session: Session, caller: Caller | None, catalog, filters: RankingFilters, items: list[dict],
              kind: str, fmt: str) -> RankingSnapshot:
    snapshot = RankingSnapshot(
        kind=kind, format=fmt, user_id=caller.id if caller else None, filters=filters.as_dict(),
        config_versions=sorted({item["config_version"] for item in items}), catalog_version=catalog.version,
        total=len(items),
        rows=[[item["rank"], item["household_id"], item["assessment_id"], item["index"], item["tier"]]
              for item in items])
    session.add(snapshot)
    session.flush()
    return snapshot


def full_ranking(session: Session, caller: Caller, keys: Keys, catalog, filters: RankingFilters) -> list[dict]:
    rows = session.execute(_query(caller, catalog, filters).order_by(*RANK_ORDER)).all()
    return _items(session, caller, keys, catalog, rows, 1)


def export(*, session: Session, caller: Caller, keys: Keys, catalog, filters: RankingFilters,
           fmt: str) -> tuple[bytes, int]:
    """The whole filtered ranking as CSV or xlsx, recorded as a snapshot; returns the file and its id."""
    items = full_ranking(session, caller, keys, catalog, filters)
    snapshot = _snapshot(session, caller, catalog, filters, items, "export", fmt)
    audit.record(session, caller, "export_ranking", snapshot_id=snapshot.id, rows=len(items), format=fmt,
                 personal=EXPORT_ROLES_PERSONAL[caller.role].value)
    if EXPORT_ROLES_PERSONAL[caller.role] is PersonalView.full:
        audit.record_reads(session, caller, [item["household_id"] for item in items], snapshot_id=snapshot.id)
    header = export_header(caller, catalog)
    table = [[_cell(item.get(column)) for column in header] for item in items]
    return table_file(fmt, header, table, sheet="ranking"), snapshot.id


def export_header(caller: Caller, catalog) -> list[str]:
    personal = ["name", "phone"] if EXPORT_ROLES_PERSONAL[caller.role] is not PersonalView.withheld else []
    return (["rank", "household_id", *personal, "station_id", "town_id", "status", "assessed_on", "index", "tier",
             "verified_tier", "completeness", "provisional", "critical", "recommended_services"]
            + [f"dim_{d.id}" for d in catalog.dimensions] + ["config_version", "due_on", "assessment_id"])


def _cell(value):
    return ";".join(value) if isinstance(value, list) else value


def publish_ranking(*, session: Session, caller: Caller, keys: Keys, catalog, filters: RankingFilters) -> dict:
    """Record the current ranking (no personal data) as a published snapshot."""
    if caller.role not in (Role.supervisor, Role.admin, Role.analyst):
        raise forbidden()
    items = full_ranking(session, caller, keys, catalog, filters)
    snapshot = _snapshot(session, caller, catalog, filters, items, "published", "json")
    audit.record(session, caller, "publish_ranking", snapshot_id=snapshot.id, rows=len(items))
    return snapshot_view(snapshot)


def snapshot_view(snapshot: RankingSnapshot) -> dict:
    return {"id": snapshot.id, "kind": snapshot.kind, "format": snapshot.format, "user_id": snapshot.user_id,
            "at": iso(snapshot.at), "filters": snapshot.filters, "config_versions": snapshot.config_versions,
            "catalog_version": snapshot.catalog_version, "total": snapshot.total}


def _visible(caller: Caller, snapshot: RankingSnapshot) -> bool:
    return caller.role in (Role.admin, Role.analyst) or snapshot.user_id == caller.id


def list_snapshots(*, session: Session, caller: Caller, limit: int = 50, offset: int = 0) -> list[dict]:
    query = select(RankingSnapshot).order_by(RankingSnapshot.id.desc()).limit(limit).offset(offset)
    if caller.role not in (Role.admin, Role.analyst):
        query = query.where(RankingSnapshot.user_id == caller.id)
    return [snapshot_view(s) for s in session.scalars(query)]


def explain(*, session: Session, caller: Caller, snapshot_id: int, household_id: int) -> dict:
    """Where a household stood in a snapshot: rank, assessment, index and tier, the filters and versions."""
    snapshot = session.get(RankingSnapshot, snapshot_id)
    if snapshot is None or not _visible(caller, snapshot):
        raise not_found(f"Ranking snapshot {snapshot_id}", f"排名快照 {snapshot_id}")
    entry = next((row for row in snapshot.rows if row[1] == household_id), None)
    if entry is None:
        raise not_found(f"Household {household_id} in snapshot {snapshot_id}",
                        f"快照 {snapshot_id} 中的家庭 {household_id}", "household_id")
    rank, _, assessment_id, index, tier = entry
    return {"snapshot": snapshot_view(snapshot), "household_id": household_id, "rank": rank, "of": snapshot.total,
            "assessment_id": assessment_id, "index": index, "tier": tier,
            "assessment": f"/v1/assessments/{assessment_id}"}
