"""Migrations from an empty database, both ways, and in step with the tables."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from api import db
from api.tables import metadata
from tests.api.conftest import POSTGRES_URL, fresh_postgres_database

TABLES = {t.name for t in metadata.sorted_tables}


def table_names(url: str) -> set[str]:
    engine = create_engine(db.normalise_url(url))
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_upgrade_downgrade_upgrade_from_empty(tmp_path, backend):
    if backend == "postgresql" and not POSTGRES_URL:
        pytest.skip("ASSESS_TEST_DATABASE_URL is not set")
    if backend == "sqlite":
        url, drop = f"sqlite:///{tmp_path / 'empty.db'}", lambda: None
    else:
        url, drop = fresh_postgres_database()
    try:
        assert table_names(url) == set()
        db.upgrade(url)
        assert table_names(url) == TABLES
        db.downgrade(url, "base")
        assert table_names(url) == set()
        db.upgrade(url)
        engine = create_engine(db.normalise_url(url))
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), metadata)
        engine.dispose()
        assert differences == []
    finally:
        drop()
