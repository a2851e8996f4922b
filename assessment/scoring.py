"""One household: validate its answers, then score, tier and recommend.

The answers are read here, one by one, with the messages a caseworker sees; the figures come from the
compiled formula (`assessment.kernels.score_household`) that also scores whole frames
(`assessment.batch`), so both paths give the same figures. `assess_many` gives many households the results
`assess` gives, scored by the vectorised core (bulk imports).
"""

from __future__ import annotations

import math
from types import NoneType
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from assessment.answers import deprivation, finding, parameter_finding, parse_answer, parse_finding
from assessment.catalog import Catalog, ScoringConfig
from assessment.errors import AnswersInvalid, Finding, clipped
from assessment.batch import assess_prepared, prepare_frame
from assessment.kernels import Figures, contribution_rows, score_household
from assessment.layout import scoring_plan
from assessment.results import AssessmentResult, result_builder
from assessment.rules import all_hold, answer_code, is_missing, regional_parameter, resolve_config


def _read(catalog: Catalog, answers: Mapping[str, Any], region: str | None, year: int | None):
    """Parse and check every answer: (canonical values, deprivation scores, applicable ids, findings, the
    answer codes of the values kept, as `_answer_codes` gives them)."""
    findings: list[Finding] = []
    values: dict[str, Any] = {}
    if answers.keys() - catalog.indicator_by_id.keys():
        for key in answers:
            if key not in catalog.indicator_by_id:
                shown_key = clipped(str(key))
                findings.append(finding("unknown_indicator", None, indicator=shown_key, path=f"answers.{shown_key}"))
    for ind in catalog.indicators:
        raw = answers.get(ind.id)
        if raw is not None:
            value, problem = parse_answer(ind, raw)
            if problem is None:
                values[ind.id] = value
                continue
            if not is_missing(raw):  # a missing answer (blank, NaN) never parses
                findings.append(parse_finding(ind, raw, problem))
                continue
        if ind.required:
            findings.append(finding("missing_required", ind))

    codes_of = _answer_codes(catalog, values)
    # decided on the answers as given, before any answer is dropped as not applicable
    not_applicable = {ind.id for ind in catalog.conditional_indicators
                      if not all_hold(catalog, ind.applies_when, codes_of)}
    applicable, scores, dropped = [], {}, False
    for ind in catalog.indicators:
        if ind.id in not_applicable:
            if ind.id in values:
                findings.append(finding("not_applicable", ind, severity="warning"))
                del values[ind.id]
                dropped = True
            continue
        applicable.append(ind.id)
        if ind.id not in values:
            continue
        spec = ind.answer
        if spec.type != "amount":
            scores[ind.id] = deprivation(ind, values[ind.id])
            continue
        divisor = parameter = None
        if spec.per_capita_of is not None:
            divisor = values.get(spec.per_capita_of)
            if not divisor:
                if divisor == 0:
                    other = catalog.indicator_by_id[spec.per_capita_of]
                    findings.append(finding("bad_divisor", ind, other=other.label.zh, other_en=other.label.en))
                continue
        if spec.relative_to is not None:
            parameter, problem = regional_parameter(catalog, spec.relative_to, region, year)
            if problem is not None:
                findings.append(parameter_finding(catalog, ind, spec.relative_to, *problem))
            if parameter is None:
                continue
        scores[ind.id] = deprivation(ind, values[ind.id], divisor=divisor, parameter=parameter)

    if dropped:  # the rest reads the answers kept
        codes_of = _answer_codes(catalog, values)
    for rule in catalog.contradictions:
        if all_hold(catalog, rule.when, codes_of):
            first = rule.when[0].indicator
            findings.append(Finding(code="contradiction", path=f"answers.{first}", message=rule.message,
                                    severity=rule.severity, indicator=first))
    if not scores and not any(f.severity == "error" for f in findings):
        findings.append(finding("no_answers", None, indicator=None, path="answers"))
    return values, scores, applicable, findings, codes_of


def _answer_codes(catalog: Catalog, values: dict[str, Any]):
    """indicator id -> the answer code of the household's canonical answer in `values` (NaN when missing),
    as the condition checker takes them; for the indicators conditions read."""
    indicators = catalog.indicator_by_id
    return _Codes({ind_id: answer_code(indicators[ind_id], values[ind_id])
                   for ind_id in catalog.condition_indicators if ind_id in values}).__getitem__


class _Codes(dict):
    def __missing__(self, _indicator_id: str) -> float:
        return math.nan


def validate_answers(catalog: Catalog, answers: Mapping[str, Any], *, region: str | None = None,
                     year: int | None = None) -> list[Finding]:
    """Every error and warning about one household's answers."""
    return _read(catalog, answers, region, year)[3]


