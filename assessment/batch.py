"""Many households at once: the vectorised twin of `assessment.scoring`.

Columns are parsed once (text columns through `parse_answer` on their distinct values, numeric
columns with array operations); the figures are then computed by a compiled loop over the rows
(`assessment.kernels`), so no Python code runs per household.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from functools import cached_property

import numpy as np
import pandas as pd

from assessment.answers import finding, parse_answer, parse_finding, score_bounds
from assessment.catalog import Catalog, Condition, Indicator, ScoringConfig
from assessment.errors import CoreError, Message
from assessment.kernels import deprivation_scores, score_rows
from assessment.scoring import (
    AF_TOLERANCE,
    parameter_year,
    resolve_config,
)

# numpy releases the GIL in its array loops, so columns are read on every core.
THREADS = max(1, min(8, os.cpu_count() or 1))
# The compiled loops already use every core; one call at a time also keeps numba's threading layers
# that do not allow concurrent launches (workqueue) safe when a server scores from several threads.
_COMPILED_LOOPS = threading.Lock()
FINDING_COLUMNS = ["row", "household_id", "indicator", "code", "severity", "message_zh", "message_en"]


@dataclass
class _Findings:
    """Findings gathered column by column, turned into a DataFrame once at the end."""

    rows: list[np.ndarray]
    keys: list[tuple[str | None, str, str]]  # (indicator, code, severity) per block
    values: list[np.ndarray | None]
    messages: list

    @classmethod
    def empty(cls) -> "_Findings":
        return cls([], [], [], [])

    def add(self, rows: np.ndarray, indicator: Indicator | None, code: str, severity: str = "error",
            values: np.ndarray | None = None, message=None) -> None:
        if len(rows):
            self.rows.append(rows)
            self.keys.append((indicator.id if indicator is not None else None, code, severity))
            self.values.append(values)
            self.messages.append((indicator, message))

    def extend(self, other: "_Findings") -> None:
        self.rows += other.rows
        self.keys += other.keys
        self.values += other.values
        self.messages += other.messages

    def row_mask(self, n: int, severity: str = "error") -> np.ndarray:
        mask = np.zeros(n, dtype=bool)
        for rows, (_, _, sev) in zip(self.rows, self.keys):
            if sev == severity:
                mask[rows] = True
        return mask

    def frame(self, ids: np.ndarray, severity: str) -> pd.DataFrame:
        parts = []
        for rows, (ind_id, code, sev), values, (indicator, message) in zip(
                self.rows, self.keys, self.values, self.messages):
            if sev != severity:
                continue
            if values is None:
                message = message or finding(code, indicator).message
                zh = np.full(len(rows), message.zh, dtype=object)
                en = np.full(len(rows), message.en, dtype=object)
            else:
                codes, uniques = pd.factorize(pd.Series(values, dtype=object))
                texts = [parse_finding(indicator, v, code).message for v in uniques]
                zh = np.array([t.zh for t in texts], dtype=object)[codes]
                en = np.array([t.en for t in texts], dtype=object)[codes]
            parts.append(pd.DataFrame({"row": rows, "household_id": ids[rows], "indicator": ind_id,
                                       "code": code, "severity": sev, "message_zh": zh, "message_en": en}))
        if not parts:
            return pd.DataFrame({c: pd.Series(dtype="int64" if c == "row" else object) for c in FINDING_COLUMNS})
        return pd.concat(parts, ignore_index=True).sort_values(["row", "indicator"], kind="stable",
                                                               ignore_index=True)


def _canonical_codes(ind: Indicator) -> dict:
    """Canonical answer -> the number stored for it in the value matrix."""
    spec = ind.answer
    if spec.type == "yes_no":
        return {True: 1.0, False: 0.0}
    if spec.type == "choice":
        return {o.value: float(n) for n, o in enumerate(spec.options)}
    return {}


def _parse_column(ind: Indicator, column: pd.Series, out: np.ndarray) -> _Findings:
    """The column's answers as numbers into `out` (NaN when missing or invalid); returns its problems."""
    findings = _Findings.empty()
    spec = ind.answer
    if spec.type == "yes_no" and pd.api.types.is_bool_dtype(column.dtype):
        out[:] = column.to_numpy(dtype=float, na_value=np.nan)  # true and false are the only answers
        return findings
    numeric_kind = pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype)
    if numeric_kind and spec.type in ("ordinal", "count", "amount", "yes_no"):
        raw = column.to_numpy(dtype=float, na_value=np.nan)
        present = ~np.isnan(raw)
        ok = present & np.isfinite(raw)
        bad = present & ~ok
        findings.add(np.flatnonzero(bad), ind, "wrong_type", values=raw[bad])
        if spec.type == "yes_no":
            not_binary = ok & ~np.isin(raw, (0.0, 1.0))
            findings.add(np.flatnonzero(not_binary), ind, "wrong_type", values=raw[not_binary])
            ok &= ~not_binary
        elif spec.type == "ordinal":
            levels = np.array([lv.value for lv in spec.levels], dtype=float)
            unknown = ok & ~np.isin(raw, levels)
            findings.add(np.flatnonzero(unknown), ind, "unknown_level", values=raw[unknown])
            ok &= ~unknown
        else:
            if spec.type == "count":
                fraction = ok & (raw != np.floor(raw))
                findings.add(np.flatnonzero(fraction), ind, "not_whole_number", values=raw[fraction])
                ok &= ~fraction
            outside = ok & ((raw < spec.min) | (raw > spec.max))
            findings.add(np.flatnonzero(outside), ind, "out_of_range", values=raw[outside])
            ok &= ~outside
        out.fill(np.nan)
        np.copyto(out, raw, where=ok)
        return findings

    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    mapping = _canonical_codes(ind)
    parsed = np.full(len(uniques), np.nan)
    problems: dict[str, list[int]] = {}
    for u, value in enumerate(uniques):
        if isinstance(value, str) and not value.strip():
            continue
        canonical, problem = parse_answer(ind, value)
        if problem:
            problems.setdefault(problem, []).append(u)
        else:
            parsed[u] = mapping.get(canonical, canonical) if mapping else canonical
    np.take(np.append(parsed, np.nan), codes, out=out)  # code -1 (missing) takes the NaN at the end
    object_uniques = np.asarray(uniques, dtype=object)
    for problem, bad_uniques in problems.items():
        rows = np.flatnonzero(np.isin(codes, bad_uniques))
        findings.add(rows, ind, problem, values=object_uniques[codes[rows]])
    return findings


