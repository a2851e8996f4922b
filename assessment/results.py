"""Result objects of the core, and the one builder of their content.

A result is its JSON-ready dict (what the service stores), built by `ResultBuilder` straight from the core's
arrays: the single-household path (`assessment.scoring.assess`) builds one row, bulk scoring (`assess_many`) many.
The attributes of `AssessmentResult` read that dict.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from itertools import compress
from types import MappingProxyType
from typing import Sequence

import numpy as np

from assessment.catalog import Catalog, Label, ScoringConfig
from assessment.errors import Finding


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


def _item(name: str) -> property:
    return property(lambda self: self._data[name], doc=f"the result's {name}")


def _items(name: str) -> property:
    return property(lambda self: tuple(self._data[name]), doc=f"the result's {name}")


def _mapping(name: str) -> property:
    return property(lambda self: MappingProxyType(self._data[name]), doc=f"the result's {name}, read-only")


class AssessmentResult:
    """Everything the core says about one household's answers: a JSON-ready dict (`as_dict`), read as
    attributes."""

    __slots__ = ("_data", "warnings", "_builder")

    def __init__(self, data: dict, warnings: tuple[Finding, ...], builder: "ResultBuilder"):
        self._data, self.warnings, self._builder = data, warnings, builder

    catalog_id = _item("catalog_id")
    catalog_version = _item("catalog_version")
    catalog_hash = _item("catalog_hash")
    config_version = _item("config_version")
    method = _item("method")
    index = _item("index")
    index_low = _item("index_low")
    index_high = _item("index_high")
    completeness = _item("completeness")
    provisional = _item("provisional")
    tier = _item("tier")
    tier_from_index = _item("tier_from_index")
    af_score = _item("af_score")
    af_poor = _item("af_poor")
    raised_by = _items("raised_by")
    missing = _items("missing")
    not_applicable = _items("not_applicable")
    dimension_scores = _mapping("dimension_scores")
    deprivations = _mapping("deprivations")
    contributions = _mapping("contributions")

    @property
    def top_reasons(self) -> tuple[Reason, ...]:
        return tuple(self._builder.reason(item) for item in self._data["top_reasons"])

    @property
    def recommendations(self) -> tuple[Recommendation, ...]:
        labels = self._builder.service_labels
        return tuple(Recommendation(service=item["service"], category=item["category"], label=labels[item["service"]],
                                    need=item["need"], reasons=tuple(self._builder.reason(r) for r in item["reasons"]))
                     for item in self._data["recommendations"])

    def as_dict(self) -> dict:
        """A JSON-ready dict of every figure: the result's own (read it, do not change it)."""
        return self._data

    @classmethod
    def from_dict(cls, data: dict, catalog: Catalog) -> "AssessmentResult":
        """The result of `catalog` whose `as_dict` is `data` (as stored, or sent from another process)."""
        return cls(data, tuple(Finding.from_dict(item) for item in data["warnings"]), result_builder(catalog))

    def __eq__(self, other) -> bool:
        if not isinstance(other, AssessmentResult):
            return NotImplemented
        return self._data == other._data and self.warnings == other.warnings

    __hash__ = None

    def __repr__(self) -> str:
        return f"AssessmentResult({self._data!r})"


