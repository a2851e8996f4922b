"""What every request needs: settings, the database, the keys and the scorer."""

from __future__ import annotations

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
