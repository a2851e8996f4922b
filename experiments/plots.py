"""PNG figures of a training run (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.calibration import calibration_curve  # noqa: E402
from sklearn.metrics import confusion_matrix  # noqa: E402


def calibration_plot(is_severe: np.ndarray, probability: np.ndarray, path: Path) -> Path:
    observed, predicted = calibration_curve(is_severe, probability, n_bins=10, strategy="quantile")
    figure, axes = plt.subplots(figsize=(5, 5))
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect")
    axes.plot(predicted, observed, marker="o", label="model (out of fold)")
    axes.set(xlabel="predicted P(severe group)", ylabel="observed share", title="Calibration")
    axes.legend()
    return _save(figure, path)


def confusion_plot(true_rank: np.ndarray, predicted_rank: np.ndarray, tiers: list[str], path: Path) -> Path:
    matrix = confusion_matrix(true_rank, predicted_rank, labels=list(range(len(tiers))))
    figure, axes = plt.subplots(figsize=(6, 5))
    image = axes.imshow(matrix, cmap="Blues")
    for (i, j), count in np.ndenumerate(matrix):
        axes.text(j, i, str(count), ha="center", va="center")
    axes.set(xticks=range(len(tiers)), yticks=range(len(tiers)), xticklabels=tiers, yticklabels=tiers,
             xlabel="predicted tier", ylabel="verified tier", title="Confusion (out of fold)")
    plt.setp(axes.get_xticklabels(), rotation=30, ha="right")
    figure.colorbar(image)
    return _save(figure, path)


def importance_plot(importance: pd.Series, path: Path, top: int = 20) -> Path:
    shown = importance.sort_values().tail(top)
    figure, axes = plt.subplots(figsize=(7, 0.3 * len(shown) + 1.5))
    axes.barh(shown.index, shown.to_numpy())
    axes.set(xlabel="mean |effect on expected tier| (tier steps)", title="Indicator importance")
    return _save(figure, path)


def _save(figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
