"""`assess score` and `assess rank`: whole files of households."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import typer
from pandas.api.types import union_categoricals
from tqdm import tqdm

from assessment import assess_frame
from assessment.population import poverty_measures
from assessment.ranking import rank
from cli.engine import (ENGINE_OPTION, SCHEDULER_OPTION, WORKERS_OPTION, EngineName, cluster_engine, dataset_output,
                        findings_writer)
from cli.problems import reported
from cli.tables import Language, for_reading, read_table, sibling, table_format, write_csv, write_table
from indicators.loader import load_catalog, load_config

# Exit code when the batch ran but some rows failed validation (listed in the errors file).
SOME_ROWS_FAILED = 3
# Rows scored at a time: bounds the memory a huge file needs (about 0.5 GB per million rows) and
# moves the progress bar.
CHUNK_ROWS = 1_000_000


def concat_keeping_categories(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Frames with the same columns, one after the other; categorical columns stay categorical (their
    categories united) where pd.concat would turn them into plain objects."""
    if len(frames) == 1:
        return frames[0]
    united = {name: union_categoricals([f[name] for f in frames])
              for name, dtype in frames[0].dtypes.items() if isinstance(dtype, pd.CategoricalDtype)}
    result = pd.concat([f.drop(columns=list(united)) for f in frames], ignore_index=True)
    for name, values in united.items():
        result[name] = values
    return result[list(frames[0].columns)]


