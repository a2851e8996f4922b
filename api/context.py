"""What every request needs: settings, the database, the keys and the scorer."""

from __future__ import annotations

import gc
from dataclasses import dataclass

from api.assessments.scoring import Scorer
from api.db import Database
from api.security import Keys, resolve_keys
from api.settings import Settings


@dataclass
class ServiceContext:
    settings: Settings
    database: Database
    keys: Keys
    scorer: Scorer

    @classmethod
    def from_settings(cls, settings: Settings) -> "ServiceContext":
        return cls(settings=settings,
                   database=Database(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms,
                                     writers=settings.writer_threads),
                   keys=resolve_keys(settings),
                   scorer=Scorer(catalog_dir=settings.catalog_dir, model=settings))

    def warm_up(self) -> None:
        """Once started, before the first request or import: the champion's first lookup and the core's compiled
        formula loaded; then what start-up made, which lives as long as the process, frozen out of the
        collector's full passes (they paused every request in flight for 30-200 ms, and took a fifth of a bulk
        import's CPU going over it again)."""
        self.scorer.model()
        self.scorer.warm_up()
        gc.collect()
        gc.freeze()
