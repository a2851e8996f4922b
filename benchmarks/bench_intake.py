"""Benchmark: bulk import of households (registered and assessed) into SQLite and PostgreSQL, and intake posts
over HTTP next to bench_api.py's bare baseline.

Import: N synthetic households (answers from the synthetic generator, a valid ID number and a name each) written
as a Parquet file and imported as `assess import` imports it (`api.intake.imports.run`: chunks read and scored a
step ahead in a worker process while the one before is stored), on a fresh database; then checked: every household
registered once, one assessment each, its latest row pointing at it. Prints households per second for each
database. Intake: `--posts` KoboToolbox-shaped submissions to `POST /v1/intake/submissions` with `--clients`
concurrent clients against uvicorn, then the same bodies against the bare FastAPI endpoint of bench_api.py (the
baseline, measured in the same run), when the intake API exists.
The last line is one JSON object.

    python benchmarks/bench_intake.py [--households 100000] [--chunk-rows 2000] [--postgres URL|none]
                                      [--posts 2000] [--clients 16]

Where the import's time goes (2,000-row chunks, 2 cores): the worker reads a chunk's rows (answers once per
distinct cell of a column, ID numbers checked and hashed), scores them in one call of the vectorised core, writes
each result's and answers' JSON, each row's compact answers line and its latest row's scored columns, and encrypts
each new household's personal data; the importing process unpickles the chunk, matches it with what is stored
(on PostgreSQL with one array a query) and loads the households, assessments, latest rows, answers lines and row
outcomes at once (`api.db.bulk.load_frame`: a binary COPY on PostgreSQL, executemany on SQLite). At 100,000 rows,
loading the assessments is the largest part on PostgreSQL, SQLite's commits on SQLite (benchmarks/HISTORY.md has
the figures). The service's start is frozen out of the garbage collector first (`ServiceContext.warm_up`), as the
server and `assess import` do.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_api import (_Poster, answer_pool, free_port, postgres_database, prepare_database,  # noqa: E402
                                  server_cpu_s, start_server)

INTAKE = "api.app:create_app"
TIME_LIMIT_S = 120

DEFAULT_POSTGRES = os.environ.get("ASSESS_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def id_number(serial: int) -> str:
    from api.id_numbers import check_character

    first17 = f"37{serial // 10**10 % 10:01d}{serial // 10**9 % 10:01d}{19000101 + serial // 1000 % 10**5:08d}"
    first17 = (first17 + f"{serial % 1000:03d}")[:17].rjust(17, "0")
    return first17 + check_character(first17)


def households_file(folder: Path, households: int, seed: int = 5) -> Path:
    """A Parquet file of `households` rows: synthetic answers, a distinct ID number and a name each."""

    from indicators import default_catalog
    from indicators.synth import generate_households, load_spec

    catalog = default_catalog()
    frame = generate_households(catalog, load_spec(), households, seed)
    frame = frame[[i.id for i in catalog.indicators if i.id in frame.columns]].copy()
    frame.insert(0, "household_id", [f"R{n}" for n in range(households)])
    frame["id_number"] = [id_number(n) for n in range(households)]
    frame["name"] = "测试户"
    frame["assessed_on"] = "2026-03-01"
    path = folder / "households.parquet"
    frame.to_parquet(path, index=False)
    return path


def prepare(url: str):
    """A migrated database with a town, a station and a caseworker; returns the service context and caller."""
    from cryptography.fernet import Fernet

    from api.app import create_app
    from api.auth.access import Role
    from api.auth.service import create_user, user_caller
    from api.geography.service import create_station, create_town
    from api.settings import Settings

    settings = Settings(database_url=url, data_key=Fernet.generate_key().decode(), hash_key=uuid.uuid4().hex * 2,
                        env="production")
    context = create_app(settings).state.context  # migrates, and adds the catalog's regions
    region = next(r.id for r in context.scorer.catalog.regions if r.parent)
    with context.database.session(write=True) as session:
        town = create_town(session=session, caller=None, name="bench town", region_id=region)
        station = create_station(session=session, caller=None, name="bench station", town_id=town["id"])
        user, _ = create_user(session=session, caller=None, name="bench-caseworker", role=Role.caseworker,
                              station_id=station["id"], valid_days=30)
        caller = user_caller(session, user["id"])
    return context, caller, station["id"]


def run_import(url: str, path: Path, chunk_rows: int) -> dict:
    """Import the file into a fresh database at `url`; households per second and the checks."""
    import pandas as pd
    from sqlalchemy import func, select

    from api.assessments.tables import Assessment, HouseholdLatest
    from api.households.tables import Household
    from api.intake import imports
    from cli.intake import file_hash

    context, caller, station_id = prepare(url)
    frame = pd.read_parquet(path)
    context.warm_up()  # the model registry's first look-up, the compiled formula and the frozen start-up, as a
    # server's start and `assess import` do
    began = time.perf_counter()
    job = imports.run(database=context.database, caller=caller, keys=context.keys, scorer=context.scorer,
                      station_id=station_id, file_name=path.name, file_hash=file_hash(path), frame=frame,
                      earliest_assessed_on=context.settings.earliest_assessed_on, chunk_rows=chunk_rows)
    seconds = time.perf_counter() - began
    with context.database.session() as session:
        counts = imports.job_counts(session=session, job_id=job["id"])
        households = session.scalar(select(func.count()).select_from(Household))
        assessments = session.scalar(select(func.count()).select_from(Assessment))
        latest_right = session.scalar(select(func.count()).select_from(HouseholdLatest).join(
            Assessment, Assessment.id == HouseholdLatest.assessment_id).where(
            Assessment.household_id == HouseholdLatest.household_id))
    context.database.dispose()
    assert households == counts["registered"] == counts["stored"] == assessments == latest_right, \
        (households, counts, assessments, latest_right)
    return {"rows": len(frame), "stored": counts["stored"], "refused": counts["refused"], "seconds": seconds,
            "households_per_s": counts["stored"] / seconds if seconds else 0.0}


def intake_baseline_app():
    """A bare FastAPI app: one sync endpoint that parses the same JSON body and answers 201 (bench_api's baseline
    at the intake path)."""
    from fastapi import Body, FastAPI
    from fastapi.responses import JSONResponse

    app = FastAPI()

    @app.post("/v1/intake/submissions")
    def receive(body: dict = Body(...)) -> JSONResponse:
        return JSONResponse({"received": len(body)}, status_code=201)

    return app


def kobo_bodies(households: list[int], count: int) -> list[dict]:
    """KoboToolbox-shaped submissions (group paths, every value as text), a new instance id each."""
    from indicators import default_catalog
    from indicators.xlsform import form_version

    catalog = default_catalog()
    version = form_version(catalog)
    pool = answer_pool(200)
    bodies = []
    for number in range(count):
        answers = pool[number % len(pool)]
        body = {f"{catalog.indicator_by_id[k].dimension}/{k}": ("yes" if v is True else "no" if v is False
                                                                else str(v))
                for k, v in answers.items() if v is not None}
        instance = str(uuid.uuid4())
        body.update({"household_id": str(households[number % len(households)]), "today": "2026-03-01",
                     "meta/instanceID": f"uuid:{instance}", "_uuid": instance,
                     "_submission_time": "2026-03-01T10:00:00", "form_version": version,
                     "__version__": "vQ8nGk3rKp2aB7xYzW4mLc"})
        bodies.append(body)
    return bodies


def intake_token(env: dict, caseworker: str) -> str:
    """An intake token of the benchmark's station, its submissions stored as the caseworker."""
    from api.app import create_app
    from api.auth.access import Role
    from api.auth.service import create_user, user_caller, user_id_by_name
    from api.auth.tables import User
    from api.intake import service
    from api.settings import Settings

    settings = Settings(database_url=env["ASSESS_DATABASE_URL"], data_key=env["ASSESS_DATA_KEY"],
                        hash_key=env["ASSESS_HASH_KEY"], env="production", migrate_on_start=False)
    context = create_app(settings).state.context
    with context.database.session(write=True) as session:
        admin, _ = create_user(session=session, caller=None, name="bench-admin", role=Role.admin, valid_days=1)
        worker = session.get(User, user_id_by_name(session, caseworker))
        token = service.create_token(session=session, caller=user_caller(session, admin["id"]),
                                     station_id=worker.station_id, label="bench", user_id=worker.id)["token"]
    context.database.dispose()
    return token


