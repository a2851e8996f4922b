"""The champion model as the service uses it: an opinion beside the index, never replacing it.

`load_champion` returns None whenever there is nothing to serve (MLflow not installed, no store, no
model of that name, no champion alias), so the service then works with the index alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import numpy as np

from assessment import AssessmentResult, Catalog
from models.compiled import ServedModel
from models.features import indicator_ids, model_columns, result_features
from models.hardship import HardshipModel
from models.registry import CHAMPION_ALIAS, DEFAULT_MODEL_NAME, client, resolve_tracking_uri, store_exists

log = logging.getLogger(__name__)

REVIEW_TIER_STEPS = 2         # model and index tiers this many steps apart -> review
REVIEW_MIN_PROBABILITY = 0.1  # the model gives the index's tier less than this -> review


@dataclass(frozen=True)
class Opinion:
    """The model's view of one assessed household."""

    model_version: str
    probabilities: Mapping[str, float]
    predicted_tier: str
    index_tier: str
    needs_review: bool
    review_reasons: tuple[str, ...]

    def as_dict(self) -> dict:
        return {"model_version": self.model_version, "probabilities": dict(self.probabilities),
                "predicted_tier": self.predicted_tier, "index_tier": self.index_tier,
                "needs_review": self.needs_review, "review_reasons": list(self.review_reasons)}


@dataclass(frozen=True)
class Champion:
    """A registered model version with the catalog it was trained on. `served` predicts for it one household
    at a time: for a HardshipModel, the model laid out by models.compiled (made when not given)."""

    model_name: str
    version: str
    model: object
    tags: Mapping[str, str]
    review_tier_steps: int = REVIEW_TIER_STEPS
    review_min_probability: float = REVIEW_MIN_PROBABILITY
    served: object = None
    feature_names: list = field(init=False, compare=False, repr=False)
    # catalog content hash -> (fits, every feature a deprivation score)
    _columns_by_catalog: dict = field(init=False, default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        if self.served is None:
            served = ServedModel(self.model) if isinstance(self.model, HardshipModel) else self.model
            object.__setattr__(self, "served", served)
        object.__setattr__(self, "feature_names", list(self.model.feature_names_in_))

    @property
    def model_version(self) -> str:
        return f"{self.model_name}:{self.version}"

    def fits(self, catalog: Catalog) -> bool:
        """Whether this model was trained on `catalog`'s id, tiers and feature columns."""
        return self._columns(catalog)[0]

    def _columns(self, catalog: Catalog) -> tuple[bool, bool]:
        known = self._columns_by_catalog.get(catalog.content_hash)
        if known is None:
            names = set(self.model.feature_names_in_)
            fits = (self.tags.get("catalog_id") == catalog.id and list(self.model.classes_) == list(catalog.tier_ids)
                    and names <= set(model_columns(catalog)))
            known = self._columns_by_catalog[catalog.content_hash] = (fits, names <= set(indicator_ids(catalog)))
        return known

    def opinion(self, catalog: Catalog, result: AssessmentResult,
                answers: Mapping[str, object] | None = None) -> Opinion:
        """Probabilities per tier, the predicted tier, and whether model and index disagree enough
        for a person to review the household. `answers` (indicator or declared feature id -> value) gives
        the model the raw answers and features too; without them those columns are missing (NaN), which
        the model takes. Raises ValueError when the model does not fit `catalog`."""
        fits, deprivations_only = self._columns(catalog)
        if not fits:
            raise ValueError(f"model {self.model_version} was trained on catalog {self.tags.get('catalog_id')!r}, "
                             f"not {catalog.id!r} / 模型与目录不一致")
        names = self.feature_names
        if deprivations_only:
            features = np.array([[result.deprivations.get(name, np.nan) for name in names]])
        else:
            features = result_features(catalog, result, answers)[names].to_numpy(dtype=float)
        predicted, proba = (row[0] for row in self.served.predict_with_proba(features))
        tiers = list(catalog.tier_ids)
        probabilities = {tier: float(p) for tier, p in zip(self.model.classes_, proba)}
        predicted = str(predicted)
        reasons = []
        steps = abs(tiers.index(predicted) - tiers.index(result.tier))
        if steps >= self.review_tier_steps:
            reasons.append(f"tiers_differ_by_{steps}")
        if probabilities[result.tier] < self.review_min_probability:
            reasons.append("index_tier_unlikely")
        return Opinion(self.model_version, MappingProxyType(probabilities), predicted, result.tier,
                       bool(reasons), tuple(reasons))


def load_champion(tracking_uri: str | None = None, model_name: str = DEFAULT_MODEL_NAME, *,
                  review_tier_steps: int = REVIEW_TIER_STEPS, review_min_probability: float = REVIEW_MIN_PROBABILITY,
                  current: Champion | None = None) -> Champion | None:
    """The version of `model_name` with the champion alias, or None when there is none to serve. `current`
    (the champion loaded before) is returned as it is when it is still that version with the same tags and
    review settings, so that a periodic lookup loads nothing again."""
    try:
        import mlflow
        from mlflow.exceptions import MlflowException
    except ImportError:
        return None
    if not store_exists(tracking_uri):
        return None
    try:
        version = client(tracking_uri).get_model_version_by_alias(model_name, CHAMPION_ALIAS)
    except MlflowException:
        return None
    tags = MappingProxyType(dict(version.tags))
    if current is not None and (current.model_name, current.version, dict(current.tags), current.review_tier_steps,
                                current.review_min_probability) == (model_name, str(version.version), dict(tags),
                                                                    review_tier_steps, review_min_probability):
        return current
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(resolve_tracking_uri(tracking_uri))
    try:
        model = mlflow.sklearn.load_model(f"models:/{model_name}/{version.version}")
    finally:
        mlflow.set_tracking_uri(previous)
    if not all(hasattr(model, a) for a in ("classes_", "feature_names_in_", "predict_with_proba")):
        log.warning("champion %s:%s is not a hardship model; ignoring it", model_name, version.version)
        return None
    return Champion(model_name, str(version.version), model, tags, review_tier_steps, review_min_probability)
