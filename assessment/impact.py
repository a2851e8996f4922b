"""Impact preview: what publishing a draft scoring configuration would change, household by household.

`config_from_draft` turns an analyst's draft (only the changes, or a whole configuration) into a checked
`ScoringConfig`; `impact_preview` scores the same households under the published configuration and
the draft and compares them: tier changes (a from-to table), ranks and the largest rank movers, rank
correlation of the two indices, index changes, and the same per scope value (e.g. per station).
Pure and vectorised: no I/O and no Python code per household.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from assessment.batch import BatchResult, assess_prepared, prepare_frame
from assessment.catalog import Catalog, ScoringConfig, check_config
from assessment.errors import ConfigError, CoreError, Message, clipped, shown
from assessment.ranking import rank

METHODS = ("weighted_mean", "alkire_foster")
WEIGHT_FIELDS = ("indicator_weights", "dimension_weights")
SHARE_FIELDS = ("af_deprivation_cutoff", "af_poverty_cutoff", "completeness_threshold")
TEXT_FIELDS = ("id", "version", "catalog_id", "catalog_version")
DRAFT_FIELDS = (*TEXT_FIELDS, "label", "method", *WEIGHT_FIELDS, "tier_cutoffs", *SHARE_FIELDS)
# How many of the highest tiers count as "the top tiers" in the per-scope table.
TOP_TIERS = 2


def _number(path: str, value: Any, *, positive: bool = False, share: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(path, f"must be a number, got {shown(value)}", f"必须是数字,实际为 {shown(value)}",
                          code="not_a_number")
    if positive and not value > 0:
        raise ConfigError(path, f"weight must be positive, got {shown(value)}", f"权重必须为正数,实际为 {shown(value)}",
                          code="bad_weight")
    if share and not 0 <= value <= 1:
        raise ConfigError(path, f"must lie in 0-1, got {shown(value)}", f"必须在 0-1 之间,实际为 {shown(value)}",
                          code="out_of_range")
    return float(value)


def _mapping(path: str, value: Any) -> Mapping:
    if not isinstance(value, Mapping):
        raise ConfigError(path, "must be a mapping of ids to numbers", "必须是 id 到数值的映射", code="not_a_mapping")
    return value


def _text(path: str, value: Any) -> str:
    if not isinstance(value, (str, int, float)) or isinstance(value, bool) or not str(value).strip():
        raise ConfigError(path, f"must be a non-empty text, got {shown(value)}", f"必须是非空文本,实际为 {shown(value)}",
                          code="bad_text")
    return str(value)


def _check_label(value: Any) -> None:
    if isinstance(value, str) and value.strip():
        return
    if isinstance(value, Mapping) and value and all(
            isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in value.items()):
        return
    raise ConfigError("label", "must be a text or a mapping like {zh: ..., en: ...}",
                      "必须是文本,或形如 {zh: ..., en: ...} 的映射", code="bad_text")


def config_from_draft(catalog: Catalog, document: Mapping[str, Any], *, base: ScoringConfig) -> ScoringConfig:
    """The configuration a draft describes: `base` with the draft's changes applied, checked against `catalog`.

    The draft may give any of: id, version, label, catalog_id, catalog_version, method,
    indicator_weights and dimension_weights (a subset is merged over `base`), tier_cutoffs (likewise),
    af_deprivation_cutoff, af_poverty_cutoff, completeness_threshold. Without an id and version the
    result is called `draft`, version `<base version>+draft`. `label` is checked but is the caller's
    to keep: it is not part of the scoring. Raises ConfigError naming the first bad field, e.g.
    `indicator_weights.xyz`.
    """
    if not isinstance(document, Mapping):
        raise ConfigError("(document)", "a draft must be a mapping of field names to values",
                          "草稿必须是字段名到取值的映射", code="not_a_mapping")
    for key in document:
        if key not in DRAFT_FIELDS:
            raise ConfigError(clipped(str(key)), f"unknown field {shown(key)}; known fields: {', '.join(DRAFT_FIELDS)}",
                              f"未知字段 {shown(key)};可用字段:{', '.join(DRAFT_FIELDS)}", code="unknown_field")
    merged = base.model_dump()
    merged["id"], merged["version"] = "draft", f"{base.version}+draft"
    for field in TEXT_FIELDS:
        if field in document:
            merged[field] = _text(field, document[field])
    if merged["catalog_version"] != catalog.version:
        raise ConfigError("catalog_version",
                          f"draft is for catalog version {shown(merged['catalog_version'])}, not {catalog.version!r}",
                          f"草稿属于目录版本 {shown(merged['catalog_version'])},而非 {catalog.version!r}",
                          code="wrong_catalog_version")
    if "label" in document:
        _check_label(document["label"])
    if "method" in document:
        if document["method"] not in METHODS:
            raise ConfigError("method", f"unknown method {shown(document['method'])}; use one of {', '.join(METHODS)}",
                              f"未知方法 {shown(document['method'])};可选:{', '.join(METHODS)}", code="unknown_method")
        merged["method"] = document["method"]
    for field in (*WEIGHT_FIELDS, "tier_cutoffs"):
        if field in document:
            given = _mapping(field, document[field])
            changes = {str(key): _number(f"{field}.{clipped(str(key))}", value, positive=field in WEIGHT_FIELDS)
                       for key, value in given.items()}
            merged[field] = {**merged[field], **changes}
    for field in SHARE_FIELDS:
        if field in document:
            merged[field] = _number(field, document[field], share=True)
    config = ScoringConfig.model_validate(merged)
    check_config(catalog, config)
    return config


@dataclass(frozen=True)
class ImpactPreview:
    """How the draft's results differ from the published ones over the same households.

    Ranks are 1..n over every compared household (assessment.ranking's tie rule); "up" for a tier
    means a higher, more severe tier; `places_up` of a mover is rank before - rank after.
    """

    catalog_id: str
    catalog_version: str
    published: dict
    draft: dict
    compared: int
    invalid: int
    tier_changes: pd.DataFrame  # counts, index: tier under the published config, columns: under the draft
    changed_tier: int
    tier_up: int
    tier_down: int
    spearman: float
    kendall: float
    mean_abs_index_change: float
    median_abs_index_change: float
    movers: pd.DataFrame
    scope_column: str | None
    by_scope: pd.DataFrame | None

    def to_frames(self) -> dict[str, pd.DataFrame]:
        """summary (one row), tier_changes, movers and (with a scope) by_scope."""
        frames = {"summary": pd.DataFrame([self._summary()]), "tier_changes": self.tier_changes,
                  "movers": self.movers}
        if self.by_scope is not None:
            frames["by_scope"] = self.by_scope
        return frames

    def _summary(self) -> dict:
        return {
            "catalog_id": self.catalog_id, "catalog_version": self.catalog_version,
            "published_id": self.published["id"], "published_version": self.published["version"],
            "draft_id": self.draft["id"], "draft_version": self.draft["version"],
            "compared": self.compared, "invalid": self.invalid, "changed_tier": self.changed_tier,
            "tier_up": self.tier_up, "tier_down": self.tier_down, "spearman": self.spearman,
            "kendall": self.kendall, "mean_abs_index_change": self.mean_abs_index_change,
            "median_abs_index_change": self.median_abs_index_change,
        }

    def as_dict(self, *, household_ids: bool = True) -> dict:
        """JSON-ready (NaN becomes None); without household ids when `household_ids` is False."""
        summary = {key: _plain(value) for key, value in self._summary().items()}
        movers = self.movers if household_ids else self.movers.drop(columns="household_id")
        return {
            "catalog": {"id": self.catalog_id, "version": self.catalog_version},
            "published": self.published, "draft": self.draft,
            **{key: summary[key] for key in ("compared", "invalid", "changed_tier", "tier_up", "tier_down",
                                             "spearman", "kendall", "mean_abs_index_change",
                                             "median_abs_index_change")},
            "tier_changes": {str(before): {str(after): int(count) for after, count in row.items()}
                             for before, row in self.tier_changes.iterrows()},
            "movers": _records(movers),
            "scope_column": self.scope_column,
            "by_scope": None if self.by_scope is None else _records(self.by_scope),
        }


def _plain(value: Any) -> Any:
    """A JSON-ready Python value: numpy scalars unwrapped, NaN and NA as None."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _records(frame: pd.DataFrame) -> list[dict]:
    return [{str(k): _plain(v) for k, v in row.items()} for row in frame.astype(object).to_dict("records")]


def _describe(config: ScoringConfig) -> dict:
    return {"id": config.id, "version": config.version, "method": config.method}


def _correlation(name: str, a: np.ndarray, b: np.ndarray) -> float:
    """A rank correlation of scipy.stats, NaN when it is undefined (fewer than two households, or
    constant indices)."""
    from scipy import stats  # imported here: it takes most of a second, and only this needs it

    if len(a) < 2:
        return math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        return float(getattr(stats, name)(a, b).statistic)


def _ranks(catalog: Catalog, ids: np.ndarray, index: np.ndarray, tier: np.ndarray,
           completeness: np.ndarray) -> np.ndarray:
    table = pd.DataFrame({
        "household_id": ids, "index": index, "completeness": completeness,
        "tier": pd.Categorical.from_codes(tier, categories=list(catalog.tier_ids), ordered=True),
    })
    return rank(table, tier_order=catalog.tier_ids)["rank"].to_numpy()


def top_movers(catalog: Catalog, ids, rank_before, rank_after, index_before, index_after,
               tier_before, tier_after, count: int) -> pd.DataFrame:
    """The `count` households whose rank moved most (ties: household id ascending). The movers of a data
    set in parts are the top movers of the parts' top movers."""
    moved = np.flatnonzero(rank_before != rank_after)
    keep = min(count, len(moved))
    if keep:
        distance = np.abs(rank_before[moved] - rank_after[moved])
        table = pa.table({"distance": distance, "household_id": pa.array(ids[moved].astype(str))})
        chosen = pc.select_k_unstable(table, k=keep, sort_keys=[("distance", "descending"),
                                                                ("household_id", "ascending")])
        rows = moved[chosen.to_numpy()]
    else:
        rows = moved[:0]
    tiers = np.array(catalog.tier_ids, dtype=object)
    movers = pd.DataFrame({
        "household_id": ids[rows].astype(str), "rank_before": rank_before[rows], "rank_after": rank_after[rows],
        "places_up": rank_before[rows] - rank_after[rows],
        "index_before": index_before[rows], "index_after": index_after[rows],
        "tier_before": tiers[tier_before[rows]], "tier_after": tiers[tier_after[rows]],
    })
    movers["distance"] = movers["places_up"].abs()
    movers = movers.sort_values(["distance", "household_id"], ascending=[False, True], ignore_index=True)
    return movers.drop(columns="distance")


def scope_sums(values: np.ndarray, index_before, index_after, tier_before, tier_after, top: int) -> pd.DataFrame:
    """Per scope value (sorted): households and the sums behind the per-scope table. The sums of parts of a
    data set add up (rows matched on `scope`) to those of the whole."""
    codes, uniques = pd.factorize(pd.Series(values), sort=True, use_na_sentinel=False)
    groups = len(uniques)

    def total(weights) -> np.ndarray:
        return np.bincount(codes, weights=np.asarray(weights, dtype=float), minlength=groups)

    return pd.DataFrame({
        "scope": np.asarray(uniques, dtype=object),
        "households": np.bincount(codes, minlength=groups),
        "index_before": total(index_before),
        "index_after": total(index_after),
        "changed_tier": total(tier_before != tier_after).astype(np.int64),
        "tier_up": total(tier_after > tier_before).astype(np.int64),
        "tier_down": total(tier_after < tier_before).astype(np.int64),
        "top_before": total(tier_before >= top).astype(np.int64),
        "top_after": total(tier_after >= top).astype(np.int64),
    })


def scope_table(scope_column: str, sums: pd.DataFrame) -> pd.DataFrame:
    """The per-scope table of `ImpactPreview.by_scope` from `scope_sums` (of one frame, or added up)."""
    order = pd.factorize(pd.Series(sums["scope"].to_numpy(dtype=object)), sort=True, use_na_sentinel=False)[0]
    sums = sums.iloc[np.argsort(order, kind="stable")]
    n = sums["households"].to_numpy()
    return pd.DataFrame({
        scope_column: sums["scope"].to_numpy(dtype=object),
        "households": n,
        "mean_index_before": sums["index_before"].to_numpy() / n,
        "mean_index_after": sums["index_after"].to_numpy() / n,
        "changed_tier": sums["changed_tier"].to_numpy(),
        "tier_up": sums["tier_up"].to_numpy(),
        "tier_down": sums["tier_down"].to_numpy(),
        "share_top_tiers_before": sums["top_before"].to_numpy() / n,
        "share_top_tiers_after": sums["top_after"].to_numpy() / n,
    })


def tier_change_counts(catalog: Catalog, tier_before: np.ndarray, tier_after: np.ndarray) -> np.ndarray:
    """(tiers x tiers) counts of households by tier before (rows) and after (columns)."""
    tiers = len(catalog.tier_ids)
    return np.bincount(tier_before * tiers + tier_after, minlength=tiers * tiers).reshape(tiers, tiers)


def kendall_tau_b(pairs: int, x_ties: int, y_ties: int, joint_ties: int, discordant: int) -> float:
    """Kendall's tau-b from pair counts: all pairs, pairs tied in x, in y, in both, and discordant pairs;
    NaN when either variable is constant. The same operations as scipy.stats.kendalltau, so exact counts
    gathered in parts (`assessment.partitions`) give scipy's figure."""
    if x_ties == pairs or y_ties == pairs:
        return math.nan
    concordant_minus_discordant = pairs - x_ties - y_ties + joint_ties - 2 * discordant
    tau = concordant_minus_discordant / np.sqrt(pairs - x_ties) / np.sqrt(pairs - y_ties)
    return float(np.minimum(1.0, max(-1.0, tau)))


def preview_result(catalog: Catalog, *, published: ScoringConfig, draft: ScoringConfig, compared: int,
                   invalid: int, tier_counts: np.ndarray, spearman: float, kendall: float, mean_abs_index_change: float,
                   median_abs_index_change: float, movers: pd.DataFrame, scope_column: str | None,
                   by_scope: pd.DataFrame | None) -> ImpactPreview:
    """An ImpactPreview from its figures, however they were gathered (one frame, or a data set in parts)."""
    tier_changes = pd.DataFrame(tier_counts, index=pd.Index(catalog.tier_ids, name="from"),
                                columns=pd.Index(catalog.tier_ids, name="to"))
    return ImpactPreview(
        catalog_id=catalog.id, catalog_version=catalog.version,
        published=_describe(published), draft=_describe(draft),
        compared=compared, invalid=invalid,
        tier_changes=tier_changes,
        changed_tier=int(tier_counts.sum() - np.trace(tier_counts)),
        tier_up=int(np.triu(tier_counts, 1).sum()),
        tier_down=int(np.tril(tier_counts, -1).sum()),
        spearman=spearman, kendall=kendall,
        mean_abs_index_change=mean_abs_index_change, median_abs_index_change=median_abs_index_change,
        movers=movers, scope_column=scope_column, by_scope=by_scope,
    )


def _compared(batch: BatchResult, both: np.ndarray) -> dict:
    """The figures of the households valid under both configurations (validity does not depend on it)."""
    keep = both[batch.valid]
    return {"index": batch.index[keep], "tier": batch.tier_code[keep].astype(np.int64),
            "completeness": batch.completeness[keep]}


def check_preview_arguments(frame_columns, scope_column: str | None, movers) -> None:
    """The errors `impact_preview` raises for its arguments before any work."""
    if scope_column is not None and scope_column not in frame_columns:
        raise CoreError(Message(zh=f"缺少范围列 {scope_column}", en=f"missing the scope column {scope_column!r}"),
                        path=scope_column, code="missing_column")
    if isinstance(movers, bool) or not isinstance(movers, numbers.Integral) or movers < 0:
        raise ConfigError("movers", f"must be a whole number of 0 or more, got {shown(movers)}",
                          f"必须是不小于 0 的整数,实际为 {shown(movers)}", code="bad_value")


def impact_preview(catalog: Catalog, frame: pd.DataFrame, *, draft: ScoringConfig,
                   published: ScoringConfig | None = None, scope_column: str | None = "station_id",
                   movers: int = 20) -> ImpactPreview:
    """Score `frame` (households' answers, one per row, as for `assess_frame`) under the published
    configuration (the catalog default when None) and the draft, and compare the results."""
    published = published if published is not None else catalog.default_config()
    check_preview_arguments(frame.columns, scope_column, movers)
    prepared = prepare_frame(catalog, frame, passthrough=())  # the answers are read once for both
    before_batch = assess_prepared(prepared, config=published)
    after_batch = assess_prepared(prepared, config=draft)
    both = before_batch.valid & after_batch.valid
    ids = before_batch.household_id[both]
    before, after = _compared(before_batch, both), _compared(after_batch, both)

    rank_before = _ranks(catalog, ids, before["index"], before["tier"], before["completeness"])
    rank_after = _ranks(catalog, ids, after["index"], after["tier"], after["completeness"])
    change = np.abs(after["index"] - before["index"])
    by_scope = None
    if scope_column is not None:
        top = max(len(catalog.tier_ids) - TOP_TIERS, 0)
        by_scope = scope_table(scope_column, scope_sums(frame[scope_column].to_numpy()[both], before["index"],
                                                        after["index"], before["tier"], after["tier"], top))
    return preview_result(
        catalog, published=published, draft=draft, compared=int(both.sum()), invalid=int((~both).sum()),
        tier_counts=tier_change_counts(catalog, before["tier"], after["tier"]),
        spearman=_correlation("spearmanr", before["index"], after["index"]),
        kendall=_correlation("kendalltau", before["index"], after["index"]),
        mean_abs_index_change=float(change.mean()) if len(change) else math.nan,
        median_abs_index_change=float(np.median(change)) if len(change) else math.nan,
        movers=top_movers(catalog, ids, rank_before, rank_after, before["index"], after["index"],
                          before["tier"], after["tier"], movers),
        scope_column=scope_column, by_scope=by_scope,
    )
