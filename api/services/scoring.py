"""The scoring core as the service uses it: one catalog, its configuration, and the optional model."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@lru_cache(maxsize=8)
def load_champion(tracking_uri: str | None, model_name: str) -> Any | None:
    """The published model, or None when models.serving, MLflow or a champion is missing."""
    try:
        from models.serving import load_champion as load
    except ImportError:
        return None
    try:
        return load(tracking_uri=tracking_uri, model_name=model_name)
    except Exception:  # a broken registry must not stop scoring by the index
        log.warning("the model registry could not be read; scoring by the index alone", exc_info=True)
        return None


@dataclass(frozen=True)
class Scored:
    """A result of the core plus the model's opinion when a model is in use."""

    result: dict
    model_version: str | None = None
    model_opinion: dict | None = None
    needs_review: bool | None = None

    def as_dict(self) -> dict:
        return {**self.result, "model": None if self.model_version is None else {
            "version": self.model_version, "needs_review": self.needs_review, "opinion": self.model_opinion}}


class Scorer:
    """Validates and scores answers with one catalog and configuration (and a model when published)."""

    def __init__(self, *, catalog_dir: Path | None = None, tracking_uri: str | None = None,
                 model_name: str = "hardship-champion"):
        from indicators import default_catalog, load_catalog

        self.catalog = load_catalog(catalog_dir) if catalog_dir else default_catalog()
        self.config = self.catalog.default_config()
        self.tracking_uri = tracking_uri
        self.model_name = model_name

    @property
    def tier_order(self) -> dict[str, int]:
        return {tier: position for position, tier in enumerate(self.catalog.tier_ids)}

    def score(self, answers: dict, *, region: str, year: int, config=None) -> Scored:
        """Validate and score (with `config`, else the catalog's default); raises assessment.AnswersInvalid
        listing every problem."""
        from assessment import assess

        result = assess(self.catalog, answers, region=region, year=year, config=config or self.config)
        champion = load_champion(self.tracking_uri, self.model_name)
        if champion is None:
            return Scored(result.as_dict())
        opinion = champion.opinion(self.catalog, result)
        return Scored(result.as_dict(), opinion.model_version, opinion.as_dict(), bool(opinion.needs_review))
