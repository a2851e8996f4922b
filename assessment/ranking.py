"""Deterministic priority ranking of scored households, within any scope.

Tie rule (a total order, the same on every run and for any row order of the input):

1. higher `index` first;
2. on equal index, the higher `tier` first (tiers ordered by `tier_order`, lowest first, e.g.
   ("none", "light", "moderate", "severe"); a tier raised by a critical indicator counts as that tier);
3. then the higher `completeness`;
4. then `household_id` in ascending order (household ids must be unique).

Ranks are 1..n within each scope group (e.g. each `town_id`), never shared. The percentile is
100 x (n - rank + 1) / n within the scope, so the top household has 100 and the last 100 / n.

The order is computed without a loop per household or per group: every key becomes a dense integer
code (one fast sort per float column), the codes are packed into a single int64 key sorted once,
and household ids are compared (one Arrow sort) only among the rows that tie on every other key.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from assessment.errors import CoreError, Message

_PACKING_LIMIT = 2**62


def _column_error(column: str, code: str, zh: str, en: str) -> CoreError:
    return CoreError(Message(zh=zh, en=en), path=column, code=code)


def _require_columns(scores: pd.DataFrame, columns: list[str]) -> None:
    for column in columns:
        if column not in scores.columns:
            raise _column_error(
                column, "missing_column",
                f"排名需要列 {column},但表中没有", f"ranking needs a column '{column}', which is absent",
            )


def _complete(scores: pd.DataFrame, column: str) -> pd.Series:
    values = scores[column]
    if values.isna().any():
        raise _column_error(
            column, "missing_value",
            f"列 {column} 有 {int(values.isna().sum())} 个空值,无法排名",
            f"column '{column}' has {int(values.isna().sum())} missing value(s); cannot rank",
        )
    return values


def _numeric(scores: pd.DataFrame, column: str) -> np.ndarray:
    values = _complete(scores, column)
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        raise _column_error(
            column, "invalid_value",
            f"列 {column} 必须是数值,实际类型为 {values.dtype}",
            f"column '{column}' must be numeric, got {values.dtype}",
        )
    return values.to_numpy(dtype=float)


def _dense_codes(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense ascending rank (0-based) of each value and the number of distinct values."""
    order = np.argsort(values)
    ordered = values[order]
    starts = np.empty(len(values), dtype=bool)
    starts[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=starts[1:])
    codes = np.empty(len(values), dtype=np.int64)
    codes[order] = np.cumsum(starts) - 1
    return codes, int(starts.sum())


def _descending_codes(values: np.ndarray) -> tuple[np.ndarray, int]:
    codes, cardinality = _dense_codes(values)
    return cardinality - 1 - codes, cardinality


def _pack(major: tuple[np.ndarray, int], minor: tuple[np.ndarray, int]) -> tuple[np.ndarray, int]:
    """One code ordering rows by `major`, then `minor`.

    Codes are re-densified first when the product of cardinalities could overflow int64; dense
    codes are below the row count, so the product then fits for fewer than 2**31 rows.
    """
    (high, high_card), (low, low_card) = major, minor
    if high_card * low_card >= _PACKING_LIMIT:
        (high, high_card), (low, low_card) = _dense_codes(high), _dense_codes(low)
    return high * low_card + low, high_card * low_card


def _scope_codes(scores: pd.DataFrame, scope: list[str]) -> tuple[np.ndarray, int]:
    packed = (np.zeros(len(scores), dtype=np.int64), 1)
    for column in scope:
        codes, uniques = pd.factorize(_complete(scores, column))
        packed = _pack(packed, (codes.astype(np.int64), max(len(uniques), 1)))
    return _dense_codes(packed[0]) if len(scope) > 1 else packed


def _tier_codes(scores: pd.DataFrame, tier_order: Sequence[str] | None) -> tuple[np.ndarray, int]:
    tiers = _complete(scores, "tier")
    if tier_order is None:
        if not (isinstance(tiers.dtype, pd.CategoricalDtype) and tiers.dtype.ordered):
            raise _column_error(
                "tier", "missing_tier_order",
                "列 tier 不是有序分类,必须给出 tier_order(从低到高)",
                "column 'tier' is not an ordered categorical; pass tier_order (lowest first)",
            )
        tier_order = list(tiers.dtype.categories)
    position = {tier: i for i, tier in enumerate(tier_order)}
    codes, uniques = pd.factorize(tiers)
    unknown = [tier for tier in uniques if tier not in position]
    if unknown:
        raise _column_error(
            "tier", "unknown_tier",
            f"列 tier 中有未知等级:{unknown};已知等级为 {list(tier_order)}",
            f"column 'tier' has unknown tier(s) {unknown}; known tiers are {list(tier_order)}",
        )
    level = np.array([position[tier] for tier in uniques], dtype=np.int64)[codes]
    return len(position) - 1 - level, max(len(position), 1)