def _condition_mask(cond: Condition, catalog: Catalog, values: np.ndarray, column: dict[str, int]) -> np.ndarray:
    ind = catalog.indicator_by_id[cond.indicator]
    v = values[:, column[cond.indicator]]
    mapping = _canonical_codes(ind)

    def encode(x):
        return mapping[x] if mapping else float(x)

    present = ~np.isnan(v)
    if cond.op == "in":
        return present & np.isin(v, [encode(x) for x in cond.value])
    if cond.value_of is not None:
        target = values[:, column[cond.value_of]]
        present &= ~np.isnan(target)
    else:
        target = encode(cond.value)
    compare = {"eq": np.equal, "ne": np.not_equal, "gt": np.greater, "ge": np.greater_equal,
               "lt": np.less, "le": np.less_equal}[cond.op]
    return present & compare(v, target, where=present, out=np.zeros(len(v), dtype=bool))


def _all_hold(conditions, catalog, values, column) -> np.ndarray:
    mask = np.ones(len(values), dtype=bool)
    for cond in conditions:
        mask &= _condition_mask(cond, catalog, values, column)
    return mask


@dataclass(frozen=True)
class ScoreTable:
    """Every indicator's answer -> score mapping as flat arrays, for `assessment.kernels.lookup_scores`:
    an answer picks the score after the level it equals or, when banded, after the limits it reaches."""

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

    def arrays(self) -> tuple:
        """The fields in order, as the compiled loops take them."""
        return tuple(getattr(self, f.name) for f in fields(self))

    @classmethod
    def build(cls, catalog: Catalog, parameters: dict[str, np.ndarray], n: int) -> "ScoreTable":
        names = list(parameters)
        column = {ind.id: j for j, ind in enumerate(catalog.indicators)}
        table: dict[str, list] = {f.name: [] for f in fields(cls) if f.name != "parameters"}
        for ind in catalog.indicators:
            spec = ind.answer
            if spec.type == "yes_no":
                levels, scores = [0, 1], [spec.score_no, spec.score_yes]
            elif spec.type == "ordinal":
                levels, scores = [lv.value for lv in spec.levels], [lv.score for lv in spec.levels]
            elif spec.type == "choice":
                levels, scores = list(range(len(spec.options))), [o.score for o in spec.options]
            else:
                levels, scores = [b.below for b in spec.bands[:-1]], [b.score for b in spec.bands]
            banded = spec.type in ("count", "amount")
            table["banded"].append(banded)
            table["consecutive"].append(not banded and levels == list(range(levels[0], levels[0] + len(levels))))
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


