"""The discovery sources and rules as validated data: `discovery/` beside the catalog (sources/*.yaml, rules.yaml).
A bad file is a clear error naming the file and the field; an indicator a rule names must be in the catalog."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from assessment.errors import CoreError, Message

IDENTIFIER = r"^[a-z][a-z0-9_]{0,63}$"


class Label(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Columns(BaseModel):
    """Which column of the department's file holds each field."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id_number: str = Field(min_length=1)
    name: str = Field(min_length=1)
    birth_date: str = Field(min_length=1)
    town: str = Field(min_length=1)
    recorded_on: str = Field(min_length=1)
    detail: str | None = Field(None, min_length=1)


class Source(BaseModel):
    """One department's records: its columns, the signal each row gives, and how long it stays fresh."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=IDENTIFIER)
    label: Label
    columns: Columns
    signal: str = Field(pattern=IDENTIFIER)
    detail_type: Literal["text", "number"] | None = None
    fresh_days: int = Field(ge=1, le=3650)

    @model_validator(mode="after")
    def _detail(self) -> "Source":
        if (self.columns.detail is None) != (self.detail_type is None):
            raise ValueError("columns.detail and detail_type go together")
        names = [v for v in self.columns.model_dump().values() if v is not None]
        if len(set(names)) != len(names):
            raise ValueError("two fields read the same column")
        return self


class Rule(BaseModel):
    """A discovery rule over one kind of fresh signal (and its detail): a reason, and its weight in the priority."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=IDENTIFIER)
    signal: str = Field(pattern=IDENTIFIER)
    detail_in: tuple[str, ...] | None = Field(None, min_length=1)
    detail_at_least: float | None = None
    priority: int = Field(ge=0, le=1000)
    candidate: bool = True
    indicator: str | None = None
    reason: Label

    @model_validator(mode="after")
    def _one_test(self) -> "Rule":
        if self.detail_in is not None and self.detail_at_least is not None:
            raise ValueError("a rule tests detail_in or detail_at_least, not both")
        return self


class RuleSet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    visit_days: int = Field(ge=1, le=365)
    rules: tuple[Rule, ...] = Field(min_length=1)


@dataclass(frozen=True)
class Discovery:
    """The sources by id and the rules, as loaded from one folder."""

    sources: dict[str, Source]
    rules: tuple[Rule, ...]
    visit_days: int


def _bad(path: str, en: str, zh: str, code: str = "bad_discovery_file") -> CoreError:
    return CoreError(Message(zh, en), path=path, code=code)


def _read(path: Path) -> dict:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise _bad(path.name, f"not valid YAML: {exc}", f"不是有效的 YAML:{exc}", "bad_yaml") from None
    if not isinstance(document, dict):
        raise _bad(path.name, "must be a mapping", "必须是映射", "bad_yaml")
    return document


def _validated(model, path: Path):
    try:
        return model.model_validate(_read(path))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(file)"
        raise _bad(f"{path.name}: {where}", first["msg"], f"无效:{first['msg']}") from None


def load_discovery(folder: Path, indicator_ids: frozenset[str] | None = None) -> Discovery:
    """The sources and rules of `folder` (a catalog's `discovery/`), checked: unique ids, rules over known
    signals, indicators of the catalog. A catalog without the folder has no sources and no rules."""
    if not folder.is_dir():
        return Discovery({}, (), 30)
    sources: dict[str, Source] = {}
    for path in sorted((folder / "sources").glob("*.yaml")):
        source = _validated(Source, path)
        if source.id in sources:
            raise _bad(path.name, f"source {source.id} is defined twice", f"数据源 {source.id} 重复定义")
        sources[source.id] = source
    rule_set = _validated(RuleSet, folder / "rules.yaml")
    rules = rule_set.rules
    signals = {s.signal for s in sources.values()}
    seen = set()
    for rule in rules:
        if rule.id in seen:
            raise _bad(f"rules.yaml: {rule.id}", "rule defined twice", "规则重复定义")
        seen.add(rule.id)
        if rule.signal not in signals:
            raise _bad(f"rules.yaml: {rule.id}.signal", f"no source gives the signal {rule.signal}",
                       f"没有数据源产生信号 {rule.signal}")
        if rule.indicator is not None and indicator_ids is not None and rule.indicator not in indicator_ids:
            raise _bad(f"rules.yaml: {rule.id}.indicator", f"unknown indicator {rule.indicator}",
                       f"未知指标 {rule.indicator}")
    return Discovery(sources, rules, rule_set.visit_days)


