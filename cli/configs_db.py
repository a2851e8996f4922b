"""`assess config draft|publish|list|rescore`: scoring configurations in the service's database
(ASSESS_DATABASE_URL), beside the offline `assess config` commands of cli/config.py."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import typer


@contextmanager
def service_context():
    """The service's database (migrated) and catalog; a service or core error ends the command with the
    field it names, in English and Chinese (exit 2); the connections are closed either way."""
    from api import db
    from api.configs.versions import remember_catalog
    from api.context import ServiceContext
    from api.errors import ServiceError
    from api.settings import Settings
    from assessment.errors import CoreError

    settings = Settings()
    db.upgrade(settings.database_url)
    context = ServiceContext.from_settings(settings)
    try:
        with context.database.session(write=True) as session:  # what it stores names a kept catalog
            remember_catalog(session=session, catalog=context.scorer.catalog, texts=context.scorer.catalog_texts)
        yield context
    except (ServiceError, CoreError) as exc:
        if isinstance(exc, ServiceError):
            problem = exc.problems[0]
            path, en, zh = problem.path, problem.message_en, problem.message_zh
        else:
            path, en, zh = exc.path, exc.message.en, exc.message.zh
        typer.echo(f"error: {path + ': ' if path else ''}{en} / {zh}", err=True)
        raise typer.Exit(2) from None
    finally:
        context.database.dispose()


def draft(file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Draft as YAML or JSON.")) -> None:
    """Store a draft configuration (changes over the published one) and print its id and version."""
    import yaml

    from api.configs import service as configs

    document = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    with service_context() as context, context.database.session(write=True) as session:
        stored = configs.create_draft(session=session, caller=None, catalog=context.scorer.catalog,
                                      document=document)
    typer.echo(f"draft {stored['id']} version {stored['version']}")


def publish(config_id: int = typer.Argument(..., help="Id of a draft (see `assess config list`).")) -> None:
    """Publish a draft: new assessments use it from now on."""
    from api.configs import service as configs

    with service_context() as context, context.database.session(write=True) as session:
        stored = configs.publish(session=session, caller=None, catalog=context.scorer.catalog, config_id=config_id)
    typer.echo(f"published {stored['id']} version {stored['version']}")


def list_configs(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The stored configurations and their status."""
    from api.configs import service as configs

    with service_context() as context, context.database.session() as session:
        stored = configs.list_configs(session=session, caller=None)
    if as_json:
        typer.echo(json.dumps(stored, ensure_ascii=False, indent=2))
        return
    for config in stored:
        typer.echo(f"{config['id']:>4}  {config['status']:<9}  {config['version']}")


def rescore(resume: Optional[int] = typer.Option(None, "--resume", help="Resume this unfinished job."),
            batch_size: int = typer.Option(50000, help="Assessments per committed batch."),
            pause: float = typer.Option(0.0, help="Seconds to wait after each batch (leaves the database to a "
                                                  "busy service).")) -> None:
    """Re-score every stored assessment under the published configuration, in the foreground."""
    from api.configs import rescoring

    with service_context() as context:
        catalog = context.scorer.catalog
        with context.database.session(write=True) as session:
            job = (rescoring.check_resumable(session=session, caller=None, job_id=resume) if resume is not None
                   else rescoring.create_job(session=session, caller=None, catalog=catalog))
        typer.echo(f"job {job['id']}: {job['total']} assessments under {job['config_version']}")
        finished = rescoring.run_job(context.database, catalog, job["id"], batch_size=batch_size, pause_s=pause,
                                     after_batch=lambda done: typer.echo(f"  {done}/{job['total']}"))
    typer.echo(f"job {finished['id']} {finished['status']}: {finished['written']} new results")


def register(app: typer.Typer) -> None:
    """Add these commands to the `config` group (created by cli/config.py, registered before this)."""
    group = next((g.typer_instance for g in app.registered_groups if g.name == "config"), None)
    if group is None:
        group = typer.Typer(help="Scoring configurations.", no_args_is_help=True)
        app.add_typer(group, name="config")
    group.command("draft")(draft)
    group.command("publish")(publish)
    group.command("list")(list_configs)
    group.command("rescore")(rescore)
