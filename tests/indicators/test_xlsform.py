"""The catalog as an XLSForm: converted by pyxform, read back as the catalog says, and edited forms checked."""

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pyxform.xls2xform import convert
from typer.testing import CliRunner

from assessment.catalog import Condition
from cli.intake import FORM_DIFFERS
from cli.main import app
from indicators.loader import default_catalog, load_catalog
from indicators.xlsform import condition_expression, form_differences, form_sheets, read_form, write_form

runner = CliRunner()
COSTA_RICA = Path(__file__).parents[2] / "experiments" / "costa_rica" / "catalog"
XF = "{http://www.w3.org/2002/xforms}"
H = "{http://www.w3.org/1999/xhtml}"


def exported(tmp_path, catalog_dir=None) -> Path:
    output = tmp_path / "form.xlsx"
    arguments = ["form", "export", "-o", str(output)] + (["--catalog", str(catalog_dir)] if catalog_dir else [])
    result = runner.invoke(app, arguments)
    assert result.exit_code == 0, result.output
    return output


def converted(path: Path):
    result = convert(xlsform=str(path), validate=False)
    return result, ET.fromstring(result.xform)


@pytest.mark.parametrize("catalog_dir", [None, COSTA_RICA], ids=["default", "costa_rica"])
def test_the_form_converts_without_warnings_and_carries_the_catalog(tmp_path, catalog_dir):
    catalog = load_catalog(catalog_dir)
    result, xform = converted(exported(tmp_path, catalog_dir))
    assert result.warnings == []
    # one body control per indicator, inside the group of its dimension, plus the household number
    controls = {}
    for group in xform.iter(f"{XF}group"):
        for control in list(group):
            if control.tag in (f"{XF}input", f"{XF}select1"):
                controls[control.get("ref")] = control.tag
    expected = {f"/data/{i.dimension}/{i.id}" for i in catalog.indicators}
    assert set(controls) == expected
    assert len(controls) == len(catalog.indicators)
    translations = {t.get("lang") for t in xform.iter(f"{XF}translation")}
    assert translations == {"中文 (zh)", "English (en)"}
    instance = next(xform.iter(f"{XF}instance"))[0]
    assert instance.get("id") == catalog.id
    assert instance.get("version") == f"{catalog.version}+{catalog.content_hash[:12]}"
    assert instance.find(f"{XF}household_id") is not None
    binds = {b.get("nodeset"): b for b in xform.iter(f"{XF}bind")}
    # every submission carries the version it was collected with (KoboToolbox's __version__ is its own id)
    assert binds["/data/form_version"].get("calculate") == f"'{catalog.version}+{catalog.content_hash[:12]}'"
    required = {n for n, b in binds.items() if b.get("required") == "true()"}
    assert required == {"/data/household_id"} | {f"/data/{i.dimension}/{i.id}" for i in catalog.indicators
                                                 if i.required}
    with_relevant = {n for n, b in binds.items() if b.get("relevant")}
    assert with_relevant == {f"/data/{i.dimension}/{i.id}" for i in catalog.indicators if i.applies_when}
    # every label in both languages: the Chinese text of each question is the catalog's question
    zh = next(t for t in xform.iter(f"{XF}translation") if t.get("lang") == "中文 (zh)")
    texts = {text.get("id"): text.find(f"{XF}value").text for text in zh.iter(f"{XF}text")}
    for indicator in catalog.indicators:
        assert texts[f"/data/{indicator.dimension}/{indicator.id}:label"] == indicator.question.zh


def test_relevant_and_constraint_of_the_default_catalog_as_worked_out_by_hand(tmp_path):
    _, xform = converted(exported(tmp_path))
    binds = {b.get("nodeset"): b for b in xform.iter(f"{XF}bind")}
    # indicators.yaml: fam_child_guardianship applies when fam_school_age_children > 0
    guardianship = binds["/data/family/fam_child_guardianship"]
    assert " ".join(guardianship.get("relevant").split()) == "/data/family/fam_school_age_children > 0"
    # fam_household_size is a count from 1 to 20, required
    size = binds["/data/family/fam_household_size"]
    assert size.get("constraint") == ". >= 1 and . <= 20" and size.get("type") == "int"
    assert binds["/data/economic/econ_savings"].get("type") == "string"  # an ordinal: select_one of its levels


def test_relevant_with_a_list_of_options_in_the_costa_rica_catalog(tmp_path):
    _, xform = converted(exported(tmp_path, COSTA_RICA))
    catalog = load_catalog(COSTA_RICA)
    conditional = [i for i in catalog.indicators if any(c.op == "in" for c in i.applies_when)]
    assert conditional
    for indicator in conditional:
        relevant = next(b for b in xform.iter(f"{XF}bind")
                        if b.get("nodeset") == f"/data/{indicator.dimension}/{indicator.id}").get("relevant")
        condition = indicator.applies_when[0]
        other = catalog.indicator_by_id[condition.indicator]
        for value in condition.value:
            assert f"/data/{other.dimension}/{other.id}  = '{value}'" in relevant
        assert relevant.count(" or ") == len(condition.value) - 1


