"""One partition of a data set at a time: the engine-neutral contract of the batch commands.

Each function takes one partition as a pandas DataFrame (with the catalog, the configuration and what an
engine gathered in earlier passes) and returns a DataFrame. A distributed engine moves partitions between
machines and adds up what they return; it never scores. `cluster` runs these functions on Dask; Spark's
`mapInPandas` could run the same ones.

The figures of a whole data set come from its partitions in two ways:

- sums and counts that add up over partitions (Alkire-Foster, tier tables, per-scope tables), the ratios
  taken once at the end (`assessment.population.poverty_from_sums`, `assessment.impact.preview_result`,
  `assessment.sensitivity.sensitivity_table`);
- places in a global order (ranks within a scope, the average ranks of a rank correlation, a median).
  Each household gets an integer key whose order the exact order refines (`index_key`, `ranking_keys`);
  the engine cuts the keys into intervals (`interval_of`), counts the households of each interval
  (`interval_counts`) and brings each interval's households into one partition. The partition orders its
  own households exactly and adds the households of earlier intervals (`interval_offsets`). Households
  with equal keys share an interval, so every tie is broken inside one partition, by the rule of one
  process (`assessment.ranking`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from numba import njit

from assessment.batch import FINDING_COLUMNS, WeightChange, assess_frame, assess_prepared, prepare_frame, reweighted
from assessment.catalog import Catalog, ScoringConfig
from assessment.errors import CoreError, Message
from assessment.impact import TOP_TIERS, scope_sums, tier_change_counts, top_movers
from assessment.population import poverty_sums
from assessment.ranking import check_rankable, percentiles, rank_order
from assessment.rules import INDEX_SCALE

# Columns an engine adds for ordering: the key, its interval, and the code of the household's scope.
KEY, INTERVAL, GROUP = "_key", "_interval", "_group"
# Keys of one scope: one per value of the rounded index in 0-100.
INDEX_KEYS = int(round(100 * INDEX_SCALE)) + 1
FINDING_FIELDS = [c for c in FINDING_COLUMNS if c not in ("row", "household_id")]


# -- scoring -------------------------------------------------------------------------------------------

def assess_partition(frame: pd.DataFrame, catalog: Catalog, config: ScoringConfig | None = None, *,
                     first_row: int = 0) -> pd.DataFrame:
    """Every row of `frame` scored, one output row per input row, in order: `row` (its number in the data
    set: `first_row` + position), `valid`, the columns of `assess_frame(...).scores` (figures missing
    where the row failed validation; yes/no figures as nullable booleans) and `findings` (None, or the
    row's errors then warnings, each a dict of indicator, code, severity, message_zh, message_en).
    `scores_of` and `findings_of` give back exactly what `assess_frame` gives for the partition."""
    batch = assess_frame(catalog, frame, config=config)
    scores = batch.scores
    scores = scores.astype({name: "boolean" for name, dtype in scores.dtypes.items()
                            if pd.api.types.is_bool_dtype(dtype)})
    n = len(frame)
    if not batch.valid.all():
        scores = scores.set_axis(np.flatnonzero(batch.valid)).reindex(pd.RangeIndex(n))
        scores["household_id"] = batch.household_id
        for name in batch.passthrough.columns:
            scores[name] = batch.passthrough[name]
    scores.insert(0, "row", np.arange(first_row, first_row + n, dtype=np.int64))
    scores.insert(1, "valid", batch.valid)
    findings = np.full(n, None, dtype=object)
    found = pd.concat([batch.errors, batch.warnings], ignore_index=True)
    if len(found):
        found = found.sort_values("row", kind="stable")
        records = found[FINDING_FIELDS].astype(object).where(found[FINDING_FIELDS].notna(), None).to_dict("records")
        for row, record in zip(found["row"].to_numpy(), records):
            if findings[row] is None:
                findings[row] = []
            findings[row].append(record)
    scores["findings"] = findings
    return scores


def scores_of(outcome: pd.DataFrame) -> pd.DataFrame:
    """The scores of the valid rows of an `assess_partition` outcome, as `assess_frame(...).scores`."""
    valid = outcome["valid"].to_numpy(dtype=bool)
    scores = outcome if valid.all() else outcome[valid]
    scores = scores.drop(columns=["row", "valid", "findings"]).reset_index(drop=True)
    return scores.astype({name: bool for name, dtype in scores.dtypes.items() if isinstance(dtype, pd.BooleanDtype)})


def findings_of(outcome: pd.DataFrame, severity: str) -> pd.DataFrame:
    """The errors or warnings (`severity`) of an `assess_partition` outcome, with FINDING_COLUMNS; `row`
    numbers rows in the data set."""
    rows = outcome.loc[outcome["findings"].notna(), ["row", "household_id", "findings"]].explode("findings")
    if not len(rows):
        return pd.DataFrame({c: pd.Series(dtype="int64" if c == "row" else object) for c in FINDING_COLUMNS})
    fields = pd.DataFrame(rows["findings"].tolist(), columns=FINDING_FIELDS)
    table = pd.concat([rows[["row", "household_id"]].reset_index(drop=True), fields], axis=1)
    return table[table["severity"] == severity].reset_index(drop=True)[FINDING_COLUMNS]


# -- population measures -------------------------------------------------------------------------------

def poverty_partition(frame: pd.DataFrame, catalog: Catalog, config: ScoringConfig | None = None, *,
                      k: float | None = None, group_column: str | None = None) -> pd.DataFrame:
    """The additive Alkire-Foster figures of the partition (`assessment.population.poverty_sums`): add them
    up over the partitions on kind and key, then `poverty_from_sums`."""
    return poverty_sums(catalog, frame, config=config, k=k, group_column=group_column)


# -- global order --------------------------------------------------------------------------------------

def index_key(index: np.ndarray) -> np.ndarray:
    """int64 in 0..INDEX_KEYS - 1, 0 for index 100: a higher index never gets a larger key, and households
    with equal (rounded) indices get the same one."""
    return INDEX_KEYS - 1 - np.rint(np.clip(index, 0.0, 100.0) * INDEX_SCALE).astype(np.int64)


def interval_of(keys: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """The interval of each key: how many bounds (sorted) are at or below it."""
    return np.searchsorted(bounds, keys, side="right").astype(np.int64)


def key_sample(keys: np.ndarray, size: int) -> pd.DataFrame:
    """Up to `size` evenly spaced keys of the sorted keys of a partition, each with the number of keys it
    stands for: the engine picks interval bounds from the samples of every partition."""
    keys = np.sort(np.asarray(keys))
    if not len(keys):
        return pd.DataFrame({"key": keys, "weight": np.zeros(0)})
    picks = np.unique(np.linspace(0, len(keys) - 1, min(size, len(keys))).round().astype(np.int64))
    return pd.DataFrame({"key": keys[picks], "weight": np.full(len(picks), len(keys) / len(picks))})


def interval_bounds(samples: pd.DataFrame, intervals: int) -> np.ndarray:
    """At most `intervals` - 1 distinct bounds cutting the sampled keys into parts of about equal weight."""
    if intervals <= 1 or not len(samples):
        return np.zeros(0, dtype=samples["key"].dtype if len(samples) else np.int64)
    samples = samples.sort_values("key", kind="stable")
    cumulative = samples["weight"].cumsum().to_numpy()
    targets = cumulative[-1] * np.arange(1, intervals) / intervals
    picks = np.minimum(np.searchsorted(cumulative, targets, side="left"), len(samples) - 1)
    return np.unique(samples["key"].to_numpy()[picks])


def interval_counts(frame: pd.DataFrame, bounds: np.ndarray, *, group: str | None = None) -> pd.DataFrame:
    """Households per (interval, group) of a partition with a KEY column (group 0 without `group`)."""
    intervals = interval_of(frame[KEY].to_numpy(), bounds)
    groups = frame[group].to_numpy(dtype=np.int64) if group is not None else np.zeros(len(frame), dtype=np.int64)
    counts = pd.DataFrame({"interval": intervals, "group": groups}).value_counts(sort=False)
    return counts.rename("households").reset_index()


def interval_offsets(counts: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """From `interval_counts` added up over the partitions: (households of the same group in earlier
    intervals, by (interval, group); households per group)."""
    counts = counts.groupby(["group", "interval"], sort=True)["households"].sum()
    earlier = counts.groupby(level="group").cumsum() - counts
    return earlier.swaplevel().sort_index(), counts.groupby(level="group").sum()


def _earlier(offsets: pd.Series, intervals: np.ndarray, groups: np.ndarray) -> np.ndarray:
    where = offsets.index.get_indexer(pd.MultiIndex.from_arrays([intervals, groups]))
    if np.any(where < 0):
        raise ValueError("a partition holds a household of an interval that was not counted")
    return offsets.to_numpy()[where]


def _runs(*sequences: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For aligned sequences: where each element's run of equal values (in every sequence) starts, and the
    run's length."""
    n = len(sequences[0])
    starts = np.zeros(n, dtype=bool)
    starts[:1] = True
    for values in sequences:
        if n > 1:
            starts[1:] |= values[1:] != values[:-1]
    first = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
    lengths = np.diff(np.append(np.flatnonzero(starts), n))
    return first, np.repeat(lengths, lengths)


def _equal_pairs(*columns: np.ndarray) -> int:
    """Pairs of rows equal in every column."""
    if not len(columns[0]):
        return 0
    codes = pd.MultiIndex.from_arrays(columns).factorize()[0] if len(columns) > 1 else pd.factorize(columns[0])[0]
    counts = np.bincount(codes).astype(np.int64)
    return int((counts * (counts - 1) // 2).sum())


def _placed(frame: pd.DataFrame, tier_order: Sequence[str], *, index: str, tier, completeness: str,
            groups: np.ndarray, offsets: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(row positions of whole intervals in rank order, grouped by group code, then interval; their ranks
    1..n within the group over the whole data set). `tier`: the tier column's name, or the tiers."""
    table = pd.DataFrame({"household_id": frame["household_id"].to_numpy(), "index": frame[index].to_numpy(),
                          "completeness": frame[completeness].to_numpy(),
                          "tier": frame[tier].to_numpy() if isinstance(tier, str) else tier,
                          INTERVAL: frame[INTERVAL].to_numpy(), GROUP: groups})
    order = rank_order(table, scope=[GROUP, INTERVAL], tier_order=tier_order)
    intervals = table[INTERVAL].to_numpy()
    # rank_order keeps the (group, interval) runs in order of appearance: put them in order
    order = order[np.lexsort((intervals[order], groups[order]))]
    first, _ = _runs(groups[order], intervals[order])
    ranks = _earlier(offsets, intervals[order], groups[order]) + (np.arange(len(order)) - first) + 1
    return order, ranks


def _tiers(catalog: Catalog, codes: np.ndarray) -> pd.Categorical:
    return pd.Categorical.from_codes(codes, categories=list(catalog.tier_ids), ordered=True)


# -- ranking -------------------------------------------------------------------------------------------

def scope_values(frame: pd.DataFrame, scope: Sequence[str]) -> pd.DataFrame:
    """The distinct scope values of a partition (as plain objects)."""
    return frame[list(scope)].astype(object).drop_duplicates()


def scope_table(values: pd.DataFrame, scope: Sequence[str]) -> pd.DataFrame:
    """Every distinct scope value, sorted: a household's scope code is its row here."""
    return values.drop_duplicates().sort_values(list(scope), kind="stable", ignore_index=True)


def ranking_keys(frame: pd.DataFrame, *, scope: Sequence[str], table: pd.DataFrame,
                 tier_order: Sequence[str]) -> pd.DataFrame:
    """`frame` checked as `assessment.ranking.rank` checks it, with GROUP (scope code) and KEY: the scope
    code, then the index (higher first)."""
    index = check_rankable(frame, scope=list(scope), tier_order=tier_order)
    if scope:
        values = pd.MultiIndex.from_frame(frame[list(scope)].astype(object))
        groups = pd.MultiIndex.from_frame(table).get_indexer(values)
    else:
        groups = np.zeros(len(frame), dtype=np.int64)
    if len(table) * INDEX_KEYS >= 2**63:
        raise CoreError(Message(zh=f"范围值过多({len(table)} 个),无法一次排名",
                                en=f"too many scope values ({len(table)}) to rank at once"),
                        path=",".join(scope), code="too_many_scopes")
    return frame.assign(**{GROUP: groups.astype(np.int64), KEY: groups * INDEX_KEYS + index_key(index)})


def rank_partition(frame: pd.DataFrame, *, tier_order: Sequence[str], offsets: pd.Series,
                   sizes: pd.Series) -> pd.DataFrame:
    """The households of whole intervals (columns INTERVAL, GROUP and KEY from `ranking_keys`) with `rank`
    and `percentile` within their scope over the whole data set, sorted by scope code and rank; `offsets` and
    `sizes` from `interval_offsets`."""
    groups = frame[GROUP].to_numpy(dtype=np.int64)
    order, ranks = _placed(frame, tier_order, index="index", tier="tier", completeness="completeness",
                           groups=groups, offsets=offsets)
    ranked = frame.iloc[order].drop(columns=[KEY, INTERVAL, GROUP]).reset_index(drop=True)
    ranked["rank"] = ranks
    ranked["percentile"] = percentiles(ranks, sizes.reindex(groups[order]).to_numpy())
    return ranked


# -- impact preview ------------------------------------------------------------------------------------

IMPACT_COLUMNS = ["household_id", "compared", "index_before", "index_after", "tier_before", "tier_after",
                  "completeness_before", "completeness_after"]


def impact_partition(frame: pd.DataFrame, catalog: Catalog, *, published: ScoringConfig, draft: ScoringConfig,
                     scope_column: str | None = None) -> pd.DataFrame:
    """Each household of the partition under the published configuration and the draft (IMPACT_COLUMNS,
    then `scope`): `compared` when valid under both, its figures missing (tiers -1) otherwise."""
    prepared = prepare_frame(catalog, frame, passthrough=())
    n = len(frame)
    batches = {"before": assess_prepared(prepared, config=published), "after": assess_prepared(prepared, config=draft)}
    both = batches["before"].valid & batches["after"].valid
    rows = {"household_id": pd.array(prepared.household_id, dtype="string"), "compared": both}
    for name, batch in batches.items():
        keep = both[batch.valid]
        for figure, values, missing in (("index", batch.index, np.nan), ("tier", batch.tier_code, -1),
                                        ("completeness", batch.completeness, np.nan)):
            column = np.full(n, missing, dtype=np.int64 if figure == "tier" else float)
            column[both] = values[keep]
            rows[f"{figure}_{name}"] = column
    table = pd.DataFrame(rows)[IMPACT_COLUMNS]
    if scope_column is not None:
        table["scope"] = frame[scope_column].to_numpy()
    return table


def impact_totals(rows: pd.DataFrame, catalog: Catalog) -> pd.DataFrame:
    """The additive figures of `impact_partition` rows: kind "all" (households compared, invalid, sum of the
    absolute index changes), "tiers" (households per tier before x tiers + tier after, the key) and, with a
    scope, "scope" (`assessment.impact.scope_sums` columns, the key the scope value)."""
    compared = rows[rows["compared"].to_numpy(dtype=bool)]
    tiers = len(catalog.tier_ids)
    before, after = compared["tier_before"].to_numpy(), compared["tier_after"].to_numpy()
    change = np.abs(compared["index_after"].to_numpy() - compared["index_before"].to_numpy())
    parts = [pd.DataFrame({"kind": ["all"], "key": [""], "households": [len(compared)],
                           "invalid": [len(rows) - len(compared)], "change": [float(change.sum())]}),
             pd.DataFrame({"kind": "tiers", "key": np.arange(tiers * tiers).astype(object),
                           "households": tier_change_counts(catalog, before, after).ravel()})]
    if "scope" in rows:
        sums = scope_sums(compared["scope"].to_numpy(), compared["index_before"].to_numpy(),
                          compared["index_after"].to_numpy(), before, after, max(tiers - TOP_TIERS, 0))
        parts.append(sums.rename(columns={"scope": "key"}).assign(kind="scope"))
    table = pd.concat(parts, ignore_index=True).astype({"kind": object, "key": object})
    numbers = [c for c in table.columns if c not in ("kind", "key")]
    table[numbers] = table[numbers].fillna(0)
    return table.astype({c: np.int64 for c in numbers if c not in ("change", "index_before", "index_after")})


def _twice_average_ranks(values: np.ndarray, intervals: np.ndarray, offsets: pd.Series,
                         groups: np.ndarray | None = None) -> np.ndarray:
    """2 x the average rank (tied values sharing the mean of their ranks) of each value of whole intervals,
    in order of group, interval and then rank, within its group over the whole data set: an integer."""
    groups = np.zeros(len(values), dtype=np.int64) if groups is None else groups
    earlier = _earlier(offsets, intervals, groups)
    first, lengths = _runs(groups, intervals, values)
    start_of_interval, _ = _runs(groups, intervals)
    return 2 * (earlier + first - start_of_interval) + lengths + 1


def preview_before(rows: pd.DataFrame, catalog: Catalog, *, offsets: pd.Series) -> pd.DataFrame:
    """Compared households of whole intervals of the index before, in rank order, with `rank_before` (tie
    rule, over the whole data set), `twice_rank_before` (2 x the average rank of the index before, higher
    index first) and `block` (their interval)."""
    groups = np.zeros(len(rows), dtype=np.int64)
    order, ranks = _placed(rows, catalog.tier_ids, index="index_before",
                           tier=_tiers(catalog, rows["tier_before"].to_numpy()),
                           completeness="completeness_before", groups=groups, offsets=offsets)
    placed = rows.iloc[order].reset_index(drop=True)
    placed["rank_before"] = ranks
    placed["twice_rank_before"] = _twice_average_ranks(placed["index_before"].to_numpy(),
                                                       placed[INTERVAL].to_numpy(), offsets)
    return placed.rename(columns={INTERVAL: "block"}).drop(columns=[KEY])


def block_statistics(placed: pd.DataFrame) -> pd.DataFrame:
    """Pair counts of `preview_before` rows of whole blocks: pairs tied in the index before, tied in both
    indices, and discordant pairs within a block."""
    x_ties = joint = discordant = 0
    for _, block in placed.groupby("block", sort=False):
        x, y = block["index_before"].to_numpy(), block["index_after"].to_numpy()
        x_ties += _equal_pairs(x)
        joint += _equal_pairs(x, y)
        discordant += discordant_pairs(x, y)
    return pd.DataFrame({"x_ties": [x_ties], "joint_ties": [joint], "discordant": [discordant]})


def _placed_after(rows: pd.DataFrame, catalog: Catalog, offsets: pd.Series):
    groups = np.zeros(len(rows), dtype=np.int64)
    order, ranks = _placed(rows, catalog.tier_ids, index="index_after",
                           tier=_tiers(catalog, rows["tier_after"].to_numpy()),
                           completeness="completeness_after", groups=groups, offsets=offsets)
    return rows.iloc[order].reset_index(drop=True), ranks


def preview_after_statistics(rows: pd.DataFrame, catalog: Catalog, *, offsets: pd.Series,
                             households: int) -> pd.DataFrame:
    """For `preview_before` rows of whole intervals of the index after: pairs tied in the index after,
    discordant pairs of different blocks within one interval, and the centred sums of the average ranks
    (before and after) behind Spearman's correlation."""
    placed, _ = _placed_after(rows, catalog, offsets)
    intervals, after = placed[INTERVAL].to_numpy(), placed["index_after"].to_numpy()
    twice_after = _twice_average_ranks(after, intervals, offsets)
    u = placed["twice_rank_before"].to_numpy(dtype=float) - (households + 1)
    v = twice_after.astype(float) - (households + 1)
    y_ties = discordant = 0
    for _, interval in placed.groupby(INTERVAL, sort=False):
        y_ties += _equal_pairs(interval["index_after"].to_numpy())
        # a lower index after in an earlier block (a higher index before)
        discordant += discordant_pairs(interval["index_after"].to_numpy(), -interval["block"].to_numpy())
    return pd.DataFrame({"y_ties": [y_ties], "discordant": [discordant], "uv": [float(u @ v)],
                         "uu": [float(u @ u)], "vv": [float(v @ v)]})


def preview_after_movers(rows: pd.DataFrame, catalog: Catalog, *, offsets: pd.Series, movers: int) -> pd.DataFrame:
    """For `preview_before` rows of whole intervals of the index after: the partition's `movers` largest
    rank changes (`assessment.impact.top_movers`); the top movers of all partitions' are the data set's."""
    placed, ranks = _placed_after(rows, catalog, offsets)
    return top_movers(catalog, placed["household_id"].to_numpy(dtype=object), placed["rank_before"].to_numpy(),
                      ranks, placed["index_before"].to_numpy(), placed["index_after"].to_numpy(),
                      placed["tier_before"].to_numpy(), placed["tier_after"].to_numpy(), movers)


def cross_block_discordant(counts: pd.DataFrame) -> int:
    """Discordant pairs in different blocks (intervals of the index before) and different intervals of the
    index after, from `interval_counts` of the index after by block (`group`), added up: a household of an
    earlier block (higher index before) in a later interval (lower index after) and one of a later block in
    an earlier interval."""
    if not len(counts):
        return 0
    table = counts.pivot_table(index="interval", columns="group", values="households", aggfunc="sum",
                               fill_value=0).sort_index().sort_index(axis=1).to_numpy(dtype=np.int64)
    later = np.vstack([np.cumsum(table[::-1], axis=0)[::-1][1:], np.zeros((1, table.shape[1]), dtype=np.int64)])
    # households in later intervals and earlier blocks than each cell's
    partners = np.hstack([np.zeros((table.shape[0], 1), dtype=np.int64), np.cumsum(later, axis=1)[:, :-1]])
    return int((table * partners).sum())


def kendall_counts(rows: int, block: pd.DataFrame, after: pd.DataFrame, cross: int) -> dict:
    """The pair counts of `assessment.impact.kendall_tau_b` from `block_statistics` and
    `preview_after_statistics` added up over partitions and `cross_block_discordant`."""
    return {"pairs": rows * (rows - 1) // 2, "x_ties": int(block["x_ties"].sum()), "y_ties": int(after["y_ties"].sum()),
            "joint_ties": int(block["joint_ties"].sum()),
            "discordant": int(block["discordant"].sum()) + int(after["discordant"].sum()) + cross}


# -- weight sensitivity --------------------------------------------------------------------------------

def sensitivity_partition(frame: pd.DataFrame, catalog: Catalog, config: ScoringConfig, *,
                          changes: list[WeightChange], factor: float) -> pd.DataFrame:
    """Each household of the partition: `valid`, and `index_<v>` and `tier_<v>` under each change v (0 the
    configuration as it is), as `assessment.batch.reweighted` scores them (missing, tier -1, when invalid)."""
    prepared = prepare_frame(catalog, frame, passthrough=())
    valid = prepared.valid
    table = {"household_id": pd.array(prepared.household_id, dtype="string"), "valid": valid}
    for v, (_, index, tier) in enumerate(reweighted(prepared, config, changes, factor)):
        table[f"index_{v}"] = np.full(len(valid), np.nan)
        table[f"index_{v}"][valid] = index
        table[f"tier_{v}"] = np.full(len(valid), -1, dtype=np.int8)
        table[f"tier_{v}"][valid] = tier
    return pd.DataFrame(table)


def sensitivity_totals(rows: pd.DataFrame, changes: int) -> pd.DataFrame:
    """Per change v of `sensitivity_partition` rows (1..changes - 1): the valid households changing tier
    against change 0, up, down, and the sum and largest absolute index change; and for change 0 the valid
    and invalid households."""
    valid = rows[rows["valid"].to_numpy(dtype=bool)]
    base_index, base_tier = valid["index_0"].to_numpy(), valid["tier_0"].to_numpy()
    table = [{"change": 0, "households": len(valid), "invalid": len(rows) - len(valid)}]
    for v in range(1, changes):
        index, tier = valid[f"index_{v}"].to_numpy(), valid[f"tier_{v}"].to_numpy()
        change = np.abs(index - base_index)
        table.append({"change": v, "changing_tier": int(np.count_nonzero(tier != base_tier)),
                      "tier_up": int(np.count_nonzero(tier > base_tier)),
                      "tier_down": int(np.count_nonzero(tier < base_tier)), "index_change": float(change.sum()),
                      "max_index_change": float(change.max(initial=-math.inf))})
    return pd.DataFrame(table).fillna(0)


def with_average_ranks(rows: pd.DataFrame, *, value: str, offsets: pd.Series) -> pd.DataFrame:
    """Rows of whole intervals of `value` with `twice_rank` (2 x the average rank of `value`, higher first,
    over the whole data set)."""
    placed = rows.iloc[np.lexsort((-rows[value].to_numpy(), rows[INTERVAL].to_numpy()))].reset_index(drop=True)
    twice = _twice_average_ranks(placed[value].to_numpy(), placed[INTERVAL].to_numpy(), offsets)
    return pd.concat([placed.drop(columns=[INTERVAL, KEY]), pd.Series(twice, name="twice_rank")], axis=1)


def change_keys(rows: pd.DataFrame, changes: Sequence[int]) -> pd.DataFrame:
    """`with_average_ranks` rows of `sensitivity_partition`, one row per household and change v of `changes`:
    GROUP v, KEY (v, then its index higher first), `value` (the index under v) and `base` (2 x the average
    rank of the index under change 0)."""
    changes = list(changes)
    values = np.concatenate([rows[f"index_{v}"].to_numpy(dtype=float) for v in changes]) if changes else np.zeros(0)
    groups = np.repeat(np.asarray(changes, dtype=np.int64), len(rows))
    return pd.DataFrame({GROUP: groups, KEY: groups * INDEX_KEYS + index_key(values), "value": values,
                         "base": np.tile(rows["twice_rank"].to_numpy(dtype=np.int64), len(changes))})


def average_rank_sums(rows: pd.DataFrame, *, offsets: pd.Series, households: int) -> pd.DataFrame:
    """For `change_keys` rows of whole intervals: per change (`group`), the centred sums behind the Pearson
    correlation of the two average ranks, the base's and the change's (Spearman's correlation)."""
    order = np.lexsort((-rows["value"].to_numpy(), rows[INTERVAL].to_numpy(), rows[GROUP].to_numpy()))
    groups, intervals = rows[GROUP].to_numpy()[order], rows[INTERVAL].to_numpy()[order]
    twice = _twice_average_ranks(rows["value"].to_numpy()[order], intervals, offsets, groups)
    u = rows["base"].to_numpy(dtype=float)[order] - (households + 1)
    v = twice.astype(float) - (households + 1)
    sums = pd.DataFrame({"group": groups, "uv": u * v, "uu": u * u, "vv": v * v})
    return sums.groupby("group", as_index=False).sum()


def pearson(uv: float, uu: float, vv: float) -> float:
    """The correlation from centred sums; NaN when either side is constant."""
    if uu == 0 or vv == 0:
        return math.nan
    return float(uv / math.sqrt(uu * vv))


# -- pair counting -------------------------------------------------------------------------------------

def discordant_pairs(x: np.ndarray, y: np.ndarray) -> int:
    """Pairs with x_a < x_b and y_a > y_b (ties in either count as neither)."""
    if len(x) < 2:
        return 0
    order = np.lexsort((y, x))
    y_codes = np.unique(y, return_inverse=True)[1].ravel()[order] + 1
    return int(_discordant_sorted(np.asarray(x)[order], y_codes.astype(np.int64), int(y_codes.max())))


@njit(cache=True, nogil=True)
def _discordant_sorted(x, y_codes, size):  # pragma: no cover - compiled
    """Pairs of a sequence sorted by x (then y) with a strictly smaller x and a strictly larger y code: a
    Fenwick tree counts the y codes of the rows with smaller x, one run of equal x at a time."""
    tree = np.zeros(size + 1, dtype=np.int64)
    inserted = 0
    total = 0
    start = 0
    n = len(x)
    while start < n:
        end = start
        while end < n and x[end] == x[start]:
            end += 1
        for i in range(start, end):
            j = y_codes[i]
            at_most = 0
            while j > 0:
                at_most += tree[j]
                j -= j & -j
            total += inserted - at_most
        for i in range(start, end):
            j = y_codes[i]
            while j <= size:
                tree[j] += 1
                j += j & -j
        inserted += end - start
        start = end
    return total
