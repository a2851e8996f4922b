"""`assess catalog check|show`: validate and print a catalog."""

from __future__ import annotations

from pathlib import Path

import typer

from assessment.errors import CatalogErrors
from indicators.loader import DEFAULT_CATALOG_DIR, load_catalog

catalog_app = typer.Typer(help="Validate and print catalogs.", no_args_is_help=True)


@catalog_app.command("check")
def check(path: Path = typer.Argument(DEFAULT_CATALOG_DIR, help="Catalog folder (default: the built-in one).")):
    """Validate a catalog folder; exit 1 and list every problem if it is invalid."""
    try:
        catalog = load_catalog(path)
    except CatalogErrors as exc:
        typer.echo(f"{path}: {len(exc.errors)} problem(s)", err=True)
        for error in exc.errors:
            typer.echo(f"  {error.file}: {error.entry}: {error.problem}", err=True)
        raise typer.Exit(1)
    typer.echo(
        f"{catalog.id} {catalog.version}: {len(catalog.dimensions)} dimensions, {len(catalog.indicators)} indicators, "
        f"{len(catalog.need_areas)} need areas, {len(catalog.categories)} service categories, "
        f"{len(catalog.services)} services, {len(catalog.tiers)} tiers; sha256 {catalog.content_hash[:16]}"
    )


def _table(rows: list[list[str]], header: list[str]) -> str:
    import unicodedata

    def width(text: str) -> int:
        return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)

    widths = [max(width(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, ["-" * w for w in widths], *rows]:
        lines.append("  ".join(str(cell) + " " * (w - width(str(cell))) for cell, w in zip(row, widths)).rstrip())
    return "\n".join(lines)


@catalog_app.command("show")
def show(path: Path = typer.Argument(DEFAULT_CATALOG_DIR, help="Catalog folder (default: the built-in one)."),
         lang: str = typer.Option("zh", help="zh or en")):
    """Print a catalog as readable tables."""
    try:
        catalog = load_catalog(path)
    except CatalogErrors as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1)

    def text(label) -> str:
        return label.zh if lang == "zh" else label.en

    typer.echo(f"{text(catalog.header.label)}  {catalog.id} {catalog.version}\n")
    typer.echo(_table([[d.id, text(d.label), f"{d.weight:g}"] for d in catalog.dimensions],
                      ["dimension", "label", "weight"]) + "\n")
    rows = []
    for ind in catalog.indicators:
        flags = ("required " if ind.required else "") + (f"critical>={ind.critical.tier}" if ind.critical else "")
        applies = " and ".join(f"{c.indicator} {c.op} {c.value if c.value_of is None else c.value_of}"
                               for c in ind.applies_when)
        rows.append([ind.id, ind.dimension, ind.answer.type, f"{ind.weight:g}", text(ind.label), applies, flags.strip()])
    typer.echo(_table(rows, ["indicator", "dimension", "type", "weight", "label", "applies when", "flags"]) + "\n")
    typer.echo(_table([[s.id, s.category, text(s.label), ",".join(s.need_areas), ",".join(s.triggers)]
                       for s in catalog.services], ["service", "category", "label", "need areas", "triggers"]) + "\n")
    typer.echo(_table([[t.id, text(t.label), f"{t.min_index:g}"] for t in catalog.tiers], ["tier", "label", "min index"]))


def register(app: typer.Typer) -> None:
    app.add_typer(catalog_app, name="catalog")
