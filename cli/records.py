"""`assess reproduce ASSESSMENT_ID` and `assess labels -o FILE`: stored results in the service's database
(ASSESS_DATABASE_URL) computed again under their own versions, and the verified tiers as training labels."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from cli.configs_db import service_context


def reproduce(assessment_id: int = typer.Argument(..., min=1, help="The stored assessment's id."),
              as_json: bool = typer.Option(False, "--json", help="Print the comparison as JSON.")) -> None:
    """Compute a stored assessment again from its stored answers under the catalog and configuration versions it
    recorded, and compare with what was stored. Exit code 0 when it is reproduced, 1 when something differs."""
    from api.assessments.reproduction import reproduce as compare

    with service_context() as context, context.database.session() as session:
        done = compare(session=session, caller=None, catalog=context.scorer.catalog, assessment_id=assessment_id)
    if as_json:
        typer.echo(json.dumps(done, ensure_ascii=False, indent=2))
    else:
        catalog = done["catalog"]
        typer.echo(f"assessment {assessment_id}: catalog {catalog['id']}@{catalog['version']} "
                   f"({catalog['hash'][:12]}), configuration {done['config_version']}")
        for difference in done["differences"]:
            typer.echo(f"  {difference['path']}: stored {difference['stored']!r}, computed {difference['computed']!r}")
        typer.echo("reproduced: the stored result is computed again exactly" if done["reproduced"] else
                   f"NOT reproduced: {len(done['differences'])} figure(s) differ")
    if not done["reproduced"]:
        raise typer.Exit(1)


def labels(output: Path = typer.Option(..., "-o", "--output", help="The labels file (.csv or .parquet).")) -> None:
    """Write every verified tier of the catalog in use with the assessment's answers, as `assess train --input`
    reads it (the label column is `verified_tier`)."""
    from api.reviews.verification import labels as verified_labels

    with service_context() as context, context.database.session() as session:
        table = verified_labels(session=session, caller=None, catalog=context.scorer.catalog)
    if output.suffix == ".parquet":
        table.to_parquet(output, index=False)
    else:
        table.to_csv(output, index=False, encoding="utf-8-sig")
    typer.echo(f"{len(table)} verified labels written to {output}")


def register(app: typer.Typer) -> None:
    app.command("reproduce")(reproduce)
    app.command("labels")(labels)
