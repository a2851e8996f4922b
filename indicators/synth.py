"""Synthetic households: invented questionnaires for trying out, testing and benchmarking the service.

Everything about the households is data (`indicators/synthetic/*.yaml`, format in its header): the
archetypes, their shares and the answer distributions per indicator. This module only knows how to
turn such a spec and a catalog into a DataFrame, vectorised with numpy:

1. each household gets an archetype, a region, year, town and station, and a latent severity;
2. the household's composition (members by kind, then household size) comes first, then every other
   answer, each drawn from its archetype's distribution shifted towards the worse end by the severity
   (an ordered-logit shift over the answers sorted by the catalog's deprivation score, or a shift of
   the log of an amount), so that the answers of one household hang together;
3. answers to questions that do not apply are removed, and a few non-required answers go missing;
4. `verified_tier` imitates a caseworker's verified label: a hidden weighting of the deprivation
   scores (different from the catalog's, drawn from the seed and retrievable with `hidden_weights`)
   plus noise, cut by the catalog's tier cut-offs and raised by its critical indicators.

The same catalog, spec, size and seed always give the same frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from pydantic import ValidationError

from assessment import Catalog, CoreError, Message, deprivation_matrix
from assessment.catalog import Condition, Indicator, condition_value_problem
from assessment.layout import scoring_plan
from assessment.rules import all_hold, answer_code, finite_codes, tier_levels

SYNTHETIC_DIR = Path(__file__).parent / "synthetic"
DEFAULT_SPEC = SYNTHETIC_DIR / "default.yaml"
OTHERS = "others"
SHARE_TOLERANCE = 1e-6
REDRAW_ROUNDS = 3

# Streams of random numbers derived from the seed, kept apart so that the hidden weights do not
# depend on the number of households.
HOUSEHOLD_STREAM, WEIGHT_STREAM = 0, 1


class SpecError(CoreError):
    """A synthetic-household spec that does not fit its catalog; names the entry and the problem."""

    code = "invalid_synthetic_spec"
    status_hint = 422

    def __init__(self, path: str, en: str, zh: str):
        super().__init__(Message(zh=f"合成住户配置 {path}:{zh}", en=f"synthetic spec {path}: {en}"), path=path)


def load_spec(path: Path | str | None = None) -> dict:
    """Read a synthetic-household spec (the default one when `path` is None)."""
    path = Path(path) if path is not None else DEFAULT_SPEC
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(str(path), f"cannot be read ({exc.strerror})", f"无法读取({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise SpecError(str(path), f"is not valid YAML: {exc}", f"不是有效的 YAML:{exc}") from exc
    if not isinstance(spec, dict):
        raise SpecError(str(path), "must be a mapping", "必须是键值映射")
    for key in ("household", "regions", "years", "severity", "missing_rate", "verified_tier", "defaults",
                "archetypes"):
        if key not in spec:
            raise SpecError(key, "is missing", "缺失")
    return spec


# ----------------------------------------------------------------------------------------- the plan

@dataclass(frozen=True)
class _Categorical:
    """Answers drawn from a finite set: thresholds (archetypes x values-1) on the logit scale of
    the cumulative probabilities, values listed from the least to the most deprived."""

    values: np.ndarray
    thresholds: np.ndarray
    at_most: str | None = None


@dataclass(frozen=True)
class _Lognormal:
    median: np.ndarray
    sigma: np.ndarray
    zero: np.ndarray
    direction: float  # +1 when a larger amount is more deprived, -1 when less


@dataclass(frozen=True)
class _Derived:
    when: tuple[Condition, ...]


def _band_scores(ind: Indicator, x: np.ndarray) -> np.ndarray:
    bands = ind.answer.bands
    limits = np.array([b.below for b in bands[:-1]], dtype=float)
    return np.array([b.score for b in bands])[np.searchsorted(limits, x, side="right")]


def _code_of(ind: Indicator | None, key: Any, where: str) -> float:
    """The answer code of one key of a `p` table (for `others`, a plain number of members)."""
    if ind is not None and ind.answer.type in ("choice", "ordinal"):
        if isinstance(key, bool) or key not in ind.answer.score_by_value:
            raise SpecError(where, f"{key!r} is not an answer of {ind.id}", f"{key!r} 不是 {ind.id} 的答案")
        return answer_code(ind, key)
    if isinstance(key, bool) or not isinstance(key, int) or key < 0:
        raise SpecError(where, f"{key!r} is not a whole number of members", f"{key!r} 不是非负整数")
    if ind is not None and not ind.answer.min <= key <= ind.answer.max:
        raise SpecError(where, f"{key} is outside {ind.id}'s range {ind.answer.min}-{ind.answer.max}",
                        f"{key} 超出 {ind.id} 的范围 {ind.answer.min}-{ind.answer.max}")
    return float(key)


def _probabilities(ind: Indicator | None, dist: dict, where: str) -> dict[float, float]:
    if ind is not None and ind.answer.type == "yes_no":
        if "p_yes" not in dist:
            raise SpecError(where, "a yes/no answer needs p_yes", "是否题需要 p_yes")
        p_yes = float(dist["p_yes"])
        if not 0 <= p_yes <= 1:
            raise SpecError(where, "p_yes must lie in [0, 1]", "p_yes 必须在 0 到 1 之间")
        return {0.0: 1 - p_yes, 1.0: p_yes}
    if "range" in dist:
        low, high = dist["range"]
        keys = [_code_of(ind, k, where) for k in range(int(low), int(high) + 1)]
        return {k: 1.0 / len(keys) for k in keys}
    table = dist.get("p")
    if not isinstance(table, dict) or not table:
        raise SpecError(where, "needs a probability table 'p' (or 'range' for a count)",
                        "需要概率表 p(计数题也可用 range)")
    probs = {_code_of(ind, k, where): float(v) for k, v in table.items()}
    total = sum(probs.values())
    if any(v < 0 for v in probs.values()) or total <= 0:
        raise SpecError(where, "probabilities must be non-negative and not all zero", "概率必须非负且不全为 0")
    return {k: v / total for k, v in probs.items()}


def _categorical(ind: Indicator | None, dists: list[dict], wheres: list[str]) -> _Categorical:
    tables = [_probabilities(ind, d, w) for d, w in zip(dists, wheres)]
    if ind is not None and ind.answer.type in ("yes_no", "ordinal", "choice"):
        values, scores = (np.array(codes) for codes in finite_codes(ind))
    else:
        values = np.array(sorted(set().union(*tables)))
        scores = _band_scores(ind, values) if ind is not None else np.zeros(len(values))
    order = np.lexsort((values, scores))  # least deprived first; ties by value
    values = values[order]
    probs = np.array([[t.get(v, 0.0) for v in values] for t in tables])
    cumulative = np.clip(np.cumsum(probs, axis=1)[:, :-1], 0.0, 1.0)
    with np.errstate(divide="ignore"):
        thresholds = np.log(cumulative) - np.log1p(-cumulative)
    at_most = {d.get("at_most") for d in dists} - {None}
    return _Categorical(values, thresholds, at_most.pop() if at_most else None)


def _lognormal(ind: Indicator, dists: list[dict], wheres: list[str]) -> _Lognormal:
    for dist, where in zip(dists, wheres):
        if "median" not in dist or float(dist["median"]) <= 0 or float(dist.get("sigma", 0)) < 0:
            raise SpecError(where, "an amount needs a positive median and a non-negative sigma",
                            "金额题需要正的 median 和非负的 sigma")
        if not 0 <= float(dist.get("zero", 0)) <= 1:
            raise SpecError(where, "zero must lie in [0, 1]", "zero 必须在 0 到 1 之间")
    low, high = _band_scores(ind, np.array([ind.answer.min, ind.answer.max], dtype=float))
    return _Lognormal(
        median=np.array([float(d["median"]) for d in dists]),
        sigma=np.array([float(d.get("sigma", 0.0)) for d in dists]),
        zero=np.array([float(d.get("zero", 0.0)) for d in dists]),
        direction=float(np.sign(high - low)),
    )


def _conditions(indicators: dict[str, Indicator], when: Any, where: str) -> tuple[Condition, ...]:
    """A derived answer's conditions, checked as the catalog checks its own."""
    try:
        conditions = tuple(Condition.model_validate(cond) for cond in when)
    except (TypeError, ValidationError) as exc:
        raise SpecError(where, f"must be a list of catalog conditions ({exc})", f"必须是目录格式的条件列表({exc})") from exc
    for cond in conditions:
        for ref in (cond.indicator, cond.value_of):
            if ref is not None and ref not in indicators:
                raise SpecError(where, f"refers to unknown indicator {ref!r}", f"引用了未知指标 {ref!r}")
        problem = condition_value_problem(indicators[cond.indicator], cond, indicators)
        if problem:
            raise SpecError(where, problem, problem)
    return conditions


