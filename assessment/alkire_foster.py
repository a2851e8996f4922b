"""The Alkire-Foster counting method of multidimensional poverty measurement.

Alkire, S. and Foster, J. (2011), "Counting and multidimensional poverty measurement", Journal of
Public Economics 95(7-8), 476-487; Alkire, S. et al. (2015), "Multidimensional Poverty Measurement
and Analysis", Oxford University Press, chapter 5.

Notation, for n households and m indicators:

- g0[i, j] is True when household i is deprived in indicator j (the first, per-indicator cut-off).
  Pass it as a bool matrix, or pass deprivation scores (floats, NaN where missing) with `cutoff` z:
  then g0[i, j] = score[i, j] >= z[j].
- w[j] >= 0 are the indicator weights; they must sum to 1 (nested weights such as
  dimension weight x indicator weight are the caller's business). Weights may also be given per
  household, w[i, j], each row summing to 1 (e.g. when questions that do not apply to a household
  hand their weight to the rest of their dimension); the reported `weights` are then their mean.
- c[i] = sum_j w[j] * g0[i, j], the weighted deprivation count (deprivation score) in [0, 1].
- A household is poor when c[i] >= k (the second, cross-indicator cut-off), with k in (0, 1].
  The comparison allows `POVERTY_CUTOFF_TOLERANCE` (1e-9) below k because weighted sums are not
  exact in floating point: 0.7 + 0.1 is 0.7999999999999999, yet a household deprived in both
  indicators has reached k = 0.8.
- c(k)[i] = c[i] if poor else 0 (the censored count); q = number poor; H = q / n;
  A = sum c(k) / q (0 when q == 0); M0 = H x A = mean of c(k).
- Uncensored headcount ratio of j: share of households deprived in j; censored headcount ratio:
  share of households both poor and deprived in j. Contribution of j to M0: w[j] x CH[j] / M0;
  of a dimension: the sum over its indicators; of a group g: (n_g / n) x M0_g / M0. Each set of
  contributions sums to 1 when M0 > 0 and is all zeros when M0 == 0.

Missing indicators (NaN scores): as OPHI does for households with missing indicators, the weights
are re-normalised over the indicators observed for that household:
c[i] = sum_j w[j] g0[i, j] o[i, j] / sum_j w[j] o[i, j], where o marks observed entries. A household
whose observed weight is 0 (everything missing) has no deprivation score (NaN), is left out of n,
and is counted in `n_unmeasured`. Headcount ratios of an indicator are taken over the households
observed in it; contributions use each household's re-normalised weights, so they still sum to 1
(with complete data they equal w[j] x CH[j] / M0).

Every measure is a ratio of counts and sums over households (`af_sums`), taken by `af_from_sums`; a
population split in parts (the partitions of a data set) adds up its parts' sums first, so its measures
are those of the whole, never averages of the parts' ratios.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from assessment.errors import CoreError, Message

POVERTY_CUTOFF_TOLERANCE = 1e-9
WEIGHT_SUM_TOLERANCE = 1e-6


def _invalid(path: str, code: str, zh: str, en: str) -> CoreError:
    return CoreError(Message(zh=zh, en=en), path=path, code=code)


def _deprivation_status(
    deprivations, cutoff
) -> tuple[np.ndarray, np.ndarray | None]:
    """(g0, observed); observed is None when every entry is observed."""
    values = np.asarray(deprivations)
    if values.ndim != 2:
        raise _invalid(
            "deprivations", "invalid_shape",
            f"剥夺矩阵必须是二维(家庭 x 指标),实际为 {values.ndim} 维",
            f"must be a 2-D matrix (households x indicators), got {values.ndim} dimension(s)",
        )
    if values.dtype == bool:
        if cutoff is not None:
            raise _invalid(
                "cutoff", "unexpected_cutoff",
                "剥夺矩阵已是是/否值,不能再给剥夺临界值",
                "a cut-off applies to deprivation scores, not to a yes/no deprivation matrix",
            )
        return values, None
    if not np.issubdtype(values.dtype, np.number):
        raise _invalid(
            "deprivations", "invalid_type",
            f"剥夺矩阵必须是布尔值或数值,实际类型为 {values.dtype}",
            f"must hold booleans or numbers, got {values.dtype}",
        )
    if cutoff is None:
        raise _invalid(
            "cutoff", "missing_cutoff",
            "数值型剥夺得分需要剥夺临界值 z(得分 >= z 即为剥夺)",
            "numeric deprivation scores need a cut-off z (deprived when score >= z)",
        )
    z = np.asarray(cutoff, dtype=float)
    if z.ndim > 1 or (z.ndim == 1 and z.shape[0] != values.shape[1]) or not np.all(np.isfinite(z)):
        raise _invalid(
            "cutoff", "invalid_cutoff",
            f"剥夺临界值必须是一个有限数或 {values.shape[1]} 个有限数",
            f"must be one finite number or {values.shape[1]} finite numbers, one per indicator",
        )
    scores = values.astype(float, copy=False)
    observed = ~np.isnan(scores)
    return scores >= z, (None if observed.all() else observed)


def _checked_weights(weights, n: int, m: int) -> np.ndarray:
    """Weights (m,) summing to 1, or per household (n, m) with every row summing to 1."""
    w = np.asarray(weights, dtype=float)
    if w.shape not in ((m,), (n, m)):
        raise _invalid(
            "weights", "invalid_weights",
            f"权重必须是每个指标一个({m})或每户每个指标一个({n} x {m}),实际形状为 {w.shape}",
            f"need one weight per indicator ({m}) or per household and indicator ({n} x {m}), got {w.shape}",
        )
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise _invalid("weights", "invalid_weights", "权重必须是非负有限数",
                       "weights must be finite and non-negative")
    sums = w.sum(axis=-1)
    if np.any(np.abs(sums - 1.0) > WEIGHT_SUM_TOLERANCE):
        worst = float(np.atleast_1d(sums)[np.argmax(np.abs(np.atleast_1d(sums) - 1.0))])
        raise _invalid(
            "weights", "invalid_weights",
            f"权重之和必须为 1,实际为 {worst:.6g}",
            f"weights must sum to 1, got {worst:.6g}",
        )
    return w


def _weighted_sum(matrix: np.ndarray, w: np.ndarray) -> np.ndarray:
    return matrix @ w if w.ndim == 1 else (matrix * w).sum(axis=1)


def _counts(g0: np.ndarray, observed: np.ndarray | None, w: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(c, observed weight per household); the latter is None with complete data."""
    if observed is None:
        return _weighted_sum(g0, w), None
    observed_weight = _weighted_sum(observed, w)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.where(observed_weight > 0, _weighted_sum(g0, w) / observed_weight, np.nan)
    return c, observed_weight


