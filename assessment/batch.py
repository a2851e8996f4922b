"""Many households at once: the vectorised twin of `assessment.scoring`.

Columns are parsed once (text columns through `parse_answer` on their distinct values, numeric
columns with array operations) into answer codes (`assessment.rules.answer_code`); the figures are then
computed by the compiled formula over the rows (`assessment.kernels`), so no Python code runs per
household. Pandas in, pandas out, one frame at a time: a partition of a larger data set is scored the
same way.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from assessment.answers import finding, parameter_finding, parse_answer, parse_finding
from assessment.catalog import Catalog, Indicator, ScoringConfig
from assessment.errors import CoreError, Finding, Message, clipped
from assessment.kernels import deprivation_scores, nested_weights, reweighted_indices, score_rows
from assessment.layout import ScoreTable, scoring_plan
from assessment.rules import PARAMETER_FINDINGS, all_hold, answer_code, regional_parameter, resolve_config

# numpy releases the GIL in its array loops, so columns are read on every core.
THREADS = max(1, min(8, os.cpu_count() or 1))
# The compiled loops already use every core; one call at a time also keeps numba's threading layers
# that do not allow concurrent launches (workqueue) safe when a server scores from several threads.
_COMPILED_LOOPS = threading.Lock()
FINDING_COLUMNS = ["row", "household_id", "indicator", "code", "severity", "message_zh", "message_en"]
# How many of the input's columns the error for a frame without any indicator column names.
COLUMNS_SHOWN = 5
# Weight changes scored per pass of `reweighted`: bounds the memory of its results.
CHANGES_PER_PASS = 16


@dataclass
class _Findings:
    """Findings gathered column by column, turned into a DataFrame once at the end. A block without values
    keeps the finding the single-household path gives each of its rows."""

    rows: list[np.ndarray]
    keys: list[tuple[str | None, str, str]]  # (indicator, code, severity) per block
    values: list[np.ndarray | None]
    found: list  # per block: (indicator, the rows' Finding, or None when it depends on each row's value)

    @classmethod
    def empty(cls) -> "_Findings":
        return cls([], [], [], [])

    def add(self, rows: np.ndarray, indicator: Indicator | None, code: str, severity: str = "error",
            values: np.ndarray | None = None, found: Finding | None = None) -> None:
        if len(rows):
            if values is None and found is None:
                found = finding(code, indicator, severity=severity)
            self.rows.append(rows)
            self.keys.append((indicator.id if indicator is not None else None, code, severity))
            self.values.append(values)
            self.found.append((indicator, found))

    def extend(self, other: "_Findings") -> None:
        self.rows += other.rows
        self.keys += other.keys
        self.values += other.values
        self.found += other.found

    def row_mask(self, n: int, severity: str = "error") -> np.ndarray:
        mask = np.zeros(n, dtype=bool)
        for rows, (_, _, sev) in zip(self.rows, self.keys):
            if sev == severity:
                mask[rows] = True
        return mask

    def warnings_by_row(self, catalog: Catalog, n: int) -> list[list[Finding]]:
        """Each row's warnings in the order the single-household path lists them: those of the indicators in
        catalog order, then the contradictions in the catalog's order."""
        position = catalog.indicator_position
        blocks = [b for b, (_, code, severity) in enumerate(self.keys) if severity == "warning"]
        blocks.sort(key=lambda b: (1, b) if self.keys[b][1] == "contradiction" else (0, position[self.keys[b][0]]))
        by_row: list[list[Finding]] = [[] for _ in range(n)]
        for b in blocks:
            found = self.found[b][1]
            for row in self.rows[b].tolist():
                by_row[row].append(found)
        return by_row

    def frame(self, ids: np.ndarray, severity: str) -> pd.DataFrame:
        parts = []
        for rows, (ind_id, code, sev), values, (indicator, found) in zip(
                self.rows, self.keys, self.values, self.found):
            if sev != severity:
                continue
            if values is None:
                zh = np.full(len(rows), found.message.zh, dtype=object)
                en = np.full(len(rows), found.message.en, dtype=object)
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


def _parse_column(ind: Indicator, column: pd.Series, out: np.ndarray) -> _Findings:
    """The column's answers as answer codes into `out` (NaN when missing or invalid); returns its problems."""
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
    parsed = np.full(len(uniques), np.nan)
    problems: dict[str, list[int]] = {}
    for u, value in enumerate(uniques):
        if isinstance(value, str) and not value.strip():
            continue
        canonical, problem = parse_answer(ind, value)
        if problem:
            problems.setdefault(problem, []).append(u)
        else:
            parsed[u] = answer_code(ind, canonical)
    np.take(np.append(parsed, np.nan), codes, out=out)  # code -1 (missing) takes the NaN at the end
    object_uniques = np.asarray(uniques, dtype=object)
    for problem, bad_uniques in problems.items():
        rows = np.flatnonzero(np.isin(codes, bad_uniques))
        findings.add(rows, ind, problem, values=object_uniques[codes[rows]])
    return findings