def _regional_parameters(catalog: Catalog, frame: pd.DataFrame, name: str):
    """Per row: the parameter value (NaN when there is none), the row's (region, year) key, and per key
    None or the (code, message values) of the finding that explains the missing value."""
    n = len(frame)
    region_codes, regions = pd.factorize(frame["region"]) if "region" in frame else (np.full(n, -1), [])
    year_codes, years = pd.factorize(frame["year"]) if "year" in frame else (np.full(n, -1), [])
    keys, pairs = pd.factorize((region_codes + 1) * (len(years) + 1) + (year_codes + 1))
    values = np.full(len(pairs), np.nan)
    problems = np.full(len(pairs), None, dtype=object)
    for u, pair in enumerate(pairs):
        r, y = divmod(int(pair), len(years) + 1)
        reg = regions[r - 1] if r else None
        year = int(years[y - 1]) if y else None
        if reg is None or (isinstance(reg, str) and not reg.strip()):
            problems[u] = ("missing_region", {})
        elif reg not in catalog.region_by_id:
            problems[u] = ("unknown_region", {"value": reg})
        else:
            the_year = parameter_year(catalog, reg, year)
            value = catalog.parameter(name, reg, the_year)
            if value is None:
                problems[u] = ("missing_parameter", {"value": reg, "year": the_year, "parameter": name})
            else:
                values[u] = value
    return values[keys], keys, problems


