"""A catalog as an XLSForm (survey, choices and settings sheets), and the differences of a form from its catalog.

`form_sheets` builds the three sheets as rows (plain dicts, no IO): one group per dimension, one question per
indicator with its type, choices, range constraint, applicability as `relevant` and `required`, labels, hints
and messages in Chinese and English as language columns. `form_differences` compares a form's sheets (perhaps
edited by a bureau) with what the catalog gives and names each difference. `write_form` and `read_form` move
sheets to and from an .xlsx workbook.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from assessment.answers import message
from assessment.catalog import Catalog, Condition, Indicator
from assessment.errors import Message
from assessment.rules import COMPARISONS, answer_code

LANGUAGES = {"zh": "中文 (zh)", "en": "English (en)"}
HOUSEHOLD_FIELD = "household_id"
# A calculated field that carries the form's version in every submission: KoboToolbox puts its own version id in
# `__version__`, so the version a submission was collected with is read from here.
VERSION_FIELD = "form_version"
YES_NO_LIST = "yes_no"
# Columns of each sheet, in order; `label`, `hint`, `constraint_message` and `required_message` once per language.
TEXT_COLUMNS = ("label", "hint", "constraint_message", "required_message")
SURVEY_COLUMNS = ("type", "name", "label", "hint", "required", "required_message", "relevant", "constraint",
                  "constraint_message", "calculation")
CHOICE_COLUMNS = ("list_name", "name", "label")
SETTINGS_COLUMNS = ("form_title", "form_id", "version", "default_language")
XPATH_OPERATORS = {"eq": "=", "ne": "!=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
# Survey rows that collect nothing a catalog scores: a bureau may add them without breaking the form.
HARMLESS_TYPES = {"note", "start", "end", "today", "deviceid", "username", "phonenumber", "audit",
                  "start-geopoint", "calculate"}


def language_column(column: str, language: str) -> str:
    return f"{column}::{LANGUAGES[language]}"


def form_version(catalog: Catalog) -> str:
    """The form's version: the catalog's version and the start of its content hash."""
    return f"{catalog.version}+{catalog.content_hash[:12]}"


def _texts(column: str, texts: Message | None) -> dict[str, str]:
    if texts is None:
        return {}
    return {language_column(column, language): getattr(texts, language) for language in LANGUAGES}


def question_type(indicator: Indicator) -> str:
    spec = indicator.answer
    if spec.type == "yes_no":
        return f"select_one {YES_NO_LIST}"
    if spec.type in ("ordinal", "choice"):
        return f"select_one {indicator.id}"
    return "integer" if spec.type == "count" else "decimal"


def choices_of(indicator: Indicator) -> list[tuple[str, Message, float]]:
    """(choice name, label, answer code) of every answer of a yes/no, ordinal or choice indicator."""
    spec = indicator.answer
    if spec.type == "yes_no":
        return [("yes", Message("是", "Yes"), 1.0), ("no", Message("否", "No"), 0.0)]
    if spec.type == "ordinal":
        return [(str(level.value), Message(level.label.zh, level.label.en), float(level.value))
                for level in spec.levels]
    if spec.type == "choice":
        return [(option.value, Message(option.label.zh, option.label.en), answer_code(indicator, option.value))
                for option in spec.options]
    return []


def constraint_of(indicator: Indicator) -> tuple[str, Message | None]:
    """The range constraint of a count or amount, and its message; ("", None) for the others."""
    spec = indicator.answer
    if spec.type not in ("count", "amount"):
        return "", None
    low, high = f"{spec.min:g}", f"{spec.max:g}"
    return (f". >= {low} and . <= {high}",
            Message(f"{indicator.label.zh}:须在 {low} 到 {high} 之间",
                    f"{indicator.label.en}: must be between {low} and {high}"))


def _code_expression(indicator: Indicator) -> str:
    """An XPath expression of the answer code (assessment.rules.answer_code) of an indicator's answer."""
    field = f"${{{indicator.id}}}"
    choices = choices_of(indicator)
    if not choices or indicator.answer.type == "ordinal":
        return field if not choices else f"number({field})"
    expression = "''"
    for name, _, code in reversed(choices):
        expression = f"if({field} = '{name}', {code:g}, {expression})"
    return expression


