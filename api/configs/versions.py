"""Every catalog and configuration the service has used, and which configuration was in force on a day.

A catalog is kept by its content hash, as the text of its files, the first time the service starts with it
(`remember_catalog`); a configuration is kept as its record (`scoring_configs`, never deleted) or, for a
catalog's default, derived from the kept catalog. So a stored result can be computed again under its own
versions (api.assessments.reproduction), and an appeal under the versions in force on its assessment's date.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from api.configs.records import as_config
from api.configs.tables import CatalogVersion, ScoringConfigRecord
from assessment import ScoringConfig
from assessment.catalog import Catalog, content_hash
from indicators.loader import catalog_from_texts, parse_texts

_BUILT: dict[str, Catalog] = {}  # content hash -> the catalog built from its stored texts (they never change)


def remember_catalog(*, session: Session, catalog: Catalog, texts: dict[str, str]) -> bool:
    """Keep `catalog` (the texts of its files, `indicators.loader.read_texts`) unless it is kept already;
    whether it was new. Servers starting together keep it once."""
    if content_hash(parse_texts(texts)) != catalog.content_hash:
        raise RuntimeError("the catalog's files changed while the service was reading them; start it again")
    if session.get(CatalogVersion, catalog.content_hash) is not None:
        return False
    dialect_insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    done = session.execute(dialect_insert(CatalogVersion).values(
        content_hash=catalog.content_hash, catalog_id=catalog.id, version=catalog.version, documents=texts,
        first_used_at=datetime.now(timezone.utc)).on_conflict_do_nothing(index_elements=["content_hash"]))
    return bool(done.rowcount)


def stored_catalog(*, session: Session, content_hash: str, in_use: Catalog) -> Catalog | None:
    """The catalog with this content hash: the one in use, or one kept before; None when none is kept."""
    if content_hash == in_use.content_hash:
        return in_use
    if content_hash not in _BUILT:
        texts = session.scalar(select(CatalogVersion.documents).where(CatalogVersion.content_hash == content_hash))
        if texts is None:
            return None
        _BUILT[content_hash] = catalog_from_texts(texts)
    return _BUILT[content_hash]


def config_by_version(*, session: Session, catalog: Catalog, version: str) -> ScoringConfig | None:
    """The configuration stored under `version`, or `catalog`'s default when that is its version; None when
    there is no such configuration."""
    record = session.scalar(select(ScoringConfigRecord).where(ScoringConfigRecord.version == version))
    if record is not None:
        return as_config(record)
    default = catalog.default_config()
    return default if default.version == version else None


def config_in_force(*, session: Session, catalog: Catalog, day: date) -> ScoringConfig:
    """The configuration a new assessment under `catalog` was scored with at the end of `day` (UTC, as
    publication times are kept): the last one published by then when it is for this catalog's id and version,
    else the catalog's default, as the submission decides (api.configs.records.record_config)."""
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=timezone.utc)
    record = session.scalar(select(ScoringConfigRecord).where(ScoringConfigRecord.published_at.isnot(None),
                                                              ScoringConfigRecord.published_at < end)
                            .order_by(ScoringConfigRecord.published_at.desc(), ScoringConfigRecord.id.desc())
                            .limit(1))
    if record is not None and record.document.get("catalog_id") == catalog.id \
            and record.document.get("catalog_version") == catalog.version:
        return as_config(record)
    return catalog.default_config()
