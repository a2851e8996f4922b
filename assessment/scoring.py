"""One household: validate its answers, then score, tier and recommend.

This is the readable reference path; `assessment.batch` computes the same figures for a DataFrame.
"""

from __future__ import annotations

from typing import Any, Mapping

from assessment.answers import (
    all_hold,
    deprivation,
    finding,
    is_missing,
    parse_answer,
    parse_finding,
    score_bounds,
)
from assessment.catalog import Catalog, ScoringConfig, check_config
from assessment.errors import AnswersInvalid, Finding
from assessment.results import AssessmentResult, Reason, Recommendation, frozen_map

# Index values are rounded so that the single and batch paths, which add in different orders,
# decide tiers and ties on the same number.
INDEX_DECIMALS = 6
# Service strengths are rounded so that sums taken in different orders tie when they should.
STRENGTH_DECIMALS = 9
# Weighted counts like 1/3 + 1/3 + 1/3 are not exact in floating point.
AF_TOLERANCE = 1e-9


def resolve_config(catalog: Catalog, config: ScoringConfig | None) -> ScoringConfig:
    if config is None:
        return catalog.default_config()
    check_config(catalog, config)
    return config


def parameter_year(catalog: Catalog, region: str, year: int | None) -> int:
    if year is not None:
        return year
    seen, current, years = set(), catalog.region_by_id.get(region), []
    while current is not None and current.id not in seen:
        seen.add(current.id)
        years.extend(current.values)
        current = catalog.region_by_id.get(current.parent) if current.parent else None
    return max(years)


def _read(catalog: Catalog, answers: Mapping[str, Any], region: str | None, year: int | None):
    """Parse and check every answer: (canonical values, deprivation scores, applicable ids, findings)."""
    findings: list[Finding] = []
    values: dict[str, Any] = {}
    if answers.keys() - catalog.indicator_by_id.keys():
        findings.extend(finding("unknown_indicator", None, indicator=key, path=f"answers.{key}")
                        for key in answers if key not in catalog.indicator_by_id)
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

    # decided on the answers as given, before any answer is dropped as not applicable
    not_applicable = {ind.id for ind in catalog.conditional_indicators if not all_hold(ind.applies_when, values)}
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
            parameter = _regional_parameter(catalog, ind, spec.relative_to, region, year, findings)
            if parameter is None:
                continue
        scores[ind.id] = deprivation(ind, values[ind.id], divisor=divisor, parameter=parameter)

    for rule in catalog.contradictions:
        if all_hold(rule.when, values):
            first = rule.when[0].indicator
            findings.append(Finding(code="contradiction", path=f"answers.{first}", message=rule.message,
                                    severity=rule.severity, indicator=first))
    if not scores and not any(f.severity == "error" for f in findings):
        findings.append(finding("no_answers", None, indicator=None, path="answers"))
    return values, scores, applicable, findings


def _regional_parameter(catalog, ind, name, region, year, findings) -> float | None:
    if region is None or is_missing(region):
        findings.append(finding("missing_region", ind, path="region"))
        return None
    if region not in catalog.region_by_id:
        findings.append(finding("unknown_region", ind, path="region", value=region))
        return None
    year = parameter_year(catalog, region, year)
    value = catalog.parameter(name, region, year)
    if value is None:
        findings.append(finding("missing_parameter", ind, path="region", value=region, year=year, parameter=name))
    return value


def validate_answers(catalog: Catalog, answers: Mapping[str, Any], *, region: str | None = None,
                     year: int | None = None) -> list[Finding]:
    """Every error and warning about one household's answers."""
    return _read(catalog, answers, region, year)[3]


def tier_for(catalog: Catalog, config: ScoringConfig, index: float) -> str:
    tier = catalog.tier_ids[0]
    for tier_id in catalog.tier_ids:
        if index >= config.tier_cutoffs[tier_id]:
            tier = tier_id
    return tier


