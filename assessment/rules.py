"""The rules both scoring paths share: one household (`assessment.scoring`) and many (`assessment.batch`).

- rounding of the index and of service strengths, and the tier an index reaches, raised by critical
  indicators (compiled, so that the compiled loops of `assessment.kernels` call them too);
- which configuration applies (`resolve_config`);
- answer codes: the one number each answer is stored as wherever answers are numbers (`answer_code`);
- conditions (`applies_when`, service eligibility, contradictions): one checker, `all_hold`, that takes
  one household's answer codes or whole columns of them;
- regional parameters: the value for a region and year, and the finding when there is none or it is
  taken from an earlier year.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numba import njit

from assessment.catalog import Catalog, Condition, Indicator, ScoringConfig, check_config

# Index values are rounded so that sums taken in different orders decide tiers and ties on the same number.
INDEX_DECIMALS = 6
# Service strengths are rounded so that sums taken in different orders tie when they should.
STRENGTH_DECIMALS = 9
# Weighted counts like 1/3 + 1/3 + 1/3 are not exact in floating point.
AF_TOLERANCE = 1e-9
INDEX_SCALE = 10.0**INDEX_DECIMALS
STRENGTH_SCALE = 10.0**STRENGTH_DECIMALS


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def round_index(index: float) -> float:
    """The index (or a bound of its range) to INDEX_DECIMALS places, as numpy rounds: rint(x * scale) / scale."""
    return np.rint(index * INDEX_SCALE) / INDEX_SCALE


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def round_strength(strength: float) -> float:
    return np.rint(strength * STRENGTH_SCALE) / STRENGTH_SCALE


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def tier_level(cutoffs, index: float) -> int:
    """The position of the highest tier whose cut-off the (rounded) index reaches; 0 when none."""
    level = 0
    for t in range(len(cutoffs)):
        if index >= cutoffs[t]:
            level = t
    return level


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def raised_tier(scores, level: int, critical_column, critical_at_least, critical_level, raised_by, r) -> int:
    """`level` raised by every critical indicator whose deprivation in `scores` (NaN when missing) reaches its
    `at_least_score`; raised_by[r, c] = c for each critical indicator that raises it above `level`, else
    left as it is."""
    raised = level
    for c in range(len(critical_column)):
        x = scores[critical_column[c]]
        if x == x and x >= critical_at_least[c]:
            if critical_level[c] > level:
                raised_by[r, c] = c
            raised = max(raised, critical_level[c])
    return raised


@njit(cache=True, nogil=True)
def tier_levels(index, scores, cutoffs, critical_column, critical_at_least, critical_level):
    """`raised_tier(scores[i], tier_level(cutoffs, index[i]), ...)` for every row i."""
    levels = np.empty(len(index), dtype=np.int64)
    raised_by = np.empty((1, len(critical_column)), dtype=np.int64)
    for i in range(len(index)):
        levels[i] = raised_tier(scores[i], tier_level(cutoffs, index[i]), critical_column, critical_at_least,
                                critical_level, raised_by, 0)
    return levels


def is_missing(value: Any) -> bool:
    """None, NaN, pandas.NA and blank text are missing answers (and a missing region)."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (int, list, tuple, dict, set)):  # bool is an int
        return False
    if isinstance(value, float):
        return value != value  # NaN
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def resolve_config(catalog: Catalog, config: ScoringConfig | None) -> ScoringConfig:
    """`config` checked against `catalog`, or the catalog's default when None."""
    if config is None:
        return catalog.default_config()
    check_config(catalog, config)
    return config


# ------------------------------------------------------------------------------------------ answer codes

def answer_code(indicator: Indicator, value: Any) -> float:
    """The number a canonical answer is stored as: yes/no as 1/0, an ordinal level, a count and an amount
    as themselves, a choice as the position of its option in the catalog."""
    spec = indicator.answer
    if spec.type == "choice":
        return spec.position_by_value[value]
    return float(value)


def finite_codes(indicator: Indicator) -> tuple[list[float], list[float]]:
    """For a yes/no, ordinal or choice indicator: every answer code, ascending, and its deprivation score."""
    spec = indicator.answer
    if spec.type == "yes_no":
        return [0.0, 1.0], [spec.score_no, spec.score_yes]
    if spec.type == "ordinal":
        return [float(level.value) for level in spec.levels], [level.score for level in spec.levels]
    if spec.type == "choice":
        return [float(n) for n in range(len(spec.options))], [option.score for option in spec.options]
    raise ValueError(f"{indicator.id} is a {spec.type}: its answers are not a finite list")


