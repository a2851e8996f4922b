"""One household: validate its answers, then score, tier and recommend.

The answers are read here, one by one, with the messages a caseworker sees; the figures come from the
compiled formula (`assessment.kernels.score_household`) that also scores whole frames
(`assessment.batch`), so both paths give the same figures.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from assessment.answers import deprivation, finding, parameter_finding, parse_answer, parse_finding
from assessment.catalog import Catalog, ScoringConfig
from assessment.errors import AnswersInvalid, Finding, clipped
from assessment.kernels import score_household
from assessment.layout import scoring_plan
from assessment.results import AssessmentResult, Reason, Recommendation, frozen_map
from assessment.rules import all_hold, answer_code, is_missing, regional_parameter, resolve_config


def _read(catalog: Catalog, answers: Mapping[str, Any], region: str | None, year: int | None):
    """Parse and check every answer: (canonical values, deprivation scores, applicable ids, findings)."""
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
    applicable, scores = [], {}
    for ind in catalog.indicators:
        if ind.id in not_applicable:
            if ind.id in values:
                findings.append(finding("not_applicable", ind, severity="warning"))
                del values[ind.id]
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

    for rule in catalog.contradictions:
        if all_hold(catalog, rule.when, codes_of):
            first = rule.when[0].indicator
            findings.append(Finding(code="contradiction", path=f"answers.{first}", message=rule.message,
                                    severity=rule.severity, indicator=first))
    if not scores and not any(f.severity == "error" for f in findings):
        findings.append(finding("no_answers", None, indicator=None, path="answers"))
    return values, scores, applicable, findings


def _answer_codes(catalog: Catalog, values: dict[str, Any]):
    """indicator id -> the answer code of the household's canonical answer in `values` (NaN when missing),
    as the condition checker takes them."""
    indicators = catalog.indicator_by_id

    def codes_of(indicator_id: str) -> float:
        value = values.get(indicator_id)
        return math.nan if value is None else answer_code(indicators[indicator_id], value)

    return codes_of


def validate_answers(catalog: Catalog, answers: Mapping[str, Any], *, region: str | None = None,
                     year: int | None = None) -> list[Finding]:
    """Every error and warning about one household's answers."""
    return _read(catalog, answers, region, year)[3]


def assess(catalog: Catalog, answers: Mapping[str, Any], *, region: str | None = None,
           year: int | None = None, config: ScoringConfig | None = None) -> AssessmentResult:
    """Validate, score, tier and recommend one household; raises AnswersInvalid on any error."""
    config = resolve_config(catalog, config)
    values, scores, applicable, findings = _read(catalog, answers, region, year)
    if any(f.severity == "error" for f in findings):
        raise AnswersInvalid(findings)

    plan = scoring_plan(catalog, config)
    position = catalog.indicator_position
    scores_row = np.full(len(catalog.indicators), np.nan)
    applicable_row = np.zeros(len(catalog.indicators), dtype=bool)
    for ind_id, score in scores.items():
        scores_row[position[ind_id]] = score
    applicable_row[[position[ind_id] for ind_id in applicable]] = True
    codes_of = _answer_codes(catalog, values)
    eligible = np.array([[all_hold(catalog, svc.eligibility, codes_of) for svc in catalog.services]], dtype=bool)
    figures, contribution = score_household(scores_row, applicable_row, eligible, plan)

    contributions = {ind_id: float(contribution[position[ind_id]]) for ind_id in scores}
    dimension_scores = {dim.id: (None if math.isnan(score) else float(score))
                        for dim, score in zip(catalog.dimensions, figures.dimension_scores[0])}
    criticals = catalog.critical_ids
    tier = catalog.tier_ids[figures.tier[0]]
    completeness = float(figures.completeness[0])
    applicable_ids = set(applicable)
    default_threshold = catalog.settings.recommend_min_score
    return AssessmentResult(
        catalog_id=catalog.id,
        catalog_version=catalog.version,
        catalog_hash=catalog.content_hash,
        config_version=config.version,
        method=config.method,
        index=float(figures.index[0]),
        index_low=float(figures.index_low[0]),
        index_high=float(figures.index_high[0]),
        completeness=completeness,
        provisional=completeness < config.completeness_threshold,
        tier=tier,
        tier_from_index=catalog.tier_ids[figures.tier_from_index[0]],
        raised_by=tuple(criticals[c] for c in figures.raised_by[0] if c >= 0),
        dimension_scores=frozen_map(dimension_scores),
        deprivations=frozen_map(scores),
        contributions=frozen_map(contributions),
        missing=tuple(i for i in applicable if i not in scores),
        not_applicable=tuple(i.id for i in catalog.indicators if i.id not in applicable_ids),
        af_score=float(figures.af_score[0]),
        af_poor=bool(figures.af_poor[0]),
        top_reasons=tuple(_reason(catalog, catalog.indicators[j].id, scores, contributions)
                          for j in figures.reasons[0] if j >= 0),
        recommendations=tuple(_recommendation(catalog, catalog.services[v], scores, contributions, default_threshold)
                              for v in figures.services[0] if v >= 0),
        warnings=tuple(findings),
    )


def _reason(catalog: Catalog, ind_id: str, scores, contributions) -> Reason:
    return Reason(indicator=ind_id, label=catalog.indicator_by_id[ind_id].label,
                  score=scores[ind_id], contribution=contributions[ind_id])


def _recommendation(catalog: Catalog, svc, scores, contributions, default_threshold: float) -> Recommendation:
    """A recommended service with its reasons: the indicators that trigger it, highest score first."""
    threshold = svc.min_score if svc.min_score is not None else default_threshold
    hits = [i for i in catalog.service_triggers[svc.id] if scores.get(i, -1.0) >= threshold]
    hits.sort(key=lambda i: (-scores[i], -contributions[i]))
    return Recommendation(service=svc.id, category=svc.category, label=svc.label, need=max(scores[i] for i in hits),
                          reasons=tuple(_reason(catalog, i, scores, contributions) for i in hits))
