"""The pure part of discovery (no IO): a department's rows checked and put in one form, the rules applied to
signals set-wise, and the households at risk in an early-warning event."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from api import id_numbers
from api.persons import normal_name

DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d")
FIELDS = ("id_number", "name", "birth_date", "town", "recorded_on", "detail")


@dataclass(frozen=True)
class Refusal:
    """A row refused: its number in the file (the header is row 1), the file's column, and why."""

    row: int
    column: str
    code: str
    message_zh: str
    message_en: str

    def as_dict(self, file: str) -> dict:
        return {"file": file, "row": self.row, "column": self.column, "code": self.code,
                "message_zh": self.message_zh, "message_en": self.message_en}


def parse_date(text: str) -> date | None:
    """A date written as 2024-03-05, 2024/3/5, 20240305 or 2024.03.05; None when it is none of them."""
    text = unicodedata.normalize("NFKC", text).strip()
    for pattern in DATE_FORMATS:
        try:
            return pd.Timestamp(pd.to_datetime(text, format=pattern)).date()
        except (ValueError, TypeError):
            continue
    return None


def missing_columns(header: list[str], wanted: dict[str, str | None]) -> list[str]:
    """The columns a source needs that the file lacks."""
    present = {unicodedata.normalize("NFKC", h).strip() for h in header}
    return [column for column in wanted.values() if column is not None and column not in present]


def checked_rows(frame: pd.DataFrame, columns: dict[str, str | None], detail_type: str | None,
                 towns: dict[str, int], today: date) -> tuple[pd.DataFrame, list[Refusal]]:
    """The rows of a department's file (all text) in the one form, and the refused ones.

    Kept columns: row, id_number (normalised and checked, or None), name (stripped), name_key (normal_name),
    birth_date, town_id, recorded_on, detail, detail_number. A row is refused for a malformed ID number, no name,
    a birth date or record date that is not a date (or lies in the future), an unknown town, or a detail that
    is not a number where the source says it is one."""
    refusals: list[Refusal] = []
    out = pd.DataFrame({"row": np.arange(2, len(frame) + 2)})

    def cell(field: str) -> pd.Series:
        return frame[columns[field]].fillna("").astype(str).map(lambda v: unicodedata.normalize("NFKC", v).strip())

    def refuse(mask: pd.Series, field: str, code: str, zh: str, en: str) -> None:
        for row in out.loc[mask.to_numpy(), "row"]:
            refusals.append(Refusal(int(row), columns[field], code, zh, en))

    numbers = cell("id_number").map(lambda v: id_numbers.normalise(v) if v else None)
    bad_shape = numbers.map(lambda n: isinstance(n, str) and not id_numbers.has_shape(n))
    bad_check = numbers.map(lambda n: isinstance(n, str) and id_numbers.has_shape(n) and not id_numbers.is_valid(n))
    refuse(bad_shape, "id_number", "invalid_id_number", "身份证号码须为 18 位:17 位数字加 1 位数字或 X",
           "the ID number must be 17 digits and a digit or X")
    refuse(bad_check, "id_number", "invalid_id_number", "身份证号码校验位错误", "the ID number's check character is wrong")
    out["id_number"] = numbers.where(~(bad_shape | bad_check) & numbers.map(lambda n: isinstance(n, str)), None)
    out["id_number"] = out["id_number"].astype(object).where(out["id_number"].notna(), None)

    names = cell("name")
    refuse(names == "", "name", "name_required", "姓名不能为空", "the name is empty")
    out["name"] = names
    out["name_key"] = names.map(normal_name)

    for field, label_zh, label_en in (("birth_date", "出生日期", "birth date"), ("recorded_on", "记录日期", "date")):
        texts = cell(field)
        parsed = texts.map(lambda v: parse_date(v) if v else None)
        refuse(parsed.isna(), field, "invalid_date", f"{label_zh}不是日期(如 2024-03-05)",
               f"the {label_en} is not a date (e.g. 2024-03-05)")
        future = parsed.map(lambda d: isinstance(d, date) and d > today)
        refuse(future, field, "future_date", f"{label_zh}晚于今天", f"the {label_en} is after today")
        out[field] = parsed.where(~future, None)

    town_texts = cell("town")
    out["town_id"] = town_texts.map(lambda t: towns.get(t))
    refuse(out["town_id"].isna(), "town", "unknown_town", "镇街未知(须为服务中登记的镇街名称或编号)",
           "unknown town (the name or id of a town the service knows)")

    out["detail"], out["detail_number"] = None, np.nan
    if columns.get("detail") is not None:
        details = cell("detail")
        out["detail"] = details.where(details != "", None)
        if detail_type == "number":
            numbers_ = pd.to_numeric(details.str.replace(",", "", regex=False), errors="coerce")
            refuse(numbers_.isna() & (details != ""), "detail", "invalid_number", "不是数字", "not a number")
            out["detail_number"] = numbers_
    refused_rows = {r.row for r in refusals}
    kept = out[~out["row"].isin(refused_rows)].reset_index(drop=True)
    return kept, sorted(refusals, key=lambda r: (r.row, r.column))