def _answer_columns(catalog: Catalog, answers: np.ndarray):
    """indicator id -> its column of answer codes, as the condition checker takes them."""
    position = catalog.indicator_position
    return lambda indicator_id: answers[:, position[indicator_id]]


def _regional_parameters(catalog: Catalog, frame: pd.DataFrame, name: str):
    """Per row: the parameter value (NaN when there is none) and the row's (region, year) key; per key None
    or the (code, message values) of its finding (see assessment.rules.regional_parameter)."""
    n = len(frame)
    region_codes, regions = pd.factorize(frame["region"]) if "region" in frame else (np.full(n, -1), [])
    year_codes, years = pd.factorize(frame["year"]) if "year" in frame else (np.full(n, -1), [])
    keys, pairs = pd.factorize((region_codes + 1) * (len(years) + 1) + (year_codes + 1))
    values = np.full(len(pairs), np.nan)
    problems = np.full(len(pairs), None, dtype=object)
    for u, pair in enumerate(pairs):
        r, y = divmod(int(pair), len(years) + 1)
        value, problems[u] = regional_parameter(catalog, name, regions[r - 1] if r else None,
                                                int(years[y - 1]) if y else None)
        if value is not None:
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
        rows = len(data["index"])
        for name, value in self.versions.items():  # one category each: a few bytes a row
            data[name] = pd.Categorical.from_codes(np.zeros(rows, dtype=np.int8), categories=[value])
        return pd.DataFrame(data)

    @property
    def versions(self) -> dict[str, str]:
        """What produced the scores: catalog id, version and content hash, and the configuration's version."""
        return {"catalog_id": self.catalog.id, "catalog_version": self.catalog.version,
                "catalog_hash": self.catalog.content_hash, "config_version": self.config.version}


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
    read = _read_frame(catalog, frame)
    return score_matrix(read["answers"], read["table"]), read["applicable"]


def answer_matrix(catalog: Catalog, frame: pd.DataFrame) -> np.ndarray:
    """The answer codes (n x m, NaN where missing, invalid or not applicable): yes/no as 1/0, ordinal
    levels and counts and amounts as given, choices as the option's position in the catalog."""
    return _read_frame(catalog, frame)["answers"]