def _one_of(field: str, names: list[str]) -> str:
    if not names:
        return "false()"
    parts = [f"{field} = '{name}'" for name in names]
    return parts[0] if len(parts) == 1 else "(" + " or ".join(parts) + ")"


def condition_expression(catalog: Catalog, condition: Condition) -> str:
    """A condition (false when an answer it needs is missing, as assessment.rules reads it) in XPath."""
    indicator = catalog.indicator_by_id[condition.indicator]
    field = f"${{{indicator.id}}}"
    if condition.value_of is not None:
        other = catalog.indicator_by_id[condition.value_of]
        return (f"({field} != '' and ${{{other.id}}} != '' and {_code_expression(indicator)} "
                f"{XPATH_OPERATORS[condition.op]} {_code_expression(other)})")
    choices = choices_of(indicator)
    values = condition.value if condition.op == "in" else [condition.value]
    targets = [answer_code(indicator, value) for value in values]
    if choices:
        if condition.op == "in":
            allowed = [name for name, _, code in choices if code in targets]
        else:
            allowed = [name for name, _, code in choices if COMPARISONS[condition.op](code, targets[0])]
        return _one_of(field, allowed)
    if condition.op == "in":
        return "(" + " or ".join(f"{field} = {target:g}" for target in targets) + ")"
    expression = f"{field} {XPATH_OPERATORS[condition.op]} {targets[0]:g}"
    return f"({field} != '' and {expression})" if condition.op == "ne" else expression


def relevant_of(catalog: Catalog, indicator: Indicator) -> str:
    """The indicator's applicability as an XLSForm `relevant` expression ("" when it always applies)."""
    return " and ".join(condition_expression(catalog, condition) for condition in indicator.applies_when)


def question_row(catalog: Catalog, indicator: Indicator) -> dict[str, str]:
    constraint, constraint_message = constraint_of(indicator)
    row = {"type": question_type(indicator), "name": indicator.id,
           **_texts("label", Message(indicator.question.zh, indicator.question.en)),
           **_texts("hint", Message(indicator.label.zh, indicator.label.en)),
           "relevant": relevant_of(catalog, indicator), "constraint": constraint,
           **_texts("constraint_message", constraint_message)}
    if indicator.required:
        row["required"] = "yes"
        row.update(_texts("required_message", message("missing_required", indicator)))
    return row


def form_sheets(catalog: Catalog) -> dict[str, list[dict[str, str]]]:
    """The survey, choices and settings sheets of the catalog's XLSForm, as rows of column -> text."""
    survey = [{"type": "integer", "name": HOUSEHOLD_FIELD, "required": "yes", "constraint": ". > 0",
               **_texts("label", Message("家庭编号", "Household number")),
               **_texts("hint", Message("系统中该家庭的编号", "The household's number in the service")),
               **_texts("constraint_message", Message("家庭编号须为正整数", "the household number is a positive "
                                                                           "whole number")),
               **_texts("required_message", Message("请填写家庭编号", "the household number is required"))},
              {"type": "today", "name": "today"},
              {"type": "calculate", "name": VERSION_FIELD, "calculation": f"'{form_version(catalog)}'"}]
    choices: list[dict[str, str]] = []
    listed: set[str] = set()
    for dimension in catalog.dimensions:
        members = [i for i in catalog.indicators if i.dimension == dimension.id]
        if not members:
            continue
        survey.append({"type": "begin_group", "name": dimension.id,
                       **_texts("label", Message(dimension.label.zh, dimension.label.en))})
        for indicator in members:
            row = question_row(catalog, indicator)
            survey.append(row)
            list_name = row["type"].removeprefix("select_one ") if row["type"].startswith("select_one") else None
            if list_name is not None and list_name not in listed:
                listed.add(list_name)
                choices += [{"list_name": list_name, "name": name, **_texts("label", label)}
                            for name, label, _ in choices_of(indicator)]
        survey.append({"type": "end_group"})
    settings = [{"form_title": f"{catalog.header.label.zh} / {catalog.header.label.en}", "form_id": catalog.id,
                 "version": form_version(catalog), "default_language": LANGUAGES["zh"]}]
    return {"survey": survey, "choices": choices, "settings": settings}