@dataclass(frozen=True)
class _Plan:
    archetypes: list[str]
    shares: np.ndarray
    severity_mean: np.ndarray
    regions: list[str]
    region_shares: np.ndarray
    towns: np.ndarray
    years: np.ndarray
    year_shares: np.ndarray
    members: list[str]
    size: str
    draws: dict[str, _Categorical | _Lognormal | _Derived]


def _shares(table: dict, where: str) -> np.ndarray:
    shares = np.array([float(v) for v in table.values()])
    if (shares < 0).any() or abs(shares.sum() - 1.0) > SHARE_TOLERANCE:
        raise SpecError(where, f"shares must be non-negative and add up to 1 (they add up to {shares.sum():g})",
                        f"比例必须非负且合计为 1(当前合计 {shares.sum():g})")
    return shares


def _plan(catalog: Catalog, spec: dict) -> _Plan:
    """Check the spec against the catalog and compile it into draw tables."""
    indicators = catalog.indicator_by_id
    if spec.get("catalog", catalog.id) != catalog.id:
        raise SpecError("catalog", f"the spec is for catalog {spec['catalog']!r}, not {catalog.id!r}",
                        f"该配置用于目录 {spec['catalog']!r},而非 {catalog.id!r}")
    household = spec["household"]
    size, members = household.get("size"), list(household.get("members", []))
    for name in [size, *members]:
        ind = indicators.get(name)
        if ind is None or ind.answer.type != "count" or not ind.required:
            raise SpecError(f"household.{name}", "must name a required count indicator of the catalog",
                            "必须是目录中的必填计数指标")
    archetypes = list(spec["archetypes"])
    if not archetypes:
        raise SpecError("archetypes", "must not be empty", "不能为空")
    shares = _shares({a: spec["archetypes"][a].get("share", -1) for a in archetypes}, "archetypes.*.share")
    for region in spec["regions"]:
        if region not in catalog.region_by_id:
            raise SpecError(f"regions.{region}", "is not a region of the catalog", "不是目录中的地区")
    towns = np.array([int(r.get("towns", 0)) for r in spec["regions"].values()])
    if (towns < 1).any():
        raise SpecError("regions.*.towns", "every region needs at least one town", "每个地区至少需要一个镇街")

    known = set(indicators) | {OTHERS}
    for where, table in [("defaults", spec["defaults"])] + [
            (f"archetypes.{a}.answers", spec["archetypes"][a].get("answers") or {}) for a in archetypes]:
        for key in table:
            if key not in known or key == size:
                raise SpecError(f"{where}.{key}", "is not an indicator the generator draws",
                                "不是需要生成的指标")

    def dists(key: str) -> tuple[list[dict], list[str]]:
        found, wheres = [], []
        for a in archetypes:
            own = (spec["archetypes"][a].get("answers") or {}).get(key)
            where = f"archetypes.{a}.answers.{key}" if own is not None else f"defaults.{key}"
            dist = own if own is not None else spec["defaults"].get(key)
            if not isinstance(dist, dict):
                raise SpecError(where, "has no answer distribution", "缺少答案分布")
            found.append(dist)
            wheres.append(where)
        return found, wheres

    draws: dict[str, _Categorical | _Lognormal | _Derived] = {OTHERS: _categorical(None, *dists(OTHERS))}
    for ind in catalog.indicators:
        if ind.id == size:
            continue
        found, wheres = dists(ind.id)
        if ind.answer.type == "yes_no" and any("when" in d for d in found):
            whens = {yaml.safe_dump(d.get("when")) for d in found}
            if len(whens) != 1:
                raise SpecError(wheres[0], "a derived answer must be derived the same way in every archetype",
                                "派生答案在各类型中必须一致")
            draws[ind.id] = _Derived(_conditions(indicators, found[0]["when"], f"{wheres[0]}.when"))
        elif ind.answer.type == "amount":
            draws[ind.id] = _lognormal(ind, found, wheres)
        else:
            draw = _categorical(ind, found, wheres)
            if draw.at_most is not None and draw.at_most not in (size, *members):
                raise SpecError(wheres[0], "at_most must name a household-composition count",
                                "at_most 必须是家庭构成计数指标")
            draws[ind.id] = draw
    return _Plan(
        archetypes=archetypes,
        shares=shares,
        severity_mean=np.array([float(spec["archetypes"][a].get("severity", 0.0)) for a in archetypes]),
        regions=list(spec["regions"]),
        region_shares=_shares({r: v.get("share", -1) for r, v in spec["regions"].items()}, "regions.*.share"),
        towns=towns,
        years=np.array([int(y) for y in spec["years"]]),
        year_shares=_shares(spec["years"], "years"),
        members=members,
        size=size,
        draws=draws,
    )


