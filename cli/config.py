"""`assess config check|show|preview|sensitivity|template`: scoring configurations for analysts."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import typer
import yaml

from assessment.catalog import Catalog, ScoringConfig
from assessment.errors import ConfigError
from assessment.impact import ImpactPreview, config_from_draft, impact_preview
from assessment.sensitivity import weight_sensitivity
from cli.engine import ENGINE_OPTION, SCHEDULER_OPTION, SCRATCH_OPTION, WORKERS_OPTION, EngineName, cluster_engine
from cli.problems import reported
from cli.tables import read_table, write_csv
from indicators.loader import load_catalog

config_app = typer.Typer(help="Check, show, preview and analyse scoring configurations.", no_args_is_help=True)

CATALOG_OPTION = typer.Option(None, "--catalog", help="Catalog folder (default: the built-in one).")
TEMPLATE_HEADER = """\
# Scoring configuration for catalog {catalog} {version}.
# Edit a copy and check it with `assess config check FILE`; preview its effect with
# `assess config preview FILE --households FILE`. A draft may also give only the fields it changes.
#   method: weighted_mean (index = weighted mean of the dimension scores) or alkire_foster
#   indicator_weights / dimension_weights: positive numbers
#   tier_cutoffs: the lowest index of each tier, 0 for the lowest tier, rising, at most 100
#   af_deprivation_cutoff, af_poverty_cutoff (k), completeness_threshold: numbers in 0-1
"""


def read_document(path: Path) -> dict:
    """A YAML or JSON file's contents."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError("(file)", f"cannot be read ({exc.strerror})", f"无法读取({exc.strerror})",
                          code="unreadable") from exc
    except yaml.YAMLError as exc:
        raise ConfigError("(file)", f"not valid YAML/JSON: {exc}", f"不是有效的 YAML/JSON:{exc}",
                          code="bad_yaml") from exc


def config_file(path: Path, catalog: Catalog, base: ScoringConfig) -> ScoringConfig:
    """The configuration a file describes: a whole configuration, or a draft's changes to `base`."""
    with reported(path):
        return config_from_draft(catalog, read_document(path), base=base)


def differences(config: ScoringConfig, base: ScoringConfig) -> list[str]:
    """Readable lines, one per setting that differs from `base`."""
    lines = []
    for field in ("indicator_weights", "dimension_weights", "tier_cutoffs"):
        old, new = getattr(base, field), getattr(config, field)
        lines += [f"{field}.{key}: {old[key]:g} -> {new[key]:g}" for key in new if new[key] != old[key]]
    for field in ("method", "af_deprivation_cutoff", "af_poverty_cutoff", "completeness_threshold"):
        if getattr(config, field) != getattr(base, field):
            lines.append(f"{field}: {getattr(base, field)} -> {getattr(config, field)}")
    return lines


@config_app.command("check")
def check(file: Path = typer.Argument(..., help="A configuration or draft (YAML or JSON)."),
          catalog_path: Path = CATALOG_OPTION):
    """Validate a configuration or draft; exit 1 naming the bad field."""
    with reported():
        catalog = load_catalog(catalog_path)
    base = catalog.default_config()
    config = config_file(file, catalog, base)
    typer.echo(f"ok: {config.id} {config.version} ({config.method}) for catalog {catalog.id} {catalog.version}")
    changes = differences(config, base)
    typer.echo(f"{len(changes)} setting(s) differ from the catalog default" + (":" if changes else ""))
    for line in changes:
        typer.echo(f"  {line}")


@config_app.command("show")
def show(file: Path = typer.Argument(None, help="A configuration or draft (default: the catalog's)."),
         catalog_path: Path = CATALOG_OPTION):
    """Print the weights, tier cut-offs and method of a configuration."""
    with reported():
        catalog = load_catalog(catalog_path)
    base = catalog.default_config()
    config = config_file(file, catalog, base) if file is not None else base
    typer.echo(f"{config.id} {config.version}  catalog {catalog.id} {catalog.version}")
    typer.echo(f"method {config.method}; af_deprivation_cutoff {config.af_deprivation_cutoff:g}, "
               f"af_poverty_cutoff {config.af_poverty_cutoff:g}; completeness_threshold "
               f"{config.completeness_threshold:g}\n")
    typer.echo(pd.DataFrame({"tier": list(catalog.tier_ids),
                             "min_index": [config.tier_cutoffs[t] for t in catalog.tier_ids]}).to_string(index=False))
    typer.echo()
    typer.echo(pd.DataFrame({
        "dimension": [d.id for d in catalog.dimensions],
        "weight": [config.dimension_weights[d.id] for d in catalog.dimensions],
        "catalog_default": [d.weight for d in catalog.dimensions],
    }).to_string(index=False))
    typer.echo()
    typer.echo(pd.DataFrame({
        "indicator": [i.id for i in catalog.indicators], "dimension": [i.dimension for i in catalog.indicators],
        "weight": [config.indicator_weights[i.id] for i in catalog.indicators],
        "catalog_default": [i.weight for i in catalog.indicators],
    }).to_string(index=False))


