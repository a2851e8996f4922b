"""How a command reports a problem of the core: the field and the message in English and Chinese."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from assessment.errors import CoreError

# What to do about a problem, by its code, where the message of the core cannot know the command line.
HINTS = {
    "no_indicator_columns": ("score the file with the catalog it was written for: --catalog DIR",
                             "请用 --catalog 指定该文件所用的目录"),
}


@contextmanager
def reported(source: Path | None = None) -> Iterator[None]:
    """End the command with exit code 1 and the problem in English and Chinese on a core error."""
    try:
        yield
    except CoreError as exc:
        where = f"{source}: " if source is not None else ""
        field = f"{exc.path}: " if exc.path else ""
        typer.echo(f"error: {where}{field}{exc.message.en}", err=True)
        typer.echo(f"错误:{where}{field}{exc.message.zh}", err=True)
        if exc.code in HINTS:
            en, zh = HINTS[exc.code]
            typer.echo(f"hint: {en}\n提示:{zh}", err=True)
        raise typer.Exit(1) from None
