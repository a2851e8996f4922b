"""The batch commands as Dask jobs: score, rank, population measures, impact preview, weight sensitivity.

Each job gives the figures the single-process command gives on the same households: the partitions are
scored by `assessment.partitions`; sums are added up before any ratio; ranks and rank correlations come
from a global order (`cluster.ordering`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from assessment import assess_frame
from assessment.alkire_foster import AFResult
from assessment.catalog import Catalog, ScoringConfig
from assessment.impact import (ImpactPreview, check_preview_arguments, kendall_tau_b, preview_result, scope_table,
                               top_movers)
from assessment.partitions import (GROUP, KEY, assess_partition, average_rank_sums, block_statistics, change_keys,
                                   cross_block_discordant, findings_of, impact_partition, impact_totals, index_key,
                                   interval_offsets, kendall_counts, pearson, poverty_partition,
                                   preview_after_movers, preview_after_statistics, preview_before, rank_partition,
                                   ranking_keys, scope_values, scores_of, sensitivity_partition, sensitivity_totals,
                                   with_average_ranks)
from assessment.population import poverty_from_sums
from assessment.ranking import check_unique_ids
from assessment.rules import INDEX_SCALE
from assessment.sensitivity import check_sensitivity_arguments, sensitivity_table
from cluster.engine import Engine, job_context
from cluster.ordering import in_order
from cluster.storage import PART, WORK, Scratch, Staging, empty_like, read_dataset, write_part

SEVERITIES = ("error", "warning")
# Weight changes whose ranks one pass of the global order gives in weight sensitivity (the rows it moves are
# this many times the households').
CHANGES_AT_ONCE = 16

FindingsWriter = Callable[[str, Iterator[pd.DataFrame]], int]


def _meta(function, frame: dd.DataFrame, *args, **kwargs) -> pd.DataFrame:
    """What `function` returns for an empty partition of `frame`: the columns and types Dask plans with."""
    return function(empty_like(frame), *args, **kwargs)


def _summary_meta(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype="int64") for name in columns})


def _added_up(parts: pd.DataFrame) -> pd.DataFrame:
    """Rows of the partitions' additive figures summed on (kind, key); a few rows per partition, added up
    here rather than in a shuffle (keys mix numbers and text)."""
    return parts.groupby(["kind", "key"], sort=False, dropna=False).sum().reset_index()


# -- score ---------------------------------------------------------------------------------------------

SCORE_SUMMARY = ["partition", "rows", "scored", "failed", "error", "warning"]


def _score_task(part: pd.DataFrame, name: str, folder: str, metadata: dict, partition_info=None) -> pd.DataFrame:
    context = job_context(name)
    number = partition_info["number"]
    outcome = assess_partition(part, context.catalog, context.configs["config"])
    write_part(scores_of(outcome), Path(folder) / PART.format(number), metadata)
    found = {}
    for severity in SEVERITIES:
        findings = findings_of(outcome, severity)
        found[severity] = len(findings)
        if len(findings):
            write_part(findings, Path(folder) / WORK / severity / PART.format(number))
    return pd.DataFrame({"partition": [number], "rows": [len(part)], "scored": [int(outcome["valid"].sum())],
                         "failed": [int((~outcome["valid"]).sum())], **{k: [v] for k, v in found.items()}})


def _findings(folder: Path, severity: str, first_rows: dict[int, int]) -> Iterator[pd.DataFrame]:
    """The findings of `severity` of every partition in order, rows numbered in the data set."""
    for number, first_row in first_rows.items():
        path = folder / WORK / severity / PART.format(number)
        if path.exists():
            findings = pq.read_table(path).to_pandas()
            yield findings.assign(row=findings["row"] + first_row)


def score_dataset(engine: Engine, source, output: Path, *, catalog: Catalog, config: ScoringConfig | None,
                  write_findings: FindingsWriter) -> dict:
    """Score every household of the Parquet data set `source` into the data set `output` (a folder of part
    files, `_SUCCESS` last), as `assess score` does; `write_findings(severity, frames)` writes the errors
    and the warnings, in row order. Returns counts: rows, scored, failed (rows), errors, warnings."""
    frame = read_dataset(source)
    versions = assess_frame(catalog, empty_like(frame), config=config).versions  # a wrong file fails here
    config = config if config is not None else catalog.default_config()
    with engine.job(catalog, config=config) as name, Staging(output, work=SEVERITIES) as staging:
        summary = frame.map_partitions(_score_task, name, str(staging.folder), versions,
                                       meta=_summary_meta(SCORE_SUMMARY)).compute()
        summary = summary.sort_values("partition", ignore_index=True)
        first_rows = dict(zip(summary["partition"].tolist(), (summary["rows"].cumsum() - summary["rows"]).tolist()))
        for severity in SEVERITIES:
            write_findings(severity, _findings(staging.folder, severity, first_rows))
        totals = {"rows": int(summary["rows"].sum()), "scored": int(summary["scored"].sum()),
                  "failed": int(summary["failed"].sum()), "errors": int(summary["error"].sum()),
                  "warnings": int(summary["warning"].sum())}
        staging.commit({"command": "score", "partitions": len(summary), **totals, **versions})
    return totals


# -- rank ----------------------------------------------------------------------------------------------

def _unique_ids(part: pd.DataFrame) -> pd.DataFrame:
    check_unique_ids(part["household_id"])
    return part.iloc[:0]


def _write_task(part: pd.DataFrame, folder: str, partition_info=None) -> pd.DataFrame:
    write_part(part, Path(folder) / PART.format(partition_info["number"]))
    return pd.DataFrame({"partition": [partition_info["number"]], "rows": [len(part)]})


def _written(frame: dd.DataFrame, folder: Path) -> dd.DataFrame:
    """Writing each partition of `frame` as a part file of `folder` (to compute)."""
    folder.mkdir(exist_ok=True)
    return frame.map_partitions(_write_task, str(folder), meta=_summary_meta(["partition", "rows"]))


def rank_dataset(engine: Engine, source, output: Path, *, scope: list[str], tier_order: list[str]) -> int:
    """Rank the scored households of the data set `source` within each scope value, as `assess rank`
    does, into the data set `output` (sorted by scope value and rank). Returns the households ranked."""
    frame = read_dataset(source)
    table = pd.DataFrame({column: pd.Series(dtype=object) for column in scope})
    ranking_keys(empty_like(frame), scope=scope, table=table, tier_order=tier_order)  # a wrong file fails here
    ids = frame[["household_id"]]
    unique = ids.shuffle(on="household_id").map_partitions(_unique_ids, meta=empty_like(ids))
    if scope:
        _, values = dask.compute(unique, frame[scope].map_partitions(scope_values, scope, meta=table))
        table = values.drop_duplicates().sort_values(scope, kind="stable", ignore_index=True)
    else:
        unique.compute()
    # the keys from the columns they need, so that sampling them reads only those
    narrow = frame[list(dict.fromkeys(["household_id", "index", "tier", "completeness", *scope]))]
    keys = narrow.map_partitions(ranking_keys, scope=scope, table=table, tier_order=tier_order,
                                 meta=_meta(ranking_keys, narrow, scope=scope, table=table, tier_order=tier_order))
    keyed = frame.assign(**{GROUP: keys[GROUP], KEY: keys[KEY]})
    with Staging(output) as staging:
        ordered, = in_order([keyed], intervals=frame.npartitions, scratch=staging.work, group=GROUP)
        meta = rank_partition(empty_like(ordered.frame), tier_order=tier_order, offsets=ordered.offsets,
                              sizes=ordered.sizes)
        ranked = ordered.frame.map_partitions(rank_partition, tier_order=tier_order, offsets=ordered.offsets,
                                              sizes=ordered.sizes, meta=meta)
        _written(ranked, staging.folder).compute()
        staging.commit({"command": "rank", "scope": scope, "rows": ordered.households})
    return ordered.households


# -- population measures -------------------------------------------------------------------------------

def _poverty_task(part: pd.DataFrame, name: str, k: float | None, group_column: str | None) -> pd.DataFrame:
    context = job_context(name)
    return poverty_partition(part, context.catalog, context.configs["config"], k=k, group_column=group_column)


def poverty_dataset(engine: Engine, source, *, catalog: Catalog, config: ScoringConfig | None, k: float | None,
                    group_column: str | None) -> tuple[AFResult, int]:
    """Alkire-Foster measures of the households of the data set `source`, as `assess poverty` gives them:
    each partition's counts and sums added up, then the ratios. Returns the result and the rows left out."""
    frame = read_dataset(source)
    config = config if config is not None else catalog.default_config()
    meta = _meta(poverty_partition, frame, catalog, config, k=k, group_column=group_column)
    with engine.job(catalog, config=config) as name:
        sums = frame.map_partitions(_poverty_task, name, k, group_column, meta=meta)
        sums = _added_up(sums.compute())
    return poverty_from_sums(catalog, sums, config=config, k=k)


