"""`assess` commands: serve, db upgrade, user add / token / revoke, keys rotate, providers import / export."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from api.auth.access import Role


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
    from api.demo import seed
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
    from sqlalchemy import inspect, select

    from api import db
    from api.settings import Settings
    from api.households.tables import MaintenanceTask

    url = Settings().database_url
    db.upgrade(url, revision)
    typer.echo(f"database at {revision}")
    database = db.Database(url)
    try:
        with database.session() as session:
            pending = inspect(session.connection()).has_table(MaintenanceTask.__tablename__) and \
                session.scalars(select(MaintenanceTask.name)).first() is not None
    finally:
        database.dispose()
    if pending:
        typer.echo("ID numbers are re-hashed in their normal form the next time the service starts (it has the "
                   "keys), or now with `assess keys rotate`", err=True)


def _in_write_session(action):
    """`action(session, settings)` in one writing session of ASSESS_DATABASE_URL (migrated first); a refusal
    ends the command with its message and exit code 2, having changed nothing."""
    from api import db
    from api.db import Database
    from api.errors import ServiceError
    from api.households.service import KeysDoNotFit
    from api.settings import Settings

    settings = Settings()
    db.upgrade(settings.database_url)
    database = Database(settings.database_url)
    try:
        with database.session(write=True) as session:
            return action(session, settings)
    except ServiceError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    except KeysDoNotFit as exc:
        typer.echo(f"error: {exc}; nothing was changed", err=True)
        raise typer.Exit(2) from None
    finally:
        database.dispose()


VALID_DAYS = typer.Option(None, "--valid-days", min=0, help="Days the token is valid, 0 until revoked "
                                                             "[default: ASSESS_TOKEN_VALID_DAYS, 180]")


def _print_token(token: dict) -> None:
    """The token alone on standard output (for scripts); when it expires on standard error."""
    typer.echo(token["token"])
    typer.echo(f"valid until {token['expires_at']}" if token["expires_at"] else "valid until revoked", err=True)


def user_add(name: str = typer.Argument(..., help="Unique user name."),
             role: Role = typer.Option(..., "--role", help="caseworker, supervisor, analyst, admin or provider."),
             station: Optional[int] = typer.Option(None, "--station", help="The caseworker's station id."),
             town: Optional[list[int]] = typer.Option(None, "--town", help="A supervisor's town id (repeatable)."),
             provider: Optional[int] = typer.Option(None, "--provider", help="The provider a provider's user acts "
                                                                             "for (its id)."),
             valid_days: Optional[int] = VALID_DAYS) -> None:
    """Add a user and print their bearer token (stored only as a hash; shown this once)."""
    from api.auth.service import create_user

    _, token = _in_write_session(lambda session, settings: create_user(
        session=session, caller=None, name=name, role=role, station_id=station, town_ids=town or [],
        provider_id=provider, valid_days=settings.token_valid_days if valid_days is None else valid_days))
    _print_token(token)


def user_token(name: str = typer.Argument(..., help="The user's name."),
               valid_days: Optional[int] = VALID_DAYS) -> None:
    """Issue another bearer token for a user (when theirs has expired or was revoked) and print it."""
    from api.auth.service import issue_token, user_id_by_name

    _print_token(_in_write_session(lambda session, settings: issue_token(
        session=session, caller=None, user_id=user_id_by_name(session, name),
        valid_days=settings.token_valid_days if valid_days is None else valid_days)))


def user_revoke(name: str = typer.Argument(..., help="The user's name.")) -> None:
    """Revoke every token of a user (a lost device, someone who left)."""
    from api.auth.service import revoke_tokens, user_id_by_name

    revoked = _in_write_session(lambda session, _: revoke_tokens(
        session=session, caller=None, user_id=user_id_by_name(session, name)))
    typer.echo(f"{revoked} token(s) of {name} revoked")


def keys_rotate() -> None:
    """Re-encrypt all personal data with the first key of ASSESS_DATA_KEY and re-hash every ID number with
    ASSESS_HASH_KEY, in one transaction (stop the servers first)."""
    from api.security import resolve_keys
    from api.households.service import rotate_keys

    done = _in_write_session(lambda session, settings: rotate_keys(session=session, keys=resolve_keys(settings)))
    typer.echo(f"{done['households']} households and {done['members']} members re-encrypted with the first data key; "
               f"{done['rehashed']} ID number hashes changed; {done['normalised']} ID numbers rewritten in the "
               f"normal form; {done['discovery_records']} department records re-hashed "
               f"({done['discovery_records_not_rehashed']} matched ones keep their old keys)")


def providers_import(path: Path = typer.Argument(..., exists=True, dir_okay=False,
                                                help="An Open Referral HSDS 3 directory (JSON)."),
                     default_kind: Optional[str] = typer.Option(
                         None, "--default-kind", help="The kind of an organization that names none "
                                                      "(government_department, social_organisation, volunteer_team, "
                                                      "charity).")) -> None:
    """Add or update providers from an HSDS 3 directory; prints what was added, changed and refused (exit code
    3 when an entry was refused). The same file twice adds nothing."""
    import json

    from api.assessments.scoring import Scorer
    from api.referrals.directory import import_directory

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        typer.echo(f"error: {path}: not a JSON document ({exc})", err=True)
        raise typer.Exit(2) from None
    if not isinstance(document, dict):
        typer.echo(f"error: {path}: an HSDS directory is a JSON object with `organizations` and `services`", err=True)
        raise typer.Exit(2)
    report = _in_write_session(lambda session, settings: import_directory(
        session=session, caller=None, catalog=Scorer(catalog_dir=settings.catalog_dir).catalog, document=document,
        default_kind=default_kind))
    typer.echo(f"{len(report['added'])} provider(s) added, {len(report['updated'])} changed, "
               f"{len(report['unchanged'])} unchanged, {len(report['refused'])} entr(ies) refused")
    for entry in report["refused"]:
        typer.echo(f"refused: {entry['entry']}: {entry['code']}: {entry['message_en']} / {entry['message_zh']}",
                   err=True)
    if report["refused"]:
        raise typer.Exit(3)


def providers_export(output: Path = typer.Option(..., "-o", "--output", help="The JSON file to write.")) -> None:
    """Write the providers and the service catalog as an Open Referral HSDS 3 directory (JSON, UTF-8)."""
    import json

    from api.assessments.scoring import Scorer
    from api.referrals.directory import export_directory

    document = _in_write_session(lambda session, settings: export_directory(
        session=session, catalog=Scorer(catalog_dir=settings.catalog_dir).catalog))
    output.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
    typer.echo(f"{len(document['organizations'])} provider(s), {len(document['services'])} service(s) written to "
               f"{output}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `assess` app."""
    app.command("serve")(serve)
    database = typer.Typer(help="Database schema.", no_args_is_help=True)
    database.command("upgrade")(db_upgrade)
    app.add_typer(database, name="db")
    users = typer.Typer(help="Users and tokens.", no_args_is_help=True)
    users.command("add")(user_add)
    users.command("token")(user_token)
    users.command("revoke")(user_revoke)
    app.add_typer(users, name="user")
    keys = typer.Typer(help="The keys that protect personal data.", no_args_is_help=True)
    keys.command("rotate")(keys_rotate)
    app.add_typer(keys, name="keys")
    directory = typer.Typer(help="Service providers in an Open Referral HSDS 3 directory.", no_args_is_help=True)
    directory.command("import")(providers_import)
    directory.command("export")(providers_export)
    app.add_typer(directory, name="providers")