def _read_frame(catalog: Catalog, frame: pd.DataFrame) -> dict:
    """Every answer of the frame read and checked: the fields of PreparedFrame but the first three."""
    n = len(frame)
    m = len(catalog.indicators)
    findings = _Findings.empty()
    # Column-major: every step below works column by column.
    answers = np.empty((n, m), order="F")
    present = [(j, ind) for j, ind in enumerate(catalog.indicators) if ind.id in frame]
    for j, ind in enumerate(catalog.indicators):
        if ind.id not in frame:
            answers[:, j] = np.nan
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        for column_findings in pool.map(lambda item: _parse_column(item[1], frame[item[1].id], answers[:, item[0]]),
                                        present):
            findings.extend(column_findings)
    for j, ind in enumerate(catalog.indicators):
        if ind.required:
            missing = np.isnan(answers[:, j]) & ~_rows_with(findings, ind.id, n)
            findings.add(np.flatnonzero(missing), ind, "missing_required")

    columns_of = _answer_columns(catalog, answers)
    applicable = np.ones((n, m), dtype=bool, order="F")
    for j, ind in enumerate(catalog.indicators):
        if ind.applies_when:
            applicable[:, j] = all_hold(catalog, ind.applies_when, columns_of)
    # Answers to questions that do not apply are left out, once every condition has been read.
    for j, ind in enumerate(catalog.indicators):
        if ind.applies_when:
            dropped = ~applicable[:, j] & ~np.isnan(answers[:, j])
            findings.add(np.flatnonzero(dropped), ind, "not_applicable", severity="warning")
            answers[dropped, j] = np.nan

    parameters: dict[str, tuple] = {}
    scored = np.zeros(n, dtype=bool)  # some answer gives a score
    for j, ind in enumerate(catalog.indicators):
        spec = ind.answer
        usable = ~np.isnan(answers[:, j])
        if spec.type == "amount" and spec.per_capita_of is not None:
            divisor = columns_of(spec.per_capita_of)
            zero = usable & (divisor == 0)
            other = catalog.indicator_by_id[spec.per_capita_of]
            findings.add(np.flatnonzero(zero), ind, "bad_divisor",
                         found=finding("bad_divisor", ind, other=other.label.zh, other_en=other.label.en))
            usable &= ~np.isnan(divisor) & (divisor != 0)
        if spec.type == "amount" and spec.relative_to is not None:
            if spec.relative_to not in parameters:
                parameters[spec.relative_to] = _regional_parameters(catalog, frame, spec.relative_to)
            parameter, keys, problems = parameters[spec.relative_to]
            for u, problem in enumerate(problems):
                if problem is not None:
                    code = problem[0]
                    findings.add(np.flatnonzero(usable & (keys == u)), ind, code, PARAMETER_FINDINGS[code],
                                 found=parameter_finding(catalog, ind, spec.relative_to, *problem))
            usable &= ~np.isnan(parameter)
        scored |= usable

    for rule in catalog.contradictions:
        rows = np.flatnonzero(all_hold(catalog, rule.when, columns_of))
        first = catalog.indicator_by_id[rule.when[0].indicator]
        findings.add(rows, first, "contradiction", severity=rule.severity,
                     found=Finding(code="contradiction", path=f"answers.{first.id}", message=rule.message,
                                   severity=rule.severity, indicator=first.id))
    errors = findings.row_mask(n)
    nothing = ~errors & ~scored
    if nothing.any():
        findings.add(np.flatnonzero(nothing), None, "no_answers",
                     found=finding("no_answers", None, indicator=None, path="answers"))
    # Service eligibility rests on answers alone (not on weights), so it is settled here once.
    eligible = np.ones((n, len(catalog.services)), dtype=bool, order="F")
    for position, svc in enumerate(catalog.services):
        if svc.eligibility:
            eligible[:, position] = all_hold(catalog, svc.eligibility, columns_of)
    table = ScoreTable.build(catalog, {name: parameter for name, (parameter, _, _) in parameters.items()}, n)
    return {"answers": answers, "table": table, "applicable": applicable, "eligible": eligible,
            "findings": findings}


def score_matrix(answers: np.ndarray, table: ScoreTable) -> np.ndarray:
    """Deprivation scores (n x m, NaN where there is none) of the answer codes `answers`."""
    scores = np.empty(answers.shape, order="F")
    with _COMPILED_LOOPS:
        deprivation_scores(answers, scores, table)
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
    answers: np.ndarray  # answer codes (n x m), NaN where missing, invalid or not applicable
    table: ScoreTable  # answer codes -> deprivation scores, looked up as rows are scored
    applicable: np.ndarray
    eligible: np.ndarray  # (n, services): the service's eligibility conditions hold
    findings: _Findings

    @cached_property
    def valid(self) -> np.ndarray:
        return ~self.findings.row_mask(len(self.household_id))

    @cached_property
    def scores(self) -> np.ndarray:
        """Deprivation scores (n x m, NaN where there is none)."""
        return score_matrix(self.answers, self.table)


def _listed(names, count: int = COLUMNS_SHOWN) -> str:
    """The first `count` names, clipped, and an ellipsis when there are more."""
    names = list(names)
    return ", ".join(clipped(str(name)) for name in names[:count]) + (", …" if len(names) > count else "") or "-"


def _check_indicator_columns(catalog: Catalog, frame: pd.DataFrame) -> None:
    """A frame written for another catalog (or none) is one error, not one per row: when no column is an
    indicator of the catalog, or none is a required one."""
    where = f"{catalog.id} (version {catalog.version})"
    where_zh = f"{catalog.id}(版本 {catalog.version})"
    if not any(ind.id in frame for ind in catalog.indicators):
        raise CoreError(Message(
            zh=f"输入中没有任何列是当前目录 {where_zh}的指标;输入的列有:{_listed(frame.columns)}",
            en=f"no input column is an indicator of the catalog in use, {where}; the input's columns: "
               f"{_listed(frame.columns)}"), path="(columns)", code="no_indicator_columns")
    required = [ind.id for ind in catalog.indicators if ind.required]
    if required and not any(ind_id in frame for ind_id in required):
        raise CoreError(Message(
            zh=f"输入中没有当前目录 {where_zh}任何必答题的列({_listed(required)});输入的列有:{_listed(frame.columns)}",
            en=f"no input column is a required question of the catalog in use, {where} ({_listed(required)}); "
               f"the input's columns: {_listed(frame.columns)}"), path="(columns)", code="no_indicator_columns")


