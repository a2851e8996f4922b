"""`assess` commands: serve, db upgrade, user add."""

from __future__ import annotations

from typing import Optional

import typer

from api.services.access import Role


def serve(demo: bool = typer.Option(False, "--demo", help="Seed a synthetic city and print a token per role."),
          host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
          port: int = typer.Option(8000, help="Port to listen on."),
          households: int = typer.Option(3000, help="Households in the demo city."),
          workers: int = typer.Option(1, min=1, help="Server processes; more than one needs a database file or "
                                                     "PostgreSQL.")) -> None:
    """Start the HTTP service (migrating the database first)."""
    import os

    import uvicorn

    from api.app import create_app
    from api.db import is_sqlite, sqlite_file
    from api.services.demo import seed
    from api.settings import Settings

    settings = Settings()
    if workers > 1 and is_sqlite(settings.database_url) and sqlite_file(settings.database_url) is None:
        typer.echo("error: --workers needs a database file or PostgreSQL (each worker would get its own "
                   "in-memory database)", err=True)
        raise typer.Exit(2)
    app = create_app(settings)
    context = app.state.context
    if demo:
        with context.database.session(write=True) as session:
            tokens = seed(session=session, keys=context.keys, scorer=context.scorer, households=households,
                          valid_days=settings.token_valid_days)
        typer.echo("Demo city ready (synthetic data). Bearer tokens, shown once:")
        for role, token in tokens.items():
            typer.echo(f"  {role:<11} {token}")
        typer.echo(f"Try: curl -H 'Authorization: Bearer <token>' http://{host}:{port}/v1/me   "
                   f"(API docs: http://{host}:{port}/docs)")
    if workers == 1:
        uvicorn.run(app, host=host, port=port)
        return
    # Each worker builds its own app; the schema is migrated (above) once, not by every worker at once.
    context.database.dispose()
    os.environ["ASSESS_MIGRATE_ON_START"] = "false"
    uvicorn.run("api.app:create_app", factory=True, host=host, port=port, workers=workers)


def db_upgrade(revision: str = typer.Argument("head", help="Alembic revision to upgrade to.")) -> None:
    """Migrate the database named by ASSESS_DATABASE_URL."""
    from api import db
    from api.settings import Settings

    db.upgrade(Settings().database_url, revision)
    typer.echo(f"database at {revision}")


def user_add(name: str = typer.Argument(..., help="Unique user name."),
             role: Role = typer.Option(..., "--role", help="caseworker, supervisor, analyst or admin."),
             station: Optional[int] = typer.Option(None, "--station", help="The caseworker's station id."),
             town: Optional[list[int]] = typer.Option(None, "--town", help="A supervisor's town id (repeatable)."),
             valid_days: Optional[int] = typer.Option(
                 None, "--valid-days", min=0, help="Days the token is valid, 0 until revoked "
                                                   "[default: ASSESS_TOKEN_VALID_DAYS, 180]")) -> None:
    """Add a user and print their bearer token (stored only as a hash; shown this once); when it expires
    goes to standard error."""
    from api import db
    from api.db import Database
    from api.services.errors import ServiceError
    from api.services.users import create_user
    from api.settings import Settings

    settings = Settings()
    db.upgrade(settings.database_url)
    database = Database(settings.database_url)
    try:
        with database.session(write=True) as session:
            _, token = create_user(session=session, caller=None, name=name, role=role, station_id=station,
                                   town_ids=town or [], valid_days=settings.token_valid_days if valid_days is None
                                   else valid_days)
    except ServiceError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    finally:
        database.dispose()
    typer.echo(token["token"])
    typer.echo(f"valid until {token['expires_at']}" if token["expires_at"] else "valid until revoked", err=True)


def keys_rotate() -> None:
    """Re-encrypt all personal data with the first key of ASSESS_DATA_KEY and re-hash every ID number with
    ASSESS_HASH_KEY, in one transaction (stop the servers first)."""
    from api import db
    from api.db import Database
    from api.security import resolve_keys
    from api.services.households import KeysDoNotFit, rotate_keys
    from api.settings import Settings

    settings = Settings()
    db.upgrade(settings.database_url)
    database = Database(settings.database_url)
    try:
        with database.session(write=True) as session:
            done = rotate_keys(session=session, keys=resolve_keys(settings))
    except KeysDoNotFit as exc:
        typer.echo(f"error: {exc}; nothing was changed", err=True)
        raise typer.Exit(2) from None
    finally:
        database.dispose()
    typer.echo(f"{done['households']} households re-encrypted with the first data key; "
               f"{done['rehashed']} ID number hashes changed")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `assess` app."""
    app.command("serve")(serve)
    database = typer.Typer(help="Database schema.", no_args_is_help=True)
    database.command("upgrade")(db_upgrade)
    app.add_typer(database, name="db")
    users = typer.Typer(help="Users and tokens.", no_args_is_help=True)
    users.command("add")(user_add)
    app.add_typer(users, name="user")
    keys = typer.Typer(help="The keys that protect personal data.", no_args_is_help=True)
    keys.command("rotate")(keys_rotate)
    app.add_typer(keys, name="keys")