@dataclass(frozen=True)
class BatchResult:
    """Figures for the valid rows of a frame, plus the findings of every row."""

    catalog: Catalog
    config: ScoringConfig
    household_id: np.ndarray
    valid: np.ndarray
    index: np.ndarray
    index_low: np.ndarray
    index_high: np.ndarray
    completeness: np.ndarray
    provisional: np.ndarray
    tier_code: np.ndarray
    tier_from_index_code: np.ndarray
    raised_by: np.ndarray
    dimension_scores: np.ndarray
    af_score: np.ndarray
    af_poor: np.ndarray
    top_reason_codes: np.ndarray
    recommendation_codes: np.ndarray
    passthrough: pd.DataFrame
    errors: pd.DataFrame
    warnings: pd.DataFrame

    def ranking_frame(self, scope: tuple[str, ...] = ()) -> pd.DataFrame:
        """The columns `assessment.ranking.rank` needs, without the text columns of `scores`."""
        tiers = list(self.catalog.tier_ids)
        data = {"household_id": self.household_id[self.valid]}
        data.update({c: self.passthrough[c].to_numpy()[self.valid] for c in scope})
        data.update({"index": self.index, "completeness": self.completeness,
                     "tier": pd.Categorical.from_codes(self.tier_code, categories=tiers, ordered=True)})
        return pd.DataFrame(data)

    @cached_property
    def scores(self) -> pd.DataFrame:
        """One row per valid household, in input order."""
        tiers = np.array(self.catalog.tier_ids, dtype=object)
        ids = [i.id for i in self.catalog.indicators]
        criticals = [i.id for i in self.catalog.indicators if i.critical is not None]
        everyone = bool(self.valid.all())
        data = {"household_id": self.household_id if everyone else self.household_id[self.valid]}
        for name in self.passthrough.columns:  # kept in their own dtypes (e.g. categorical)
            column = self.passthrough[name]
            data[name] = (column if everyone else column[self.valid]).reset_index(drop=True)
        data.update({
            "index": self.index, "index_low": self.index_low, "index_high": self.index_high,
            "completeness": self.completeness, "provisional": self.provisional,
            "tier": pd.Categorical.from_codes(self.tier_code, categories=list(tiers), ordered=True),
            "tier_from_index": pd.Categorical.from_codes(self.tier_from_index_code, categories=list(tiers),
                                                         ordered=True),
            "raised_by": join_codes(self.raised_by, criticals),
        })
        for k, dim in enumerate(self.catalog.dimensions):
            data[f"dim_{dim.id}"] = self.dimension_scores[:, k]
        data.update({
            "af_score": self.af_score, "af_poor": self.af_poor,
            "top_reasons": join_codes(self.top_reason_codes, ids),
            "recommended_services": join_codes(self.recommendation_codes, [s.id for s in self.catalog.services]),
        })
        return pd.DataFrame(data)


def join_codes(codes: np.ndarray, names: list[str]) -> pd.Categorical:
    """Rows of name positions (-1 for none) as ';'-joined strings, built once per distinct row."""
    n, width = codes.shape
    if width == 0:
        return pd.Categorical([""] * n)
    base = len(names) + 1
    if base ** width < 2**62:
        # each row as one number in base len(names) + 1; the distinct numbers are decoded back
        packed = np.zeros(n, dtype=np.int64)
        for c in range(width):
            packed = packed * base + (codes[:, c] + 1)
        inverse, uniques = pd.factorize(packed)
        distinct = np.empty((len(uniques), width), dtype=np.int64)
        for c in range(width - 1, -1, -1):
            uniques, digit = np.divmod(uniques, base)
            distinct[:, c] = digit - 1
    else:
        distinct, inverse = np.unique(codes, axis=0, return_inverse=True)
    texts = [";".join(names[c] for c in row if c >= 0) for row in distinct.tolist()]
    text_code, categories = pd.factorize(np.array(texts, dtype=object))  # rows may differ only in their gaps
    return pd.Categorical.from_codes(text_code[np.asarray(inverse).ravel()], categories=categories)


def deprivation_matrix(catalog: Catalog, frame: pd.DataFrame):
    """(scores, applicable): deprivation scores (n x m, NaN where missing, invalid or not applicable)
    and whether each question applies. Rows with errors keep their readable answers."""
    prepared = _prepare(catalog, frame)
    return score_matrix(prepared["values"], prepared["table"]), prepared["applicable"]


def answer_matrix(catalog: Catalog, frame: pd.DataFrame) -> np.ndarray:
    """The answers as numbers (n x m, NaN where missing, invalid or not applicable): yes/no as 1/0,
    ordinal levels and counts and amounts as given, choices as the option's position in the catalog."""
    return _prepare(catalog, frame)["values"]


