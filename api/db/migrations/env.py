"""Alembic environment: the URL comes from the Alembic config (set by api.db.migrate) or from the settings."""

from alembic import context
from sqlalchemy import create_engine

from api.db.engine import normalise_url
from api.settings import Settings
from api.tables import metadata

config = context.config
url = normalise_url(config.get_main_option("sqlalchemy.url") or Settings().database_url)


def run_offline() -> None:
    context.configure(url=url, target_metadata=metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = create_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
