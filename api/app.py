"""The FastAPI application: `create_app(settings=None)`."""

from __future__ import annotations

from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI

from api import openapi as openapi_document
from api import pages, problems
from api.alerts import routes as alerts
from api.assessments import routes as assessments
from api.audit import routes as audit
from api.auth import routes as users
from api.configs import routes as configs
from api.configs.versions import remember_catalog
from api.context import ServiceContext
from api.db import upgrade
from api.geography import routes as geography
from api.geography.service import sync_regions
from api.households import routes as households
from api.households.service import run_pending_maintenance
from api.intake import routes as intake
from api.rankings import routes as rankings
from api.referrals import routes as referrals
from api.referrals.reasons import sync_reasons
from api.request_checks import BodyLimit
from api.reviews import routes as reviews
from api.schemas import Health
from api.schemas import problem_responses
from api.settings import Settings
from api.transfers import routes as transfers
from api.discovery import routes as discovery
from api.discovery.definitions import discovery_of, warning_rules_of

# Matched in this order: the busiest first (FastAPI tries each route of the routers before it, about 10 µs each)
ROUTERS = (assessments, intake, households, rankings, referrals, alerts, transfers, reviews, configs, audit, geography,
           users, discovery)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app: migrate the schema (unless disabled), load the catalog, mount the routers."""
    settings = settings or Settings()
    if settings.migrate_on_start:
        upgrade(settings.database_url)
    context = ServiceContext.from_settings(settings)
    with context.database.session(write=True) as session:
        sync_regions(session=session, catalog=context.scorer.catalog)
        remember_catalog(session=session, catalog=context.scorer.catalog, texts=context.scorer.catalog_texts)
        sync_reasons(session=session)
        run_pending_maintenance(session=session, keys=context.keys)
    discovery_of(context), warning_rules_of(context)  # a bad discovery file stops the start, naming it

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        context.warm_up()
        yield
        await context.database.dispose_async()
        context.database.dispose()

    app = FastAPI(title="Hardship assessment service", version="1",
                  description="Needs assessment, hardship index, tiers and service recommendations for "
                              "service-type social assistance. Every failure is RFC 9457 problem details.",
                  lifespan=lifespan)
    app.state.context = context
    problems.install(app)
    for module in ROUTERS:  # before the pages: routes are matched in order, and API requests are the many
        app.include_router(module.router, prefix="/v1")
    pages.install(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)

    @app.get("/v1/health", tags=["health"], response_model=Health, responses=problem_responses(413),
             summary="Liveness, the catalog and the model version in use (no token needed)")
    def health() -> dict:
        catalog, champion = context.scorer.catalog, context.scorer.model()
        return {"status": "ok", "catalog": {"id": catalog.id, "version": catalog.version,
                                            "hash": catalog.content_hash},
                "model": None if champion is None else champion.model_version}

    build_schema = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = openapi_document.complete(build_schema(), context.scorer)
        return app.openapi_schema

    app.openapi = openapi
    return app
