"""`assess` commands: learning (train a model, promote it, list versions). Experiments load lazily."""

from __future__ import annotations

from pathlib import Path

import typer

from models.registry import DEFAULT_MODEL_NAME

model_app = typer.Typer(help="The model registry: list versions, promote one to champion.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `assess` app."""
    app.command("train")(train)
    app.add_typer(model_app, name="model")


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code=2)


def train(input: Path = typer.Option(..., "--input", help="Answers with verified tiers (CSV or Parquet)."),
          catalog: Path = typer.Option(None, "--catalog", help="Catalog folder (default: the default catalog)."),
          label_column: str = typer.Option("verified_tier", "--label-column"),
          tracking_uri: str = typer.Option(None, "--tracking-uri", help="MLflow store (default: ./mlflow.db)."),
          experiment: str = typer.Option("hardship", "--experiment"),
          model_name: str = typer.Option(DEFAULT_MODEL_NAME, "--model-name"),
          folds: int = typer.Option(5, "--folds", min=2),
          budget: float = typer.Option(0.2, "--budget", min=0.01, max=1.0),
          group: list[str] = typer.Option([], "--group", help="A column to report metrics by (repeatable).")) -> None:
    """Cross-validate the model and the learned weights, log them to MLflow and register the model."""
    from experiments.train import train as run_training

    try:
        run = run_training(input, catalog, label_column=label_column, tracking_uri=tracking_uri,
                           experiment=experiment, model_name=model_name, folds=folds, budget=budget,
                           group_columns=tuple(group))
    except ValueError as exc:
        _fail(f"error: {exc}")
    typer.echo(f"run {run.run_id} registered {model_name} version {run.model_version}")
    for method in ("model", "index_learned", "index_default"):
        figures = {k.split(".", 1)[1]: v for k, v in run.metrics.items() if k.count(".") == 1 and k.startswith(method + ".")}
        typer.echo(f"{method:<15} macro-F1 {figures.get('macro_f1', float('nan')):.3f}  "
                   f"AUC {figures.get('auc_severe', float('nan')):.3f}  "
                   f"budget recall {figures.get('budget_recall', float('nan')):.3f}")
    typer.echo(f"promote with: assess model promote {run.run_id}")


@model_app.command("promote")
def promote(run_id: str = typer.Argument(..., help="The MLflow run that registered the model."),
            tracking_uri: str = typer.Option(None, "--tracking-uri"),
            model_name: str = typer.Option(DEFAULT_MODEL_NAME, "--model-name")) -> None:
    """Make the model registered by RUN_ID the champion the service uses."""
    from models.registry import promote as promote_run

    try:
        version = promote_run(tracking_uri, run_id, model_name)
    except LookupError as exc:
        _fail(f"error: {exc}")
    typer.echo(f"{model_name} version {version} is now the champion")


@model_app.command("list")
def list_models(tracking_uri: str = typer.Option(None, "--tracking-uri"),
                model_name: str = typer.Option(DEFAULT_MODEL_NAME, "--model-name")) -> None:
    """Every registered version with its run, aliases and catalog."""
    from models.registry import list_versions

    versions = list_versions(tracking_uri, model_name)
    if not versions:
        typer.echo(f"no versions of {model_name}")
    for v in versions:
        typer.echo(f"{v['version']:>4}  run {v['run_id']}  {','.join(v['aliases']) or '-':<10} "
                   f"{v['catalog_id']}@{v['catalog_version']}")
