"""Many households at once: the vectorised twin of `assessment.scoring`.

Columns are parsed once (text columns through `parse_answer` on their distinct values, numeric
columns with array operations); the figures are then computed with matrix operations over blocks
of rows, so no Python code runs per household.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from assessment.answers import finding, parse_answer, parse_finding, possible_scores, score_bounds
from assessment.catalog import Catalog, Condition, Indicator, ScoringConfig
from assessment.errors import CoreError, Message
from assessment.scoring import (
    AF_TOLERANCE,
    INDEX_DECIMALS,
    STRENGTH_DECIMALS,
    parameter_year,
    resolve_config,
    service_triggers,
)

# numpy releases the GIL in its array loops, so blocks of rows are scored on every core.
THREADS = max(1, min(8, os.cpu_count() or 1))
FINDING_COLUMNS = ["row", "household_id", "indicator", "code", "severity", "message_zh", "message_en"]
BLOCK_ROWS = 16_384


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


def _parse_column(ind: Indicator, column: pd.Series) -> tuple[np.ndarray, _Findings]:
    """The column's answers as numbers (NaN when missing or invalid), and its problems."""
    findings = _Findings.empty()
    n = len(column)
    out = np.full(n, np.nan)
    spec = ind.answer
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
        out[ok] = raw[ok]
        return out, findings

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
    valid_codes = codes >= 0
    out[valid_codes] = parsed[codes[valid_codes]]
    object_uniques = np.asarray(uniques, dtype=object)
    for problem, bad_uniques in problems.items():
        rows = np.flatnonzero(np.isin(codes, bad_uniques))
        findings.add(rows, ind, problem, values=object_uniques[codes[rows]])
    return out, findings


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


def _score_lookup(ind: Indicator, v: np.ndarray, divisor: np.ndarray | None, parameter: np.ndarray | None):
    spec = ind.answer
    out = np.full(len(v), np.nan)
    present = ~np.isnan(v)
    if spec.type == "yes_no":
        out[present] = np.where(v[present] == 1.0, spec.score_yes, spec.score_no)
    elif spec.type == "ordinal":
        levels = np.array([lv.value for lv in spec.levels], dtype=float)
        scores = np.array([lv.score for lv in spec.levels])
        out[present] = scores[np.searchsorted(levels, v[present])]
    elif spec.type == "choice":
        scores = np.array([o.score for o in spec.options])
        out[present] = scores[v[present].astype(np.int64)]
    else:
        x = v[present]
        if divisor is not None:
            x = x / divisor[present]
        if parameter is not None:
            x = x / parameter[present]
        limits = np.array([b.below for b in spec.bands[:-1]], dtype=float)
        scores = np.array([b.score for b in spec.bands])
        out[present] = scores[np.searchsorted(limits, x, side="right")]
    return out


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
        packed = np.zeros(n, dtype=np.int64)
        for c in range(width):
            packed = packed * base + (codes[:, c] + 1)
        inverse, _ = pd.factorize(packed)
        distinct = codes[np.unique(inverse, return_index=True)[1]]
    else:
        distinct, inverse = np.unique(codes, axis=0, return_inverse=True)
    texts = [";".join(names[c] for c in row if c >= 0) for row in distinct]
    categories, text_code = np.unique(texts, return_inverse=True)
    return pd.Categorical.from_codes(text_code[np.asarray(inverse).ravel()], categories=categories)


