"""Frozen result objects of the core."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from assessment.catalog import Label
from assessment.errors import Finding


def frozen_map(values: Mapping) -> Mapping:
    return MappingProxyType(dict(values))


@dataclass(frozen=True)
class Reason:
    """An answer that drives the score: its deprivation d and its share of the index in points."""

    indicator: str
    label: Label
    score: float
    contribution: float

    def as_dict(self) -> dict:
        return {"indicator": self.indicator, "label_zh": self.label.zh, "label_en": self.label.en,
                "score": self.score, "contribution": self.contribution}


@dataclass(frozen=True)
class Recommendation:
    """A service item recommended for the household, with the indicators that triggered it."""

    service: str
    category: str
    label: Label
    need: float
    reasons: tuple[Reason, ...]

    def as_dict(self) -> dict:
        return {"service": self.service, "category": self.category, "label_zh": self.label.zh,
                "label_en": self.label.en, "need": self.need,
                "reasons": [r.as_dict() for r in self.reasons]}


@dataclass(frozen=True)
class AssessmentResult:
    """Everything the core says about one household's answers."""

    catalog_id: str
    catalog_version: str
    catalog_hash: str
    config_version: str
    method: str
    index: float
    index_low: float
    index_high: float
    completeness: float
    provisional: bool
    tier: str
    tier_from_index: str
    raised_by: tuple[str, ...]
    dimension_scores: Mapping[str, float | None]
    deprivations: Mapping[str, float]
    contributions: Mapping[str, float]
    missing: tuple[str, ...]
    not_applicable: tuple[str, ...]
    af_score: float
    af_poor: bool
    top_reasons: tuple[Reason, ...]
    recommendations: tuple[Recommendation, ...]
    warnings: tuple[Finding, ...] = field(default=())

    def as_dict(self) -> dict:
        """A JSON-ready dict of every figure."""
        return {
            "catalog_id": self.catalog_id,
            "catalog_version": self.catalog_version,
            "catalog_hash": self.catalog_hash,
            "config_version": self.config_version,
            "method": self.method,
            "index": self.index,
            "index_low": self.index_low,
            "index_high": self.index_high,
            "completeness": self.completeness,
            "provisional": self.provisional,
            "tier": self.tier,
            "tier_from_index": self.tier_from_index,
            "raised_by": list(self.raised_by),
            "dimension_scores": dict(self.dimension_scores),
            "deprivations": dict(self.deprivations),
            "contributions": dict(self.contributions),
            "missing": list(self.missing),
            "not_applicable": list(self.not_applicable),
            "af_score": self.af_score,
            "af_poor": self.af_poor,
            "top_reasons": [r.as_dict() for r in self.top_reasons],
            "recommendations": [r.as_dict() for r in self.recommendations],
            "warnings": [w.as_dict() for w in self.warnings],
        }