def deprivation_counts(deprivations, weights, *, cutoff=None) -> np.ndarray:
    """Weighted deprivation count c in [0, 1] per household (NaN when nothing is observed).

    `deprivations`: bool matrix (n, m), or float deprivation scores with NaN for missing plus
    `cutoff` z (scalar or (m,)), deprived when score >= z. Missing entries re-normalise the
    weights over the household's observed indicators (see the module docstring).
    """
    g0, observed = _deprivation_status(deprivations, cutoff)
    return _counts(g0, observed, _checked_weights(weights, *g0.shape))[0]


@dataclass(frozen=True)
class AFResult:
    """Alkire-Foster figures for one population (see the module docstring for definitions).

    Indicator-level figures are Series indexed by indicator name; `by_group` is a DataFrame
    indexed by group label with columns n, population_share, H, A, M0, contribution.
    `deprivation_score` and `poor` are per input row (NaN / False for unmeasured households); None when
    the measures were combined from the sums of parts of the population (`af_from_sums`).
    """

    k: float
    n: int
    n_unmeasured: int
    q: int
    H: float
    A: float
    M0: float
    weights: pd.Series
    uncensored_headcount: pd.Series
    censored_headcount: pd.Series
    contribution: pd.Series
    dimension_of: pd.Series | None
    contribution_by_dimension: pd.Series | None
    by_group: pd.DataFrame | None
    deprivation_score: np.ndarray | None
    poor: np.ndarray | None

    def to_frame(self) -> pd.DataFrame:
        """One row per indicator: dimension, weight, uncensored and censored headcount, contribution."""
        frame = pd.DataFrame({
            "weight": self.weights,
            "uncensored_headcount": self.uncensored_headcount,
            "censored_headcount": self.censored_headcount,
            "contribution": self.contribution,
        })
        if self.dimension_of is not None:
            frame.insert(0, "dimension", self.dimension_of)
        frame.index.name = "indicator"
        return frame

    def as_dict(self) -> dict:
        """JSON-ready summary (no per-household arrays); undefined ratios become None."""
        return {
            "k": self.k, "n": self.n, "n_unmeasured": self.n_unmeasured, "q": self.q,
            "H": self.H, "A": self.A, "M0": self.M0,
            "indicators": _records(self.to_frame().reset_index()),
            "dimensions": None if self.contribution_by_dimension is None else {
                str(d): _plain(v) for d, v in self.contribution_by_dimension.items()},
            "groups": None if self.by_group is None else _records(self.by_group.reset_index()),
        }


