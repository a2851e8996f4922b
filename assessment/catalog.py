"""The catalog as validated, frozen data.

`build_catalog` takes the parsed documents of a catalog file set (file name -> parsed YAML/JSON) and
returns a `Catalog`, or raises `CatalogErrors` naming the file, the entry and the problem of every
fault found. Reading the files is `indicators.loader`'s job; nothing here touches the disk.
The format is described in docs/catalog.md.
"""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from assessment.errors import CatalogError, CatalogErrors, ConfigError, clipped, shown

ID_PATTERN = r"^[a-z][a-z0-9_]*$"
Id = Annotated[str, Field(pattern=ID_PATTERN, max_length=64)]
Score = Annotated[float, Field(ge=0.0, le=1.0)]
Weight = Annotated[float, Field(gt=0.0)]

# How a condition compares an answer (their meaning: assessment.rules).
Operator = Literal["eq", "ne", "gt", "ge", "lt", "le", "in"]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", ignored_types=(cached_property,))


class Label(Frozen):
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Condition(Frozen):
    """`answer(indicator) <op> value`, or `<op> answer(value_of)` to compare two answers;
    false when an answer it needs is missing."""

    indicator: Id
    op: Operator
    value: Any = None
    value_of: Id | None = None

    @model_validator(mode="after")
    def _one_operand(self) -> "Condition":
        if (self.value is None) == (self.value_of is None):
            raise ValueError("give exactly one of 'value' and 'value_of'")
        if self.value_of is not None and self.op == "in":
            raise ValueError("'in' compares with a list in 'value', not with another answer")
        return self


class Band(Frozen):
    """Values below `below` (strictly) score `score`; the last band has no `below`."""

    below: float | None = None
    score: Score


class Level(Frozen):
    value: int
    label: Label
    score: Score


class Option(Frozen):
    value: Id
    label: Label
    score: Score


class YesNoAnswer(Frozen):
    type: Literal["yes_no"]
    score_yes: Score
    score_no: Score


class OrdinalAnswer(Frozen):
    type: Literal["ordinal"]
    levels: tuple[Level, ...] = Field(min_length=2)

    @cached_property
    def score_by_value(self) -> dict[int, float]:
        return {level.value: level.score for level in self.levels}


class ChoiceAnswer(Frozen):
    type: Literal["choice"]
    options: tuple[Option, ...] = Field(min_length=2)

    @cached_property
    def score_by_value(self) -> dict[str, float]:
        return {option.value: option.score for option in self.options}

    @cached_property
    def position_by_value(self) -> dict[str, float]:
        """Each option's position in the list: its answer code (assessment.rules.answer_code)."""
        return {option.value: float(n) for n, option in enumerate(self.options)}


class CountAnswer(Frozen):
    type: Literal["count"]
    min: int = 0
    max: int
    bands: tuple[Band, ...] = Field(min_length=1)


class AmountAnswer(Frozen):
    type: Literal["amount"]
    unit: Literal["yuan_per_month", "yuan_per_year", "yuan"]
    min: float = 0.0
    max: float
    per_capita_of: Id | None = None
    relative_to: Id | None = None
    bands: tuple[Band, ...] = Field(min_length=1)


AnswerSpec = Annotated[
    Union[YesNoAnswer, OrdinalAnswer, ChoiceAnswer, CountAnswer, AmountAnswer],
    Field(discriminator="type"),
]


class Critical(Frozen):
    """A deprivation of at least `at_least_score` raises the tier to at least `tier`."""

    at_least_score: Score = 1.0
    tier: Id


class Indicator(Frozen):
    id: Id
    dimension: Id
    need_areas: tuple[Id, ...] = ()
    label: Label
    question: Label
    answer: AnswerSpec
    weight: Weight = 1.0
    required: bool = False
    applies_when: tuple[Condition, ...] = ()
    critical: Critical | None = None


class Dimension(Frozen):
    id: Id
    label: Label
    weight: Weight = 1.0


class NeedArea(Frozen):
    id: Id
    label: Label


class ServiceCategory(Frozen):
    id: Id
    label: Label


class Service(Frozen):
    id: Id
    category: Id
    label: Label
    description: Label
    need_areas: tuple[Id, ...] = Field(min_length=1)
    triggers: tuple[Id, ...] = ()
    min_score: Score | None = None
    eligibility: tuple[Condition, ...] = ()
    tiers: tuple[Id, ...] = ()


