"""Features for the learned side: what a catalog knows about a household, as numbers.

Three blocks of columns, NaN where an answer is missing, invalid or not applicable:
- deprivation scores, one column per indicator, named by the indicator id (what the index scores);
- the raw answers (`answer:ID`): yes/no as 1/0, levels, counts and amounts as given, and one 0/1 column
  per option of a choice question (`answer:ID=OPTION`); they keep what the banding into [0, 1] loses;
- the extra household features the catalog declares in features.yaml (`feature:ID`), numeric columns
  of the household frame passed as they are; the index never scores them.
Column names with ':' cannot collide with indicator ids. The hardship model takes NaN as it is
(gradient boosting learns where missing rows go); the weight learner sees the deprivation block only.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from assessment import AssessmentResult, Catalog, answer_matrix, deprivation_matrix
from assessment.rules import answer_code

ANSWER_PREFIX = "answer:"
FEATURE_PREFIX = "feature:"
BLOCKS = ("deprivations", "answers", "features")
# Raw answers and declared features did not help on the Costa Rica survey (docs/learning.md), so the
# model sees the deprivation scores unless asked for more.
DEFAULT_BLOCKS = ("deprivations",)


def indicator_ids(catalog: Catalog) -> list[str]:
    return [indicator.id for indicator in catalog.indicators]


def answer_columns(catalog: Catalog) -> list[str]:
    columns = []
    for indicator in catalog.indicators:
        if indicator.answer.type == "choice":
            columns += [f"{ANSWER_PREFIX}{indicator.id}={option.value}" for option in indicator.answer.options]
        else:
            columns.append(f"{ANSWER_PREFIX}{indicator.id}")
    return columns


def feature_columns(catalog: Catalog) -> list[str]:
    return [f"{FEATURE_PREFIX}{feature.id}" for feature in catalog.features]


def model_columns(catalog: Catalog) -> list[str]:
    """Every column `household_features` produces, in order."""
    return indicator_ids(catalog) + answer_columns(catalog) + feature_columns(catalog)


def deprivation_features(catalog: Catalog, frame: pd.DataFrame) -> pd.DataFrame:
    """One row per household of `frame` (answers), one float column per indicator."""
    scores, _applicable = deprivation_matrix(catalog, frame)
    return pd.DataFrame(scores, columns=indicator_ids(catalog), index=frame.index)


def household_features(catalog: Catalog, frame: pd.DataFrame, blocks=DEFAULT_BLOCKS) -> pd.DataFrame:
    """The chosen blocks (of BLOCKS) for every household of `frame`, in BLOCKS order.
    A declared feature absent from `frame` is NaN throughout."""
    unknown = sorted(set(blocks) - set(BLOCKS))
    if unknown or not blocks:
        raise ValueError(f"feature blocks {unknown or '(none)'}: choose from {list(BLOCKS)} / 特征块须取自 {list(BLOCKS)}")
    parts = []
    if "deprivations" in blocks:
        parts.append(deprivation_features(catalog, frame))
    if "answers" in blocks:
        parts.append(_answer_block(catalog, answer_matrix(catalog, frame), frame.index))
    if "features" in blocks:
        parts.append(pd.DataFrame({f"{FEATURE_PREFIX}{feature.id}": _numeric(frame, feature.id)
                                   for feature in catalog.features}, index=frame.index))
    return pd.concat(parts, axis=1).astype(float)


def _answer_block(catalog: Catalog, values: np.ndarray, index: pd.Index) -> pd.DataFrame:
    block = {}
    for j, indicator in enumerate(catalog.indicators):
        column = values[:, j]
        if indicator.answer.type == "choice":
            for option in indicator.answer.options:
                block[f"{ANSWER_PREFIX}{indicator.id}={option.value}"] = np.where(
                    np.isnan(column), np.nan, (column == answer_code(indicator, option.value)).astype(float))
        else:
            block[f"{ANSWER_PREFIX}{indicator.id}"] = column
    return pd.DataFrame(block, index=index)


def _numeric(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series(np.nan, index=frame.index)
    return pd.to_numeric(frame[column], errors="coerce").astype(float)


def result_features(catalog: Catalog, result: AssessmentResult,
                    answers: Mapping[str, object] | None = None) -> pd.DataFrame:
    """The one-row feature frame of an assessed household: its deprivations from `result`, and its raw
    answers and declared features from `answers` (indicator or feature id -> value) when given, else NaN."""
    row = household_features(catalog, pd.DataFrame([dict(answers or {})]), blocks=BLOCKS).reset_index(drop=True)
    row[indicator_ids(catalog)] = [[result.deprivations.get(i, np.nan) for i in indicator_ids(catalog)]]
    return row.astype(float)


def forced_by_critical(catalog: Catalog, features: pd.DataFrame) -> np.ndarray:
    """Rows where a critical indicator forces the tier (its deprivation reaches `at_least_score`):
    their verified tier says nothing about the weights of the index."""
    forced = np.zeros(len(features), dtype=bool)
    for indicator in catalog.indicators:
        if indicator.critical is not None and indicator.id in features:
            forced |= features[indicator.id].fillna(0.0).to_numpy() >= indicator.critical.at_least_score
    return forced