def discovery_folder(catalog_dir: Path | None) -> Path:
    from indicators import DEFAULT_CATALOG_DIR

    return Path(catalog_dir or DEFAULT_CATALOG_DIR) / "discovery"


@lru_cache(maxsize=8)
def discovery_for(catalog_dir: Path | None, indicator_ids: frozenset[str]) -> Discovery:
    """The discovery data beside the catalog in use (loaded once per folder)."""
    return load_discovery(discovery_folder(catalog_dir), indicator_ids)


def discovery_of(context) -> Discovery:
    """The discovery data of a service context's catalog."""
    catalog = context.scorer.catalog
    return discovery_for(context.settings.catalog_dir, frozenset(i.id for i in catalog.indicators))


class Condition(BaseModel):
    """One condition on an answer of the latest assessment."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    indicator: str = Field(min_length=1)
    is_: bool | None = Field(None, alias="is")
    at_least: float | None = None
    in_: tuple[str | int | float, ...] | None = Field(None, alias="in", min_length=1)

    @model_validator(mode="after")
    def _one_test(self) -> "Condition":
        if sum(test is not None for test in (self.is_, self.at_least, self.in_)) != 1:
            raise ValueError("a condition has exactly one of is, at_least, in")
        return self


class WarningRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=IDENTIFIER)
    events: tuple[str, ...] = Field(min_length=1)
    all: tuple[Condition, ...] = Field(min_length=1)
    risk: int = Field(ge=1, le=1000)
    reason: Label


class WarningRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    events: dict[str, Label] = Field(min_length=1)
    rules: tuple[WarningRule, ...] = Field(min_length=1)


TESTS_BY_TYPE = {"yes_no": ("is_",), "count": ("at_least",), "amount": ("at_least",),
                 "ordinal": ("at_least", "in_"), "choice": ("in_",)}


def load_warning_rules(folder: Path, catalog=None) -> WarningRules:
    """`warning.yaml` of a catalog's `discovery/`, checked: known events, unique ids, and conditions on the
    catalog's indicators that suit their answer types. A catalog without the folder has no events."""
    path = folder / "warning.yaml"
    if not folder.is_dir():  # a catalog without discovery data: no events
        return WarningRules.model_construct(events={}, rules=())
    rules = _validated(WarningRules, path)
    answers = {i.id: i.answer.type for i in catalog.indicators} if catalog is not None else None
    seen = set()
    for rule in rules.rules:
        if rule.id in seen:
            raise _bad(f"warning.yaml: {rule.id}", "rule defined twice", "规则重复定义")
        seen.add(rule.id)
        for event in rule.events:
            if event not in rules.events:
                raise _bad(f"warning.yaml: {rule.id}.events", f"unknown event {event}", f"未知事件 {event}")
        for position, condition in enumerate(rule.all):
            where = f"warning.yaml: {rule.id}.all.{position}"
            if answers is None:
                continue
            if condition.indicator not in answers:
                raise _bad(where, f"unknown indicator {condition.indicator}", f"未知指标 {condition.indicator}")
            test = next(name for name in ("is_", "at_least", "in_") if getattr(condition, name) is not None)
            if test not in TESTS_BY_TYPE[answers[condition.indicator]]:
                raise _bad(where, f"{test.rstrip('_')} does not suit a {answers[condition.indicator]} answer",
                           f"{test.rstrip('_')} 不适用于 {answers[condition.indicator]} 类型的答案")
    return rules


_WARNING_RULES: dict[tuple, WarningRules] = {}


def warning_rules_of(context) -> WarningRules:
    """The early-warning rules beside the service context's catalog (loaded once per folder and catalog)."""
    catalog = context.scorer.catalog
    key = (context.settings.catalog_dir, catalog.content_hash)
    if key not in _WARNING_RULES:
        _WARNING_RULES[key] = load_warning_rules(discovery_folder(context.settings.catalog_dir), catalog)
    return _WARNING_RULES[key]