def test_conditions_in_xpath_worked_examples():
    catalog = default_catalog()
    assert condition_expression(catalog, Condition(indicator="fam_household_size", op="ne", value=3)) \
        == "(${fam_household_size} != '' and ${fam_household_size} != 3)"
    assert condition_expression(catalog, Condition(indicator="fam_household_size", op="in", value=[1, 2])) \
        == "(${fam_household_size} = 1 or ${fam_household_size} = 2)"
    # econ_savings has levels 0..4: "at most 1" is level 0 or level 1
    assert condition_expression(catalog, Condition(indicator="econ_savings", op="le", value=1)) \
        == "(${econ_savings} = '0' or ${econ_savings} = '1')"
    assert condition_expression(catalog, Condition(indicator="econ_savings", op="gt", value=4)) == "false()"
    assert condition_expression(catalog, Condition(indicator="fam_elderly_count", op="ge",
                                                   value_of="fam_working_age_adults")) \
        == ("(${fam_elderly_count} != '' and ${fam_working_age_adults} != '' and "
            "${fam_elderly_count} >= ${fam_working_age_adults})")


def test_an_unedited_form_matches_and_every_edit_is_named(tmp_path):
    path = exported(tmp_path)
    result = runner.invoke(app, ["form", "check", str(path)])
    assert result.exit_code == 0 and "matches weihai_default" in result.output
    workbook = load_workbook(path)
    survey, choices, settings = workbook["survey"], workbook["choices"], workbook["settings"]
    header = [cell.value for cell in survey[1]]
    column = {name: n for n, name in enumerate(header)}
    rows = {row[column["name"]].value: row for row in survey.iter_rows(min_row=2) if row[column["name"]].value}
    survey.delete_rows(rows["econ_savings"][0].row)  # a question taken out
    rows = {row[column["name"]].value: row for row in survey.iter_rows(min_row=2) if row[column["name"]].value}
    rows["fam_child_guardianship"][column["relevant"]].value = "${fam_school_age_children} > 1"
    rows["fam_household_size"][column["constraint"]].value = ". >= 1 and . <= 30"
    rows["fam_elderly_count"][column["type"]].value = "decimal"
    rows["fam_working_age_adults"][column["required"]].value = ""
    rows["fam_disabled_count"][column["label::English (en)"]].value = "Disabled members"  # wording only
    survey.append(["text", "interviewer_phone"])
    survey.append(["note", "thanks"])
    for row in choices.iter_rows(min_row=2):
        if row[0].value == "econ_food_insecurity" and row[1].value == "2":
            row[1].value = "3"
    settings["C2"] = "2025.9"
    workbook.save(path)
    result = runner.invoke(app, ["form", "check", str(path)])
    assert result.exit_code == FORM_DIFFERS
    lines = result.stdout.splitlines()
    expected = {
        "mismatch: econ_savings is missing",
        "mismatch: fam_child_guardianship: relevant is ${fam_school_age_children} > 1, "
        "the catalog's is ${fam_school_age_children} > 0",
        "mismatch: fam_household_size: constraint is . >= 1 and . <= 30, the catalog's is . >= 1 and . <= 20",
        "mismatch: fam_elderly_count is of type decimal, not integer",
        "mismatch: fam_working_age_adults is optional, the catalog says required",
        "note: fam_disabled_count: label::English (en) differs from the catalog",
        "mismatch: interviewer_phone is not in the catalog",
        "note: an added note row thanks, not scored",
        "mismatch: econ_food_insecurity lacks the choice 2",
        "mismatch: econ_food_insecurity has the choice 3, which the catalog does not",
        "mismatch: settings version is 2025.9, the catalog's is "
        + form_sheets(default_catalog())["settings"][0]["version"],
    }
    assert set(lines) == expected
    assert "does not match weihai_default 2026.1: 9 difference(s)" in result.stderr


def test_a_form_of_one_catalog_does_not_match_another(tmp_path):
    path = tmp_path / "form.xlsx"
    write_form(form_sheets(load_catalog(COSTA_RICA)), path)
    differences = form_differences(default_catalog(), read_form(path))
    missing = {d.name for d in differences if d.code == "missing_question"}
    assert {i.id for i in default_catalog().indicators} <= missing
    assert {d.name for d in differences if d.code == "extra_question"} == \
        {i.id for i in load_catalog(COSTA_RICA).indicators} - {i.id for i in default_catalog().indicators}
    assert {d.name for d in differences if d.code == "extra_group"} == \
        {d.id for d in load_catalog(COSTA_RICA).dimensions} - {d.id for d in default_catalog().dimensions}


def test_check_refuses_a_file_that_is_not_a_workbook(tmp_path):
    path = tmp_path / "form.xlsx"
    path.write_text("not a workbook")
    result = runner.invoke(app, ["form", "check", str(path)])
    assert result.exit_code == 2 and "not an .xlsx workbook" in result.output