def _plain(value):
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _records(frame: pd.DataFrame) -> list[dict]:
    return [{str(key): _plain(value) for key, value in row.items()}
            for row in frame.to_dict(orient="records")]


def _indicator_names(indicator_names, m: int) -> list[str]:
    if indicator_names is None:
        return [str(j) for j in range(m)]
    names = [str(name) for name in indicator_names]
    if len(names) != m or len(set(names)) != m:
        raise _invalid(
            "indicator_names", "invalid_indicator_names",
            f"指标名称必须有 {m} 个且互不相同",
            f"need {m} distinct indicator names, got {len(names)} ({len(set(names))} distinct)",
        )
    return names


def _dimensions(dimension_of, names: list[str]) -> pd.Series | None:
    if dimension_of is None:
        return None
    if isinstance(dimension_of, Mapping):
        unmapped = [name for name in names if name not in dimension_of]
        if unmapped:
            raise _invalid(
                "dimension_of", "missing_dimension",
                f"以下指标没有所属维度:{', '.join(unmapped)}",
                f"no dimension given for indicator(s): {', '.join(unmapped)}",
            )
        dims = [dimension_of[name] for name in names]
    else:
        dims = list(dimension_of)
        if len(dims) != len(names):
            raise _invalid(
                "dimension_of", "missing_dimension",
                f"所属维度必须有 {len(names)} 个(每个指标一个),实际为 {len(dims)} 个",
                f"need one dimension per indicator ({len(names)}), got {len(dims)}",
            )
    return pd.Series(dims, index=names, name="dimension")


def _check_k(k) -> float:
    try:
        value = float(k)
    except (TypeError, ValueError):
        value = math.nan
    if not 0 < value <= 1:
        raise _invalid(
            "k", "invalid_poverty_cutoff",
            f"贫困临界值 k 必须在 (0, 1] 之间(权重总和的份额),实际为 {k!r}",
            f"poverty cut-off k must lie in (0, 1] (a share of the total weight), got {k!r}",
        )
    return value


# The additive figures behind every measure, one row each: the whole population ("total"), each indicator,
# each group. Columns other than kind and key add up over disjoint parts of a population.
SUM_COLUMNS = ["kind", "key", "households", "unmeasured", "poor", "censored", "weight", "deprived", "observed",
               "poor_deprived", "weighted_censored"]
COUNT_COLUMNS = ("households", "unmeasured", "poor", "deprived", "observed", "poor_deprived")


def _checked_groups(groups, n_total: int) -> np.ndarray | None:
    if groups is None:
        return None
    labels = np.asarray(groups, dtype=object)
    if labels.shape != (n_total,):
        raise _invalid(
            "groups", "invalid_shape",
            f"分组标签必须每户一个({n_total} 个),实际形状为 {labels.shape}",
            f"need one group label per household ({n_total}), got shape {labels.shape}",
        )
    return labels