def assess(catalog: Catalog, answers: Mapping[str, Any], *, region: str | None = None,
           year: int | None = None, config: ScoringConfig | None = None) -> AssessmentResult:
    """Validate, score, tier and recommend one household; raises AnswersInvalid on any error."""
    config = resolve_config(catalog, config)
    values, scores, applicable, findings, codes_of = _read(catalog, answers, region, year)
    if any(f.severity == "error" for f in findings):
        raise AnswersInvalid(findings)

    plan = scoring_plan(catalog, config)
    position = catalog.indicator_position
    scores_row = np.full(len(catalog.indicators), np.nan)
    applicable_row = np.zeros(len(catalog.indicators), dtype=bool)
    for ind_id, score in scores.items():
        scores_row[position[ind_id]] = score
    applicable_row[[position[ind_id] for ind_id in applicable]] = True
    eligible = np.array([[all_hold(catalog, svc.eligibility, codes_of) for svc in catalog.services]], dtype=bool)
    figures, contribution = score_household(scores_row, applicable_row, eligible, plan)
    return result_builder(catalog).results(config, figures, scores_row[None], contribution[None],
                                           applicable_row[None], [tuple(findings)])[0]


def assess_many(catalog: Catalog, answers: Sequence[Mapping[str, Any]], *, regions: Sequence[str | None],
                years: Sequence[int | None], config: ScoringConfig | None = None
                ) -> list[AssessmentResult | AnswersInvalid]:
    """`assess` for many households at once (answers, region and year each), scored by the vectorised core
    (`assessment.batch`): each one's result, or AnswersInvalid with the findings `assess` would raise."""
    config = resolve_config(catalog, config)
    rows, frame = _readable_frame(catalog, answers)
    frame["region"] = pd.Series([regions[k] for k in rows], dtype=object)
    frame["year"] = pd.Series([years[k] for k in rows], dtype="Int64")
    prepared = prepare_frame(catalog, frame, id_column=None, passthrough=())
    batch = assess_prepared(prepared, config=config)
    outcomes: list[AssessmentResult | AnswersInvalid | None] = [None] * len(answers)
    valid = np.flatnonzero(batch.valid)
    contribution = contribution_rows(valid, prepared.answers, prepared.applicable, prepared.table,
                                     scoring_plan(catalog, config))
    warnings = prepared.findings.warnings_by_row(catalog, len(frame))
    figures = Figures(batch.index, batch.index_low, batch.index_high, batch.completeness, batch.tier_code,
                      batch.tier_from_index_code, batch.raised_by, batch.dimension_scores, batch.af_score,
                      batch.af_poor, batch.top_reason_codes, batch.recommendation_codes)
    valid_rows = valid.tolist()
    results = result_builder(catalog).results(config, figures, prepared.scores[valid], contribution,
                                              prepared.applicable[valid], [tuple(warnings[row]) for row in valid_rows])
    for row, result in zip(valid_rows, results):
        outcomes[rows[row]] = result
    for k, outcome in enumerate(outcomes):
        if outcome is None:
            outcomes[k] = AnswersInvalid(_read(catalog, answers[k], regions[k], years[k])[3])
    return outcomes


# The Python type of each answer type's canonical answers (assessment.answers.parse_answer)
CANONICAL = {"yes_no": bool, "ordinal": int, "count": int, "choice": str, "amount": float}


def _readable_frame(catalog: Catalog, answers: Sequence[Mapping[str, Any]]) -> tuple[list[int], pd.DataFrame]:
    """The households whose answers all name an indicator and are accepted (their positions), and their answers
    in canonical form as the frame the vectorised core reads fastest: a column per indicator, numbers (yes/no as
    1/0) with NaN where missing, choices as text with None. Read column by column; only a column holding
    answers that are not canonical already is read cell by cell."""
    known = catalog.indicator_by_id.keys()
    readable = [known >= one.keys() for one in answers]
    columns = {}
    for indicator in catalog.indicators:
        values = [one.get(indicator.id) for one in answers]
        canonical = CANONICAL[indicator.answer.type]
        if not {NoneType, canonical}.issuperset(map(type, values)):
            for k, raw in enumerate(values):
                if raw is None or type(raw) is canonical:
                    continue
                value, problem = (None, None) if is_missing(raw) else parse_answer(indicator, raw)
                if problem is not None:
                    readable[k] = False
                values[k] = value
        columns[indicator.id] = values
    rows = [k for k, holds in enumerate(readable) if holds]
    if len(rows) < len(answers):
        columns = {indicator_id: [values[k] for k in rows] for indicator_id, values in columns.items()}
    return rows, pd.DataFrame({
        indicator.id: pd.Series(columns[indicator.id], dtype=object) if indicator.answer.type == "choice"
        else pd.Series(np.array(columns[indicator.id], dtype=float))  # None as NaN
        for indicator in catalog.indicators})
