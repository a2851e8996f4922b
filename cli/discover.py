"""`assess discover import FILE --source NAME`, `assess discover match`, `assess discover sources`: department
records loaded into the service's database (ASSESS_DATABASE_URL) and matched against the households on file."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Optional

import typer

from cli.configs_db import service_context

discover = typer.Typer(help="Department records matched against the rolls: candidates to visit, alerts to re-assess.",
                       no_args_is_help=True)


def _discovery(context):
    from api.discovery.definitions import discovery_of

    return discovery_of(context)


def _print_refusals(refused: list[dict]) -> None:
    for row in refused:
        typer.echo(f"  {row['file']} row {row['row']}, column {row['column']}: {row['message_en']} / "
                   f"{row['message_zh']}", err=True)


@discover.command("import")
def import_file(file: Path = typer.Argument(..., exists=True, dir_okay=False, help="The department's .csv or .xlsx."),
                source: str = typer.Option(..., "--source", help="The source's id (assess discover sources)."),
                skip_refused: bool = typer.Option(False, "--skip-refused",
                                                  help="Store the good rows even when some are refused."),
                today: Optional[str] = typer.Option(None, "--today", help="The date to judge freshness by "
                                                    "(YYYY-MM-DD) [default: today]."),
                as_json: bool = typer.Option(False, "--json", help="Print the report as JSON.")) -> None:
    """Load a department's file as records of SOURCE and match them. A refused row (or a file without the
    source's columns, or an unknown source) is reported with file, row, column and reason, and nothing is
    stored (exit code 1) unless --skip-refused. Rows loaded before add nothing."""
    from api.discovery.service import import_records
    from api.errors import Invalid

    with service_context() as context:
        try:
            with context.database.session(write=True) as session:
                report = import_records(session=session, keys=context.keys, discovery=_discovery(context),
                                        caller=None, source_id=source, content=file.read_bytes(),
                                        file_name=file.name, skip_refused=skip_refused,
                                        today=date.fromisoformat(today) if today else date.today())
        except Invalid as exc:
            problem = exc.problems[0]
            typer.echo(f"error: {problem.message_en}\n错误:{problem.message_zh}", err=True)
            _print_refusals(exc.extra.get("refused", []))
            if as_json:
                typer.echo(json.dumps({"code": exc.code, **exc.extra}, ensure_ascii=False))
            raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    typer.echo(f"{report['file_name']}: {report['rows']} rows, {report['added']} new records, "
               f"{report['already_known']} already known, {len(report['refused'])} problem(s) refused")
    _print_refusals(report["refused"])
    if report["matching"]:
        typer.echo("matching: " + ", ".join(f"{k} {v}" for k, v in report["matching"].items()))


@discover.command("match")
def match(today: Optional[str] = typer.Option(None, "--today", help="YYYY-MM-DD [default: today].")) -> None:
    """Match every record not matched yet and bring the candidates up to date (after households were added)."""
    from api.discovery.service import match_records

    with service_context() as context, context.database.session(write=True) as session:
        done = match_records(session=session, discovery=_discovery(context),
                             today=date.fromisoformat(today) if today else date.today())
    typer.echo(", ".join(f"{k} {v}" for k, v in done.items()))


@discover.command("sources")
def sources() -> None:
    """The sources of the catalog in use: id, signal, freshness, and the columns a file must have."""
    with service_context() as context:
        for source in _discovery(context).sources.values():
            columns = ", ".join(c for c in source.columns.model_dump().values() if c)
            typer.echo(f"{source.id}: signal {source.signal}, fresh {source.fresh_days} days; columns {columns}"
                       f"  ({source.label.en} / {source.label.zh})")


def register(app: typer.Typer) -> None:
    app.add_typer(discover, name="discover")
