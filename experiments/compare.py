"""Cross-validated comparison of the learned model, the index with learned weights and the plain index.

Folds are stratified by tier and grouped by household (a household's rows never straddle train and
test). Everything fitted - the model, the weights (and the learner's penalty, chosen by inner CV) and
the index-to-tier cut-offs - is fitted on the training folds only; the plain index uses the catalog's
weights and is scored once.
Tier cut-offs for the indexes: fitted on the training folds so that each tier gets its training share
(`cutoffs_matching_shares`); the plain index is also reported with the catalog's own cut-offs
(`macro_f1_catalog_cutoffs`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold

from assessment import Catalog, ScoringConfig, assess_frame
from models import evaluation
from models.features import DEFAULT_BLOCKS, forced_by_critical, household_features
from models.hardship import HardshipModel
from models.weights import WeightLearner

METHODS = ("model", "index_learned", "index_default")
# L2 penalties the weight learner chooses from by inner cross-validation on each training fold
LEARNER_ALPHAS = (1e-5, 1e-3, 1e-2, 3e-2)


@dataclass
class Comparison:
    """Out-of-fold predictions of every method, their reports, and the configs learned per fold."""

    tier_order: list[str]
    true_rank: np.ndarray
    model_proba: np.ndarray
    model_rank: np.ndarray
    learned_index: np.ndarray
    learned_rank: np.ndarray
    default_index: np.ndarray
    default_rank: np.ndarray
    n_severe: int = 2
    reports: dict[str, dict] = field(default_factory=dict)
    fold_configs: list[ScoringConfig] = field(default_factory=list)
    learner_alphas: list[float] = field(default_factory=list)

    @property
    def p_severe(self) -> np.ndarray:
        """The model's probability of the severe group (the `n_severe` most severe tiers)."""
        return self.model_proba[:, len(self.tier_order) - self.n_severe:].sum(axis=1)


def index_of(catalog: Catalog, answers: pd.DataFrame, config: ScoringConfig | None) -> pd.DataFrame:
    """assess_frame's scores, one per input row; invalid answers are an error naming the first ones."""
    batch = assess_frame(catalog, answers, config=config)
    if not batch.valid.all():
        errors = batch.errors.head(5).to_dict("records")
        raise ValueError(f"{(~batch.valid).sum()} households have invalid answers, e.g. {errors} / 部分家庭答案无效")
    return batch.scores.reset_index(drop=True)


def chosen_alpha(deprivations: pd.DataFrame, labels: np.ndarray, sample_weight: np.ndarray, households: np.ndarray,
                 tier_order: list[str], *, alphas=LEARNER_ALPHAS, folds: int = 3, n_severe: int = 2,
                 seed: int = 0) -> float:
    """The weight learner's L2 penalty with the best severe-group AUC in grouped stratified CV inside the
    given (training) rows; ties go to the smaller penalty."""
    rank = evaluation.tier_ranks(labels, tier_order)
    severe = rank >= len(tier_order) - n_severe
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed + 1)
    splits = list(splitter.split(deprivations, rank, households))
    best, best_auc = alphas[0], -np.inf
    for alpha in alphas:
        aucs = []
        for fit_rows, check_rows in splits:
            learner = WeightLearner(tier_order=tier_order, alpha=alpha).fit(
                deprivations.iloc[fit_rows], labels[fit_rows], sample_weight=sample_weight[fit_rows])
            aucs.append(evaluation.severe_auc(severe[check_rows], learner.index(deprivations.iloc[check_rows])))
        if np.mean(aucs) > best_auc + 1e-9:
            best, best_auc = alpha, float(np.mean(aucs))
    return best


def compare(catalog: Catalog, answers: pd.DataFrame, labels: np.ndarray, *, households: np.ndarray | None = None,
            groups: pd.DataFrame | None = None, folds: int = 5, budget: float = 0.2, n_severe: int = 2,
            seed: int = 0, model_params: dict | None = None, feature_blocks=DEFAULT_BLOCKS) -> Comparison:
    """Out-of-fold comparison; the model sees `feature_blocks` (models.features), the weights the deprivations."""
    tier_order = list(catalog.tier_ids)
    n_tiers = len(tier_order)
    true_rank = evaluation.tier_ranks(labels, tier_order)
    deprivations = household_features(catalog, answers, ("deprivations",)).reset_index(drop=True)
    features = household_features(catalog, answers, feature_blocks).reset_index(drop=True)
    answers = answers.reset_index(drop=True)
    households = np.arange(len(answers)) if households is None else np.asarray(households)
    forced = forced_by_critical(catalog, deprivations)
    default_scores = index_of(catalog, answers, None)
    default_index = default_scores["index"].to_numpy()
    n = len(answers)
    result = Comparison(tier_order, true_rank, np.zeros((n, n_tiers)), np.zeros(n, int), np.zeros(n),
                        np.zeros(n, int), default_index, np.zeros(n, int), n_severe=n_severe)
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(deprivations, true_rank, households):
        model = HardshipModel(tier_order=tier_order, **(model_params or {})).fit(features.iloc[train], labels[train])
        result.model_proba[test] = model.predict_proba(features.iloc[test])
        result.model_rank[test] = evaluation.tier_ranks(model.predict(features.iloc[test]), tier_order)

        alpha = chosen_alpha(deprivations.iloc[train], labels[train], ~forced[train], households[train],
                             tier_order, n_severe=n_severe, seed=seed)
        learner = WeightLearner(tier_order=tier_order, alpha=alpha).fit(deprivations.iloc[train], labels[train],
                                                                        sample_weight=~forced[train])
        result.learner_alphas.append(alpha)
        cutoffs = evaluation.cutoffs_matching_shares(learner.index(deprivations.iloc[train]), true_rank[train],
                                                     n_tiers)
        config = learner.to_config(catalog, tier_cutoffs=cutoffs)
        result.fold_configs.append(config)
        learned = index_of(catalog, answers.iloc[test], config)
        result.learned_index[test] = learned["index"].to_numpy()
        result.learned_rank[test] = evaluation.tier_ranks(learned["tier_from_index"], tier_order)

        default_cutoffs = evaluation.cutoffs_matching_shares(default_index[train], true_rank[train], n_tiers)
        result.default_rank[test] = evaluation.tiers_from_index(default_index[test], default_cutoffs)

    common = dict(groups=None if groups is None else groups.reset_index(drop=True), n_severe=n_severe,
                  budget=budget)
    result.reports["model"] = evaluation.evaluate(true_rank, n_tiers, score=result.p_severe,
                                                  predicted_rank=result.model_rank, p_severe=result.p_severe, **common)
    result.reports["index_learned"] = evaluation.evaluate(true_rank, n_tiers, score=result.learned_index,
                                                          predicted_rank=result.learned_rank, **common)
    result.reports["index_default"] = evaluation.evaluate(true_rank, n_tiers, score=default_index,
                                                          predicted_rank=result.default_rank, **common)
    catalog_rank = evaluation.tier_ranks(default_scores["tier_from_index"], tier_order)
    result.reports["index_default"]["overall"]["macro_f1_catalog_cutoffs"] = evaluation.macro_f1(
        true_rank, catalog_rank, n_tiers)
    return result