# ------------------------------------------------------------------------------------------- conditions

# Every operator of `assessment.catalog.Operator` but "in", which tests membership of a list.
COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq, "ne": operator.ne, "gt": operator.gt, "ge": operator.ge, "lt": operator.lt, "le": operator.le,
}

AnswerCodes = Callable[[str], Any]
"""indicator id -> its answer code (NaN when missing), or the column of them (numpy array) for many households."""


def condition_holds(catalog: Catalog, condition: Condition, codes_of: AnswerCodes):
    """Whether `condition` holds: a bool for one household, a bool array for columns of answer codes.
    False where an answer it needs is missing (NaN)."""
    return _all_hold((_check(catalog, condition),), codes_of)


def all_hold(catalog: Catalog, conditions: Sequence[Condition], codes_of: AnswerCodes):
    """Every condition holds (True when there is none); see `condition_holds`."""
    return _all_hold(_checks(catalog, conditions), codes_of) if conditions else True


def _all_hold(checks: tuple, codes_of: AnswerCodes):
    held = True
    for indicator, compare, target, value_of in checks:
        value = codes_of(indicator)
        if compare is None:  # "in": target is the tuple of codes
            holds = np.isin(value, target) if isinstance(value, np.ndarray) else value in target
        else:
            if value_of is not None:
                target = codes_of(value_of)
            # a comparison with NaN is false, except "ne": both answers must be present
            holds = compare(value, target) & (value == value) & (target == target)
        held = held & holds
        if held is False:
            return False
    return held


def _check(catalog: Catalog, condition: Condition) -> tuple:
    """(indicator, the comparison or None for "in", the answer code or codes compared with, value_of)."""
    indicator = catalog.indicator_by_id[condition.indicator]
    if condition.op == "in":
        return condition.indicator, None, tuple(answer_code(indicator, value) for value in condition.value), None
    target = None if condition.value_of is not None else answer_code(indicator, condition.value)
    return condition.indicator, COMPARISONS[condition.op], target, condition.value_of


# (catalog content hash, id of a list of conditions in it) -> (that list, its checks): every submission checks
# the same lists, and their checks depend only on the catalog's content.
_CHECKS: dict[tuple[str, int], tuple[Sequence[Condition], tuple]] = {}
CHECKS_KEPT = 4096


def _checks(catalog: Catalog, conditions: Sequence[Condition]) -> tuple:
    key = (catalog.content_hash, id(conditions))
    found = _CHECKS.get(key)
    if found is not None and found[0] is conditions:
        return found[1]
    checks = tuple(_check(catalog, condition) for condition in conditions)
    if len(_CHECKS) >= CHECKS_KEPT:
        _CHECKS.clear()
    _CHECKS[key] = (conditions, checks)
    return checks


# ---------------------------------------------------------------------------------- regional parameters

# The finding each problem with a regional parameter gives, and its severity.
PARAMETER_FINDINGS = {"missing_region": "error", "unknown_region": "error", "missing_parameter": "error",
                      "parameter_from_earlier_year": "warning"}


def parameter_year(catalog: Catalog, region: str, year: int | None) -> int:
    """`year`, or when None the latest year the catalog has values for in the region or its parents."""
    if year is not None:
        return year
    return max(year for region in catalog.region_chain(region) for year in region.values)


def regional_parameter(catalog: Catalog, name: str, region: Any, year: int | None
                       ) -> tuple[float | None, tuple[str, dict] | None]:
    """The value of regional parameter `name` for a household of `region` in `year` (None: the latest
    year), and None or the (code, message values) of its finding (see PARAMETER_FINDINGS): the value is
    None after an error; a warning says the value was taken from a year before `year` because the region
    has none since."""
    if is_missing(region):
        return None, ("missing_region", {})
    if region not in catalog.region_by_id:
        return None, ("unknown_region", {"value": region})
    the_year = parameter_year(catalog, region, year)
    found = catalog.parameter_source(name, region, the_year)
    if found is None:
        return None, ("missing_parameter", {"value": region, "year": the_year})
    value, source, used_year = found
    if used_year < the_year and max(y for y, v in source.values.items() if name in v) == used_year:
        return value, ("parameter_from_earlier_year", {"value": region, "year": the_year, "used_year": used_year,
                                                       "used_value": f"{value:g}"})
    return value, None
