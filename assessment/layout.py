"""The catalog and a scoring configuration laid out as named arrays: the form the compiled formula
(`assessment.kernels`) takes. Both scoring paths build them here.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

import numpy as np

from assessment.answers import score_bounds
from assessment.catalog import Catalog, ScoringConfig
from assessment.rules import AF_TOLERANCE, finite_codes


class ScoreTable(NamedTuple):
    """Every indicator's answer -> score mapping as flat arrays, for `assessment.kernels.lookup_scores`:
    an answer code picks the score after the level it equals or, when banded, after the limits it reaches."""

    banded: np.ndarray  # counts and amounts: the score of the band the answer reaches
    consecutive: np.ndarray  # levels are consecutive whole numbers: the answer is its own offset
    limit_start: np.ndarray
    limit_end: np.ndarray
    limits: np.ndarray
    score_start: np.ndarray
    scores: np.ndarray
    divisor_column: np.ndarray  # -1: the amount is not divided per person
    parameter_row: np.ndarray  # -1: the amount is not relative to a regional parameter
    parameters: np.ndarray  # (regional parameters, n): each row's value, NaN when it has none

    @classmethod
    def build(cls, catalog: Catalog, parameters: dict[str, np.ndarray], n: int) -> "ScoreTable":
        """`parameters`: each regional parameter an amount is relative to, its value per row."""
        names = list(parameters)
        column = catalog.indicator_position
        table: dict[str, list] = {name: [] for name in cls._fields if name != "parameters"}
        for ind in catalog.indicators:
            spec = ind.answer
            banded = spec.type in ("count", "amount")
            if banded:
                levels, scores = [b.below for b in spec.bands[:-1]], [b.score for b in spec.bands]
            else:
                levels, scores = finite_codes(ind)
            table["banded"].append(banded)
            first = int(levels[0]) if levels else 0
            table["consecutive"].append(not banded and levels == list(range(first, first + len(levels))))
            table["limit_start"].append(len(table["limits"]))
            table["limits"].extend(levels)
            table["limit_end"].append(len(table["limits"]))
            table["score_start"].append(len(table["scores"]))
            table["scores"].extend(scores)
            amount = spec.type == "amount"
            table["divisor_column"].append(column[spec.per_capita_of] if amount and spec.per_capita_of else -1)
            table["parameter_row"].append(names.index(spec.relative_to) if amount and spec.relative_to else -1)
        dtypes = {"banded": bool, "consecutive": bool, "limits": float, "scores": float}
        return cls(**{name: np.array(values, dtype=dtypes.get(name, np.int64)) for name, values in table.items()},
                   parameters=np.array(list(parameters.values()), dtype=float).reshape(len(names), n))


class ScoringPlan(NamedTuple):
    """The catalog under a configuration as arrays, for `assessment.kernels`."""

    weights: np.ndarray  # (m,) indicator weights
    dimension_of: np.ndarray  # (m,) dimension position of each indicator
    dimension_weights: np.ndarray  # (K,)
    by_dimension_order: np.ndarray  # indicator positions grouped by dimension, in catalog order within each
    dimension_start: np.ndarray  # (K + 1,): by_dimension_order[dimension_start[d]:dimension_start[d + 1]] is d's
    low_bound: np.ndarray  # (m,) lowest possible deprivation
    high_bound: np.ndarray  # (m,) highest possible deprivation
    cutoffs: np.ndarray  # tier cut-offs, lowest tier first
    critical_column: np.ndarray  # per critical indicator: its position,
    critical_at_least: np.ndarray  # the score from which it raises the tier,
    critical_level: np.ndarray  # and the tier it raises to
    trigger_column: np.ndarray  # indicator position of every (service, trigger) pair, in service order
    trigger_service: np.ndarray  # service position of every pair
    trigger_threshold: np.ndarray
    trigger_weight: np.ndarray  # the triggering indicator's weight
    tier_allowed: np.ndarray  # (services, tiers): the service may be recommended at the tier
    deprivation_cutoff: float  # Alkire-Foster z: deprived when d >= z
    poverty_cutoff: float  # Alkire-Foster k, less the tolerance of weighted sums
    alkire_foster: bool  # the index is the censored Alkire-Foster count
    top_reasons: int
    top_services: int


class _CatalogArrays(NamedTuple):
    """What a plan takes from the catalog alone."""

    dimension_of: np.ndarray
    by_dimension_order: np.ndarray
    dimension_start: np.ndarray
    low_bound: np.ndarray
    high_bound: np.ndarray
    critical_column: np.ndarray
    critical_at_least: np.ndarray
    critical_level: np.ndarray
    trigger_column: np.ndarray
    trigger_service: np.ndarray
    trigger_threshold: np.ndarray
    tier_allowed: np.ndarray


# Catalog arrays by content hash: a catalog's content decides them, and the single-household path must not
# rebuild them for every household.
_CATALOG_ARRAYS: dict[str, _CatalogArrays] = {}
_CACHE_LOCK = threading.Lock()


def _catalog_arrays(catalog: Catalog) -> _CatalogArrays:
    found = _CATALOG_ARRAYS.get(catalog.content_hash)
    if found is not None:
        return found
    dims = [d.id for d in catalog.dimensions]
    dimension_of = np.array([dims.index(i.dimension) for i in catalog.indicators], dtype=np.int64)
    bounds = np.array([score_bounds(i) for i in catalog.indicators], dtype=float).reshape(-1, 2)
    tiers = {t: p for p, t in enumerate(catalog.tier_ids)}
    position = catalog.indicator_position
    columns, pair_services, thresholds = [], [], []
    tier_allowed = np.ones((len(catalog.services), len(tiers)), dtype=bool)
    for s, svc in enumerate(catalog.services):
        threshold = svc.min_score if svc.min_score is not None else catalog.settings.recommend_min_score
        for ind_id in catalog.service_triggers[svc.id]:
            columns.append(position[ind_id])
            pair_services.append(s)
            thresholds.append(threshold)
        if svc.tiers:
            tier_allowed[s] = [t in svc.tiers for t in catalog.tier_ids]
    critical = [(j, i.critical.at_least_score, tiers[i.critical.tier])
                for j, i in enumerate(catalog.indicators) if i.critical is not None]
    arrays = _CatalogArrays(
        dimension_of=dimension_of, by_dimension_order=np.argsort(dimension_of, kind="stable"),
        dimension_start=np.searchsorted(np.sort(dimension_of), np.arange(len(dims) + 1)).astype(np.int64),
        low_bound=np.ascontiguousarray(bounds[:, 0]), high_bound=np.ascontiguousarray(bounds[:, 1]),
        critical_column=np.array([c[0] for c in critical], dtype=np.int64),
        critical_at_least=np.array([c[1] for c in critical], dtype=float),
        critical_level=np.array([c[2] for c in critical], dtype=np.int64),
        trigger_column=np.array(columns, dtype=np.int64), trigger_service=np.array(pair_services, dtype=np.int64),
        trigger_threshold=np.array(thresholds, dtype=float), tier_allowed=tier_allowed)
    with _CACHE_LOCK:
        return _CATALOG_ARRAYS.setdefault(catalog.content_hash, arrays)


# Plans by catalog content and configuration object (held here, so its id stays its own): a service scores
# every submission under one of a few configuration objects.
_PLANS: dict[tuple[str, int], tuple[ScoringConfig, ScoringPlan]] = {}
PLANS_KEPT = 32


def scoring_plan(catalog: Catalog, config: ScoringConfig) -> ScoringPlan:
    """The plan of `catalog` under `config` (checked against it: see assessment.rules.resolve_config)."""
    key = (catalog.content_hash, id(config))
    found = _PLANS.get(key)
    if found is not None and found[0] is config:
        return found[1]
    plan = _plan(catalog, config)
    with _CACHE_LOCK:
        while len(_PLANS) >= PLANS_KEPT:
            _PLANS.pop(next(iter(_PLANS)))
        _PLANS[key] = (config, plan)
    return plan


def _plan(catalog: Catalog, config: ScoringConfig) -> ScoringPlan:
    arrays = _catalog_arrays(catalog)
    iw = config.indicator_weights
    weights = np.array([iw[i.id] for i in catalog.indicators], dtype=float)
    return ScoringPlan(
        weights=weights, dimension_of=arrays.dimension_of,
        dimension_weights=np.array([config.dimension_weights[d.id] for d in catalog.dimensions], dtype=float),
        by_dimension_order=arrays.by_dimension_order, dimension_start=arrays.dimension_start,
        low_bound=arrays.low_bound, high_bound=arrays.high_bound,
        cutoffs=np.array([config.tier_cutoffs[t] for t in catalog.tier_ids], dtype=float),
        critical_column=arrays.critical_column, critical_at_least=arrays.critical_at_least,
        critical_level=arrays.critical_level, trigger_column=arrays.trigger_column,
        trigger_service=arrays.trigger_service, trigger_threshold=arrays.trigger_threshold,
        trigger_weight=weights[arrays.trigger_column], tier_allowed=arrays.tier_allowed,
        deprivation_cutoff=float(config.af_deprivation_cutoff),
        poverty_cutoff=float(config.af_poverty_cutoff - AF_TOLERANCE),
        alkire_foster=config.method == "alkire_foster",
        top_reasons=int(catalog.settings.top_reasons), top_services=int(catalog.settings.recommend_top_n),
    )