def _prepare(catalog: Catalog, frame: pd.DataFrame) -> dict:
    n = len(frame)
    m = len(catalog.indicators)
    column = {ind.id: j for j, ind in enumerate(catalog.indicators)}
    findings = _Findings.empty()
    # Column-major: every step below works column by column.
    values = np.empty((n, m), order="F")
    present = [(j, ind) for j, ind in enumerate(catalog.indicators) if ind.id in frame]
    for j, ind in enumerate(catalog.indicators):
        if ind.id not in frame:
            values[:, j] = np.nan
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        for column_findings in pool.map(lambda item: _parse_column(item[1], frame[item[1].id], values[:, item[0]]),
                                        present):
            findings.extend(column_findings)
    for j, ind in enumerate(catalog.indicators):
        if ind.required:
            missing = np.isnan(values[:, j]) & ~_rows_with(findings, ind.id, n)
            findings.add(np.flatnonzero(missing), ind, "missing_required")

    applicable = np.ones((n, m), dtype=bool, order="F")
    for j, ind in enumerate(catalog.indicators):
        if ind.applies_when:
            applicable[:, j] = _all_hold(ind.applies_when, catalog, values, column)
    # Answers to questions that do not apply are left out, once every condition has been read.
    for j, ind in enumerate(catalog.indicators):
        if ind.applies_when:
            dropped = ~applicable[:, j] & ~np.isnan(values[:, j])
            findings.add(np.flatnonzero(dropped), ind, "not_applicable", severity="warning")
            values[dropped, j] = np.nan

    parameters: dict[str, tuple] = {}
    scored = np.zeros(n, dtype=bool)  # some answer gives a score
    for j, ind in enumerate(catalog.indicators):
        spec = ind.answer
        usable = ~np.isnan(values[:, j])
        if spec.type == "amount" and spec.per_capita_of is not None:
            divisor = values[:, column[spec.per_capita_of]]
            zero = usable & (divisor == 0)
            other = catalog.indicator_by_id[spec.per_capita_of]
            findings.add(np.flatnonzero(zero), ind, "bad_divisor",
                         message=finding("bad_divisor", ind, other=other.label.zh, other_en=other.label.en).message)
            usable &= ~np.isnan(divisor) & (divisor != 0)
        if spec.type == "amount" and spec.relative_to is not None:
            if spec.relative_to not in parameters:
                parameters[spec.relative_to] = _regional_parameters(catalog, frame, spec.relative_to)
            parameter, keys, problems = parameters[spec.relative_to]
            for u, problem in enumerate(problems):
                if problem is not None:
                    code, values_for_message = problem
                    message = finding(code, ind, path="region", **values_for_message).message
                    findings.add(np.flatnonzero(usable & (keys == u)), ind, code, message=message)
            usable &= ~np.isnan(parameter)
        scored |= usable

    for rule in catalog.contradictions:
        rows = np.flatnonzero(_all_hold(rule.when, catalog, values, column))
        first = catalog.indicator_by_id[rule.when[0].indicator]
        findings.add(rows, first, "contradiction", severity=rule.severity, message=rule.message)
    errors = findings.row_mask(n)
    nothing = ~errors & ~scored
    if nothing.any():
        findings.add(np.flatnonzero(nothing), None, "no_answers",
                     message=finding("no_answers", None, indicator=None, path="answers").message)
    # Service eligibility rests on answers alone (not on weights), so it is settled here once.
    eligible = np.ones((n, len(catalog.services)), dtype=bool, order="F")
    for position, svc in enumerate(catalog.services):
        if svc.eligibility:
            eligible[:, position] = _all_hold(svc.eligibility, catalog, values, column)
    table = ScoreTable.build(catalog, {name: parameter for name, (parameter, _, _) in parameters.items()}, n)
    return {"values": values, "table": table, "applicable": applicable, "eligible": eligible,
            "findings": findings}


def score_matrix(values: np.ndarray, table: ScoreTable) -> np.ndarray:
    """Deprivation scores (n x m, NaN where there is none) of the answers `values`."""
    scores = np.empty(values.shape, order="F")
    with _COMPILED_LOOPS:
        deprivation_scores(values, scores, table.arrays())
    return scores