class Tier(Frozen):
    id: Id
    label: Label
    min_index: float = Field(ge=0.0, le=100.0)


class Contradiction(Frozen):
    id: Id
    when: tuple[Condition, ...] = Field(min_length=1)
    message: Label
    severity: Literal["error", "warning"] = "warning"


class RegionalParameter(Frozen):
    id: Id
    label: Label
    unit: str


class Region(Frozen):
    id: Id
    label: Label
    parent: Id | None = None
    values: dict[int, dict[Id, float]] = Field(min_length=1)


class Feature(Frozen):
    """An extra numeric household column for the learned side (never scored by the index)."""

    id: Id
    label: Label
    description: Label
    unit: str = ""


class ExpectedCounts(Frozen):
    dimensions: int | None = None
    indicators: int | None = None
    need_areas: int | None = None
    service_categories: int | None = None
    services: int | None = None


class Settings(Frozen):
    completeness_threshold: Score = 0.8
    recommend_top_n: int = Field(default=5, ge=1)
    recommend_min_score: Score = 0.5
    af_deprivation_cutoff: Score = 0.5
    af_poverty_cutoff: Score = 0.33
    top_reasons: int = Field(default=3, ge=1)


class Header(Frozen):
    id: Id
    version: str = Field(min_length=1)
    label: Label
    description: Label
    synthetic_note: Label | None = None
    expected_counts: ExpectedCounts = ExpectedCounts()
    settings: Settings = Settings()


# Which file of a catalog set holds which part, and the model of each entry.
FILES: dict[str, dict[str, type[Frozen]]] = {
    "catalog.yaml": {},
    "dimensions.yaml": {"dimensions": Dimension},
    "need_areas.yaml": {"need_areas": NeedArea},
    "indicators.yaml": {"indicators": Indicator},
    "services.yaml": {"categories": ServiceCategory, "services": Service},
    "tiers.yaml": {"tiers": Tier},
    "regions.yaml": {"parameters": RegionalParameter, "regions": Region},
    "rules.yaml": {"contradictions": Contradiction},
    "features.yaml": {"features": Feature},
}
OPTIONAL_FILES = {"rules.yaml", "regions.yaml", "features.yaml"}


