"""Computing a stored result again: under its own catalog and configuration versions (a reproduction, compared
with what was stored), or under the versions in force on its assessment's date (an appeal).

The catalog is found by the content hash the result recorded (api.configs.versions keeps every catalog the
service used), the configuration by the version it recorded (a stored record, or the catalog's default). The
model's opinion is not part of it: a model is served from its registry, not kept with the result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy.orm import Session

from api.assessments.service import readable_assessment
from api.assessments.tables import Assessment
from api.auth.access import Caller
from api.configs.versions import config_by_version, config_in_force, stored_catalog
from api.errors import Conflict
from assessment import ScoringConfig, assess
from assessment.catalog import Catalog

# Figures are compared to this relative tolerance: the core is deterministic, so a reproduction is exact unless a
# numerical library changed the last bits of a sum.
TOLERANCE = 1e-9
COLUMNS = ("index", "tier", "completeness", "provisional")  # the indexed copies of the result's figures


@dataclass(frozen=True)
class Versions:
    catalog: Catalog
    config: ScoringConfig


def score_under(versions: Versions, answers: dict, *, region: str, year: int) -> dict:
    """The core's result for `answers` under these versions (assessment.AnswersInvalid lists any problem)."""
    return assess(versions.catalog, answers, region=region, year=year, config=versions.config).as_dict()


def _catalog_of(session: Session, assessment: Assessment, in_use: Catalog) -> Catalog:
    catalog = stored_catalog(session=session, content_hash=assessment.catalog_hash, in_use=in_use)
    if catalog is None:
        raise Conflict("catalog_unknown",
                       f"The catalog {assessment.catalog_id}@{assessment.catalog_version} (hash "
                       f"{assessment.catalog_hash[:12]}…) that scored assessment {assessment.id} is not kept.",
                       f"评估 {assessment.id} 所用的目录 {assessment.catalog_id}@{assessment.catalog_version}"
                       f"(哈希 {assessment.catalog_hash[:12]}…)未保存。", path="catalog_hash")
    return catalog


def own_versions(session: Session, assessment: Assessment, in_use: Catalog) -> Versions:
    """The catalog and configuration an assessment recorded; a 409 naming the one that is not kept."""
    catalog = _catalog_of(session, assessment, in_use)
    config = config_by_version(session=session, catalog=catalog, version=assessment.config_version)
    if config is None:
        raise Conflict("config_unknown", f"The configuration {assessment.config_version!r} that scored assessment "
                       f"{assessment.id} is not kept.",
                       f"评估 {assessment.id} 所用的评分配置 {assessment.config_version!r} 未保存。", path="config_version")
    return Versions(catalog, config)


def versions_in_force(session: Session, assessment: Assessment, in_use: Catalog) -> Versions:
    """The versions in force on an assessment's date (`assessed_on`): the catalog its answers were given under,
    and the configuration in force for it at the end of that day (api.configs.versions.config_in_force)."""
    catalog = _catalog_of(session, assessment, in_use)
    return Versions(catalog, config_in_force(session=session, catalog=catalog, day=assessment.assessed_on))


def _differences(stored, computed, path: str, found: list[dict]) -> None:
    """Where two JSON values differ, as {path, stored, computed}; numbers within TOLERANCE are equal."""
    if isinstance(stored, dict) and isinstance(computed, dict):
        for key in sorted(set(stored) | set(computed), key=str):
            _differences(stored.get(key), computed.get(key), f"{path}.{key}", found)
    elif isinstance(stored, list) and isinstance(computed, list) and len(stored) == len(computed):
        for position, (left, right) in enumerate(zip(stored, computed)):
            _differences(left, right, f"{path}.{position}", found)
    elif _numbers(stored, computed):
        if not math.isclose(stored, computed, rel_tol=TOLERANCE, abs_tol=TOLERANCE):
            found.append({"path": path, "stored": stored, "computed": computed})
    elif stored != computed:
        found.append({"path": path, "stored": stored, "computed": computed})


def _numbers(*values) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def reproduce(*, session: Session, caller: Caller | None, catalog: Catalog, assessment_id: int) -> dict:
    """Compute a stored assessment again from its stored answers under its own versions and compare it with what
    was stored: the result and its indexed copies (index, tier, completeness, provisional). `reproduced` is
    true when nothing differs; `differences` names each figure that does."""
    assessment = readable_assessment(session, caller, assessment_id)
    versions = own_versions(session, assessment, catalog)
    computed = score_under(versions, assessment.answers, region=assessment.region_id, year=assessment.assessed_on.year)
    found: list[dict] = []
    for column in COLUMNS:
        _differences(getattr(assessment, column), computed[column], column, found)
    _differences(assessment.result, computed, "result", found)
    return {"assessment_id": assessment.id,
            "catalog": {"id": versions.catalog.id, "version": versions.catalog.version,
                        "hash": versions.catalog.content_hash},
            "config_version": versions.config.version, "reproduced": not found, "differences": found,
            "stored": {column: getattr(assessment, column) for column in COLUMNS},
            "computed": {column: computed[column] for column in COLUMNS}}