# ------------------------------------------------------------------------------------------ drawing

def _draw_categorical(rng: np.random.Generator, draw: _Categorical, archetype: np.ndarray,
                      shift: np.ndarray) -> np.ndarray:
    # Ordered logit: the answer's position is the number of thresholds that a standard logistic
    # variate plus the household's shift exceeds, so P(position <= k) = sigmoid(threshold_k - shift).
    if len(draw.values) == 1:
        return np.full(len(archetype), draw.values[0])
    latent = rng.logistic(size=len(archetype)) + shift
    position = np.zeros(len(archetype), dtype=np.int64)
    for k in range(draw.thresholds.shape[1]):
        position += latent > draw.thresholds[archetype, k]
    return draw.values[position]


def _draw_amount(rng: np.random.Generator, draw: _Lognormal, archetype: np.ndarray,
                 severity: np.ndarray, effect: float) -> np.ndarray:
    sigma = draw.sigma[archetype]
    log_shift = sigma * (rng.standard_normal(len(archetype)) + draw.direction * effect * severity)
    amount = draw.median[archetype] * np.exp(log_shift)
    return np.where(rng.random(len(archetype)) < draw.zero[archetype], 0.0, amount)


def _holds(catalog: Catalog, conditions, values: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Whether all conditions hold for each household, on the drawn answer codes (NaN where blank)."""
    return np.broadcast_to(all_hold(catalog, conditions, values.__getitem__), n)


def _regional_parameter(catalog: Catalog, name: str, regions: list[str], years: np.ndarray,
                        region_code: np.ndarray, year_code: np.ndarray) -> np.ndarray:
    table = np.array([[catalog.parameter(name, r, int(y)) or np.nan for y in years] for r in regions])
    if np.isnan(table).any():
        region, year = np.argwhere(np.isnan(table))[0]
        raise SpecError(f"regions.{regions[region]}", f"the catalog has no {name} for {years[year]}",
                        f"目录中没有 {years[year]} 年的 {name}")
    return table[region_code, year_code]


def _answers(catalog: Catalog, plan: _Plan, spec: dict, rng: np.random.Generator, archetype: np.ndarray,
             region_code: np.ndarray, year_code: np.ndarray) -> dict[str, np.ndarray]:
    """Every answer as numeric codes (choices by option position), NaN where blank."""
    n = len(archetype)
    effect = float(spec["severity"]["effect"])
    severity = plan.severity_mean[archetype] + float(spec["severity"]["sd"]) * rng.standard_normal(n)
    values: dict[str, np.ndarray] = {}

    def draw(ind: Indicator, rows: np.ndarray) -> np.ndarray:
        """Fresh answers to one (not derived) indicator for some households."""
        how = plan.draws[ind.id]
        if isinstance(how, _Categorical):
            x = _draw_categorical(rng, how, archetype[rows], effect * severity[rows])
            return np.minimum(x, values[how.at_most][rows]) if how.at_most else x
        x = _draw_amount(rng, how, archetype[rows], severity[rows], effect)
        answer = ind.answer
        if answer.per_capita_of:
            x = x * values[answer.per_capita_of][rows]
        if answer.relative_to:
            x = x * _regional_parameter(catalog, answer.relative_to, plan.regions, plan.years,
                                        region_code[rows], year_code[rows])
        return np.clip(np.round(x), answer.min, answer.max)

    everyone = np.arange(n)
    for key in plan.members:
        values[key] = draw(catalog.indicator_by_id[key], everyone)
    others = _draw_categorical(rng, plan.draws[OTHERS], archetype, np.zeros(n))
    total = sum(values[k] for k in plan.members) + others
    size_spec = catalog.indicator_by_id[plan.size].answer
    values[plan.size] = np.clip(total, max(size_spec.min, 1), size_spec.max)  # at least one member

    derived = [ind for ind in catalog.indicators if isinstance(plan.draws.get(ind.id), _Derived)]
    for ind in catalog.indicators:
        if ind.id not in values and ind not in derived and ind.id in plan.draws:
            values[ind.id] = draw(ind, everyone)
    for ind in derived:
        values[ind.id] = _holds(catalog, plan.draws[ind.id].when, values, n).astype(float)
    _redraw_contradictions(catalog, plan, values, draw)

    for ind in catalog.indicators:
        if ind.applies_when:
            values[ind.id] = np.where(_holds(catalog, ind.applies_when, values, n), values[ind.id], np.nan)
    rate = float(spec["missing_rate"])
    for ind in catalog.indicators:
        if not ind.required:
            values[ind.id] = np.where(rng.random(n) < rate, np.nan, values[ind.id])
    return values


def _redraw_contradictions(catalog: Catalog, plan: _Plan, values: dict[str, np.ndarray], draw) -> None:
    """Draw again the optional answers of households that hit a contradiction rule, a few rounds, so
    that contradictions stay as rare as careless answers are (composition never contradicts)."""
    n = len(values[plan.size])
    redrawable = []
    for rule in catalog.contradictions:
        free = [catalog.indicator_by_id[c.indicator] for c in rule.when
                if not catalog.indicator_by_id[c.indicator].required
                and not isinstance(plan.draws.get(c.indicator), _Derived)]
        if free:
            redrawable.append((rule, free))
    for _ in range(REDRAW_ROUNDS):
        redrawn = False
        for rule, free in redrawable:
            rows = np.flatnonzero(_holds(catalog, rule.when, values, n))
            if len(rows):
                redrawn = True
                for ind in free:
                    values[ind.id][rows] = draw(ind, rows)
        if not redrawn:
            return


def _column(ind: Indicator, x: np.ndarray):
    """Numeric codes as the column type a caseworker's file would have."""
    missing = np.isnan(x)
    kind = ind.answer.type
    if kind == "yes_no":
        return pd.arrays.BooleanArray(np.nan_to_num(x) == 1.0, missing)
    if kind in ("ordinal", "count"):
        return pd.arrays.IntegerArray(np.nan_to_num(x).astype(np.int64), missing)
    if kind == "choice":
        codes = np.where(missing, -1, np.nan_to_num(x)).astype(np.int8)
        return pd.Categorical.from_codes(codes, categories=[o.value for o in ind.answer.options])
    return x


def _household_ids(n: int) -> np.ndarray:
    width = max(7, len(str(n)))
    return ("H" + pd.Series(np.arange(1, n + 1)).astype(str).str.zfill(width)).to_numpy(dtype=object)


# ------------------------------------------------------------------------------------------- public

def hidden_weights(catalog: Catalog, spec: dict, seed: int) -> dict[str, float]:
    """The hidden indicator weights behind `verified_tier` (they sum to 1).

    Each is the indicator's effective default weight (its weight times its dimension's weight over
    the weights of that dimension's indicators) times a lognormal factor drawn from the seed.
    """
    sigma = float(spec["verified_tier"]["hidden_weight_sigma"])
    dimension_total: dict[str, float] = {}
    for ind in catalog.indicators:
        dimension_total[ind.dimension] = dimension_total.get(ind.dimension, 0.0) + ind.weight
    base = np.array([ind.weight * catalog.dimension_by_id[ind.dimension].weight / dimension_total[ind.dimension]
                     for ind in catalog.indicators])
    factor = np.exp(sigma * np.random.default_rng([seed, WEIGHT_STREAM]).standard_normal(len(base)))
    weights = base * factor / (base * factor).sum()
    return {ind.id: float(w) for ind, w in zip(catalog.indicators, weights)}


def hidden_index(catalog: Catalog, weights: dict[str, float], scores: np.ndarray) -> np.ndarray:
    """100 x the hidden-weighted mean of the answered deprivation scores (n x m, NaN when blank)."""
    w = np.array([weights[ind.id] for ind in catalog.indicators])
    answered = ~np.isnan(scores)
    return 100.0 * (np.where(answered, scores, 0.0) @ w) / (answered @ w)


def _verified_tiers(catalog: Catalog, index: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The tiers the catalog's cut-offs give `index`, raised by critical indicators as scoring raises them."""
    plan = scoring_plan(catalog, catalog.default_config())
    return tier_levels(np.ascontiguousarray(index, dtype=float), np.ascontiguousarray(scores), plan.cutoffs,
                       plan.critical_column, plan.critical_at_least, plan.critical_level)


def generate_households(catalog: Catalog, spec: dict, n: int, seed: int) -> pd.DataFrame:
    """`n` synthetic households (one row each) for `catalog`, drawn as `spec` describes."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise SpecError("n", f"the number of households must be a positive whole number, got {n!r}",
                        f"住户数必须是正整数,收到 {n!r}")
    plan = _plan(catalog, spec)
    rng = np.random.default_rng([seed, HOUSEHOLD_STREAM])
    archetype = rng.choice(len(plan.archetypes), size=n, p=plan.shares)
    region_code = rng.choice(len(plan.regions), size=n, p=plan.region_shares)
    year_code = rng.choice(len(plan.years), size=n, p=plan.year_shares)
    town_number = (rng.random(n) * plan.towns[region_code]).astype(np.int64) + 1
    values = _answers(catalog, plan, spec, rng, archetype, region_code, year_code)

    town_labels = [f"{r}_town_{k:02d}" for r, t in zip(plan.regions, plan.towns) for k in range(1, t + 1)]
    town_code = np.concatenate([[0], np.cumsum(plan.towns)[:-1]])[region_code] + town_number - 1
    frame = pd.DataFrame({
        "household_id": _household_ids(n),
        "region": pd.Categorical.from_codes(region_code, categories=plan.regions),
        "year": plan.years[year_code],
        "town_id": pd.Categorical.from_codes(town_code, categories=town_labels),
        "station_id": pd.Categorical.from_codes(
            town_code, categories=[t.replace("_town_", "_station_") for t in town_labels]),
        "archetype": pd.Categorical.from_codes(archetype, categories=plan.archetypes),
        **{ind.id: _column(ind, values[ind.id]) for ind in catalog.indicators},
    })
    scores, _ = deprivation_matrix(catalog, frame)
    noisy = hidden_index(catalog, hidden_weights(catalog, spec, seed), scores) + float(
        spec["verified_tier"]["noise_sd"]) * rng.standard_normal(n)
    frame["verified_tier"] = pd.Categorical.from_codes(_verified_tiers(catalog, noisy, scores),
                                                       categories=list(catalog.tier_ids))
    frame["synthetic"] = True
    return frame