def deprivation_matrix(catalog: Catalog, frame: pd.DataFrame):
    """(scores, applicable): deprivation scores (n x m, NaN where missing, invalid or not applicable)
    and whether each question applies. Rows with errors keep their readable answers."""
    prepared = _prepare(catalog, frame)
    return prepared["scores"], prepared["applicable"]


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
    values = np.full((n, m), np.nan, order="F")
    present = [(j, ind) for j, ind in enumerate(catalog.indicators) if ind.id in frame]
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        parsed = list(pool.map(lambda item: _parse_column(item[1], frame[item[1].id]), present))
    for (j, _), (column_values, column_findings) in zip(present, parsed):
        values[:, j] = column_values
        findings.extend(column_findings)
    for j, ind in enumerate(catalog.indicators):
        if ind.required:
            missing = np.isnan(values[:, j]) & ~_rows_with(findings, ind.id, n)
            findings.add(np.flatnonzero(missing), ind, "missing_required")

    applicable = np.ones((n, m), dtype=bool, order="F")
    for j, ind in enumerate(catalog.indicators):
        if ind.applies_when:
            applicable[:, j] = _all_hold(ind.applies_when, catalog, values, column)
            dropped = ~applicable[:, j] & ~np.isnan(values[:, j])
            findings.add(np.flatnonzero(dropped), ind, "not_applicable", severity="warning")
    answers = values  # from here on, answers to questions that do not apply are left out
    np.copyto(answers, np.nan, where=~applicable)

    lookups = []
    parameters: dict[str, tuple] = {}
    for j, ind in enumerate(catalog.indicators):
        spec = ind.answer
        divisor = parameter = None
        usable = ~np.isnan(answers[:, j])
        if spec.type == "amount" and spec.per_capita_of is not None:
            divisor = answers[:, column[spec.per_capita_of]]
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
        lookups.append((ind, np.where(usable, answers[:, j], np.nan), divisor, parameter))
    scores = np.full((n, m), np.nan, order="F")
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        for j, column_scores in enumerate(pool.map(lambda args: _score_lookup(*args), lookups)):
            scores[:, j] = column_scores

    for rule in catalog.contradictions:
        rows = np.flatnonzero(_all_hold(rule.when, catalog, answers, column))
        first = catalog.indicator_by_id[rule.when[0].indicator]
        findings.add(rows, first, "contradiction", severity=rule.severity, message=rule.message)
    errors = findings.row_mask(n)
    nothing = ~errors & np.isnan(scores).all(axis=1)
    if nothing.any():
        findings.add(np.flatnonzero(nothing), None, "no_answers",
                     message=finding("no_answers", None, indicator=None, path="answers").message)
    # Service eligibility rests on answers alone (not on weights), so it is settled here once.
    eligible = np.ones((n, len(catalog.services)), dtype=bool, order="F")
    for position, svc in enumerate(catalog.services):
        if svc.eligibility:
            eligible[:, position] = _all_hold(svc.eligibility, catalog, answers, column)
    return {"values": answers, "scores": scores, "applicable": applicable, "eligible": eligible,
            "findings": findings}