class Catalog(Frozen):
    """A validated catalog. Build it with `build_catalog`, never directly."""

    header: Header
    dimensions: tuple[Dimension, ...]
    need_areas: tuple[NeedArea, ...]
    indicators: tuple[Indicator, ...]
    categories: tuple[ServiceCategory, ...]
    services: tuple[Service, ...]
    tiers: tuple[Tier, ...]
    parameters: tuple[RegionalParameter, ...] = ()
    regions: tuple[Region, ...] = ()
    contradictions: tuple[Contradiction, ...] = ()
    features: tuple[Feature, ...] = ()
    content_hash: str

    model_config = ConfigDict(frozen=True, extra="forbid", ignored_types=(cached_property,))

    @property
    def id(self) -> str:
        return self.header.id

    @property
    def version(self) -> str:
        return self.header.version

    @property
    def settings(self) -> Settings:
        return self.header.settings

    @cached_property
    def indicator_by_id(self) -> dict[str, Indicator]:
        return {i.id: i for i in self.indicators}

    @cached_property
    def dimension_by_id(self) -> dict[str, Dimension]:
        return {d.id: d for d in self.dimensions}

    @cached_property
    def service_by_id(self) -> dict[str, Service]:
        return {s.id: s for s in self.services}

    @cached_property
    def tier_ids(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.tiers)

    @cached_property
    def region_by_id(self) -> dict[str, Region]:
        return {r.id: r for r in self.regions}

    @cached_property
    def indicator_position(self) -> dict[str, int]:
        return {i.id: n for n, i in enumerate(self.indicators)}

    @cached_property
    def critical_ids(self) -> tuple[str, ...]:
        """The critical indicators, in catalog order."""
        return tuple(i.id for i in self.indicators if i.critical is not None)

    @cached_property
    def conditional_indicators(self) -> tuple[Indicator, ...]:
        """The indicators that apply only under conditions (`applies_when`)."""
        return tuple(i for i in self.indicators if i.applies_when)

    @cached_property
    def condition_indicators(self) -> frozenset[str]:
        """The indicators whose answers a condition reads (applicability, eligibility, contradictions)."""
        conditions = [c for i in self.indicators for c in i.applies_when] + \
            [c for s in self.services for c in s.eligibility] + [c for r in self.contradictions for c in r.when]
        return frozenset(c.indicator for c in conditions) | {c.value_of for c in conditions if c.value_of}

    @cached_property
    def service_triggers(self) -> dict[str, tuple[str, ...]]:
        """The indicators that can trigger each service: its own list, else those of its need areas."""
        out = {}
        for svc in self.services:
            if svc.triggers:
                out[svc.id] = svc.triggers
            else:
                areas = set(svc.need_areas)
                out[svc.id] = tuple(i.id for i in self.indicators if areas & set(i.need_areas))
        return out

    @cached_property
    def parameter_by_id(self) -> dict[str, RegionalParameter]:
        return {p.id: p for p in self.parameters}

    def region_chain(self, region: str) -> list[Region]:
        """The region and its parents, nearest first (empty for an unknown region)."""
        chain, current = [], self.region_by_id.get(region)
        while current is not None and all(current.id != seen.id for seen in chain):
            chain.append(current)
            current = self.region_by_id.get(current.parent) if current.parent else None
        return chain

    def parameter_source(self, name: str, region: str, year: int) -> tuple[float, Region, int] | None:
        """(value, the region that sets it, the year it is set for) of a regional parameter for a region and
        year: the region's own value of the latest year up to `year`, else its parent's, and so on; None
        when there is none."""
        for current in self.region_chain(region):
            years = [y for y, v in current.values.items() if y <= year and name in v]
            if years:
                return current.values[max(years)][name], current, max(years)
        return None

    def parameter(self, name: str, region: str, year: int) -> float | None:
        """A regional parameter for a region and year (see `parameter_source`); None when there is none."""
        found = self.parameter_source(name, region, year)
        return None if found is None else found[0]

    def default_config(self) -> "ScoringConfig":
        return ScoringConfig(
            id="default",
            version=f"{self.id}@{self.version}",
            catalog_id=self.id,
            catalog_version=self.version,
            method="weighted_mean",
            indicator_weights={i.id: i.weight for i in self.indicators},
            dimension_weights={d.id: d.weight for d in self.dimensions},
            tier_cutoffs={t.id: t.min_index for t in self.tiers},
            af_deprivation_cutoff=self.settings.af_deprivation_cutoff,
            af_poverty_cutoff=self.settings.af_poverty_cutoff,
            completeness_threshold=self.settings.completeness_threshold,
        )


class ScoringConfig(Frozen):
    """Weights, tier cut-offs and method over one catalog version: what an analyst tunes."""

    id: str
    version: str
    catalog_id: str
    catalog_version: str
    method: Literal["weighted_mean", "alkire_foster"] = "weighted_mean"
    indicator_weights: dict[str, float]
    dimension_weights: dict[str, float]
    tier_cutoffs: dict[str, float]
    af_deprivation_cutoff: Score = 0.5
    af_poverty_cutoff: Score = 0.33
    completeness_threshold: Score = 0.8

    @field_validator("indicator_weights", "dimension_weights")
    @classmethod
    def _positive(cls, weights: dict[str, float]) -> dict[str, float]:
        for key, value in weights.items():
            if not value > 0:
                raise ValueError(f"weight of {shown(key)} must be positive, got {shown(value)}")
        return weights