async def post_all(base: str, token: str, bodies: list[dict], clients: int, server_pid: int, client: str) -> dict:
    """The bodies posted by `clients` concurrent clients, each with its own connection; req/s, latencies, CPU."""
    latencies, statuses = [], {}
    counter = iter(range(len(bodies)))
    deadline = time.monotonic() + TIME_LIMIT_S

    async def worker(http: _Poster) -> None:
        for number in counter:
            if time.monotonic() > deadline:
                return
            started = time.perf_counter()
            status = await http.post(f"{base}/v1/intake/submissions", bodies[number])
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1

    async with contextlib.AsyncExitStack() as stack:
        posters = [await stack.enter_async_context(_Poster(client, {"Authorization": f"Bearer {token}"}))
                   for _ in range(clients)]
        gc.collect()
        gc.freeze()
        started, server_cpu = time.perf_counter(), server_cpu_s(server_pid)
        await asyncio.gather(*(worker(http) for http in posters))
        elapsed = time.perf_counter() - started
        server_cpu = None if server_cpu is None else server_cpu_s(server_pid) - server_cpu
    latencies.sort()

    def quantile(q: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 2)

    return {"requests": len(latencies), "statuses": statuses, "req_per_s": round(len(latencies) / elapsed, 1),
            "p50_ms": quantile(0.5), "p99_ms": quantile(0.99),
            "server_cpu_ms_per_request": None if server_cpu is None else round(server_cpu / len(latencies) * 1000, 3)}