def sheet_columns(sheet: str) -> list[str]:
    base = {"survey": SURVEY_COLUMNS, "choices": CHOICE_COLUMNS, "settings": SETTINGS_COLUMNS}[sheet]
    return [name for column in base
            for name in ([language_column(column, lang) for lang in LANGUAGES] if column in TEXT_COLUMNS
                         else [column])]


def write_form(sheets: dict[str, list[dict[str, str]]], path: Path) -> None:
    """Write the sheets to an .xlsx workbook."""
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for sheet, rows in sheets.items():
        columns = sheet_columns(sheet)
        columns += [name for row in rows for name in row if name not in columns]
        worksheet = workbook.create_sheet(sheet)
        worksheet.append(columns)
        for row in rows:
            worksheet.append([row.get(name, "") for name in columns])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)


def read_form(path: Path) -> dict[str, list[dict[str, str]]]:
    """The sheets of an XLSForm workbook as rows of column -> text (blank cells left out)."""
    from openpyxl import load_workbook

    workbook = load_workbook(Path(path), read_only=True, data_only=True)
    sheets = {}
    for worksheet in workbook.worksheets:
        rows = list(worksheet.iter_rows(values_only=True))
        if not rows:
            sheets[worksheet.title.strip().lower()] = []
            continue
        header = [str(cell).strip() if cell is not None else "" for cell in rows[0]]
        found = []
        for values in rows[1:]:
            row = {name: _text(value) for name, value in zip(header, values) if name and _text(value)}
            if row:
                found.append(row)
        sheets[worksheet.title.strip().lower()] = found
    workbook.close()
    return sheets


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


# ------------------------------------------------------------------------------------------ differences


@dataclass(frozen=True)
class Difference:
    """One way a form differs from its catalog. A `mismatch` changes what is collected or how it is read;
    a `note` (a label's wording, an added note) does not."""

    name: str
    code: str
    message: Message
    severity: str = "mismatch"


def _normal(expression: str) -> str:
    """An expression with its spacing normalised, so that `. >= 1` and `.>=1` compare equal."""
    return re.sub(r"\s+", "", expression or "").replace('"', "'")


def _parents(survey: list[dict[str, str]]) -> dict[str, str | None]:
    """The group each named survey row sits in (None: at the top)."""
    parents, stack = {}, []
    for row in survey:
        kind = row.get("type", "").strip().lower().replace(" ", "_")
        name = row.get("name", "")
        if kind in ("begin_group", "begin_repeat"):
            parents[name] = stack[-1] if stack else None
            stack.append(name)
        elif kind in ("end_group", "end_repeat"):
            if stack:
                stack.pop()
        elif name:
            parents[name] = stack[-1] if stack else None
    return parents


def _choices(rows: list[dict[str, str]]) -> dict[str, dict[str, dict[str, str]]]:
    lists: dict[str, dict[str, dict[str, str]]] = {}
    for row in rows:
        lists.setdefault(row.get("list_name", ""), {})[row.get("name", "")] = row
    return lists


def _differ(name: str, code: str, zh: str, en: str, severity: str = "mismatch") -> Difference:
    return Difference(name, code, Message(zh, en), severity)


