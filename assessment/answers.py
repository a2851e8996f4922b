"""Reading one answer: accepted forms, canonical values, deprivation scores, and the findings' messages.

The single-household path uses these functions directly; the batch path applies `parse_answer`
to the distinct values of text columns, so both read answers the same way.
"""

from __future__ import annotations

import math
from typing import Any

from assessment.catalog import Band, Catalog, Indicator
from assessment.errors import Finding, Message, shown
from assessment.rules import PARAMETER_FINDINGS

YES = frozenset({"yes", "y", "true", "t", "1", "是", "有"})
NO = frozenset({"no", "n", "false", "f", "0", "否", "无", "沒有", "没有"})

MESSAGES: dict[str, tuple[str, str]] = {
    "unknown_indicator": ("没有编号为 {indicator} 的指标", "there is no indicator {indicator}"),
    "wrong_type": ("{label}:答案 {value} 不是{kind}", "{label_en}: answer {value} is not {kind_en}"),
    "unknown_level": ("{label}:{value} 不是可选的等级({allowed})",
                      "{label_en}: {value} is not one of the levels ({allowed})"),
    "unknown_option": ("{label}:{value} 不是可选项({allowed})",
                       "{label_en}: {value} is not one of the options ({allowed})"),
    "not_whole_number": ("{label}:{value} 必须是整数", "{label_en}: {value} must be a whole number"),
    "out_of_range": ("{label}:{value} 超出范围 {low}–{high}", "{label_en}: {value} is outside {low}-{high}"),
    "missing_required": ("{label}:必答题未作答", "{label_en}: this question must be answered"),
    "not_applicable": ("{label}:本题不适用于该家庭,答案不计分", "{label_en}: does not apply to this household; the answer is ignored"),
    "bad_divisor": ("{label}:无法按人均计算,{other} 为 0", "{label_en}: cannot compute per member, {other_en} is 0"),
    "missing_region": ("需要地区才能按当地{parameter}计算 {label}",
                       "a region is needed to compare {label_en} with the local {parameter_en}"),
    "unknown_region": ("未知地区 {value}", "unknown region {value}"),
    "missing_parameter": ("地区 {value} 在 {year} 年没有{parameter}", "region {value} has no {parameter_en} for {year}"),
    "parameter_from_earlier_year": (
        "地区 {value} 没有 {year} 年的{parameter},{label}按 {used_year} 年的 {used_value} 计算",
        "region {value} has no {parameter_en} for {year}: {label_en} is compared with that of {used_year}, "
        "{used_value}"),
    "no_answers": ("没有任何适用的已答题目,无法评分", "no applicable question is answered; nothing to score"),
}

KIND = {
    "yes_no": ("是/否", "yes/no"),
    "ordinal": ("等级数字", "a level number"),
    "choice": ("选项", "an option"),
    "count": ("整数", "a whole number"),
    "amount": ("金额数字", "an amount"),
}


def message(code: str, ind: Indicator | None = None, **values: Any) -> Message:
    """The message of a finding; a quoted `value` is shown clipped (errors.shown)."""
    zh, en = MESSAGES[code]
    if "value" in values:
        values["value"] = shown(values["value"])
    if ind is not None:
        kind = KIND[ind.answer.type]
        values = {"indicator": ind.id, "label": ind.label.zh, "label_en": ind.label.en,
                  "kind": kind[0], "kind_en": kind[1], **values}
    return Message(zh=zh.format(**values), en=en.format(**values))


