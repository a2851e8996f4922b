"""`assess train`: cross-validate, fit, log everything to MLflow and register the model.

The input is a table of answers (one row per assessment: `household_id`, indicator columns, optional
`region`/`year` and group columns) with a column of verified tiers.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
import pandas as pd

from assessment import Catalog
from experiments import plots
from experiments.compare import METHODS, compare
from indicators import load_catalog
from models import evaluation
from models.features import forced_by_critical, household_features, indicator_ids
from models.hardship import HardshipModel
from models.registry import DEFAULT_MODEL_NAME, artifact_location, client, resolve_tracking_uri
from models.weights import WeightLearner, write_config

EXPLAINED_ROWS = 200


@dataclass(frozen=True)
class TrainingRun:
    run_id: str
    model_version: str
    metrics: dict[str, float]


def read_table(path: Path | str) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"input {path}: not a file / 输入文件不存在")
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype={"household_id": str})


def labelled_rows(catalog: Catalog, table: pd.DataFrame, label_column: str) -> pd.DataFrame:
    """The rows with a verified tier; a missing column or an unknown tier is an error naming it."""
    for column in ("household_id", label_column):
        if column not in table.columns:
            raise ValueError(f"column {column!r} is missing from the input / 输入缺少列 {column!r}")
    rows = table[table[label_column].notna()].reset_index(drop=True)
    unknown = sorted(set(rows[label_column].astype(str)) - set(catalog.tier_ids))
    if unknown:
        raise ValueError(f"{label_column}: unknown tier(s) {unknown}; expected {list(catalog.tier_ids)} / "
                         f"{label_column} 含未知分档 {unknown}")
    if rows[label_column].nunique() < 2:
        raise ValueError(f"{label_column}: needs at least two different tiers / 至少需要两个不同分档")
    return rows


def train(input_path: Path | str, catalog_path: Path | str | None = None, *, label_column: str = "verified_tier",
          tracking_uri: str | None = None, experiment: str = "hardship", model_name: str = DEFAULT_MODEL_NAME,
          folds: int = 5, budget: float = 0.2, group_columns: tuple[str, ...] = (), seed: int = 0,
          model_params: dict | None = None) -> TrainingRun:
    import mlflow
    import mlflow.sklearn

    catalog = load_catalog(catalog_path)
    rows = labelled_rows(catalog, read_table(input_path), label_column)
    missing_groups = [g for g in group_columns if g not in rows.columns]
    if missing_groups:
        raise ValueError(f"group column(s) {missing_groups} are missing from the input / 缺少分组列 {missing_groups}")
    labels = rows[label_column].astype(str).to_numpy()
    answers = rows.drop(columns=[label_column])
    groups = rows[list(group_columns)] if group_columns else None
    result = compare(catalog, answers, labels, households=rows["household_id"].to_numpy(), groups=groups,
                     folds=folds, budget=budget, seed=seed, model_params=model_params)

    features = household_features(catalog, answers)
    deprivations = features[indicator_ids(catalog)]
    model = HardshipModel(tier_order=list(catalog.tier_ids), **(model_params or {})).fit(features, labels)
    learner = WeightLearner(tier_order=list(catalog.tier_ids)).fit(
        deprivations, labels, sample_weight=~forced_by_critical(catalog, deprivations))
    cutoffs = evaluation.cutoffs_matching_shares(learner.index(deprivations), result.true_rank,
                                                 len(catalog.tier_ids))
    default_config = catalog.default_config()

    metrics = {}
    for method in METHODS:
        metrics.update(evaluation.flat_metrics(result.reports[method], method))
    metrics = {k.replace(" ", "_"): float(v) for k, v in metrics.items() if np.isfinite(v)}

    uri = resolve_tracking_uri(tracking_uri)
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        if mlflow.get_experiment_by_name(experiment) is None:
            mlflow.create_experiment(experiment, artifact_location=artifact_location(uri))
        mlflow.set_experiment(experiment)
        with mlflow.start_run() as run, tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            mlflow.log_params({**model.get_params(), "tier_order": ",".join(catalog.tier_ids), "folds": folds,
                               "budget": budget, "seed": seed, "label_column": label_column,
                               "rows": len(rows), "households": rows["household_id"].nunique(),
                               "input": Path(input_path).name})
            tags = {"catalog_id": catalog.id, "catalog_version": catalog.version,
                    "catalog_hash": catalog.content_hash, "config_version": default_config.version,
                    "tier_order": ",".join(catalog.tier_ids)}
            mlflow.set_tags(tags)
            mlflow.log_metrics(metrics)
            joblib.dump(model, folder / "model.joblib")
            write_config(learner.to_config(catalog, version=f"learned-{run.info.run_id[:8]}", tier_cutoffs=cutoffs),
                         folder / "learned_config.yaml")
            (folder / "report.json").write_text(json.dumps(result.reports, indent=2, default=float), encoding="utf-8")
            is_severe = result.true_rank >= len(catalog.tier_ids) - result.n_severe
            plots.calibration_plot(is_severe, result.p_severe, folder / "calibration.png")
            plots.confusion_plot(result.true_rank, result.model_rank, list(catalog.tier_ids), folder / "confusion.png")
            sample = features.sample(min(EXPLAINED_ROWS, len(features)), random_state=seed)
            plots.importance_plot(model.explain(sample).abs().mean(), folder / "importance.png")
            mlflow.log_artifacts(str(folder))
            # our own model, so pickle is fine; skops would need every inner type listed as trusted
            logged = mlflow.sklearn.log_model(model, name="model", registered_model_name=model_name,
                                              serialization_format="cloudpickle")
            version = str(logged.registered_model_version)
            registry = client(uri)
            for key, value in tags.items():
                registry.set_model_version_tag(model_name, version, key, value)
    finally:
        mlflow.set_tracking_uri(previous)
    return TrainingRun(run.info.run_id, version, metrics)
