"""The scoring core as the service uses it: one catalog, its configuration, and the optional model."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assessment import AnswersInvalid
from assessment.results import AssessmentResult

log = logging.getLogger(__name__)


class ChampionCache:
    """The published model, looked up again every `model_refresh_seconds`, so that promoting a model
    takes effect without a restart (a lookup that finds the same version keeps the model it has). None when
    models.serving, MLflow or a champion is missing.
    Only the first lookup makes requests wait (the server makes it at start); a later one runs in a thread of
    its own while requests go on with the model they had."""

    def __init__(self, settings):
        self.settings = settings
        self._champion, self._checked_at, self._refreshing = None, None, False
        self._lock = threading.Lock()

    def get(self) -> Any | None:
        with self._lock:
            if self._checked_at is None:
                self._champion, self._checked_at = self._load(None), time.monotonic()
                return self._champion
            if self._refreshing or time.monotonic() - self._checked_at < self.settings.model_refresh_seconds:
                return self._champion
            self._refreshing = True
            champion = self._champion
        threading.Thread(target=self._refresh, name="champion lookup", daemon=True).start()
        return champion

    def _refresh(self) -> None:
        champion = self._champion
        try:
            champion = self._load(champion)
        finally:
            with self._lock:
                self._champion, self._checked_at, self._refreshing = champion, time.monotonic(), False

    def _load(self, current) -> Any | None:
        try:
            from models.serving import load_champion
        except ImportError:
            return None
        try:
            return load_champion(tracking_uri=self.settings.mlflow_tracking_uri, model_name=self.settings.model_name,
                                 review_tier_steps=self.settings.model_review_tier_steps,
                                 review_min_probability=self.settings.model_review_min_probability,
                                 current=current)
        except Exception:  # a broken registry must not stop scoring by the index
            log.warning("the model registry could not be read; scoring by the index alone", exc_info=True)
            return None


@dataclass(frozen=True)
class Scored:
    """A result of the core (its dict, or an api.encoding.EncodedObject of it) plus the model's opinion when a
    model is in use."""

    result: Mapping
    model_version: str | None = None
    model_opinion: dict | None = None
    needs_review: bool | None = None

    def as_dict(self) -> dict:
        return {**self.result, "model": None if self.model_version is None else {
            "version": self.model_version, "needs_review": self.needs_review, "opinion": self.model_opinion}}


class Scorer:
    """Validates and scores answers with one catalog and configuration (and a model when published)."""

    def __init__(self, *, catalog_dir: Path | None = None, model=None):
        """`model`: the settings of the optional model (api.settings.Settings); None for no model."""
        from indicators import DEFAULT_CATALOG_DIR, default_catalog
        from indicators.loader import catalog_from_texts, read_texts

        self.catalog_texts = read_texts(catalog_dir or DEFAULT_CATALOG_DIR)  # what api.configs.versions keeps
        self.catalog = catalog_from_texts(self.catalog_texts) if catalog_dir else default_catalog()
        self.config = self.catalog.default_config()
        self.champion = ChampionCache(model) if model is not None else None

    def example_answers(self) -> dict:
        """A valid answer to every question, taken from the catalog (the lowest level, option, count or
        amount; no for yes/no questions)."""
        first = {"yes_no": lambda spec: False, "ordinal": lambda spec: spec.levels[0].value,
                 "choice": lambda spec: spec.options[0].value, "count": lambda spec: spec.min,
                 "amount": lambda spec: spec.min}
        return {indicator.id: first[indicator.answer.type](indicator.answer) for indicator in self.catalog.indicators}

    def warm_up(self) -> None:
        """Score the example answers once, alone and as a batch, so that the first submission (or import) does not
        wait for the core's compiled formula to be loaded or compiled."""
        region = self.catalog.regions[-1].id
        self.score(self.example_answers(), region=region, year=None)
        self.score_many([self.example_answers()], regions=[region], years=[None])

    def score(self, answers: dict, *, region: str, year: int, config=None) -> Scored:
        """Validate and score (with `config`, else the catalog's default); raises assessment.AnswersInvalid
        listing every problem."""
        from assessment import assess

        result = assess(self.catalog, answers, region=region, year=year, config=config or self.config)
        return self._scored(result, answers, self.model())

    def score_many(self, answers: list[dict], *, regions: list[str], years: list[int], config=None
                   ) -> list[Scored | AnswersInvalid]:
        """`score` for many households at once, with the vectorised core: each one's Scored, or the
        assessment.AnswersInvalid that `score` would raise."""
        from assessment.scoring import assess_many

        return self.judged(assess_many(self.catalog, answers, regions=regions, years=years,
                                       config=config or self.config), answers)

    def judged(self, results: list, answers: list[dict]) -> list[Scored | AnswersInvalid]:
        """The core's results of `answers` with the model's opinion beside each valid one, as `score_many` gives
        them. A result is an assessment.AssessmentResult, or its dict (`as_dict`, perhaps an
        api.encoding.EncodedObject made in another process), which is then the Scored's result."""
        champion = self.model()  # one for the batch
        return [result if isinstance(result, AnswersInvalid) else self._scored(result, one, champion)
                for result, one in zip(results, answers)]

    def _scored(self, result, answers: dict, champion) -> Scored:
        data = result.as_dict() if isinstance(result, AssessmentResult) else result
        if champion is not None and not isinstance(result, AssessmentResult):
            result = AssessmentResult.from_dict(dict(data), self.catalog)
        opinion = self._opinion(result, answers, champion)
        if opinion is None:
            return Scored(data)
        return Scored(data, opinion.model_version, opinion.as_dict(), bool(opinion.needs_review))

    def model(self):
        """The champion in use; None when there is none."""
        return self.champion.get() if self.champion is not None else None

    def _opinion(self, result, answers: dict, champion):
        """The opinion of `champion` (the model in use) beside the index, or None (no model, a model for another
        catalog, or a model that fails: the index alone is then the result, and the log says why)."""
        if champion is None:
            return None
        if not champion.fits(self.catalog):
            log.warning("model %s does not fit catalog %s; scoring by the index alone",
                        champion.model_version, self.catalog.id)
            return None
        try:
            return champion.opinion(self.catalog, result, answers=answers)
        except Exception:
            log.warning("model %s failed; scoring by the index alone", champion.model_version, exc_info=True)
            return None