def check_config(catalog: Catalog, config: ScoringConfig) -> None:
    """Raise ConfigError naming the field when `config` does not fit `catalog`."""
    if config.catalog_id != catalog.id:
        raise ConfigError(
            "catalog_id",
            f"configuration is for catalog {shown(config.catalog_id)}, not {catalog.id!r}",
            f"配置属于目录 {shown(config.catalog_id)},而非 {catalog.id!r}",
        )
    for field, known, what, what_zh in (
        ("indicator_weights", catalog.indicator_by_id, "indicator", "指标"),
        ("dimension_weights", catalog.dimension_by_id, "dimension", "维度"),
        ("tier_cutoffs", dict.fromkeys(catalog.tier_ids), "tier", "困境等级"),
    ):
        given = getattr(config, field)
        if given.keys() == known.keys():
            continue
        for key in given:
            if key not in known:
                raise ConfigError(f"{field}.{clipped(key)}", f"unknown {what} id {shown(key)}",
                                  f"未知的{what_zh}编号 {shown(key)}",
                                  code=f"unknown_{what}")
        for key in known:
            if key not in given:
                raise ConfigError(f"{field}.{key}", f"missing {what} {key!r}", f"缺少{what_zh} {key!r}",
                                  code=f"missing_{what}")
    cutoffs = [config.tier_cutoffs[t] for t in catalog.tier_ids]
    if cutoffs[0] != 0:
        raise ConfigError(f"tier_cutoffs.{catalog.tier_ids[0]}", "the lowest tier must start at 0",
                          "最低档必须从 0 开始", code="bad_cutoffs")
    for (a, b), (ta, tb) in zip(zip(cutoffs, cutoffs[1:]), zip(catalog.tier_ids, catalog.tier_ids[1:])):
        if not a < b:
            raise ConfigError(f"tier_cutoffs.{tb}",
                              f"cut-off of {tb!r} ({b}) must be above that of {ta!r} ({a})",
                              f"{tb!r} 的分界值({b})必须高于 {ta!r} 的({a})", code="bad_cutoffs")
    if cutoffs[-1] > 100:
        raise ConfigError(f"tier_cutoffs.{catalog.tier_ids[-1]}", "cut-offs must lie in 0-100",
                          "分界值必须在 0-100 之间", code="bad_cutoffs")


def _entry_name(entry: Any, position: int) -> str:
    if isinstance(entry, dict) and isinstance(entry.get("id"), str):
        return entry["id"]
    return f"entry #{position + 1}"