def check_unique_ids(ids: pd.Series) -> None:
    """Raise `duplicate_household_id` naming a few repeated ids, when `ids` repeats one."""
    if not ids.is_unique:
        repeated = ids[ids.duplicated()].unique()[:5].tolist()
        raise _column_error(
            "household_id", "duplicate_household_id",
            f"household_id 必须唯一,重复的有:{repeated}",
            f"household_id must be unique; repeated: {repeated}",
        )


def _household_ids(scores: pd.DataFrame) -> pa.Array:
    ids = _complete(scores, "household_id")
    check_unique_ids(ids)
    try:
        return pa.array(ids, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        raise _column_error(
            "household_id", "invalid_value",
            "household_id 必须全部是数字或全部是文本", "household_id must be all numbers or all text",
        ) from None


def _scope_list(scope: str | list[str] | None) -> list[str]:
    if scope is None:
        return []
    return [scope] if isinstance(scope, str) else list(scope)


def check_rankable(
    scores: pd.DataFrame, *, scope: str | list[str] | None = None, tier_order: Sequence[str] | None = None
) -> np.ndarray:
    """The error `rank` raises for these columns, if any (a repeated id aside: see `check_unique_ids`);
    else the index as floats. For callers that rank a data set in parts."""
    scope = _scope_list(scope)
    _require_columns(scores, ["household_id", "index", "tier", "completeness", *scope])
    _complete(scores, "household_id")
    for column in scope:
        _complete(scores, column)
    _tier_codes(scores, tier_order)
    _numeric(scores, "completeness")
    return _numeric(scores, "index")


def percentiles(ranks: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """100 x (n - rank + 1) / n for ranks 1..n within scopes of n households."""
    return 100.0 * (sizes - ranks + 1) / sizes


def _ordering(
    scores: pd.DataFrame, scope: list[str], tier_order: Sequence[str] | None
) -> tuple[np.ndarray, np.ndarray]:
    """(row positions in rank order grouped by scope, scope code per row)."""
    _require_columns(scores, ["household_id", "index", "tier", "completeness", *scope])
    ids = _household_ids(scores)
    scope_codes = _scope_codes(scores, scope)
    key = _pack(scope_codes, _descending_codes(_numeric(scores, "index")))
    key = _pack(key, _tier_codes(scores, tier_order))
    key, _ = _pack(key, _descending_codes(_numeric(scores, "completeness")))
    order = np.argsort(key)

    ordered_key = key[order]
    same_as_next = ordered_key[1:] == ordered_key[:-1]
    tied = np.zeros(len(order), dtype=bool)
    tied[:-1] |= same_as_next
    tied[1:] |= same_as_next
    if tied.any():
        # rows tying on every other key: order each run of equal keys by household id
        tied_positions = np.flatnonzero(tied)
        tied_rows = order[tied_positions]
        runs = pa.table({"run": ordered_key[tied_positions], "id": ids.take(tied_rows)})
        by_run_then_id = pc.sort_indices(runs, sort_keys=[("run", "ascending"), ("id", "ascending")])
        order[tied_positions] = tied_rows[by_run_then_id.to_numpy()]
    return order, scope_codes[0]


def rank_order(
    scores: pd.DataFrame, *, scope: str | list[str] | None = None, tier_order: Sequence[str] | None = None
) -> np.ndarray:
    """Row positions of `scores` in rank order, the rows of each scope group contiguous."""
    return _ordering(scores, _scope_list(scope), tier_order)[0]


def rank(
    scores: pd.DataFrame, *, scope: str | list[str] | None = None, tier_order: Sequence[str] | None = None
) -> pd.DataFrame:
    """A copy of `scores` with `rank` (1..n per scope group) and `percentile` columns.

    `scores` needs household_id, index, tier, completeness and the scope column(s). `tier_order`
    lists the tiers lowest first; without it `tier` must be an ordered Categorical.
    """
    order, scope_codes = _ordering(scores, _scope_list(scope), tier_order)
    n = len(order)
    ordered_scope = scope_codes[order]
    run_start = np.zeros(n, dtype=bool)
    run_start[:1] = True
    np.not_equal(ordered_scope[1:], ordered_scope[:-1], out=run_start[1:])
    positions = np.arange(n, dtype=np.int64)
    first_of_run = np.maximum.accumulate(np.where(run_start, positions, 0))
    ranks = np.empty(n, dtype=np.int64)
    ranks[order] = positions - first_of_run + 1
    group_size = np.bincount(scope_codes)[scope_codes]

    ranked = scores.copy()
    ranked["rank"] = ranks
    ranked["percentile"] = percentiles(ranks, group_size)
    return ranked