def _rows_with(findings: _Findings, indicator_id: str, n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    for rows, (ind_id, _, sev) in zip(findings.rows, findings.keys):
        if ind_id == indicator_id and sev == "error":
            mask[rows] = True
    return mask


@dataclass(frozen=True)
class PreparedFrame:
    """A frame's answers read, checked and turned into deprivation scores: everything that does not
    depend on weights or cut-offs, so one preparation can be scored under several configurations."""

    catalog: Catalog
    household_id: np.ndarray
    passthrough: pd.DataFrame
    values: np.ndarray
    scores: np.ndarray
    applicable: np.ndarray
    eligible: np.ndarray  # (n, services): the service's eligibility conditions hold
    findings: _Findings

    @cached_property
    def valid(self) -> np.ndarray:
        return ~self.findings.row_mask(len(self.household_id))


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
    rows = np.flatnonzero(prepared.valid)
    plan = _Plan.build(catalog, config)
    everyone = len(rows) == len(prepared.valid)

    def block(start: int) -> dict:
        part = slice(start, start + BLOCK_ROWS) if everyone else rows[start:start + BLOCK_ROWS]
        # Row blocks are copied to row-major order, which the row-wise steps below prefer.
        return _score_block(catalog, config, plan, *(np.ascontiguousarray(array[part]) for array in
                                                     (prepared.scores, prepared.applicable, prepared.eligible)))

    # The matrices are thin (m indicators x a few dimensions): BLAS's own threads only get in the way.
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(max_workers=THREADS) as pool:
        parts = list(pool.map(block, range(0, max(len(rows), 1), BLOCK_ROWS)))
    merged = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    ids = prepared.household_id
    return BatchResult(
        catalog=catalog, config=config, household_id=ids, valid=prepared.valid, passthrough=prepared.passthrough,
        errors=prepared.findings.frame(ids, "error"), warnings=prepared.findings.frame(ids, "warning"),
        **merged,
    )


def assess_frame(catalog: Catalog, frame: pd.DataFrame, *, config: ScoringConfig | None = None,
                 id_column: str = "household_id",
                 passthrough: tuple[str, ...] = ("region", "year", "town_id", "station_id")) -> BatchResult:
    """Validate, score, tier and recommend every household (row) of `frame`."""
    return assess_prepared(prepare_frame(catalog, frame, id_column=id_column, passthrough=passthrough), config=config)


@dataclass(frozen=True)
class _Plan:
    """The catalog and configuration as arrays, for the matrix formulas."""

    weights: np.ndarray  # (m,)
    dimension_weights: np.ndarray  # (K,)
    dimension_of: np.ndarray  # (m,) dimension position of each indicator
    by_dimension: np.ndarray  # (m, K): indicator weight in its dimension's column
    low: np.ndarray  # (m,) lowest possible deprivation
    high: np.ndarray  # (m,) highest possible deprivation
    cutoffs: np.ndarray  # tier cut-offs, lowest tier first
    critical: list[tuple[int, float, int]]  # (indicator position, at-least score, tier position)
    trigger_columns: np.ndarray  # indicator position of every (service, trigger) pair
    trigger_starts: np.ndarray  # first pair of each service
    trigger_thresholds: np.ndarray
    trigger_weights: np.ndarray
    need_gap: float  # the smallest difference between two scores a triggering answer can have

    @classmethod
    def build(cls, catalog: Catalog, config: ScoringConfig) -> "_Plan":
        dims = [d.id for d in catalog.dimensions]
        m, k = len(catalog.indicators), len(dims)
        dimension_of = np.array([dims.index(i.dimension) for i in catalog.indicators])
        weights = np.array([config.indicator_weights[i.id] for i in catalog.indicators])
        by_dimension = np.zeros((m, k))
        by_dimension[np.arange(m), dimension_of] = weights
        bounds = np.array([score_bounds(i) for i in catalog.indicators])
        tiers = {t: p for p, t in enumerate(catalog.tier_ids)}
        position = {ind.id: j for j, ind in enumerate(catalog.indicators)}
        triggers = service_triggers(catalog)
        columns, starts, thresholds, pair_weights = [], [], [], []
        for svc in catalog.services:
            starts.append(len(columns))
            threshold = svc.min_score if svc.min_score is not None else catalog.settings.recommend_min_score
            for ind_id in triggers[svc.id]:
                columns.append(position[ind_id])
                thresholds.append(threshold)
                pair_weights.append(config.indicator_weights[ind_id])
        return cls(
            weights=weights, dimension_weights=np.array([config.dimension_weights[d] for d in dims]),
            dimension_of=dimension_of, by_dimension=by_dimension, low=bounds[:, 0], high=bounds[:, 1],
            cutoffs=np.array([config.tier_cutoffs[t] for t in catalog.tier_ids]),
            critical=[(j, i.critical.at_least_score, tiers[i.critical.tier])
                      for j, i in enumerate(catalog.indicators) if i.critical is not None],
            trigger_columns=np.array(columns), trigger_starts=np.array(starts),
            trigger_thresholds=np.array(thresholds), trigger_weights=np.array(pair_weights),
            need_gap=_smallest_gap([score for j in set(columns) for score in possible_scores(catalog.indicators[j])]),
        )


def _smallest_gap(values: list[float]) -> float:
    distinct = np.unique(values)
    return float(np.diff(distinct).min()) if len(distinct) > 1 else 1.0


def _weighted_over_dimensions(per_dimension: np.ndarray, present: np.ndarray, dimension_weights: np.ndarray):
    """Weighted mean over the dimensions that are present, per row."""
    total = present @ dimension_weights
    with np.errstate(invalid="ignore", divide="ignore"):
        return (np.where(present, per_dimension, 0.0) @ dimension_weights) / total


def _top_columns(key: np.ndarray, count: int) -> np.ndarray:
    """Per row, the positions of the `count` largest keys above -inf (ties: lower position first)."""
    n = len(key)
    chosen = np.full((n, count), -1, dtype=np.int64)
    rows = np.arange(n)
    for r in range(min(count, key.shape[1])):
        best = np.argmax(key, axis=1)
        found = key[rows, best] > -np.inf
        chosen[found, r] = best[found]
        key[rows, best] = -np.inf
    return chosen


def _score_block(catalog: Catalog, config: ScoringConfig, plan: _Plan, D: np.ndarray, A: np.ndarray,
                 eligible: np.ndarray) -> dict:
    answered = ~np.isnan(D)
    Dz = np.where(answered, D, 0.0)
    missing = (A & ~answered).astype(float)
    z = config.af_deprivation_cutoff
    deprived = answered & (Dz >= z)

    answered_w = answered @ plan.by_dimension
    applicable_w = A @ plan.by_dimension
    weighted = Dz @ plan.by_dimension
    deprived_w = deprived @ plan.by_dimension
    defined, has = answered_w > 0, applicable_w > 0
    dw = plan.dimension_weights
    with np.errstate(invalid="ignore", divide="ignore"):
        dim_scores = np.where(defined, weighted / answered_w, np.nan)
        af_score = _weighted_over_dimensions(deprived_w / answered_w, defined, dw)
        share = np.where(defined, 100.0 * dw / (defined @ dw)[:, None] / answered_w, 0.0)
    af_poor = af_score >= config.af_poverty_cutoff - AF_TOLERANCE

    with np.errstate(invalid="ignore", divide="ignore"):
        if config.method == "alkire_foster":
            index = np.where(af_poor, 100.0 * af_score, 0.0)
            k = config.af_poverty_cutoff - AF_TOLERANCE
            could = missing @ (plan.by_dimension * (plan.high >= z)[:, None])
            low_count = _weighted_over_dimensions(deprived_w / applicable_w, has, dw)
            high_count = _weighted_over_dimensions((deprived_w + could) / applicable_w, has, dw)
            low = np.where(low_count >= k, 100.0 * low_count, 0.0)
            high = np.where(high_count >= k, 100.0 * high_count, 0.0)
            contributions = np.where(deprived & af_poor[:, None], share[:, plan.dimension_of] * plan.weights, 0.0)
        else:
            index = 100.0 * _weighted_over_dimensions(dim_scores, defined, dw)
            low_fill = missing @ (plan.by_dimension * plan.low[:, None])
            high_fill = missing @ (plan.by_dimension * plan.high[:, None])
            low = 100.0 * _weighted_over_dimensions((weighted + low_fill) / applicable_w, has, dw)
            high = 100.0 * _weighted_over_dimensions((weighted + high_fill) / applicable_w, has, dw)
            contributions = Dz * plan.weights * share[:, plan.dimension_of]
    index = np.round(index, INDEX_DECIMALS)
    low = np.round(np.minimum(low, index), INDEX_DECIMALS)
    high = np.round(np.maximum(high, index), INDEX_DECIMALS)

    tier_from_index = np.searchsorted(plan.cutoffs, index, side="right") - 1
    tier = tier_from_index.copy()
    raised_by = np.full((len(D), len(plan.critical)), -1, dtype=np.int64)
    for c, (j, at_least, level) in enumerate(plan.critical):
        hit = answered[:, j] & (Dz[:, j] >= at_least)
        raised_by[hit & (level > tier_from_index), c] = c
        tier = np.where(hit, np.maximum(tier, level), tier)

    contributions[contributions <= 0] = -np.inf
    top = _top_columns(contributions, catalog.settings.top_reasons)
    counts = A.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        completeness = np.where(counts > 0, answered.sum(axis=1) / counts, 0.0)
    return {
        "index": index, "index_low": low, "index_high": high, "completeness": completeness,
        "provisional": completeness < config.completeness_threshold,
        "tier_code": tier, "tier_from_index_code": tier_from_index, "raised_by": raised_by,
        "dimension_scores": dim_scores, "af_score": af_score, "af_poor": af_poor,
        "top_reason_codes": top,
        "recommendation_codes": _recommend_block(catalog, plan, Dz, answered, eligible, tier),
    }


def _recommend_block(catalog: Catalog, plan: _Plan, Dz, answered, eligible, tier) -> np.ndarray:
    """Services ordered by need (highest triggering deprivation), then strength, then file order."""
    tier_position = {t: p for p, t in enumerate(catalog.tier_ids)}
    n, services = len(Dz), len(catalog.services)
    need = np.full((n, services), -np.inf, order="F")
    strength = np.zeros((n, services), order="F")
    ends = [*plan.trigger_starts[1:], len(plan.trigger_columns)]
    Dz, answered = np.asfortranarray(Dz), np.asfortranarray(answered)  # whole columns below
    for s, svc in enumerate(catalog.services):
        # pair by pair, in trigger order, so strengths add up exactly as in the single path
        for p in range(plan.trigger_starts[s], ends[s]):
            j = plan.trigger_columns[p]
            x = Dz[:, j]
            hit = answered[:, j] & (x >= plan.trigger_thresholds[p])
            np.maximum(need[:, s], np.where(hit, x, -np.inf), out=need[:, s])
            strength[:, s] += np.where(hit, x * plan.trigger_weights[p], 0.0)
        allowed = eligible[:, s]
        if svc.tiers:
            allowed = allowed & np.isin(tier, [tier_position[t] for t in svc.tiers])
        need[~allowed, s] = -np.inf
    strength = np.round(strength, STRENGTH_DECIMALS)
    # One sortable key: need decides, strength breaks ties. Needs are catalog scores at least
    # `need_gap` apart, so scaled by (largest strength + 1) / need_gap they never trade places with a
    # strength; services not recommended keep -inf.
    scale = (float(strength.max(initial=0.0)) + 1.0) / plan.need_gap
    key = need * scale + strength
    return _top_columns(np.ascontiguousarray(key), catalog.settings.recommend_top_n)