# -- impact preview ------------------------------------------------------------------------------------

def _impact_task(part: pd.DataFrame, name: str, scope_column: str | None) -> pd.DataFrame:
    context = job_context(name)
    return impact_partition(part, context.catalog, published=context.configs["published"],
                            draft=context.configs["draft"], scope_column=scope_column)


def _with_key(frame: pd.DataFrame, value: str, ascending: bool) -> pd.DataFrame:
    values = frame[value].to_numpy(dtype=float)
    key = np.rint(values * INDEX_SCALE).astype(np.int64) if ascending else index_key(values)
    return frame.assign(**{KEY: key})


def _keyed(frame: dd.DataFrame, value: str, *, ascending: bool = False) -> dd.DataFrame:
    """`frame` with KEY: `value` (on the grid of the index) higher first, or lower first when `ascending`."""
    return frame.map_partitions(_with_key, value, ascending, meta=_meta(_with_key, frame, value, ascending))


def _median(frame: dd.DataFrame, value: str, households: int, intervals: int, scratch: Path) -> float:
    """The median of `value` (a non-negative figure on the grid of the index) over `households` rows;
    intermediate files in `scratch`."""
    if households == 0:
        return math.nan
    keyed = _keyed(frame[[value]], value, ascending=True)
    ordered, = in_order([keyed], intervals=intervals, scratch=scratch)
    middle = sorted({(households - 1) // 2, households // 2})
    earlier = ordered.offsets.droplevel("group")
    wanted = [int(earlier.index[np.searchsorted(earlier.to_numpy(), position, side="right") - 1])
              for position in middle]
    candidates = np.sort(ordered.frame.partitions[sorted(set(wanted))][value].compute().to_numpy())
    start = int(earlier.loc[wanted[0]])
    values = [candidates[position - start] for position in middle]
    return float(np.mean(values))


def preview_dataset(engine: Engine, source, *, catalog: Catalog, draft: ScoringConfig,
                    published: ScoringConfig | None, scope_column: str | None, movers: int,
                    scratch: Path | None = None) -> ImpactPreview:
    """`assess config preview` over the households of the data set `source`: the figures of
    `assessment.impact.impact_preview`, with ranks, rank correlations and the median over the whole data
    set."""
    frame = read_dataset(source)
    published = published if published is not None else catalog.default_config()
    check_preview_arguments(frame.columns, scope_column, movers)
    intervals = frame.npartitions
    meta = _meta(impact_partition, frame, catalog, published=published, draft=draft, scope_column=scope_column)
    with engine.job(catalog, published=published, draft=draft) as name, Scratch(scratch) as work:
        rows = frame.map_partitions(_impact_task, name, scope_column, meta=meta)
        totals = rows.map_partitions(impact_totals, catalog, meta=impact_totals(meta, catalog))
        _, totals = dask.compute(_written(rows.drop(columns=["scope"], errors="ignore"), work / "households"), totals)
        totals = _added_up(totals)
        rows = read_dataset(work / "households")
        compared = rows[rows["compared"]]
        every = totals[totals["kind"] == "all"]
        households, invalid, change = (int(every["households"].sum()), int(every["invalid"].sum()),
                                       float(every["change"].sum()))

        before, = in_order([_keyed(compared, "index_before")], intervals=intervals, scratch=work)
        placed = before.frame.map_partitions(preview_before, catalog, offsets=before.offsets,
                                             meta=preview_before(empty_like(before.frame), catalog,
                                                                 offsets=before.offsets))
        blocks = placed.map_partitions(block_statistics, meta=block_statistics(empty_like(placed)))
        _, blocks = dask.compute(_written(placed, work / "before"), blocks)

        placed = read_dataset(work / "before")
        after, = in_order([_keyed(placed, "index_after")], intervals=intervals, scratch=work,
                          group="block")
        offsets, _ = interval_offsets(after.counts.assign(group=0))
        statistics = after.frame.map_partitions(
            preview_after_statistics, catalog, offsets=offsets, households=households,
            meta=preview_after_statistics(empty_like(after.frame), catalog, offsets=offsets, households=households))
        candidates = after.frame.map_partitions(
            preview_after_movers, catalog, offsets=offsets, movers=movers,
            meta=preview_after_movers(empty_like(after.frame), catalog, offsets=offsets, movers=movers))
        statistics, candidates = dask.compute(statistics, candidates)
        differences = compared.assign(change=(compared["index_after"] - compared["index_before"]).abs())
        median = _median(differences, "change", households, intervals, work)

    tiers = list(catalog.tier_ids)
    counts = np.zeros(len(tiers) ** 2, dtype=np.int64)
    pairs = totals[totals["kind"] == "tiers"]
    counts[pairs["key"].astype(int).to_numpy()] = pairs["households"].to_numpy()
    code = {tier: i for i, tier in enumerate(tiers)}
    chosen = top_movers(catalog, candidates["household_id"].to_numpy(dtype=object),
                        candidates["rank_before"].to_numpy(), candidates["rank_after"].to_numpy(),
                        candidates["index_before"].to_numpy(), candidates["index_after"].to_numpy(),
                        candidates["tier_before"].map(code).to_numpy(dtype=np.int64),
                        candidates["tier_after"].map(code).to_numpy(dtype=np.int64), movers)
    by_scope = None
    if scope_column is not None:
        sums = totals[totals["kind"] == "scope"].rename(columns={"key": "scope"})
        by_scope = scope_table(scope_column, sums)
    cross = cross_block_discordant(after.counts)
    return preview_result(
        catalog, published=published, draft=draft, compared=households, invalid=invalid,
        tier_counts=counts.reshape(len(tiers), len(tiers)),
        spearman=pearson(*(float(statistics[c].sum()) for c in ("uv", "uu", "vv"))),
        kendall=kendall_tau_b(**kendall_counts(households, blocks, statistics, cross)),
        mean_abs_index_change=change / households if households else math.nan,
        median_abs_index_change=median, movers=chosen, scope_column=scope_column, by_scope=by_scope)


# -- weight sensitivity --------------------------------------------------------------------------------

def _sensitivity_task(part: pd.DataFrame, name: str, changes, factor: float) -> pd.DataFrame:
    context = job_context(name)
    return sensitivity_partition(part, context.catalog, context.configs["config"], changes=changes, factor=factor)


def sensitivity_dataset(engine: Engine, source, *, catalog: Catalog, config: ScoringConfig | None, factor: float,
                        indicators: list[str] | None, scratch: Path | None = None) -> pd.DataFrame:
    """`assess config sensitivity` over the households of the data set `source`: the table of
    `assessment.sensitivity.weight_sensitivity`, with the rank correlations over the whole data set (a
    global order per changed weight)."""
    config, factor, changes = check_sensitivity_arguments(catalog, config, factor, indicators)
    frame = read_dataset(source)
    intervals = frame.npartitions
    meta = _meta(sensitivity_partition, frame, catalog, config, changes=changes, factor=factor)
    with engine.job(catalog, config=config) as name, Scratch(scratch) as work:
        rows = frame.map_partitions(_sensitivity_task, name, changes, factor, meta=meta)
        totals = rows.map_partitions(sensitivity_totals, len(changes), meta=sensitivity_totals(meta, len(changes)))
        _, totals = dask.compute(_written(rows, work / "households"), totals)
        rows = read_dataset(work / "households")
        valid = rows[rows["valid"]]
        households = int(totals.loc[totals["change"] == 0, "households"].sum())
        invalid = int(totals.loc[totals["change"] == 0, "invalid"].sum())

        base, = in_order([_keyed(valid, "index_0")], intervals=intervals, scratch=work)
        ranked = base.frame.map_partitions(with_average_ranks, value="index_0", offsets=base.offsets,
                                           meta=with_average_ranks(empty_like(base.frame), value="index_0",
                                                                   offsets=base.offsets))
        variants = list(range(1, len(changes)))
        _written(ranked[["twice_rank", *(f"index_{v}" for v in variants)]], work / "base").compute()
        ranked = read_dataset(work / "base")
        sums = []
        for start in range(0, len(variants), CHANGES_AT_ONCE):
            batch = variants[start:start + CHANGES_AT_ONCE]
            keyed = ranked.map_partitions(change_keys, batch, meta=change_keys(empty_like(ranked), batch))
            with Scratch(work) as moved:  # a batch's rows (a row per household and change) removed after it
                order, = in_order([keyed], intervals=intervals, scratch=moved, group=GROUP)
                sums.append(order.frame.map_partitions(
                    average_rank_sums, offsets=order.offsets, households=households,
                    meta=average_rank_sums(empty_like(order.frame), offsets=order.offsets,
                                           households=households)).compute())
        sums = pd.concat(sums).groupby("group").sum()

    per_change = totals[totals["change"] > 0].groupby("change").agg(
        {"changing_tier": "sum", "tier_up": "sum", "tier_down": "sum", "index_change": "sum",
         "max_index_change": "max"})

    def effect(v: int) -> dict:
        if households == 0:
            return {name: math.nan for name in ("share_changing_tier", "share_tier_up", "share_tier_down", "spearman",
                                                "mean_abs_index_change", "max_abs_index_change")}
        row = per_change.loc[v]
        return {"share_changing_tier": float(row["changing_tier"] / households),
                "share_tier_up": float(row["tier_up"] / households),
                "share_tier_down": float(row["tier_down"] / households),
                "spearman": pearson(*sums.loc[v, ["uv", "uu", "vv"]]),
                "mean_abs_index_change": float(row["index_change"] / households),
                "max_abs_index_change": float(row["max_index_change"])}

    return sensitivity_table(catalog, config, factor, ((changes[v], effect(v)) for v in variants),
                             households=households, invalid=invalid)