def prepare_frame(catalog: Catalog, frame: pd.DataFrame, *, id_column: str | None = "household_id",
                  passthrough: tuple[str, ...] = ("region", "year", "town_id", "station_id")) -> PreparedFrame:
    """Read and check every household (row) of `frame`; score it with `assess_prepared`.
    `id_column` None: the households are known by their row numbers."""
    if id_column is not None and id_column not in frame:
        raise CoreError(Message(zh=f"缺少户编号列 {id_column}", en=f"missing the household id column {id_column!r}"),
                        path=id_column, code="missing_column")
    _check_indicator_columns(catalog, frame)
    ids = frame[id_column].astype(str) if id_column is not None else pd.RangeIndex(len(frame)).astype(str)
    return PreparedFrame(
        catalog=catalog, household_id=ids.to_numpy(dtype=object),
        passthrough=frame[[c for c in passthrough if c in frame]].reset_index(drop=True),
        **_read_frame(catalog, frame))


def assess_prepared(prepared: PreparedFrame, *, config: ScoringConfig | None = None) -> BatchResult:
    """Score, tier and recommend the valid households of a prepared frame under `config`."""
    catalog = prepared.catalog
    config = resolve_config(catalog, config)
    with _COMPILED_LOOPS:
        figures = score_rows(np.flatnonzero(prepared.valid), prepared.answers, prepared.applicable,
                             prepared.eligible, prepared.table, scoring_plan(catalog, config))
    ids = prepared.household_id
    return BatchResult(
        catalog=catalog, config=config, household_id=ids, valid=prepared.valid, passthrough=prepared.passthrough,
        errors=prepared.findings.frame(ids, "error"), warnings=prepared.findings.frame(ids, "warning"),
        index=figures.index, index_low=figures.index_low, index_high=figures.index_high,
        completeness=figures.completeness, provisional=figures.completeness < config.completeness_threshold,
        tier_code=figures.tier, tier_from_index_code=figures.tier_from_index, raised_by=figures.raised_by,
        dimension_scores=figures.dimension_scores, af_score=figures.af_score, af_poor=figures.af_poor,
        top_reason_codes=figures.reasons, recommendation_codes=figures.services,
    )


def assess_frame(catalog: Catalog, frame: pd.DataFrame, *, config: ScoringConfig | None = None,
                 id_column: str = "household_id",
                 passthrough: tuple[str, ...] = ("region", "year", "town_id", "station_id")) -> BatchResult:
    """Validate, score, tier and recommend every household (row) of `frame`."""
    return assess_prepared(prepare_frame(catalog, frame, id_column=id_column, passthrough=passthrough), config=config)


@dataclass(frozen=True)
class WeightChange:
    """One weight scaled: of an indicator (`indicator`, its position in the catalog) or of a dimension."""

    indicator: int = -1
    dimension: int = -1


def reweighted(prepared: PreparedFrame, config: ScoringConfig, changes: list[WeightChange], factor: float
               ) -> Iterator[tuple[WeightChange, np.ndarray, np.ndarray]]:
    """For each change: (change, index, tier position) of the valid households with the change's weight times
    `factor` (a change of neither an indicator nor a dimension: `config` as it is), the figures
    `assess_prepared` gives under the changed configuration. Scored CHANGES_PER_PASS changes at a time."""
    plan = scoring_plan(prepared.catalog, resolve_config(prepared.catalog, config))
    rows = np.flatnonzero(prepared.valid)
    for start in range(0, len(changes), CHANGES_PER_PASS):
        part = changes[start:start + CHANGES_PER_PASS]
        with _COMPILED_LOOPS:
            index, tier = reweighted_indices(rows, prepared.answers, prepared.applicable, prepared.table, plan,
                                             np.array([c.indicator for c in part], dtype=np.int64),
                                             np.array([c.dimension for c in part], dtype=np.int64), float(factor))
        for v, change in enumerate(part):
            yield change, index[:, v], tier[:, v]


def household_weights(catalog: Catalog, config: ScoringConfig, scores: np.ndarray) -> np.ndarray:
    """Each household's nested indicator weights (n x m, rows summing to 1) for its deprivation scores
    `scores` (n x m, NaN where none): the dimension's share among the dimensions it answered, times the
    indicator's share among the dimension's answered indicators. These are the weights behind every
    household's `af_score`."""
    plan = scoring_plan(catalog, resolve_config(catalog, config))
    with _COMPILED_LOOPS:
        return nested_weights(scores, plan)
