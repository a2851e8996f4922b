"""The FastAPI application: `create_app(settings=None)`."""

from __future__ import annotations

import gc
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI

from api import db, errors, web
from api import openapi as openapi_document
from api.context import ServiceContext
from api.intake import BodyLimit
from api.responses import Health
from api.routes import alerts, assessments, audit, configs, geography, households, rankings, referrals, users
from api.schemas import problems
from api.services.geography import sync_regions
from api.services.households import run_pending_maintenance
from api.settings import Settings

# Matched in this order: the busiest first (FastAPI tries each route of the routers before it, about 10 µs each)
ROUTERS = (assessments, households, rankings, referrals, alerts, configs, audit, geography, users)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app: migrate the schema (unless disabled), load the catalog, mount the routers."""
    settings = settings or Settings()
    if settings.migrate_on_start:
        db.upgrade(settings.database_url)
    context = ServiceContext.from_settings(settings)
    with context.database.session(write=True) as session:
        sync_regions(session=session, catalog=context.scorer.catalog)
        run_pending_maintenance(session=session, keys=context.keys)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        context.scorer.model()  # the first lookup of the champion, which requests would otherwise wait for
        # What start-up made lives as long as the server: freezing it keeps the collector's full passes short
        # (they paused every request in flight for 30-200 ms).
        gc.collect()
        gc.freeze()
        await context.database.open_async()
        yield
        await context.database.close_async()
        context.database.dispose()

    app = FastAPI(title="Hardship assessment service", version="1",
                  description="Needs assessment, hardship index, tiers and service recommendations for "
                              "service-type social assistance. Every failure is RFC 9457 problem details.",
                  lifespan=lifespan)
    app.state.context = context
    errors.install(app)
    for module in ROUTERS:  # before the pages: routes are matched in order, and API requests are the many
        app.include_router(module.router, prefix="/v1")
    web.install(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)

    @app.get("/v1/health", tags=["health"], response_model=Health, responses=problems(413),
             summary="Liveness, the catalog and the model version in use (no token needed)")
    def health() -> dict:
        catalog, champion = context.scorer.catalog, context.scorer.model()
        return {"status": "ok", "catalog": {"id": catalog.id, "version": catalog.version,
                                            "hash": catalog.content_hash},
                "model": None if champion is None else champion.model_version}

    build_schema = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = openapi_document.complete(build_schema(), context.scorer.catalog)
        return app.openapi_schema

    app.openapi = openapi
    return app