def assess(catalog: Catalog, answers: Mapping[str, Any], *, region: str | None = None,
           year: int | None = None, config: ScoringConfig | None = None) -> AssessmentResult:
    """Validate, score, tier and recommend one household; raises AnswersInvalid on any error."""
    config = resolve_config(catalog, config)
    values, scores, applicable, findings = _read(catalog, answers, region, year)
    if any(f.severity == "error" for f in findings):
        raise AnswersInvalid(findings)

    iw, dw = config.indicator_weights, config.dimension_weights
    by_dim: dict[str, list[str]] = {d.id: [] for d in catalog.dimensions}
    for ind_id in applicable:
        by_dim[catalog.indicator_by_id[ind_id].dimension].append(ind_id)

    dimension_scores: dict[str, float | None] = {}
    answered_weight: dict[str, float] = {}
    low_num = high_num = full_dim_weight = 0.0
    for dim_id, members in by_dim.items():
        # sums in member order: answered weight and weighted deprivation, all weight, and the missing
        # answers' weight times their lowest and highest possible deprivation
        weight = filled = total = missing_low = missing_high = 0.0
        for i in members:
            total += iw[i]
            if i in scores:
                weight += iw[i]
                filled += iw[i] * scores[i]
            else:
                low, high = score_bounds(catalog.indicator_by_id[i])
                missing_low += iw[i] * low
                missing_high += iw[i] * high
        answered_weight[dim_id] = weight
        dimension_scores[dim_id] = filled / weight if weight else None
        if members:
            low_num += dw[dim_id] * (filled + missing_low) / total
            high_num += dw[dim_id] * (filled + missing_high) / total
            full_dim_weight += dw[dim_id]

    defined_weight = sum(dw[d] for d, s in dimension_scores.items() if s is not None)
    # points of the index per unit of weighted deprivation, per dimension (same operation order as the batch path)
    factor = {d: 100.0 * dw[d] / defined_weight / answered_weight[d]
              for d, s in dimension_scores.items() if s is not None}
    dim_of = {i: catalog.indicator_by_id[i].dimension for i in scores}
    af_deprived = {i for i, d in scores.items() if d >= config.af_deprivation_cutoff}
    af_score = sum(factor[dim_of[i]] * iw[i] for i in af_deprived) / 100.0
    af_poor = af_score >= config.af_poverty_cutoff - AF_TOLERANCE

    if config.method == "alkire_foster":
        contributions = {i: (factor[dim_of[i]] * iw[i] if af_poor and i in af_deprived else 0.0) for i in scores}
        index = 100.0 * af_score if af_poor else 0.0
        low, high = _af_range(catalog, config, by_dim, scores, full_dim_weight)
    else:
        contributions = {i: scores[i] * iw[i] * factor[dim_of[i]] for i in scores}
        index = sum(contributions.values())
        low, high = 100.0 * low_num / full_dim_weight, 100.0 * high_num / full_dim_weight
    index = round(index, INDEX_DECIMALS)
    low, high = round(min(low, index), INDEX_DECIMALS), round(max(high, index), INDEX_DECIMALS)

    tier_from_index = tier_for(catalog, config, index)
    order = {t: n for n, t in enumerate(catalog.tier_ids)}
    tier, raised_by = tier_from_index, []
    for ind_id, score in scores.items():
        critical = catalog.indicator_by_id[ind_id].critical
        if critical is not None and score >= critical.at_least_score:
            if order[critical.tier] > order[tier_from_index]:
                raised_by.append(ind_id)
            if order[critical.tier] > order[tier]:
                tier = critical.tier

    completeness = len(scores) / len(applicable) if applicable else 0.0
    applicable_ids = set(applicable)
    return AssessmentResult(
        catalog_id=catalog.id,
        catalog_version=catalog.version,
        catalog_hash=catalog.content_hash,
        config_version=config.version,
        method=config.method,
        index=index,
        index_low=low,
        index_high=high,
        completeness=completeness,
        provisional=completeness < config.completeness_threshold,
        tier=tier,
        tier_from_index=tier_from_index,
        raised_by=tuple(raised_by),
        dimension_scores=frozen_map(dimension_scores),
        deprivations=frozen_map(scores),
        contributions=frozen_map(contributions),
        missing=tuple(i for i in applicable if i not in scores),
        not_applicable=tuple(i.id for i in catalog.indicators if i.id not in applicable_ids),
        af_score=af_score,
        af_poor=af_poor,
        top_reasons=_top_reasons(catalog, scores, contributions),
        recommendations=_recommend(catalog, config, values, scores, contributions, tier),
        warnings=tuple(findings),
    )


def _af_range(catalog, config, by_dim, scores, full_dim_weight) -> tuple[float, float]:
    """Censored AF index with every missing answer not deprived (low) or deprived (high)."""
    iw, dw, z = config.indicator_weights, config.dimension_weights, config.af_deprivation_cutoff
    low = high = 0.0
    for dim_id, members in by_dim.items():
        if not members:
            continue
        total = sum(iw[i] for i in members)
        for i in members:
            share = dw[dim_id] / full_dim_weight * iw[i] / total
            if i in scores:
                low += share * (scores[i] >= z)
                high += share * (scores[i] >= z)
            else:
                high += share * (score_bounds(catalog.indicator_by_id[i])[1] >= z)
    k = config.af_poverty_cutoff - AF_TOLERANCE
    return (100.0 * low if low >= k else 0.0), (100.0 * high if high >= k else 0.0)


def _reason(catalog: Catalog, ind_id: str, scores, contributions) -> Reason:
    return Reason(indicator=ind_id, label=catalog.indicator_by_id[ind_id].label,
                  score=scores[ind_id], contribution=contributions[ind_id])


def _top_reasons(catalog: Catalog, scores, contributions) -> tuple[Reason, ...]:
    position = catalog.indicator_position
    ranked = sorted((i for i in scores if contributions[i] > 0), key=lambda i: (-contributions[i], position[i]))
    return tuple(_reason(catalog, i, scores, contributions) for i in ranked[: catalog.settings.top_reasons])


def _recommend(catalog, config, values, scores, contributions, tier) -> tuple[Recommendation, ...]:
    triggers, default_threshold = catalog.service_triggers, catalog.settings.recommend_min_score
    candidates = []
    for position, svc in enumerate(catalog.services):
        threshold = svc.min_score if svc.min_score is not None else default_threshold
        hits = [i for i in triggers[svc.id] if scores.get(i, -1.0) >= threshold]
        if not hits:
            continue
        if svc.tiers and tier not in svc.tiers:
            continue
        if not all_hold(svc.eligibility, values):
            continue
        need = max(scores[i] for i in hits)
        strength = round(sum(scores[i] * config.indicator_weights[i] for i in hits), STRENGTH_DECIMALS)
        candidates.append(((-need, -strength, position), svc, need, hits))
    candidates.sort(key=lambda c: c[0])
    recommendations = []
    for _, svc, need, hits in candidates[: catalog.settings.recommend_top_n]:  # reasons only for those kept
        hits.sort(key=lambda i: (-scores[i], -contributions[i]))
        recommendations.append(Recommendation(
            service=svc.id, category=svc.category, label=svc.label, need=need,
            reasons=tuple(_reason(catalog, i, scores, contributions) for i in hits)))
    return tuple(recommendations)
