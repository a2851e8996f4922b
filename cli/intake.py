"""`assess form export|check`: the catalog as an XLSForm, and whether a form still matches its catalog;
`assess import`: a file of answers stored as assessments of a station's households."""

from __future__ import annotations

import hashlib
import time
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


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def import_file(
    file: Path = typer.Argument(..., help="Households, one per row (.csv, .xlsx, .parquet, .jsonl)."),
    station: int = typer.Option(..., "--station", help="The station whose households the rows are."),
    user: str = typer.Option(..., "--user", help="The caseworker or supervisor the import is stored as."),
    report: Path = typer.Option(None, "--report", help="Row-by-row report (.csv; default: FILE.import-report.csv)."),
    chunk_rows: int = typer.Option(2000, "--chunk-rows", min=1, help="Rows per committed transaction."),
):
    """Store one assessment per row of FILE, registering households that are new (matched by ID number), into the
    service's database (ASSESS_DATABASE_URL). Idempotent per row (station, household_id, date): the same file
    again adds nothing; a killed import resumes where it stopped. Exit 3 when some rows were refused."""
    from api.auth.service import user_caller, user_id_by_name
    from api.errors import ServiceError
    from api.intake import imports
    from cli.configs_db import service_context

    if not file.is_file():
        raise typer.BadParameter(f"{file} does not exist", param_hint="FILE")
    try:
        frame = imports.read_file(file.name, file.read_bytes())
    except ServiceError as error:
        raise typer.BadParameter(error.problems[0].message_en, param_hint="FILE") from None
    report = report or file.with_name(file.stem + ".import-report.csv")
    began = time.perf_counter()

    def started(job: dict) -> None:
        if job["resumed"]:
            typer.echo(f"resuming import {job['id']} at row {job['rows_done'] + 1} of {len(frame)}")

    with service_context() as context:
        with context.database.session() as session:
            caller = user_caller(session, user_id_by_name(session, user))
        context.warm_up()
        job = imports.run(database=context.database, caller=caller, keys=context.keys, scorer=context.scorer,
                          station_id=station, file_name=file.name, file_hash=file_hash(file), frame=frame,
                          earliest_assessed_on=context.settings.earliest_assessed_on, chunk_rows=chunk_rows,
                          started=started)
        with context.database.session() as session:
            rows = imports.job_rows(session=session, job_id=job["id"])
    counts = job["counts"]
    write_report(report, rows)
    seconds = time.perf_counter() - began
    typer.echo(f"{file.name}: {counts['stored']} stored ({counts['registered']} new households), "
               f"{counts['already_stored']} already stored, {counts['refused']} refused of {len(frame)} rows "
               f"in {seconds:.1f} s -> {report}")
    if counts["refused"]:
        raise typer.Exit(SOME_ROWS_REFUSED)


SOME_ROWS_REFUSED = 3


def write_report(path: Path, rows) -> None:
    """One line per row of the file: what was stored, or refused and why, in Chinese and English."""
    from api.intake.imports import report_csv

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report_csv(rows), encoding="utf-8-sig", newline="")


intake_app = typer.Typer(help="Collected submissions (ODK Central).", no_args_is_help=True)


@intake_app.command("pull")
def intake_pull(
    odk: str = typer.Option(..., "--odk", help="The ODK Central server's base URL, e.g. https://central.example.org."),
    project: str = typer.Option(..., "--project", help="The project's number on the server."),
    form: str = typer.Option(..., "--form", help="The form's id (its XLSForm form_id)."),
    station: int = typer.Option(..., "--station", help="The station whose households the submissions are."),
    user: str = typer.Option(..., "--user", help="The caseworker or supervisor the submissions are stored as."),
    odk_user: str = typer.Option(None, "--odk-user", help="The ODK Central account (an e-mail address); its "
                                                         "password in ASSESS_ODK_PASSWORD."),
    page_size: int = typer.Option(250, "--page-size", min=1, max=10000, help="Rows per OData request."),
):
    """Take the form's new submissions from ODK Central's OData feed (after the stored checkpoint): stored as
    assessments, or queued with their errors, once per instance id."""
    import os

    import httpx

    from api.auth.service import user_caller, user_id_by_name
    from api.intake.pull import pull
    from cli.configs_db import service_context

    auth = (odk_user, os.environ.get("ASSESS_ODK_PASSWORD", "")) if odk_user else None
    with service_context() as context:
        with context.database.session() as session:
            caller = user_caller(session, user_id_by_name(session, user))
        try:
            counts = pull(database=context.database, keys=context.keys, scorer=context.scorer, caller=caller,
                          station_id=station, server=odk, project=project, form=form, auth=auth,
                          earliest_assessed_on=context.settings.earliest_assessed_on, page_size=page_size)
        except httpx.HTTPError as error:
            typer.echo(f"error: ODK Central: {error}", err=True)
            raise typer.Exit(2) from None
    typer.echo(f"{form}: {counts['stored']} stored, {counts['queued']} queued, "
               f"{counts['already_received']} received before")


def register(app: typer.Typer) -> None:
    app.add_typer(form_app, name="form")
    app.command("import")(import_file)
    app.add_typer(intake_app, name="intake")