def _sums(g0: np.ndarray, observed: np.ndarray | None, w: np.ndarray, k: float, names: list[str],
          labels: np.ndarray | None) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """(the additive figures as SUM_COLUMNS rows, c per household, poor per household)."""
    n_total, m = g0.shape
    c, observed_weight = _counts(g0, observed, w)
    measured = ~np.isnan(c)
    n = int(measured.sum())
    poor = measured & (c >= k - POVERTY_CUTOFF_TOLERANCE)
    censored = np.where(poor, c, 0.0)
    q = int(poor.sum())

    all_measured = n == n_total
    poor_rows = g0[poor]
    # each poor household's deprivations weighted by its own (re-normalised) weights
    scale = np.ones(q) if observed is None else 1.0 / observed_weight[poor]
    if w.ndim == 1:
        weighted_censored = w * (scale @ poor_rows)
        weight_sum = w * n
    else:
        weighted_censored = (w[poor] * poor_rows * scale[:, None]).sum(axis=0)
        weight_sum = (w if all_measured else w[measured]).sum(axis=0)
    if observed is None:
        observed_count = np.full(m, n, dtype=np.int64)
    else:
        observed_count = (observed if all_measured else observed[measured]).sum(axis=0)

    rows = [pd.DataFrame({"kind": "total", "key": "", "households": [n], "unmeasured": [n_total - n], "poor": [q],
                          "censored": [float(censored.sum())]}),
            pd.DataFrame({"kind": "indicator", "key": names, "weight": weight_sum,
                          "deprived": (g0 if all_measured else g0[measured]).sum(axis=0),
                          "observed": observed_count, "poor_deprived": poor_rows.sum(axis=0),
                          "weighted_censored": weighted_censored})]
    if labels is not None:
        codes, uniques = pd.factorize(labels[measured], use_na_sentinel=True)
        if np.any(codes < 0):
            raise _invalid("groups", "missing_value", "分组标签不能为空", "group labels must not be missing")
        rows.append(pd.DataFrame({
            "kind": "group", "key": np.asarray(uniques, dtype=object),
            "households": np.bincount(codes, minlength=len(uniques)),
            "poor": np.bincount(codes, weights=poor[measured], minlength=len(uniques)).astype(np.int64),
            "censored": np.bincount(codes, weights=censored[measured], minlength=len(uniques))}))
    sums = pd.concat(rows, ignore_index=True).reindex(columns=SUM_COLUMNS).astype({"kind": object, "key": object})
    sums[list(COUNT_COLUMNS)] = sums[list(COUNT_COLUMNS)].fillna(0).astype(np.int64)
    sums[["censored", "weight", "weighted_censored"]] = sums[["censored", "weight", "weighted_censored"]].fillna(0.0)
    return sums, c, poor


def af_sums(deprivations, weights, k: float, *, cutoff=None, groups=None,
            indicator_names: Sequence[str] | None = None) -> pd.DataFrame:
    """The additive figures behind the Alkire-Foster measures of a population (SUM_COLUMNS rows): counts
    and sums over its households, per indicator and per group. The sums of two parts of a population
    (rows matched on kind and key) are those of the whole, so the measures of a population split in parts
    (e.g. the partitions of a data set on a cluster) come exactly from `af_from_sums` of the summed rows.
    Arguments as for `alkire_foster`."""
    g0, observed = _deprivation_status(deprivations, cutoff)
    n_total, m = g0.shape
    w = _checked_weights(weights, n_total, m)
    names = _indicator_names(indicator_names, m)
    return _sums(g0, observed, w, _check_k(k), names, _checked_groups(groups, n_total))[0]


