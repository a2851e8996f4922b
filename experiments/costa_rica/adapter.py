"""Turn the survey's person rows into one row of answers per household, driven by answers.yaml.

Household columns repeat on every member's row, so they are read from one representative row: the head
(`parentesco1 == 1`), or the first listed member when a household has no head. The label is the head's
`Target`; a household with no head takes its members' most common Target (the more severe on a tie).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from assessment.catalog import Catalog

MAPPING_FILE = Path(__file__).parent / "answers.yaml"
YES_NO = {"yes": 1.0, "no": 0.0}


class AdapterError(ValueError):
    """A survey value that cannot be read, with the column, the person and what was wrong."""

    def __init__(self, column: str, person: str, value: Any, message_en: str, message_zh: str):
        self.column, self.person, self.value = column, person, value
        self.message_en, self.message_zh = message_en, message_zh
        super().__init__(f"{column} (person {person}): {message_en} / {message_zh}")


@dataclass(frozen=True)
class Households:
    """One row per household, all indexed alike by household id."""

    answers: pd.DataFrame      # household_id + one column per indicator (None where missing) and per feature
    labels: pd.Series          # tier id, None without a Target
    has_head: pd.Series        # bool
    groups: pd.DataFrame       # one column per group of answers.yaml (e.g. region, area)
    raw: pd.DataFrame          # the representative row's columns as numbers (for plain baselines)


def load_mapping(path: Path | str | None = None) -> dict:
    return yaml.safe_load(Path(path or MAPPING_FILE).read_text(encoding="utf-8"))


def to_numbers(people: pd.DataFrame, column: str, person_ids: pd.Series) -> pd.Series:
    """A column as floats: "yes" -> 1, "no" -> 0, blank -> NaN; anything else unreadable is an error."""
    values = people[column]
    if pd.api.types.is_numeric_dtype(values):
        return values.astype(float)
    text = values.astype("string").str.strip().str.lower()
    mapped = text.map(YES_NO)
    numbers = pd.to_numeric(text.where(mapped.isna()), errors="coerce")
    result = mapped.fillna(numbers).astype(float)
    bad = result.isna() & text.notna() & (text != "") & (text != "nan")
    if bad.any():
        row = bad.to_numpy().nonzero()[0][0]
        raise AdapterError(column, str(person_ids.iloc[row]), values.iloc[row],
                           f"{values.iloc[row]!r} is neither a number nor yes/no",
                           f"{values.iloc[row]!r} 既不是数字也不是 yes/no")
    return result


def households(people: pd.DataFrame, catalog: Catalog, mapping: dict | None = None) -> Households:
    """The households of `people` (one row per person) as answers to `catalog`."""
    mapping = mapping or load_mapping()
    household_col, head_col = mapping["household"], mapping["head"]
    for column in (household_col, head_col):
        if column not in people.columns:
            raise AdapterError(column, "-", None, "required column is missing", "缺少必需的列")
    people = people.reset_index(drop=True)
    person_ids = people["Id"] if "Id" in people.columns else pd.Series(people.index.astype(str))
    numbers = pd.DataFrame({c: to_numbers(people, c, person_ids) for c in people.columns
                            if c not in (household_col, "Id")})
    numbers.index = people[household_col].astype(str)
    is_head = numbers[head_col].fillna(0).to_numpy() == 1
    order = np.lexsort((np.arange(len(numbers)), ~is_head))   # heads first, then listing order
    representative = numbers.iloc[order]
    representative = representative[~representative.index.duplicated()]
    ids = pd.Index(pd.unique(numbers.index))
    representative = representative.reindex(ids)

    has_head = pd.Series(representative[head_col].to_numpy() == 1, index=ids)
    answers = {"household_id": pd.Series(ids, index=ids, dtype=object)}
    for indicator in catalog.indicators:
        recipe = mapping["recipes"].get(indicator.id)
        if recipe is None:
            raise AdapterError(indicator.id, "-", None, "the catalog's indicator has no recipe in answers.yaml",
                               "该指标在 answers.yaml 中没有取值方法")
        values = _apply(recipe, representative, numbers)
        answers[indicator.id] = pd.Series(_typed(values, indicator.answer.type), index=ids, dtype=object)
    for feature in catalog.features:
        recipe = mapping.get("features", {}).get(feature.id)
        if recipe is None:
            raise AdapterError(feature.id, "-", None, "the catalog's feature has no recipe in answers.yaml",
                               "该特征在 answers.yaml 中没有取值方法")
        try:
            answers[feature.id] = _apply(recipe, representative, numbers).astype(float)
        except AdapterError:   # a feature is optional for the model: a column the file lacks makes it NaN
            answers[feature.id] = pd.Series(np.nan, index=ids)
    groups = pd.DataFrame({name: _apply(recipe, representative, numbers)
                           for name, recipe in mapping.get("groups", {}).items()}, index=ids)
    return Households(
        answers=pd.DataFrame(answers, index=ids),
        labels=_labels(mapping["label"], representative, numbers, has_head),
        has_head=has_head,
        groups=groups,
        raw=representative.drop(columns=[mapping["label"]["column"]], errors="ignore"),
    )


def _apply(recipe: dict, representative: pd.DataFrame, numbers: pd.DataFrame) -> pd.Series:
    def column(name: str) -> pd.Series:
        if name not in representative.columns:
            raise AdapterError(name, "-", None, "column named in answers.yaml is missing", "answers.yaml 中的列不存在")
        return representative[name]

    if "column" in recipe:
        values = column(recipe["column"])
    elif "max_of" in recipe:
        values = pd.concat([column(c) for c in recipe["max_of"]], axis=1).max(axis=1)
    elif "sum_of" in recipe:
        values = pd.concat([column(c) for c in recipe["sum_of"]], axis=1).sum(axis=1, min_count=1)
    elif "one_hot" in recipe:
        values = pd.Series(None, index=representative.index, dtype=object)
        for option, name in reversed(list(recipe["one_hot"].items())):   # the first option set wins
            values = values.mask(column(name).to_numpy() == 1, option)
    elif "members" in recipe:
        values = _over_members(recipe["members"], numbers).reindex(representative.index)
    else:
        raise AdapterError(str(recipe), "-", None, "recipe has no source (column, max_of, sum_of, one_hot, members)",
                           "取值方法缺少来源")
    if "divide_by" in recipe:
        divisor = recipe["divide_by"]
        divisor = column(divisor) if isinstance(divisor, str) else _apply(divisor, representative, numbers)
        values = values.astype(float) / divisor.astype(float).replace(0, np.nan)
    if "missing" in recipe:
        values = values.where(values.notna(), recipe["missing"])
    if "bins" in recipe:
        numeric = values.astype(float)
        levels = 1 + (numeric.to_numpy()[:, None] > np.asarray(recipe["bins"], dtype=float)).sum(axis=1)
        values = pd.Series(np.where(numeric.isna(), np.nan, levels), index=values.index)
    return values


def _over_members(spec: dict, numbers: pd.DataFrame) -> pd.Series:
    named = [spec[k] for k in ("sum", "mean", "min", "max") if k in spec]
    columns = [c for name in named for c in ([name] if isinstance(name, str) else name)]
    for name in columns + (["age"] if "age_from" in spec or "age_to" in spec else []):
        if name not in numbers.columns:
            raise AdapterError(name, "-", None, "column named in answers.yaml is missing", "answers.yaml 中的列不存在")
    members = numbers
    if "age_from" in spec or "age_to" in spec:
        age = numbers["age"]
        members = numbers[(age >= spec.get("age_from", -np.inf)) & (age <= spec.get("age_to", np.inf))]
    every = pd.Index(pd.unique(numbers.index))
    if spec.get("count"):
        return members.groupby(level=0, sort=False).size().reindex(every, fill_value=0).astype(float)
    how = next(k for k in ("sum", "mean", "min", "max") if k in spec)
    # a list of columns is summed per person first (e.g. several 0/1 columns of one question)
    value = members[spec[how]] if isinstance(spec[how], str) else members[spec[how]].sum(axis=1, min_count=1)
    grouped = value.groupby(level=0, sort=False)
    if how == "sum":
        return grouped.sum(min_count=1).reindex(every).fillna(0.0)
    return getattr(grouped, how)().reindex(every)


def _typed(values: pd.Series, answer_type: str) -> list:
    """Answers as the core takes them: bool, int or option id; None where missing."""
    def one(value):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return None
        if answer_type == "yes_no":
            return bool(value != 0)
        if answer_type in ("ordinal", "count"):
            return int(round(float(value)))
        if answer_type == "choice":
            return str(value)
        return float(value)
    return [one(v) for v in values]


def _labels(spec: dict, representative: pd.DataFrame, numbers: pd.DataFrame, has_head: pd.Series) -> pd.Series:
    column, tiers = spec["column"], {float(k): v for k, v in spec["tiers"].items()}
    ids = representative.index
    if column not in numbers.columns:
        return pd.Series(None, index=ids, dtype=object)
    # without a head: the members' most common Target; min() picks the more severe (lower) on a tie
    common = numbers[column].groupby(level=0).agg(lambda s: s.mode().min() if s.notna().any() else np.nan)
    target = representative[column].where(has_head, common.reindex(ids))
    unknown = target.notna() & ~target.isin(list(tiers))
    if unknown.any():
        household = unknown.to_numpy().nonzero()[0][0]
        raise AdapterError(column, f"household {ids[household]}", target.iloc[household],
                           f"label must be one of {sorted(tiers)}", f"标签必须是 {sorted(tiers)} 之一")
    return target.map(tiers).astype(object).where(target.notna(), None)
