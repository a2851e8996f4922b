"""`assess form export|check`: the catalog as an XLSForm, and whether a form still matches its catalog."""

from __future__ import annotations

from pathlib import Path

import typer

from indicators.loader import load_catalog
from indicators.xlsform import form_differences, form_sheets, read_form, write_form

# Exit code of `form check` when the form does not match the catalog.
FORM_DIFFERS = 3

form_app = typer.Typer(help="Questionnaires as XLSForms (KoboToolbox, ODK).", no_args_is_help=True)


@form_app.command("export")
def form_export(
    output: Path = typer.Option(..., "-o", "--output", help="Where to write the form (.xlsx)."),
    catalog_path: Path = typer.Option(None, "--catalog", help="Catalog folder (default: the built-in one)."),
):
    """Write the catalog's questionnaire as an XLSForm: one group per dimension, one question per indicator."""
    if output.suffix.lower() != ".xlsx":
        raise typer.BadParameter(f"{output.name}: an XLSForm is written as .xlsx", param_hint="--output")
    catalog = load_catalog(catalog_path)
    sheets = form_sheets(catalog)
    write_form(sheets, output)
    warnings = converted_warnings(output)
    for warning in warnings:
        typer.echo(f"pyxform warning: {warning}", err=True)
    questions = sum(1 for row in sheets["survey"] if row.get("name") in catalog.indicator_by_id)
    typer.echo(f"{catalog.id} {catalog.version}: {questions} questions in {len(catalog.dimensions)} groups -> {output}")


@form_app.command("check")
def form_check(
    form: Path = typer.Argument(..., help="An XLSForm (.xlsx), perhaps edited."),
    catalog_path: Path = typer.Option(None, "--catalog", help="Catalog folder (default: the built-in one)."),
    language: str = typer.Option("en", "--lang", help="zh or en: the language of the report."),
):
    """Say whether FORM still matches the catalog, naming each difference; exit 3 when it does not match.
    Differences in wording (labels, hints) and added notes are listed but keep the form matching."""
    if not form.is_file():
        raise typer.BadParameter(f"{form} does not exist", param_hint="FORM")
    catalog = load_catalog(catalog_path)
    try:
        sheets = read_form(form)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise typer.BadParameter(f"{form.name} is not an .xlsx workbook ({type(exc).__name__})",
                                 param_hint="FORM") from None
    differences = form_differences(catalog, sheets)
    mismatches = [d for d in differences if d.severity == "mismatch"]
    for difference in differences:
        text = difference.message.zh if language == "zh" else difference.message.en
        typer.echo(f"{difference.severity}: {text}")
    if mismatches:
        typer.echo(f"{form.name} does not match {catalog.id} {catalog.version}: {len(mismatches)} difference(s)",
                   err=True)
        raise typer.Exit(FORM_DIFFERS)
    typer.echo(f"{form.name} matches {catalog.id} {catalog.version}"
               + (f" ({len(differences)} note(s))" if differences else ""))


def converted_warnings(path: Path) -> list[str]:
    """Convert the form with pyxform as KoboToolbox and ODK Central do; its warnings (an error raises)."""
    from pyxform.xls2xform import convert

    return list(convert(xlsform=str(path), validate=False).warnings)


def register(app: typer.Typer) -> None:
    app.add_typer(form_app, name="form")