def form_differences(catalog: Catalog, sheets: dict[str, list[dict[str, str]]]) -> list[Difference]:
    """Every difference between a form's sheets and the form the catalog gives, in the catalog's order."""
    expected = form_sheets(catalog)
    found: list[Difference] = []
    for sheet in ("survey", "choices", "settings"):
        if sheet not in sheets:
            found.append(_differ(sheet, "missing_sheet", f"表单缺少 {sheet} 工作表", f"the form has no {sheet} sheet"))
    settings = (sheets.get("settings") or [{}])[0]
    for key in ("form_id", "version"):
        want, got = expected["settings"][0][key], settings.get(key, "")
        if want != got:
            found.append(_differ(key, f"other_{key}", f"设置 {key} 为 {got or '(空)'},目录为 {want}",
                                 f"settings {key} is {got or '(blank)'}, the catalog's is {want}"))
    survey = sheets.get("survey", [])
    rows = {row["name"]: row for row in survey
            if row.get("name") and not row.get("type", "").strip().lower().replace(" ", "_").startswith("end_")}
    parents = _parents(survey)
    want_parents = _parents(expected["survey"])
    got_lists, want_lists = _choices(sheets.get("choices", [])), _choices(expected["choices"])
    for want in expected["survey"]:
        name, kind = want.get("name"), want["type"]
        if kind == "end_group":
            continue
        got = rows.get(name)
        if got is None:
            found.append(_differ(name, "missing_question", f"缺少 {name}", f"{name} is missing"))
            continue
        found += _row_differences(name, want, got, got_lists, want_lists)
        if kind != "begin_group" and parents.get(name) != want_parents.get(name):
            found.append(_differ(name, "moved", f"{name} 位于组 {parents.get(name)},应在组 {want_parents[name]}",
                                 f"{name} is in group {parents.get(name)}, not in {want_parents[name]}"))
    wanted = {row.get("name") for row in expected["survey"]}
    for name, row in rows.items():
        if name in wanted:
            continue
        kind = row.get("type", "").split(" ")[0].strip().lower()
        if kind in ("begin_group", "begin_repeat"):
            found.append(_differ(name, "extra_group", f"组 {name} 不在目录中",
                                 f"the group {name} is not in the catalog"))
        elif kind in HARMLESS_TYPES:
            found.append(_differ(name, "added_note", f"增加了不计分的 {kind} 行 {name}",
                                 f"an added {kind} row {name}, not scored", "note"))
        else:
            found.append(_differ(name, "extra_question", f"{name} 不在目录中", f"{name} is not in the catalog"))
    return found


def _row_differences(name, want, got, got_lists, want_lists) -> list[Difference]:
    found = []
    want_type, got_type = want["type"], " ".join(got.get("type", "").split())
    if want_type != got_type:
        found.append(_differ(name, "other_type", f"{name} 的类型为 {got_type},应为 {want_type}",
                             f"{name} is of type {got_type}, not {want_type}"))
    elif want_type.startswith("select_one "):
        list_name = want_type.removeprefix("select_one ")
        want_choices, got_choices = want_lists.get(list_name, {}), got_lists.get(list_name, {})
        for choice in want_choices:
            if choice not in got_choices:
                found.append(_differ(name, "missing_choice", f"{name} 缺少选项 {choice}",
                                     f"{name} lacks the choice {choice}"))
            else:
                found += _label_differences(f"{name}/{choice}", want_choices[choice], got_choices[choice], ("label",))
        for choice in got_choices:
            if choice not in want_choices:
                found.append(_differ(name, "extra_choice", f"{name} 多了目录中没有的选项 {choice}",
                                     f"{name} has the choice {choice}, which the catalog does not"))
    for column, zh in (("relevant", "适用条件"), ("constraint", "约束"), ("calculation", "计算式")):
        if _normal(want.get(column, "")) != _normal(got.get(column, "")):
            found.append(_differ(name, f"other_{column}",
                                 f"{name} 的{zh}为 {got.get(column) or '(空)'},应为 {want.get(column) or '(空)'}",
                                 f"{name}: {column} is {got.get(column) or '(blank)'}, "
                                 f"the catalog's is {want.get(column) or '(blank)'}"))
    want_required = want.get("required", "") == "yes"
    got_required = got.get("required", "").strip().lower() in ("yes", "true", "true()", "1")
    if want_required != got_required:
        found.append(_differ(name, "other_required", f"{name} 的必答设置与目录不同",
                             f"{name} is {'required' if got_required else 'optional'}, the catalog says "
                             f"{'required' if want_required else 'optional'}"))
    found += _label_differences(name, want, got, ("label", "hint"))
    return found


def _label_differences(name: str, want: dict, got: dict, columns: tuple[str, ...]) -> list[Difference]:
    found = []
    for column in columns:
        for language in LANGUAGES:
            key = language_column(column, language)
            if want.get(key, "") != got.get(key, ""):
                found.append(_differ(name, f"other_{column}", f"{name} 的 {key} 与目录不同",
                                     f"{name}: {key} differs from the catalog", "note"))
    return found