def _pydantic_problem(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        parts.append(f"{where}: {err['msg']}" if where else err["msg"])
    return "; ".join(parts)


def content_hash(documents: dict[str, Any]) -> str:
    canonical = json.dumps(documents, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def build_catalog(documents: dict[str, Any]) -> Catalog:
    """Validate the parsed documents of a catalog file set and build the Catalog."""
    errors: list[CatalogError] = []

    def fail(file: str, entry: str, problem: str, code: str = "invalid_catalog") -> None:
        errors.append(CatalogError(file, entry, problem, code=code))

    for name in FILES:
        if name not in documents and name not in OPTIONAL_FILES:
            fail(name, "(file)", "required file is missing", "missing_file")
    for name in documents:
        if name not in FILES:
            fail(name, "(file)", f"unknown file; expected one of {', '.join(FILES)}", "unknown_file")

    header = None
    raw_header = documents.get("catalog.yaml")
    if raw_header is not None:
        try:
            header = Header.model_validate(raw_header)
        except ValidationError as exc:
            fail("catalog.yaml", "(header)", _pydantic_problem(exc))

    parts: dict[str, tuple] = {}
    broken: set[str] = set()  # ids of entries already reported, so references to them are not reported again
    for file, sections in FILES.items():
        if not sections:
            continue
        doc = documents.get(file)
        if doc is None:
            for key in sections:
                parts[key] = ()
            continue
        if not isinstance(doc, dict):
            fail(file, "(file)", "must be a mapping of section names to lists")
            continue
        for key in doc:
            if key not in sections:
                fail(file, key, f"unknown section; expected {', '.join(sections)}", "unknown_section")
        for key, model in sections.items():
            entries = doc.get(key, [])
            if not isinstance(entries, list):
                fail(file, key, "must be a list")
                parts[key] = ()
                continue
            built = []
            seen: set[str] = set()
            for position, entry in enumerate(entries):
                name = _entry_name(entry, position)
                try:
                    item = model.model_validate(entry)
                except ValidationError as exc:
                    fail(file, name, _pydantic_problem(exc))
                    broken.add(name)
                    continue
                if item.id in seen:
                    fail(file, item.id, f"duplicate id {item.id!r}", "duplicate_id")
                    continue
                seen.add(item.id)
                built.append(item)
            parts[key] = tuple(built)

    def fail_reference(file: str, entry: str, problem: str, code: str = "invalid_catalog") -> None:
        if not (code == "unknown_reference" and any(repr(b) in problem for b in broken)):
            fail(file, entry, problem, code)

    if header is not None:
        _check_references(parts, header, fail_reference)
    if errors:
        raise CatalogErrors(errors)
    return Catalog(header=header, content_hash=content_hash(documents), **parts)


def _check_references(parts: dict[str, tuple], header: Header, fail) -> None:
    dims = {d.id for d in parts["dimensions"]}
    needs = {n.id for n in parts["need_areas"]}
    cats = {c.id for c in parts["categories"]}
    tiers = {t.id for t in parts["tiers"]}
    params = {p.id for p in parts["parameters"]}
    regions = {r.id for r in parts["regions"]}
    indicators = {i.id: i for i in parts["indicators"]}

    for key, file in (("dimensions", "dimensions.yaml"), ("indicators", "indicators.yaml"),
                      ("need_areas", "need_areas.yaml"), ("categories", "services.yaml"),
                      ("services", "services.yaml"), ("tiers", "tiers.yaml")):
        if not parts[key]:
            fail(file, key, "must not be empty", "empty_section")
    expected = header.expected_counts
    for field, key, file in (("dimensions", "dimensions", "dimensions.yaml"),
                             ("indicators", "indicators", "indicators.yaml"),
                             ("need_areas", "need_areas", "need_areas.yaml"),
                             ("service_categories", "categories", "services.yaml"),
                             ("services", "services", "services.yaml")):
        want = getattr(expected, field)
        if want is not None and len(parts[key]) != want:
            fail(file, key, f"expected {want} entries (catalog.yaml expected_counts), found {len(parts[key])}",
                 "wrong_count")

    def check_condition(file: str, owner: str, where: str, cond: Condition) -> None:
        target = indicators.get(cond.indicator)
        if target is None:
            fail(file, owner, f"{where} refers to unknown indicator {cond.indicator!r}", "unknown_reference")
            return
        problem = condition_value_problem(target, cond, indicators)
        if problem:
            fail(file, owner, f"{where}: {problem}", "bad_condition")

    used_dims = set()
    for ind in parts["indicators"]:
        f = "indicators.yaml"
        if ind.dimension not in dims:
            fail(f, ind.id, f"unknown dimension {ind.dimension!r}", "unknown_reference")
        used_dims.add(ind.dimension)
        for area in ind.need_areas:
            if area not in needs:
                fail(f, ind.id, f"unknown need area {area!r}", "unknown_reference")
        spec = ind.answer
        if spec.type == "ordinal":
            values = [lv.value for lv in spec.levels]
            if len(set(values)) != len(values):
                fail(f, ind.id, "ordinal levels repeat a value", "duplicate_level")
            if values != sorted(values):
                fail(f, ind.id, "ordinal levels must be listed in ascending order", "unordered_levels")
        if spec.type == "choice":
            values = [op.value for op in spec.options]
            if len(set(values)) != len(values):
                fail(f, ind.id, "choice options repeat a value", "duplicate_level")
        if spec.type in ("count", "amount"):
            problem = _band_problem(spec.bands, spec.min, spec.max)
            if problem:
                fail(f, ind.id, problem, "unmapped_answer")
            if spec.max < spec.min:
                fail(f, ind.id, f"max {spec.max} is below min {spec.min}", "bad_range")
        if spec.type == "amount":
            if spec.per_capita_of is not None:
                other = indicators.get(spec.per_capita_of)
                if other is None:
                    fail(f, ind.id, f"per_capita_of refers to unknown indicator {spec.per_capita_of!r}",
                         "unknown_reference")
                elif other.answer.type != "count" or not other.required:
                    fail(f, ind.id, f"per_capita_of must name a required count indicator, "
                                    f"{spec.per_capita_of!r} is not", "bad_reference")
            if spec.relative_to is not None and spec.relative_to not in params:
                fail(f, ind.id, f"relative_to refers to unknown regional parameter {spec.relative_to!r}",
                     "unknown_reference")
        for cond in ind.applies_when:
            check_condition(f, ind.id, "applies_when", cond)
            controller = indicators.get(cond.indicator)
            if controller is not None and not controller.required:
                fail(f, ind.id, f"applies_when refers to {cond.indicator!r}, which must then be required "
                                f"(otherwise applicability could be unknown)", "bad_reference")
            if cond.indicator == ind.id:
                fail(f, ind.id, "applies_when refers to the indicator itself", "bad_reference")
        if ind.critical is not None and ind.critical.tier not in tiers:
            fail(f, ind.id, f"critical tier {ind.critical.tier!r} is not a tier", "unknown_reference")
    for dim in parts["dimensions"]:
        if dim.id not in used_dims:
            fail("dimensions.yaml", dim.id, "no indicator belongs to this dimension", "empty_dimension")

    for svc in parts["services"]:
        f = "services.yaml"
        if svc.category not in cats:
            fail(f, svc.id, f"unknown category {svc.category!r}", "unknown_reference")
        for area in svc.need_areas:
            if area not in needs:
                fail(f, svc.id, f"unknown need area {area!r}", "unknown_reference")
        for trig in svc.triggers:
            if trig not in indicators:
                fail(f, svc.id, f"trigger refers to unknown indicator {trig!r}", "unknown_reference")
        if not svc.triggers and not any(set(i.need_areas) & set(svc.need_areas) for i in indicators.values()):
            fail(f, svc.id, "no indicator can trigger this service", "untriggerable")
        for cond in svc.eligibility:
            check_condition(f, svc.id, "eligibility", cond)
        for tier in svc.tiers:
            if tier not in tiers:
                fail(f, svc.id, f"unknown tier {tier!r}", "unknown_reference")

    tier_list = parts["tiers"]
    if tier_list:
        if tier_list[0].min_index != 0:
            fail("tiers.yaml", tier_list[0].id, "the first tier must start at min_index 0", "bad_cutoffs")
        for a, b in zip(tier_list, tier_list[1:]):
            if not a.min_index < b.min_index:
                fail("tiers.yaml", b.id, f"min_index {b.min_index} must be above {a.id!r}'s {a.min_index}",
                     "bad_cutoffs")

    for region in parts["regions"]:
        if region.parent is not None and region.parent not in regions:
            fail("regions.yaml", region.id, f"unknown parent region {region.parent!r}", "unknown_reference")
        for year, values in region.values.items():
            for name, value in values.items():
                if name not in params:
                    fail("regions.yaml", region.id, f"year {year}: unknown parameter {name!r}", "unknown_reference")
                elif not value > 0:
                    fail("regions.yaml", region.id, f"year {year}: {name} must be positive", "bad_value")
    for rule in parts["contradictions"]:
        for cond in rule.when:
            check_condition("rules.yaml", rule.id, "when", cond)
    for feature in parts["features"]:
        if feature.id in indicators:
            fail("features.yaml", feature.id, f"feature id {feature.id!r} is also an indicator id", "duplicate_id")


def _band_problem(bands: tuple[Band, ...], low: float, high: float) -> str | None:
    if bands[-1].below is not None:
        return "the last band must have no 'below' so that every answer up to max maps to a score"
    limits = [b.below for b in bands[:-1]]
    if any(lim is None for lim in limits):
        return "only the last band may omit 'below'"
    if limits != sorted(limits) or len(set(limits)) != len(limits):
        return "band limits ('below') must be strictly ascending"
    return None


NUMERIC_TYPES = ("ordinal", "count", "amount")


def condition_value_problem(target: Indicator, cond: Condition, indicators: dict[str, Indicator]) -> str | None:
    """Why a condition's value cannot be compared with answers to `target`, or None."""
    spec = target.answer
    if cond.value_of is not None:
        other = indicators.get(cond.value_of)
        if other is None:
            return f"value_of refers to unknown indicator {cond.value_of!r}"
        if spec.type not in NUMERIC_TYPES or other.answer.type not in NUMERIC_TYPES:
            return "value_of compares two numeric answers (ordinal, count or amount)"
        return None
    values = cond.value if cond.op == "in" else [cond.value]
    if cond.op == "in" and not isinstance(cond.value, list):
        return "'in' needs a list of values"
    for value in values:
        if spec.type == "yes_no":
            if not isinstance(value, bool) or cond.op not in ("eq", "ne", "in"):
                return f"{target.id} is yes/no: compare with eq/ne and true/false"
        elif spec.type == "ordinal":
            if isinstance(value, bool) or not isinstance(value, int) or value not in {lv.value for lv in spec.levels}:
                return f"{value!r} is not a level of {target.id}"
        elif spec.type == "choice":
            if value not in {op.value for op in spec.options} or cond.op not in ("eq", "ne", "in"):
                return f"{value!r} is not an option of {target.id} (choices compare with eq/ne/in)"
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"{target.id} is a number: compare with a number"
    return None
