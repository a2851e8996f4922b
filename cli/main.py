"""The `assess` command line: one Typer app, each group of commands registered by its own module."""

from __future__ import annotations

import typer

from assessment.errors import CoreError
from cli import batch, catalog, config, configs_db, discover, intake, learning, records, service, synth

app = typer.Typer(
    help="Needs assessment and scoring for service-type social assistance.",
    no_args_is_help=True,
    add_completion=False,
)

for module in (catalog, synth, batch, service, learning, config, configs_db, records, intake, discover):
    module.register(app)


def main() -> None:
    """Entry point: core errors (bad catalog, bad configuration) end the command with their message."""
    try:
        app()
    except CoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