def _rows_with(findings: _Findings, indicator_id: str, n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    for rows, (ind_id, _, sev) in zip(findings.rows, findings.keys):
        if ind_id == indicator_id and sev == "error":
            mask[rows] = True
    return mask


@dataclass(frozen=True)
class PreparedFrame:
    """A frame's answers read and checked: everything that does not depend on weights or cut-offs, so
    one preparation can be scored under several configurations."""

    catalog: Catalog
    household_id: np.ndarray
    passthrough: pd.DataFrame
    values: np.ndarray
    table: ScoreTable  # answers -> deprivation scores, looked up as rows are scored
    applicable: np.ndarray
    eligible: np.ndarray  # (n, services): the service's eligibility conditions hold
    findings: _Findings

    @cached_property
    def valid(self) -> np.ndarray:
        return ~self.findings.row_mask(len(self.household_id))

    @cached_property
    def scores(self) -> np.ndarray:
        """Deprivation scores (n x m, NaN where there is none)."""
        return score_matrix(self.values, self.table)


def prepare_frame(catalog: Catalog, frame: pd.DataFrame, *, id_column: str = "household_id",
                  passthrough: tuple[str, ...] = ("region", "year", "town_id", "station_id")) -> PreparedFrame:
    """Read and check every household (row) of `frame`; score it with `assess_prepared`."""
    if id_column not in frame:
        raise CoreError(Message(zh=f"缺少户编号列 {id_column}", en=f"missing the household id column {id_column!r}"),
                        path=id_column, code="missing_column")
    prepared = _prepare(catalog, frame)
    return PreparedFrame(
        catalog=catalog, household_id=frame[id_column].astype(str).to_numpy(dtype=object),
        passthrough=frame[[c for c in passthrough if c in frame]].reset_index(drop=True), **prepared)


def assess_prepared(prepared: PreparedFrame, *, config: ScoringConfig | None = None) -> BatchResult:
    """Score, tier and recommend the valid households of a prepared frame under `config`."""
    catalog = prepared.catalog
    config = resolve_config(catalog, config)
    plan = _Plan.build(catalog, config)
    arguments = (
        np.flatnonzero(prepared.valid), prepared.values, prepared.applicable, prepared.eligible,
        prepared.table.arrays(),
        plan.weights, plan.dimension_of, plan.dimension_weights, plan.low, plan.high, plan.by_dimension_order,
        plan.cutoffs, plan.critical_column, plan.critical_at_least, plan.critical_level,
        plan.trigger_column, plan.trigger_service, plan.trigger_threshold, plan.trigger_weight,
        plan.tier_allowed, config.af_deprivation_cutoff, config.af_poverty_cutoff - AF_TOLERANCE,
        config.method == "alkire_foster", catalog.settings.top_reasons, catalog.settings.recommend_top_n)
    with _COMPILED_LOOPS:
        (index, low, high, completeness, tier, tier_from_index, raised_by, dimension_scores, af_score, af_poor,
         reasons, services) = score_rows(*arguments)
    ids = prepared.household_id
    return BatchResult(
        catalog=catalog, config=config, household_id=ids, valid=prepared.valid, passthrough=prepared.passthrough,
        errors=prepared.findings.frame(ids, "error"), warnings=prepared.findings.frame(ids, "warning"),
        index=index, index_low=low, index_high=high, completeness=completeness,
        provisional=completeness < config.completeness_threshold, tier_code=tier, tier_from_index_code=tier_from_index,
        raised_by=raised_by, dimension_scores=dimension_scores, af_score=af_score, af_poor=af_poor,
        top_reason_codes=reasons, recommendation_codes=services,
    )


def assess_frame(catalog: Catalog, frame: pd.DataFrame, *, config: ScoringConfig | None = None,
                 id_column: str = "household_id",
                 passthrough: tuple[str, ...] = ("region", "year", "town_id", "station_id")) -> BatchResult:
    """Validate, score, tier and recommend every household (row) of `frame`."""
    return assess_prepared(prepare_frame(catalog, frame, id_column=id_column, passthrough=passthrough), config=config)


@dataclass(frozen=True)
class _Plan:
    """The catalog and configuration as arrays, for `assessment.kernels.score_rows`."""

    weights: np.ndarray  # (m,)
    dimension_weights: np.ndarray  # (K,)
    dimension_of: np.ndarray  # (m,) dimension position of each indicator
    by_dimension_order: np.ndarray  # indicator positions grouped by dimension, as the single path visits them
    low: np.ndarray  # (m,) lowest possible deprivation
    high: np.ndarray  # (m,) highest possible deprivation
    cutoffs: np.ndarray  # tier cut-offs, lowest tier first
    critical_column: np.ndarray  # per critical indicator: its position,
    critical_at_least: np.ndarray  # the score from which it raises the tier,
    critical_level: np.ndarray  # and the tier it raises to
    trigger_column: np.ndarray  # indicator position of every (service, trigger) pair
    trigger_service: np.ndarray  # service position of every pair
    trigger_threshold: np.ndarray
    trigger_weight: np.ndarray
    tier_allowed: np.ndarray  # (services, tiers): the service may be recommended at the tier

    @property
    def by_dimension(self) -> np.ndarray:
        """(m, K): each indicator's weight in its dimension's column."""
        matrix = np.zeros((len(self.weights), len(self.dimension_weights)))
        matrix[np.arange(len(self.weights)), self.dimension_of] = self.weights
        return matrix

    @classmethod
    def build(cls, catalog: Catalog, config: ScoringConfig) -> "_Plan":
        dims = [d.id for d in catalog.dimensions]
        dimension_of = np.array([dims.index(i.dimension) for i in catalog.indicators], dtype=np.int64)
        bounds = np.array([score_bounds(i) for i in catalog.indicators])
        tiers = {t: p for p, t in enumerate(catalog.tier_ids)}
        position = {ind.id: j for j, ind in enumerate(catalog.indicators)}
        triggers = catalog.service_triggers
        columns, pair_services, thresholds, pair_weights = [], [], [], []
        tier_allowed = np.ones((len(catalog.services), len(tiers)), dtype=bool)
        for s, svc in enumerate(catalog.services):
            threshold = svc.min_score if svc.min_score is not None else catalog.settings.recommend_min_score
            for ind_id in triggers[svc.id]:
                columns.append(position[ind_id])
                pair_services.append(s)
                thresholds.append(threshold)
                pair_weights.append(config.indicator_weights[ind_id])
            if svc.tiers:
                tier_allowed[s] = [t in svc.tiers for t in catalog.tier_ids]
        critical = [(j, i.critical.at_least_score, tiers[i.critical.tier])
                    for j, i in enumerate(catalog.indicators) if i.critical is not None]
        return cls(
            weights=np.array([config.indicator_weights[i.id] for i in catalog.indicators], dtype=float),
            dimension_weights=np.array([config.dimension_weights[d] for d in dims], dtype=float),
            dimension_of=dimension_of, by_dimension_order=np.argsort(dimension_of, kind="stable"),
            low=bounds[:, 0].astype(float), high=bounds[:, 1].astype(float),
            cutoffs=np.array([config.tier_cutoffs[t] for t in catalog.tier_ids], dtype=float),
            critical_column=np.array([c[0] for c in critical], dtype=np.int64),
            critical_at_least=np.array([c[1] for c in critical], dtype=float),
            critical_level=np.array([c[2] for c in critical], dtype=np.int64),
            trigger_column=np.array(columns, dtype=np.int64), trigger_service=np.array(pair_services, dtype=np.int64),
            trigger_threshold=np.array(thresholds, dtype=float),
            trigger_weight=np.array(pair_weights, dtype=float), tier_allowed=tier_allowed,
        )
