"""Scoring configurations: drafts, the impact preview of a draft, publishing.

The published configuration is the one new assessments are scored with (the catalog's default until
one is published); every stored result keeps the version it was made with.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.assessments.frames import latest_frame
from api.assessments.tables import HouseholdLatest
from api.auth.access import Caller, Role, require_role
from api.configs.records import as_config, published_config
from api.configs.tables import ScoringConfigRecord
from api.db.base import utcnow
from api.encoding import iso
from api.errors import Conflict, not_found
from assessment import check_config

CONFIG_EDITORS = (Role.analyst,)
PREVIEW_ROLES = (Role.analyst, Role.supervisor, Role.admin)


def config_view(record: ScoringConfigRecord) -> dict:
    return {"id": record.id, "name": record.name, "version": record.version, "label": record.label,
            "status": record.status, "document": record.document, "created_by": record.created_by,
            "created_at": iso(record.created_at), "published_at": iso(record.published_at),
            "published_by": record.published_by}


def _record(session: Session, config_id: int) -> ScoringConfigRecord:
    record = session.get(ScoringConfigRecord, config_id)
    if record is None:
        raise not_found(f"Scoring configuration {config_id}", f"评分配置 {config_id}")
    return record


def create_draft(*, session: Session, caller: Caller | None, catalog, document: dict) -> dict:
    """Store a draft: the published configuration with the document's changes, checked against the catalog
    (ConfigError names the bad field). Without a version the draft gets `<base>+d<n>`."""
    from assessment.impact import config_from_draft

    if caller is not None:
        require_role(caller, *CONFIG_EDITORS)
    base = published_config(session=session, catalog=catalog)
    document = dict(document)
    label = document.get("label")
    if "version" not in document:
        count = session.query(ScoringConfigRecord).count()
        document["version"] = f"{base.version}+d{count + 1}"
    config = config_from_draft(catalog, document, base=base)
    if session.scalar(select(ScoringConfigRecord.id).where(ScoringConfigRecord.version == config.version)):
        raise Conflict("duplicate_version", f"A configuration with version {config.version!r} exists already.",
                       f"版本为 {config.version!r} 的配置已存在。", path="version")
    record = ScoringConfigRecord(
        name=config.id, version=config.version, status="draft", document=config.model_dump(mode="json"),
        label=label if isinstance(label, str) or label is None else str(label.get("zh") or label.get("en")),
        created_by=caller.id if caller else None)
    session.add(record)
    session.flush()
    return config_view(record)


def list_configs(*, session: Session, caller: Caller | None) -> list[dict]:
    if caller is not None:
        require_role(caller, *PREVIEW_ROLES)
    return [config_view(r) for r in session.scalars(select(ScoringConfigRecord).order_by(ScoringConfigRecord.id))]


def get_config(*, session: Session, caller: Caller, config_id: int) -> dict:
    require_role(caller, *PREVIEW_ROLES)
    return config_view(_record(session, config_id))


def publish(*, session: Session, caller: Caller | None, catalog, config_id: int) -> dict:
    """Make a draft the configuration new assessments use; the one published before is retired."""
    if caller is not None:
        require_role(caller, *CONFIG_EDITORS)
    record = _record(session, config_id)
    if record.status != "draft":
        raise Conflict("not_a_draft", f"Configuration {config_id} is {record.status}; only a draft can be published.",
                       f"配置 {config_id} 状态为 {record.status},只有草稿可以发布。", path="status")
    check_config(catalog, as_config(record))
    session.execute(update(ScoringConfigRecord).where(ScoringConfigRecord.status == "published")
                    .values(status="retired"))
    record.status, record.published_at = "published", utcnow()
    record.published_by = caller.id if caller else None
    session.flush()
    return config_view(record)


def impact(*, session: Session, caller: Caller, catalog, config_id: int, movers: int = 20) -> dict:
    """The draft against the published configuration on the stored latest assessments. Household ids of
    the movers only for analysts; supervisors see their towns only."""
    from assessment.impact import impact_preview

    require_role(caller, *PREVIEW_ROLES)
    draft = as_config(_record(session, config_id))
    scope = HouseholdLatest.town_id.in_(caller.town_ids) if caller.role is Role.supervisor else None
    frame = latest_frame(session, catalog, scope=scope)
    preview = impact_preview(catalog, frame, draft=draft, published=published_config(session=session, catalog=catalog),
                             scope_column="station_id", movers=movers)
    return preview.as_dict(household_ids=caller.role is Role.analyst)


