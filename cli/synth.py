"""`assess synth`: write synthetic households to CSV, Parquet or JSON Lines."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from tqdm import tqdm

from assessment import Catalog, CoreError
from cli.tables import write_table
from indicators import load_catalog
from indicators.synth import DEFAULT_SPEC, generate_households, load_spec

GENERATOR = "indicators.synth"
PROGRESS_FROM_ROWS = 200_000
FORMATS = {".csv": "CSV", ".parquet": "Parquet", ".jsonl": "JSON Lines"}  # what `synth` offers


def _fail(en: str, zh: str) -> typer.Exit:
    typer.echo(f"error: {en}\n错误:{zh}", err=True)
    return typer.Exit(code=2)


def file_metadata(spec: dict, seed: int, catalog: Catalog) -> dict[str, str]:
    """What a synthetic file says about itself (Parquet schema metadata)."""
    return {
        "synthetic": "true",
        "generator": f"{GENERATOR} {spec.get('generator', '')}".strip(),
        "seed": str(seed),
        "catalog_id": catalog.id,
        "catalog_version": catalog.version,
        "catalog_hash": catalog.content_hash,
    }


def synth(
    households: int = typer.Option(1000, "--households", "-n", min=1, help="Number of households."),
    seed: int = typer.Option(0, "--seed", "-s", help="Random seed; the same seed gives the same file."),
    output: Path = typer.Option(..., "--output", "-o", help="Output file: .csv, .parquet or .jsonl."),
    catalog_dir: Path | None = typer.Option(None, "--catalog", help="Catalog folder (default catalog if omitted)."),
    spec_path: Path = typer.Option(DEFAULT_SPEC, "--spec", help="Synthetic-household spec (YAML)."),
) -> None:
    """Generate synthetic households (invented, not real people) for testing and benchmarks."""
    if output.suffix.lower() not in FORMATS:
        raise _fail(f"--output: unknown file type {output.suffix or '(none)'!r}; use .csv, .parquet or .jsonl",
                    f"--output:不支持的文件类型 {output.suffix or '(无)'!r},请使用 .csv、.parquet 或 .jsonl")
    try:
        catalog = load_catalog(catalog_dir)
        spec = load_spec(spec_path)
        with tqdm(total=households, unit="households", disable=households < PROGRESS_FROM_ROWS,
                  desc="generating") as bar:
            frame = generate_households(catalog, spec, households, seed)
            bar.set_description("writing")
            write_table(frame, output, metadata=file_metadata(spec, seed, catalog), progress=bar)
    except CoreError as exc:
        raise _fail(exc.message.en, exc.message.zh) from exc
    summary = json.dumps(frame["archetype"].value_counts().to_dict(), ensure_ascii=False)
    typer.echo(f"archetypes: {summary}")
    typer.echo(f"Wrote {households} SYNTHETIC households (invented, not real people; seed {seed}) "
               f"to {output} as {FORMATS[output.suffix.lower()]}. 合成数据,非真实住户。")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `assess` app."""
    app.command("synth")(synth)