def finding(code: str, ind: Indicator | None, *, severity: str = "error", path: str | None = None,
            **values: Any) -> Finding:
    ind_id = ind.id if ind is not None else values.get("indicator")
    return Finding(
        code=code,
        path=path or f"answers.{ind_id}",
        message=message(code, ind, **values),
        severity=severity,
        indicator=ind_id,
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    try:  # numpy scalars
        return float(value)
    except (TypeError, ValueError):
        return None


def parse_answer(indicator: Indicator, value: Any) -> tuple[Any, str | None]:
    """(canonical value, None) for an accepted answer, or (None, error code).

    Canonical values: bool for yes/no, int for ordinal and count, str for choice, float for amount.
    """
    spec = indicator.answer
    kind = type(value)
    # answers sent in their canonical form (the usual case) are taken as they are
    if kind is bool:
        if spec.type == "yes_no":
            return value, None
    elif kind is int:
        if spec.type == "ordinal" and value in spec.score_by_value:
            return value, None
        if spec.type == "count" and spec.min <= value <= spec.max:
            return value, None
    elif kind is str:
        if spec.type == "choice" and value in spec.score_by_value:
            return value, None
    elif kind is float and spec.type == "amount" and math.isfinite(value) and spec.min <= value <= spec.max:
        return value, None
    if spec.type == "yes_no":
        if isinstance(value, str):
            text = value.strip().lower()
            if text in YES:
                return True, None
            if text in NO:
                return False, None
            return None, "wrong_type"
        number = _number(value)
        if number in (0.0, 1.0):
            return number == 1.0, None
        return None, "wrong_type"
    if spec.type == "choice":
        text = str(value).strip() if isinstance(value, str) else None
        if text is None:
            return None, "wrong_type"
        if text in spec.score_by_value:
            return text, None
        return None, "unknown_option"
    number = _number(value)
    if number is None or not math.isfinite(number):
        return None, "wrong_type"
    if spec.type == "ordinal":
        if not number.is_integer():
            return None, "unknown_level"
        if int(number) not in spec.score_by_value:
            return None, "unknown_level"
        return int(number), None
    if spec.type == "count" and not number.is_integer():
        return None, "not_whole_number"
    if not spec.min <= number <= spec.max:
        return None, "out_of_range"
    return (int(number) if spec.type == "count" else number), None


def allowed_text(indicator: Indicator) -> str:
    spec = indicator.answer
    if spec.type == "ordinal":
        return ", ".join(f"{lv.value}={lv.label.zh}/{lv.label.en}" for lv in spec.levels)
    if spec.type == "choice":
        return ", ".join(o.value for o in spec.options)
    return ""


def parameter_finding(catalog: Catalog, indicator: Indicator, name: str, code: str, values: dict) -> Finding:
    """The finding of a problem with regional parameter `name` (see assessment.rules.regional_parameter)."""
    label = catalog.parameter_by_id[name].label
    return finding(code, indicator, severity=PARAMETER_FINDINGS[code],
                   path="year" if code == "parameter_from_earlier_year" else "region",
                   parameter=label.zh, parameter_en=label.en, **values)


def parse_finding(indicator: Indicator, value: Any, code: str) -> Finding:
    spec = indicator.answer
    low, high = (f"{spec.min:g}", f"{spec.max:g}") if spec.type in ("count", "amount") else ("", "")
    return finding(code, indicator, value=value, allowed=allowed_text(indicator), low=low, high=high)


def band_score(bands: tuple[Band, ...], x: float) -> float:
    for band in bands:
        if band.below is None or x < band.below:
            return band.score
    raise AssertionError("the catalog guarantees a last band without a limit")


def deprivation(indicator: Indicator, value: Any, *, divisor: float | None = None,
                parameter: float | None = None) -> float:
    """The deprivation score in [0, 1] of a canonical answer."""
    spec = indicator.answer
    if spec.type == "yes_no":
        return spec.score_yes if value else spec.score_no
    if spec.type in ("ordinal", "choice"):
        return spec.score_by_value[value]
    x = float(value)
    if spec.type == "amount":
        if divisor is not None:
            x /= divisor
        if parameter is not None:
            x /= parameter
    return band_score(spec.bands, x)


def possible_scores(indicator: Indicator) -> list[float]:
    """Every deprivation score an accepted answer can give."""
    spec = indicator.answer
    if spec.type == "yes_no":
        return [spec.score_yes, spec.score_no]
    if spec.type == "ordinal":
        return [lv.score for lv in spec.levels]
    if spec.type == "choice":
        return [o.score for o in spec.options]
    if spec.type == "count":
        lowers = (-math.inf,) + tuple(b.below for b in spec.bands[:-1])
        return [b.score for b, lower in zip(spec.bands, lowers)
                if lower <= spec.max and (b.below is None or b.below > spec.min)]
    return [b.score for b in spec.bands]


def score_bounds(indicator: Indicator) -> tuple[float, float]:
    """The lowest and highest deprivation any accepted answer can give."""
    scores = possible_scores(indicator)
    return min(scores), max(scores)