def print_preview(preview: ImpactPreview) -> None:
    typer.echo(f"published {preview.published['version']} -> draft {preview.draft['version']}: "
               f"{preview.compared} households compared, {preview.invalid} invalid")
    typer.echo(f"changed tier: {preview.changed_tier} (up {preview.tier_up}, down {preview.tier_down}); "
               f"Spearman {preview.spearman:.4f}, Kendall {preview.kendall:.4f}; index change mean "
               f"{preview.mean_abs_index_change:.3f}, median {preview.median_abs_index_change:.3f}\n")
    typer.echo("tier changes (rows: published, columns: draft)")
    typer.echo(preview.tier_changes.to_string() + "\n")
    typer.echo(f"largest rank movers ({len(preview.movers)})")
    typer.echo((preview.movers.to_string(index=False) if len(preview.movers) else "  none") + "\n")
    if preview.by_scope is not None:
        typer.echo(f"per {preview.scope_column}")
        typer.echo(preview.by_scope.to_string(index=False, float_format=lambda x: f"{x:.3f}"))


@config_app.command("preview")
def preview(draft: Path = typer.Argument(..., help="The draft (YAML or JSON): changes to the published one."),
            households: Path = typer.Option(..., "--households", help="Households' answers (.csv, .parquet, .jsonl)."),
            published: Path = typer.Option(None, "--published", help="The published configuration "
                                           "(default: the catalog's)."),
            scope: str = typer.Option("station_id", "--scope", help="Column for the per-scope table ('' for none)."),
            movers: int = typer.Option(20, "--movers", min=0, help="How many of the largest rank movers to list."),
            output: Path = typer.Option(None, "-o", "--output", help="Where to write the report as JSON."),
            catalog_path: Path = CATALOG_OPTION,
            engine: EngineName = ENGINE_OPTION,
            scheduler: str = SCHEDULER_OPTION,
            workers: int = WORKERS_OPTION,
            scratch: Path = SCRATCH_OPTION):
    """Compare a draft with the published configuration over the same households. With --engine dask, over a
    Parquet data set: ranks, rank correlations and the median over all of it."""
    with reported():
        catalog = load_catalog(catalog_path)
    base = config_file(published, catalog, catalog.default_config()) if published else catalog.default_config()
    changed = config_file(draft, catalog, base)
    if engine is EngineName.dask:
        with cluster_engine(scheduler, workers) as (cluster, running), reported(households):
            result = cluster.preview_dataset(running, households, catalog=catalog, draft=changed, published=base,
                                             scope_column=scope or None, movers=movers, scratch=scratch)
    else:
        frame = read_table(households)
        with reported(households):
            result = impact_preview(catalog, frame, draft=changed, published=base, scope_column=scope or None,
                                    movers=movers)
    print_preview(result)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(result.as_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
        typer.echo(f"\nreport -> {output}")


@config_app.command("sensitivity")
def sensitivity(households: Path = typer.Option(..., "--households", help="Households' answers."),
                factor: float = typer.Option(1.5, "--factor", help="Multiply each weight in turn by this."),
                config: Path = typer.Option(None, "--config", help="Configuration to start from "
                                            "(default: the catalog's)."),
                indicator: list[str] = typer.Option([], "--indicator", help="Only these indicators "
                                                    "(dimensions are always included)."),
                output: Path = typer.Option(None, "-o", "--output", help="Where to write the table (.csv)."),
                catalog_path: Path = CATALOG_OPTION,
                engine: EngineName = ENGINE_OPTION,
                scheduler: str = SCHEDULER_OPTION,
                workers: int = WORKERS_OPTION,
                scratch: Path = SCRATCH_OPTION):
    """How tiers and ranking move when each indicator's and dimension's weight is scaled; most sensitive first.
    With --engine dask, over a Parquet data set (a global order per group of weights for the rank correlations)."""
    with reported():
        catalog = load_catalog(catalog_path)
    base = config_file(config, catalog, catalog.default_config()) if config else catalog.default_config()
    if engine is EngineName.dask:
        with cluster_engine(scheduler, workers) as (cluster, running), reported(households):
            table = cluster.sensitivity_dataset(running, households, catalog=catalog, config=base, factor=factor,
                                                indicators=indicator or None, scratch=scratch)
    else:
        frame = read_table(households)
        with reported(households):
            table = weight_sensitivity(catalog, frame, config=base, factor=factor, indicators=indicator or None)
    table = table.sort_values(["share_changing_tier", "mean_abs_index_change"], ascending=False, kind="stable",
                              ignore_index=True)
    typer.echo(f"{table.attrs['households']} households ({table.attrs['invalid']} invalid), each weight x {factor:g}")
    typer.echo(table.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    if output is not None:
        write_csv(table, output)
        typer.echo(f"\ntable -> {output}")


@config_app.command("template")
def template(output: Path = typer.Option(..., "-o", "--output", help="Where to write the YAML."),
             catalog_path: Path = CATALOG_OPTION):
    """Write the catalog's default configuration as YAML, for an analyst to edit."""
    with reported():
        catalog = load_catalog(catalog_path)
    document = catalog.default_config().model_dump()
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(TEMPLATE_HEADER.format(catalog=catalog.id, version=catalog.version)
                      + yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    typer.echo(f"template -> {output}")


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")
