"""Helpers shared by the service tests."""

from __future__ import annotations

from cryptography.fernet import Fernet
from sqlalchemy import text

from api.settings import Settings
from api.tables import metadata

DATA_KEY = Fernet.generate_key().decode()
HASH_KEY = "test-hash-key-not-for-production-0123456789"


def settings_for(database_url: str, **overrides) -> Settings:
    return Settings(database_url=database_url, data_key=DATA_KEY, hash_key=HASH_KEY, env="production",
                    **overrides)


def count_rows(app, table: str) -> int:
    with app.state.context.database.engine.connect() as connection:
        return connection.execute(text(f'SELECT COUNT(*) FROM "{table}"')).scalar_one()


def snapshot(app) -> dict[str, int]:
    """Row counts of every table: a failed request must leave them all unchanged."""
    return {t.name: count_rows(app, t.name) for t in metadata.sorted_tables}