class ResultBuilder:
    """What every result of a catalog repeats (ids, labels, each service's triggers and threshold), prepared once
    (`result_builder`); builds results from the core's arrays."""

    def __init__(self, catalog: Catalog):
        self.catalog = (catalog.id, catalog.version, catalog.content_hash)
        self.ids = [indicator.id for indicator in catalog.indicators]
        self.texts = [(indicator.id, indicator.label.zh, indicator.label.en) for indicator in catalog.indicators]
        self.labels = {indicator.id: indicator.label for indicator in catalog.indicators}
        self.service_labels = {service.id: service.label for service in catalog.services}
        position, default = catalog.indicator_position, catalog.settings.recommend_min_score
        self.services = [(service.id, service.category, service.label.zh, service.label.en,
                          service.min_score if service.min_score is not None else default,
                          [position[i] for i in catalog.service_triggers[service.id]])
                         for service in catalog.services]
        self.dimension_ids = [dimension.id for dimension in catalog.dimensions]
        self.tier_ids = catalog.tier_ids
        self.critical_ids = catalog.critical_ids

    def reason(self, item: dict) -> Reason:
        return Reason(indicator=item["indicator"], label=self.labels[item["indicator"]], score=item["score"],
                      contribution=item["contribution"])

    def results(self, config: ScoringConfig, figures, scores: np.ndarray, contributions: np.ndarray,
                applicable: np.ndarray, warnings: Sequence[tuple[Finding, ...]]) -> list[AssessmentResult]:
        """The results of n scored households: `figures` their rows of figures (`assessment.kernels.Figures`),
        `scores` their deprivation scores (n x indicators, NaN where not answered), `contributions` each
        indicator's points of the index (read where answered), `applicable` which indicators apply to them,
        `warnings` their warnings."""
        answered = ~np.isnan(scores)
        ids, texts, services, tiers, criticals, dimension_ids = (self.ids, self.texts, self.services, self.tier_ids,
                                                                 self.critical_ids, self.dimension_ids)
        catalog_id, catalog_version, catalog_hash = self.catalog
        version, method = config.version, config.method
        dimensions = figures.dimension_scores
        dimension_rows = np.where(np.isnan(dimensions), None, dimensions).tolist()
        built = []
        for (index, index_low, index_high, completeness, provisional, tier, tier_from_index, raised_by,
             dimension_scores, af_score, af_poor, reasons, recommended, row_scores, row_contributions, row_answered,
             row_missing, row_not_applicable, row_warnings) in zip(
                figures.index.tolist(), figures.index_low.tolist(), figures.index_high.tolist(),
                figures.completeness.tolist(), (figures.completeness < config.completeness_threshold).tolist(),
                figures.tier.tolist(), figures.tier_from_index.tolist(), figures.raised_by.tolist(), dimension_rows,
                figures.af_score.tolist(), figures.af_poor.tolist(), figures.reasons.tolist(),
                figures.services.tolist(), scores.tolist(), contributions.tolist(), answered.tolist(),
                (applicable & ~answered).tolist(), (~applicable).tolist(), warnings):
            answered_ids = list(compress(ids, row_answered))

            def reason(j: int) -> dict:
                indicator_id, zh, en = texts[j]
                return {"indicator": indicator_id, "label_zh": zh, "label_en": en, "score": row_scores[j],
                        "contribution": row_contributions[j]}

            recommendations = []
            for v in recommended:
                if v < 0:
                    continue
                service_id, category, zh, en, threshold, triggers = services[v]
                hits = [j for j in triggers if row_scores[j] >= threshold]  # NaN (not answered) never is
                if len(hits) > 1:
                    hits.sort(key=lambda j: (-row_scores[j], -row_contributions[j]))
                recommendations.append({"service": service_id, "category": category, "label_zh": zh,
                                        "label_en": en, "need": row_scores[hits[0]],
                                        "reasons": [reason(j) for j in hits]})
            data = {
                "catalog_id": catalog_id, "catalog_version": catalog_version, "catalog_hash": catalog_hash,
                "config_version": version, "method": method, "index": index, "index_low": index_low,
                "index_high": index_high, "completeness": completeness, "provisional": provisional,
                "tier": tiers[tier], "tier_from_index": tiers[tier_from_index],
                "raised_by": [criticals[c] for c in raised_by if c >= 0],
                "dimension_scores": dict(zip(dimension_ids, dimension_scores)),
                "deprivations": dict(zip(answered_ids, compress(row_scores, row_answered))),
                "contributions": dict(zip(answered_ids, compress(row_contributions, row_answered))),
                "missing": list(compress(ids, row_missing)),
                "not_applicable": list(compress(ids, row_not_applicable)),
                "af_score": af_score, "af_poor": bool(af_poor),
                "top_reasons": [reason(j) for j in reasons if j >= 0],
                "recommendations": recommendations,
                "warnings": [warning.as_dict() for warning in row_warnings],
            }
            built.append(AssessmentResult(data, tuple(row_warnings), self))
        return built


_BUILDERS: dict[str, ResultBuilder] = {}
_LOCK = threading.Lock()


def result_builder(catalog: Catalog) -> ResultBuilder:
    """The builder of `catalog`'s results, made once per catalog content."""
    found = _BUILDERS.get(catalog.content_hash)
    if found is None:
        with _LOCK:
            found = _BUILDERS.setdefault(catalog.content_hash, ResultBuilder(catalog))
    return found
