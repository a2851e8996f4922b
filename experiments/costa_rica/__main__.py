"""`python -m experiments.costa_rica evaluate --train PATH` and `... predict --train PATH --input PATH --output PATH`."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import typer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from experiments.compare import compare, index_of
from experiments.costa_rica import CATALOG_DIR
from experiments.costa_rica.adapter import households, load_mapping
from indicators import load_catalog
from models import evaluation
from models.features import household_features
from models.hardship import HardshipModel

app = typer.Typer(help="The hardship method on the Costa Rica household survey.", no_args_is_help=True,
                  add_completion=False)

BUDGET = 0.3
# The model sees the deprivation scores and the household features the catalog declares (docs/learning.md).
MODEL_BLOCKS = "deprivations,features"
FOLDS = 5
SEED = 0
# The model's gradient-boosting member: LightGBM with small trees, column and row subsampling and many slow
# rounds, chosen on inner folds of the training sets (docs/learning.md, "LightGBM member").
MODEL_PARAMS = dict(booster="lightgbm", learning_rate=0.01, boosting_rounds=400, leaves=7, min_samples_leaf=40,
                    l2_regularization=5.0, feature_fraction=0.3, row_fraction=0.8)


def baselines() -> dict:
    """What a data scientist writes first: every raw column of the head's row, imputed, class-balanced."""
    return {
        "logistic_regression": make_pipeline(SimpleImputer(strategy="median"), StandardScaler(),
                                             LogisticRegression(class_weight="balanced", max_iter=3000)),
        "random_forest": make_pipeline(SimpleImputer(strategy="median"),
                                       RandomForestClassifier(n_estimators=300, min_samples_leaf=2,
                                                              class_weight="balanced", n_jobs=2, random_state=SEED)),
    }


def _read(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise typer.BadParameter(f"{path} is not a file / 文件不存在")
    return pd.read_csv(path)


@app.command()
def evaluate(train: Path = typer.Option(..., "--train", help="The survey's train.csv (person rows with Target)."),
             folds: int = FOLDS, budget: float = BUDGET,
             blocks: str = typer.Option(MODEL_BLOCKS, help="The model's feature blocks, comma-separated.")) -> None:
    """Cross-validate on heads of household: the index (default and learned weights), the learned model
    and two plain baselines; prints macro-F1, AUC for poor (Target <= 2) and recall of the poor in a budget."""
    started = time.time()
    catalog = load_catalog(CATALOG_DIR)
    survey = households(_read(train), catalog)
    headed = survey.has_head.to_numpy() & survey.labels.notna().to_numpy()
    answers, labels = survey.answers[headed], survey.labels[headed].to_numpy()
    result = compare(catalog, answers, labels, households=answers.index.to_numpy(),
                     groups=survey.groups[headed], folds=folds, budget=budget, seed=SEED,
                     model_params=MODEL_PARAMS, feature_blocks=tuple(blocks.split(",")))
    rows = {name: result.reports[name]["overall"] for name in ("index_default", "index_learned", "model")}

    raw = survey.raw[headed].reset_index(drop=True)
    raw = raw.loc[:, raw.notna().any()]   # a column no head answers (rez_esc) carries nothing
    n_tiers = len(result.tier_order)
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=SEED)
    for name, estimator in baselines().items():
        proba = np.zeros((len(raw), n_tiers))
        for fit_rows, test_rows in splitter.split(raw, result.true_rank, answers.index.to_numpy()):
            fitted = estimator.fit(raw.iloc[fit_rows], result.true_rank[fit_rows])
            proba[np.ix_(test_rows, fitted.classes_)] = fitted.predict_proba(raw.iloc[test_rows])
        p_poor = proba[:, n_tiers - 2:].sum(axis=1)
        rows[name] = evaluation.metrics(result.true_rank, n_tiers, score=p_poor, predicted_rank=proba.argmax(axis=1),
                                        p_severe=p_poor, budget=budget)

    typer.echo(f"Costa Rica survey: {len(answers)} heads of household, {folds}-fold grouped stratified CV, "
               f"budget {budget:.0%}, model features: {blocks}")
    typer.echo(f"{'method':<22}{'macro-F1':>10}{'AUC poor':>10}{'recall@budget':>15}{'spearman':>10}")
    for name, figures in rows.items():
        typer.echo(f"{name:<22}{figures['macro_f1']:>10.3f}{figures['auc_severe']:>10.3f}"
                   f"{figures['budget_recall']:>15.3f}{figures['spearman']:>10.3f}")
    typer.echo(f"index_default with the catalog's own cut-offs: macro-F1 "
               f"{rows['index_default']['macro_f1_catalog_cutoffs']:.3f}")
    gaps = result.reports["model"]["largest_gap"]
    for metric in ("auc_severe", "budget_recall"):
        if metric in gaps:
            g = gaps[metric]
            typer.echo(f"model: largest {metric} gap {g['gap']:.3f} by {g['group']} ({g['lowest']} vs {g['highest']})")
    summary = {f"{name}.{metric}": round(float(figures[metric]), 4) for name, figures in rows.items()
               for metric in ("macro_f1", "auc_severe", "budget_recall")}
    summary["seconds"] = round(time.time() - started, 1)
    typer.echo(json.dumps(summary))


@app.command()
def predict(train: Path = typer.Option(..., "--train"), input: Path = typer.Option(..., "--input"),
            output: Path = typer.Option(..., "--output"),
            blocks: str = typer.Option(MODEL_BLOCKS, help="The model's feature blocks, comma-separated.")) -> None:
    """Train on --train, then write idhogar, predicted_target (1-4), p_poor and index for every household
    of --input (which may lack Target)."""
    catalog = load_catalog(CATALOG_DIR)
    known = households(_read(train), catalog)
    labelled = known.labels.notna().to_numpy()
    tier_order = list(catalog.tier_ids)
    model = HardshipModel(tier_order=tier_order, **MODEL_PARAMS).fit(
        household_features(catalog, known.answers[labelled], tuple(blocks.split(","))),
        known.labels[labelled].to_numpy())
    wanted = households(_read(input), catalog)
    features = household_features(catalog, wanted.answers, tuple(blocks.split(",")))
    proba = model.predict_proba(features)
    target_of = {tier: int(code) for code, tier in load_mapping()["label"]["tiers"].items()}
    out = pd.DataFrame({
        "idhogar": wanted.answers["household_id"].to_numpy(),
        "predicted_target": [target_of[t] for t in model.predict(features)],
        "p_poor": proba[:, len(tier_order) - 2:].sum(axis=1).round(6),
        "index": index_of(catalog, wanted.answers, None)["index"].to_numpy(),
    })
    out.to_csv(output, index=False)
    typer.echo(f"wrote {len(out)} households to {output}")


if __name__ == "__main__":
    app()