def score(
    input: Path = typer.Argument(..., help="Households, one per row (.csv, .parquet, .jsonl)."),
    output: Path = typer.Option(..., "-o", "--output", help="Where to write the scores (.csv, .parquet, .jsonl)."),
    catalog_path: Path = typer.Option(None, "--catalog", help="Catalog folder (default: the built-in one)."),
    config_path: Path = typer.Option(None, "--config", help="Scoring configuration file (default: the catalog's)."),
    language: Language = typer.Option(Language.zh, "--lang", help="Language of the labels a CSV shows beside "
                                                                  "the ids."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
    engine: EngineName = ENGINE_OPTION,
    scheduler: str = SCHEDULER_OPTION,
    workers: int = WORKERS_OPTION,
):
    """Score, tier and recommend every household of INPUT; invalid rows go to OUTPUT.errors.csv.

    Parquet and JSON Lines keep ids and full precision; a CSV also shows labels (--lang) and rounded figures.
    Every row, and a Parquet file's metadata, names the catalog (id, version, hash) and configuration used.
    With --engine dask, INPUT is a Parquet data set and OUTPUT a folder of part files, written whole or not
    at all."""
    catalog = load_catalog(catalog_path)
    config = load_config(config_path, catalog) if config_path else None
    if engine is EngineName.dask:
        dataset_output(output)
        with cluster_engine(scheduler, workers) as (cluster, running), reported(input):
            counts = cluster.score_dataset(running, input, output, catalog=catalog, config=config,
                                           write_findings=findings_writer(output, catalog, language))
        return _scored(counts["scored"], counts["rows"], counts["failed"], output)
    frame = read_table(input)
    scored, errors, warnings = [], [], []
    versions = {}
    bar = tqdm(total=len(frame), unit="household", disable=not progress or len(frame) < CHUNK_ROWS)
    for start in range(0, max(len(frame), 1), CHUNK_ROWS):
        chunk = frame.iloc[start:start + CHUNK_ROWS]
        with reported(input):
            batch = assess_frame(catalog, chunk, config=config)
        versions = batch.versions
        scored.append(batch.scores)
        for target, found in ((errors, batch.errors), (warnings, batch.warnings)):
            if len(found):
                found = found.assign(row=found["row"] + start)
                target.append(found)
        bar.update(len(chunk))
    bar.close()
    result = concat_keeping_categories(scored)
    if table_format(output) == "csv":
        write_table(for_reading(result, catalog, language), output)
    else:
        write_table(result, output, metadata=versions)
    for rows, path in ((errors, sibling(output, "errors")), (warnings, sibling(output, "warnings"))):
        if rows:
            write_csv(for_reading(pd.concat(rows, ignore_index=True), catalog, language), path)
        elif path.exists():
            path.unlink()
    _scored(len(result), len(frame), sum(len(e["row"].unique()) for e in errors), output)


def _scored(scored: int, rows: int, failed: int, output: Path) -> None:
    typer.echo(f"scored {scored} of {rows} households -> {output}")
    if failed:
        typer.echo(f"{failed} row(s) failed validation -> {sibling(output, 'errors')}", err=True)
        raise typer.Exit(SOME_ROWS_FAILED)


def rank_command(
    input: Path = typer.Argument(..., help="A scored file written by `assess score`."),
    output: Path = typer.Option(..., "-o", "--output"),
    scope: list[str] = typer.Option([], "--scope", help="Rank within each value of these columns, e.g. town_id."),
    catalog_path: Path = typer.Option(None, "--catalog", help="Catalog folder, for the tier order and labels."),
    language: Language = typer.Option(Language.zh, "--lang", help="Language of the labels a CSV shows beside "
                                                                  "the ids."),
    engine: EngineName = ENGINE_OPTION,
    scheduler: str = SCHEDULER_OPTION,
    workers: int = WORKERS_OPTION,
):
    """Rank households by index within a scope (tie rule: tier, completeness, household id). Rank a Parquet or
    JSON Lines file of scores for the exact order: a CSV's figures are rounded. With --engine dask the ranks
    are those of the whole data set, written sorted by scope and rank."""
    catalog = load_catalog(catalog_path)
    if engine is EngineName.dask:
        dataset_output(output)
        with cluster_engine(scheduler, workers) as (cluster, running), reported(input):
            ranked = cluster.rank_dataset(running, input, output, scope=scope, tier_order=list(catalog.tier_ids))
        return _ranked(ranked, scope, output)
    frame = read_table(input)
    with reported(input):
        ranked = rank(frame, scope=scope or None, tier_order=catalog.tier_ids)
    ranked = ranked.sort_values([*scope, "rank"], kind="stable", ignore_index=True)
    write_table(for_reading(ranked, catalog, language) if table_format(output) == "csv" else ranked, output)
    _ranked(len(ranked), scope, output)


def _ranked(households: int, scope: list[str], output: Path) -> None:
    typer.echo(f"ranked {households} households" + (f" within {', '.join(scope)}" if scope else "") + f" -> {output}")


def poverty(
    input: Path = typer.Argument(..., help="Households, one per row (.csv, .parquet, .jsonl)."),
    k: float = typer.Option(None, "--k", help="Poverty cut-off k (share of weighted deprivations); "
                                              "default: the configuration's."),
    by: str = typer.Option(None, "--by", help="Break down by this column, e.g. region or town_id."),
    catalog_path: Path = typer.Option(None, "--catalog", help="Catalog folder (default: the built-in one)."),
    config_path: Path = typer.Option(None, "--config", help="Scoring configuration file."),
    output: Path = typer.Option(None, "-o", "--output", help="Also write the figures as JSON here."),
    engine: EngineName = ENGINE_OPTION,
    scheduler: str = SCHEDULER_OPTION,
    workers: int = WORKERS_OPTION,
):
    """Alkire-Foster measures of a population: H, A, M0 and contributions by dimension, indicator, group.
    With --engine dask each partition's counts and sums are added up before the ratios are taken."""
    catalog = load_catalog(catalog_path)
    config = load_config(config_path, catalog) if config_path else None
    if engine is EngineName.dask:
        with cluster_engine(scheduler, workers) as (cluster, running), reported(input):
            _check_group_column(input, by, cluster.dataset_columns(input))
            result, left_out = cluster.poverty_dataset(running, input, catalog=catalog, config=config, k=k,
                                                       group_column=by)
    else:
        frame = read_table(input)
        _check_group_column(input, by, frame.columns)
        with reported(input):
            result, left_out = poverty_measures(catalog, frame, config=config, k=k, group_column=by)
    _print_poverty(result, left_out, by)
    if output is not None:
        output.write_text(json.dumps(result.as_dict(), ensure_ascii=False, indent=2), encoding="utf-8")


def _check_group_column(input: Path, by: str | None, columns) -> None:
    if by is not None and by not in columns:
        raise typer.BadParameter(f"{input.name} has no column {by!r}", param_hint="--by")


def _print_poverty(result, left_out: int, by: str | None) -> None:
    typer.echo(f"households {result.n} (left out for invalid answers: {left_out}); k = {result.k:g}")
    typer.echo(f"H (headcount) {result.H:.4f}   A (intensity) {result.A:.4f}   M0 = H x A {result.M0:.4f}")
    if result.contribution_by_dimension is not None:
        typer.echo("\ncontribution to M0 by dimension:")
        for dim, share in result.contribution_by_dimension.sort_values(ascending=False).items():
            typer.echo(f"  {dim:<24} {share:7.1%}")
    typer.echo("\nlargest contributions by indicator:")
    for ind, share in result.contribution.sort_values(ascending=False).head(10).items():
        typer.echo(f"  {ind:<32} {share:7.1%}   censored headcount {result.censored_headcount[ind]:.3f}")
    if result.by_group is not None:
        typer.echo(f"\nby {by}:")
        typer.echo(result.by_group.to_string(float_format=lambda x: f"{x:.4f}"))


def register(app: typer.Typer) -> None:
    app.command("score")(score)
    app.command("rank")(rank_command)
    app.command("poverty")(poverty)