def fresh_until(recorded_on: pd.Series, fresh_days: int) -> pd.Series:
    return recorded_on.map(lambda d: d + timedelta(days=fresh_days))


def rule_hits(signals: pd.DataFrame, rules) -> pd.DataFrame:
    """One boolean column per rule (by id): whether the rule passes for each signal (columns signal, detail,
    detail_number)."""
    hits = {}
    for rule in rules:
        hit = signals["signal"] == rule.signal
        if rule.detail_in is not None:
            hit &= signals["detail"].isin(rule.detail_in)
        if rule.detail_at_least is not None:
            hit &= pd.to_numeric(signals["detail_number"], errors="coerce") >= rule.detail_at_least
        hits[rule.id] = hit.fillna(False).astype(bool)
    return pd.DataFrame(hits, index=signals.index)


def priorities(signals: pd.DataFrame, rules, key: str = "person") -> pd.DataFrame:
    """Per person (`key`): the rules passed by any of their signals (in the rules' order), the priority (the sum
    of those rules' priorities, each rule counted once) and whether any of them makes a candidate."""
    if signals.empty:
        return pd.DataFrame({key: [], "reasons": [], "priority": [], "candidate": []})
    hits = rule_hits(signals, rules)
    passed = hits.groupby(signals[key]).any()
    weights = np.array([rule.priority for rule in rules])
    makes = np.array([rule.candidate for rule in rules])
    matrix = passed.to_numpy()
    ids = [rule.id for rule in rules]
    return pd.DataFrame({key: passed.index,
                         "reasons": [[ids[i] for i in np.flatnonzero(row)] for row in matrix],
                         "priority": (matrix * weights).sum(axis=1),
                         "candidate": (matrix & makes).any(axis=1)}).reset_index(drop=True)


def warning_risks(frame: pd.DataFrame, rules, event: str) -> pd.DataFrame:
    """The households at risk in an event: from the latest answers (household_id, station_id, town_id and one
    column per indicator; yes/no as 1/0), the rules for that event applied column-wise. One row per household
    with a passing rule: risk (the sum of the rules' risks) and reasons (the rules' ids, in the rules' order);
    highest risk first, then household id."""
    applicable = [rule for rule in rules if event in rule.events]
    passed = {}
    for rule in applicable:
        hit = pd.Series(True, index=frame.index)
        for condition in rule.all:
            values = frame[condition.indicator] if condition.indicator in frame.columns else \
                pd.Series(np.nan, index=frame.index)
            if condition.is_ is not None:  # answered, and yes (or no) as asked
                known = values.notna()
                hit &= known & (values.where(known, 0).astype(bool) == condition.is_)
            elif condition.at_least is not None:
                hit &= pd.to_numeric(values, errors="coerce") >= condition.at_least
            else:
                hit &= values.isin(condition.in_)
        passed[rule.id] = hit.fillna(False).astype(bool).to_numpy()
    if not applicable or frame.empty:
        return pd.DataFrame({"household_id": [], "station_id": [], "town_id": [], "risk": [], "reasons": []})
    matrix = np.column_stack([passed[rule.id] for rule in applicable])
    risks = matrix @ np.array([rule.risk for rule in applicable])
    at_risk = risks > 0
    ids = [rule.id for rule in applicable]
    out = pd.DataFrame({"household_id": frame["household_id"].to_numpy()[at_risk].astype(int),
                        "station_id": frame["station_id"].to_numpy()[at_risk].astype(int),
                        "town_id": frame["town_id"].to_numpy()[at_risk].astype(int),
                        "risk": risks[at_risk].astype(int),
                        "reasons": [[ids[i] for i in np.flatnonzero(row)] for row in matrix[at_risk]]})
    return out.sort_values(["risk", "household_id"], ascending=[False, True]).reset_index(drop=True)