def af_from_sums(sums: pd.DataFrame, k: float, *, indicator_names: Sequence[str],
                 dimension_of: Sequence[str] | Mapping[str, str] | None = None, weights=None,
                 deprivation_score: np.ndarray | None = None, poor: np.ndarray | None = None) -> AFResult:
    """The measures from the additive figures of `af_sums` (rows of one kind and key added up first):
    H, A, M0 and their decompositions are ratios of these sums, never averages of the parts' ratios.
    `weights`: the weights when they were one per indicator (else the mean of the households' weights is
    reported). The per-household arrays are those of the caller, when it has them."""
    k = _check_k(k)
    names = _indicator_names(indicator_names, len(list(indicator_names)))
    dims = _dimensions(dimension_of, names)
    total_row = sums[sums["kind"] == "total"]
    n, q = int(total_row["households"].sum()), int(total_row["poor"].sum())
    if n == 0:
        raise _invalid(
            "deprivations", "no_households",
            "没有任何家庭有可用的指标数据", "no household has any observed indicator to count",
        )
    total = float(total_row["censored"].sum())
    per_indicator = sums[sums["kind"] == "indicator"].set_index("key").reindex(names)
    observed_count = per_indicator["observed"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        uncensored_ratio = per_indicator["deprived"].to_numpy() / observed_count
        censored_ratio = per_indicator["poor_deprived"].to_numpy() / observed_count
    weighted_censored = per_indicator["weighted_censored"].to_numpy(dtype=float)
    contribution = weighted_censored / total if total > 0 else np.zeros(len(names))

    contribution_series = pd.Series(contribution, index=names, name="contribution")
    by_dimension = None
    if dims is not None:
        by_dimension = contribution_series.groupby(dims.to_numpy(), sort=False).sum()
        by_dimension.index.name = "dimension"
    group_rows = sums[sums["kind"] == "group"]
    by_group = _group_table(group_rows, total) if len(group_rows) else None
    reported = (np.asarray(weights, dtype=float) if weights is not None
                else per_indicator["weight"].to_numpy(dtype=float) / n)
    return AFResult(
        k=k, n=n, n_unmeasured=int(total_row["unmeasured"].sum()), q=q, H=q / n, A=total / q if q else 0.0,
        M0=total / n,
        weights=pd.Series(reported, index=names, name="weight"),
        uncensored_headcount=pd.Series(uncensored_ratio, index=names, name="uncensored_headcount"),
        censored_headcount=pd.Series(censored_ratio, index=names, name="censored_headcount"),
        contribution=contribution_series,
        dimension_of=dims,
        contribution_by_dimension=by_dimension,
        by_group=by_group,
        deprivation_score=deprivation_score,
        poor=poor,
    )


def _group_table(group_rows: pd.DataFrame, total: float) -> pd.DataFrame:
    """Per group (sorted by label): n, population share, H, A, M0 and share of the overall M0."""
    codes, uniques = pd.factorize(group_rows["key"].to_numpy(dtype=object), sort=True)
    size = np.bincount(codes, weights=group_rows["households"].to_numpy(dtype=float), minlength=len(uniques))
    poor_count = np.bincount(codes, weights=group_rows["poor"].to_numpy(dtype=float), minlength=len(uniques))
    censored_sum = np.bincount(codes, weights=group_rows["censored"].to_numpy(dtype=float), minlength=len(uniques))
    with np.errstate(invalid="ignore", divide="ignore"):
        intensity = np.where(poor_count > 0, censored_sum / poor_count, 0.0)
        contribution = censored_sum / total if total > 0 else np.zeros(len(uniques))
    return pd.DataFrame({
        "n": size.astype(np.int64),
        "population_share": size / size.sum(),
        "H": poor_count / size,
        "A": intensity,
        "M0": censored_sum / size,
        "contribution": contribution,
    }, index=pd.Index(uniques, name="group"))


def alkire_foster(
    deprivations,
    weights,
    k: float,
    *,
    cutoff=None,
    groups=None,
    indicator_names: Sequence[str] | None = None,
    dimension_of: Sequence[str] | Mapping[str, str] | None = None,
) -> AFResult:
    """Identify the poor with poverty cut-off k and compute H, A, M0 and their decompositions.

    `deprivations`/`cutoff`/`weights`: as for `deprivation_counts`. `groups`: one label per
    household (e.g. region) for the subgroup decomposition. `indicator_names`: labels of the m
    columns (default "0".."m-1"). `dimension_of`: the dimension of each indicator, as a sequence
    aligned with the columns or a mapping from indicator name.
    """
    g0, observed = _deprivation_status(deprivations, cutoff)
    n_total, m = g0.shape
    w = _checked_weights(weights, n_total, m)
    k = _check_k(k)
    names = _indicator_names(indicator_names, m)
    _dimensions(dimension_of, names)  # checked before any work
    labels = _checked_groups(groups, n_total)
    sums, c, poor = _sums(g0, observed, w, k, names, labels)
    return af_from_sums(sums, k, indicator_names=names, dimension_of=dimension_of,
                        weights=w if w.ndim == 1 else None, deprivation_score=c, poor=poor)