def run_posts(name: str, target: str, env: dict, token: str, bodies: list[dict], clients: int, client: str) -> dict:
    port = free_port()
    process = start_server(target, port, env, 1)
    try:
        figures = asyncio.run(post_all(f"http://127.0.0.1:{port}", token, bodies, clients, process.pid, client))
    finally:
        process.terminate()
        process.wait(timeout=30)
    print(f"{name:<28} {figures['req_per_s']:>8.1f} req/s   p50 {figures['p50_ms']:>7.2f} ms   "
          f"p99 {figures['p99_ms']:>7.2f} ms   ({figures['requests']} posts, statuses {figures['statuses']})")
    return figures


def intake_outcomes(url: str) -> dict[str, int]:
    """How many submissions the server stored, queued or rejected: every post of valid answers must be stored."""
    from sqlalchemy import create_engine, text

    from api.db import normalise_url

    engine = create_engine(normalise_url(url))
    with engine.connect() as connection:
        found = dict(connection.execute(text("SELECT status, COUNT(*) FROM intake_submissions GROUP BY status")).all())
        found["assessments"] = connection.execute(text("SELECT COUNT(*) FROM assessments")).scalar_one()
    engine.dispose()
    return found


def intake_posts(folder: Path, postgres: str, posts: int, clients: int, client: str) -> dict:
    """Intake posts on SQLite (and PostgreSQL), then the bare baseline with the same bodies."""
    results = {}
    targets = [("sqlite", f"sqlite:///{folder / 'intake.db'}", None)]
    if postgres != "none":
        found = postgres_database(postgres)
        if found is not None:
            targets.append(("postgresql", *found))
    bodies = None
    for name, url, drop in targets:
        try:
            _, households, env = prepare_database(url, 50, f"sqlite:///{folder / 'no-model.db'}")
            token = intake_token(env, "bench-caseworker")
            bodies = kobo_bodies(households, posts)
            results[f"intake_{name}"] = run_posts(f"intake posts ({name})", INTAKE, env, token, bodies, clients,
                                                  client)
            results[f"intake_{name}"]["outcomes"] = outcomes = intake_outcomes(url)
            print(f"  intake submissions by status: {outcomes}")
            if name == "sqlite":
                results["baseline"] = run_posts("bare FastAPI baseline", "benchmarks.bench_intake:intake_baseline_app",
                                                env, token, bodies, clients, client)
        finally:
            if drop is not None:
                drop()
    for name in ("intake_sqlite", "intake_postgresql"):
        if name in results:
            ratio = results[name]["req_per_s"] / results["baseline"]["req_per_s"]
            results[name]["ratio_to_baseline"] = round(ratio, 3)
            print(f"{name}: {ratio:.1%} of the baseline's throughput")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--chunk-rows", type=int, default=2000)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="server URL; 'none' to skip")
    parser.add_argument("--posts", type=int, default=2000, help="intake posts per target (0: no HTTP part)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--client", choices=("httpx", "aiohttp"), default="httpx")
    arguments = parser.parse_args()
    figures: dict = {"households": arguments.households}
    with tempfile.TemporaryDirectory() as folder:
        path = households_file(Path(folder), arguments.households)
        targets = [("sqlite", f"sqlite:///{Path(folder) / 'import.db'}", None)]
        if arguments.postgres != "none":
            found = postgres_database(arguments.postgres)
            if found is not None:
                targets.append(("postgresql", *found))
        for name, url, drop in targets:
            try:
                result = run_import(url, path, arguments.chunk_rows)
            finally:
                if drop is not None:
                    drop()
            print(f"import {name:<10} {result['stored']:>7} households stored ({result['refused']} rows refused) "
                  f"in {result['seconds']:.1f} s: {result['households_per_s']:,.0f} households/s")
            figures[f"import_{name}"] = result
        if arguments.posts:
            figures.update(intake_posts(Path(folder), arguments.postgres, arguments.posts, arguments.clients,
                                        arguments.client))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
