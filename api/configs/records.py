"""Stored scoring configurations as the core's ScoringConfig: the published one, and any record by id.

The published configuration is the one new assessments are scored with (the catalog's default until one
is published). A stored document never changes, so each is read and parsed once per database.
"""

from __future__ import annotations

import json
from functools import lru_cache
from weakref import WeakKeyDictionary

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.configs.tables import ScoringConfigRecord
from assessment import ScoringConfig


@lru_cache(maxsize=64)
def _parse(document_json: str) -> ScoringConfig:
    return ScoringConfig.model_validate_json(document_json)


def as_config(record: ScoringConfigRecord) -> ScoringConfig:
    return _parse(json.dumps(record.document, sort_keys=True))


# Per database (its connection pool): record id -> (the document's catalog version, its configuration).
_RECORD_CONFIGS: WeakKeyDictionary = WeakKeyDictionary()


def published_id():
    """A scalar subquery: the id of the published configuration record (NULL when none is)."""
    return (select(ScoringConfigRecord.id).where(ScoringConfigRecord.status == "published")
            .order_by(ScoringConfigRecord.id).limit(1).scalar_subquery())


def record_config(*, session: Session, catalog, record_id: int | None) -> ScoringConfig | None:
    """The configuration stored as `record_id`, or None when there is none or it is for another catalog
    version (the catalog's default then applies)."""
    if record_id is None:
        return None
    known = _RECORD_CONFIGS.setdefault(session.get_bind().engine.pool, {})
    if record_id not in known:
        record = session.get(ScoringConfigRecord, record_id)
        if record is None:
            return None
        known[record_id] = (record.document.get("catalog_version"), as_config(record))
    catalog_version, config = known[record_id]
    return config if catalog_version == catalog.version else None


def published_config(*, session: Session, catalog) -> ScoringConfig:
    """The configuration new assessments use: the published one for this catalog, else its default."""
    config = record_config(session=session, catalog=catalog, record_id=session.scalar(select(published_id())))
    return catalog.default_config() if config is None else config
