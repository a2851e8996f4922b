"""Benchmark: assessment submissions over HTTP against a bare FastAPI baseline.

Starts uvicorn on 127.0.0.1 (a free port) in a subprocess and drives it with 16 concurrent HTTP clients,
each with a connection of its own, as 16 caseworkers' devices would (httpx by default, `--client aiohttp`
for a lighter one; the same client for every target): N submissions (validate, score, recommend, store) on
SQLite and, when reachable, on PostgreSQL; then a bare FastAPI endpoint receiving the same payloads, as the
baseline. Prints req/s and p50/p99 latency for each and the ratio to the baseline; the last line is one JSON
object.

With `--model`, a model is first trained with the default parameters (as `assess train` would) on synthetic
households in a temporary MLflow store and promoted; the submissions then run again on fresh databases with
the server serving that champion's opinion beside the index ("submit+model"). Every submission target checks
first that a model is served exactly when one should be.

    python benchmarks/bench_api.py [--requests 2000] [--clients 16] [--postgres URL] [--client httpx|aiohttp]
                                   [--model [--model-households 3000]]

The client runs on the same cores as the server. httpx spends about 1 ms of CPU per request: that caps the
baseline and sets much of every latency. aiohttp spends about 0.2 ms, so the baseline runs several times
faster and more of each latency is the server's. Bodies are encoded with orjson for both. One httpx client
with a shared pool of 16 connections is not used: its pool alone made the bare baseline's p99 over 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_POSTGRES = os.environ.get("ASSESS_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TIME_LIMIT_S = 90
SUBMIT = "api.app:create_app"


def baseline_app():
    """A bare FastAPI app: one sync endpoint that parses the same JSON body and answers 201."""
    from fastapi import Body, FastAPI
    from fastapi.responses import JSONResponse

    app = FastAPI()

    @app.post("/v1/households/{household_id}/assessments")
    def receive(household_id: int, body: dict = Body(...)) -> JSONResponse:
        return JSONResponse({"household_id": household_id, "received": len(body.get("answers", {}))},
                            status_code=201)

    return app


def server_cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system) a process and its children (the workers) have used so far; None off Linux."""
    stats = {}
    for path in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = path.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(path.parent.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    if pid not in stats:
        return None
    family = {pid}
    for _ in range(3):  # the server, its workers, and any process they start
        family |= {child for child, (parent, _) in stats.items() if parent in family}
    ticks = sum(stats[member][1] for member in family)
    return ticks / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(target: str, port: int, env: dict, workers: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "uvicorn", target, "--factory", "--host", "127.0.0.1", "--port", str(port),
               "--log-level", "warning", "--no-access-log", "--workers", str(workers)]
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/docs", timeout=1)
            return process
        except httpx.TransportError:
            if process.poll() is not None:
                raise RuntimeError(f"server {target} exited with {process.returncode}")
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server {target} did not start")


def train_champion(folder: Path, households: int) -> str:
    """Train a model with the default parameters on synthetic households into an MLflow store in `folder`
    and promote it; returns the store's URI."""
    from experiments.train import train
    from indicators import default_catalog
    from indicators.synth import generate_households, load_spec
    from models.registry import promote

    generate_households(default_catalog(), load_spec(), households, seed=5).to_csv(folder / "train.csv", index=False)
    store = f"sqlite:///{folder / 'mlflow.db'}"
    started = time.perf_counter()
    run = train(folder / "train.csv", None, tracking_uri=store, experiment="bench", folds=2, group_columns=())
    version = promote(store, run.run_id)
    print(f"model: trained on {households} synthetic households in {time.perf_counter() - started:.1f} s, "
          f"version {version} promoted")
    return store


def prepare_database(url: str, households: int, store: str) -> tuple[str, list[int], dict]:
    """Migrate, add a station, a caseworker and households; returns the token, household ids and the server's
    env, which serves the champion of the MLflow store `store` (if it has one)."""
    from cryptography.fernet import Fernet

    from api.app import create_app
    from api.auth.access import Caller, Role
    from api.auth.service import create_user
    from api.geography.service import create_station, create_town
    from api.households.service import create_household
    from api.id_numbers import check_character
    from api.settings import Settings

    # migrated here, once: the server's workers do not migrate on start (as with `assess serve --workers`)
    env = {"ASSESS_DATABASE_URL": url, "ASSESS_DATA_KEY": Fernet.generate_key().decode(),
           "ASSESS_HASH_KEY": uuid.uuid4().hex * 2, "ASSESS_ENV": "production", "ASSESS_MIGRATE_ON_START": "false",
           "ASSESS_MLFLOW_TRACKING_URI": store}
    settings = Settings(database_url=url, data_key=env["ASSESS_DATA_KEY"], hash_key=env["ASSESS_HASH_KEY"],
                        env="production")
    context = create_app(settings).state.context
    region = next(r.id for r in context.scorer.catalog.regions if r.parent) if any(
        r.parent for r in context.scorer.catalog.regions) else context.scorer.catalog.regions[0].id
    with context.database.session(write=True) as session:
        town = create_town(session=session, caller=None, name="bench town", region_id=region)
        station = create_station(session=session, caller=None, name="bench station", town_id=town["id"])
        user, token = create_user(session=session, caller=None, name="bench-caseworker", role=Role.caseworker,
                                  station_id=station["id"], valid_days=settings.token_valid_days)
        caller = Caller(id=user["id"], name=user["name"], role=Role.caseworker, station_id=station["id"])
        ids = []
        for number in range(households):
            first17 = f"37100219800101{number:03d}"
            ids.append(create_household(session=session, caller=caller, keys=context.keys, name="测试",
                                        id_number=first17 + check_character(first17))["id"])
    context.database.dispose()
    return token["token"], ids, env


def answer_pool(size: int, seed: int = 11) -> list[dict]:
    from api.demo import generated_answers
    from indicators import default_catalog

    return generated_answers(default_catalog(), size, seed)


def submission(answers: dict) -> dict:
    return {"submission_id": str(uuid.uuid4()), "answers": answers, "assessed_on": "2026-03-01"}


class _Poster:
    """One client with one connection: POST of a JSON body with one of the two libraries; returns the status."""

    def __init__(self, client: str, headers: dict):
        self.client = client
        self.headers = {**headers, "Content-Type": "application/json"}

    async def __aenter__(self) -> "_Poster":
        if self.client == "aiohttp":
            self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1),
                                                 timeout=aiohttp.ClientTimeout(total=60))
        else:
            self.session = httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=1))
        return self

    async def __aexit__(self, *_exc) -> None:
        await (self.session.close() if self.client == "aiohttp" else self.session.aclose())

    async def post(self, url: str, body: dict) -> int:
        data = orjson.dumps(body)
        if self.client == "aiohttp":
            async with self.session.post(url, data=data, headers=self.headers) as response:
                await response.read()
                return response.status
        return (await self.session.post(url, content=data, headers=self.headers)).status_code


async def drive(base: str, token: str, households: list[int], answers: list[dict], requests: int,
                clients: int, server_pid: int, client: str) -> dict:
    latencies: list[float] = []
    failures = 0
    counter = iter(range(requests))
    deadline = time.monotonic() + TIME_LIMIT_S

    async def worker(http: _Poster) -> None:
        nonlocal failures
        for number in counter:
            if time.monotonic() > deadline:
                return
            body = submission(answers[number % len(answers)])
            started = time.perf_counter()
            status = await http.post(f"{base}/v1/households/{households[number % len(households)]}/assessments",
                                     body)
            latencies.append(time.perf_counter() - started)
            failures += status != 201

    async with contextlib.AsyncExitStack() as stack:
        posters = [await stack.enter_async_context(_Poster(client, {"Authorization": f"Bearer {token}"}))
                   for _ in range(clients)]
        for http in posters:  # warm-up (each client's connection opened), not measured
            for _ in range(2):
                await http.post(f"{base}/v1/households/{households[0]}/assessments", submission(answers[0]))
        # The client's own full collections would pause every request in flight; what set-up made is frozen
        gc.collect()
        gc.freeze()
        started, client_cpu, server_cpu = time.perf_counter(), time.process_time(), server_cpu_s(server_pid)
        await asyncio.gather(*(worker(http) for http in posters))
        elapsed = time.perf_counter() - started
        client_cpu = time.process_time() - client_cpu
        server_cpu = None if server_cpu is None else server_cpu_s(server_pid) - server_cpu
    latencies.sort()

    def quantile(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    return {"requests": len(latencies), "failures": failures, "req_per_s": round(len(latencies) / elapsed, 1),
            "p50_ms": round(quantile(0.50), 2), "p99_ms": round(quantile(0.99), 2),
            # CPU time per request: the client shares the machine's cores with the server
            "client_cpu_ms_per_request": round(client_cpu / len(latencies) * 1000, 3),
            "server_cpu_ms_per_request": None if server_cpu is None else round(server_cpu / len(latencies) * 1000, 3)}


def check_model(base: str, token: str, household: int, answers: dict, store: str, expected: bool) -> None:
    """Post one submission; raise unless its response carries a model opinion exactly when one is expected."""
    response = httpx.post(f"{base}/v1/households/{household}/assessments", content=orjson.dumps(submission(answers)),
                          headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                          timeout=60)
    if response.status_code != 201:
        raise RuntimeError(f"check submission failed: {response.status_code} {response.text[:500]}")
    served = response.json()["model"]
    if expected and served is None:
        raise RuntimeError(f"the server served no model beside the index, though {store} has a champion")
    if not expected and served is not None:
        raise RuntimeError(f"the server served model {served['version']} though {store} should have none")


def run_target(name: str, target: str, env: dict, token: str, households: list[int], answers: list[dict],
               requests: int, clients: int, workers: int, client: str, model: bool | None = None) -> dict:
    """Start `target` and drive it; `model` (for a submission target) is whether it must serve a model."""
    port = free_port()
    process = start_server(target, port, env, workers)
    try:
        if model is not None:
            check_model(f"http://127.0.0.1:{port}", token, households[0], answers[0],
                        env["ASSESS_MLFLOW_TRACKING_URI"], model)
        figures = asyncio.run(drive(f"http://127.0.0.1:{port}", token, households, answers, requests, clients,
                                    process.pid, client))
    finally:
        process.terminate()
        process.wait(timeout=30)
    print(f"{name:<25} {figures['req_per_s']:>8.1f} req/s   p50 {figures['p50_ms']:>7.2f} ms   "
          f"p99 {figures['p99_ms']:>7.2f} ms   ({figures['requests']} requests, {figures['failures']} failed; "
          f"CPU per request: client {figures['client_cpu_ms_per_request']} ms, "
          f"server {figures['server_cpu_ms_per_request']} ms)")
    return figures


def postgres_database(url: str):
    """A fresh database on the server at `url`, or None when it is not reachable."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from api.db import normalise_url

    try:
        server = create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
        name = f"assess_bench_{uuid.uuid4().hex[:10]}"
        with server.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # unreachable server: the benchmark runs on SQLite only
        print(f"PostgreSQL not reachable ({type(exc).__name__}); skipping it")
        return None

    def drop() -> None:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()

    return make_url(normalise_url(url)).set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--households", type=int, default=50)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="server URL; 'none' to skip")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes, for every target")
    parser.add_argument("--client", choices=("httpx", "aiohttp"), default="httpx",
                        help="the HTTP client, for every target")
    parser.add_argument("--model", action="store_true",
                        help="also run the submissions with a freshly trained and promoted champion model")
    parser.add_argument("--model-households", type=int, default=3000,
                        help="synthetic households the model is trained on")
    args = parser.parse_args()
    answers = answer_pool(200)
    print(f"{args.requests} submissions per target, {args.clients} concurrent {args.client} clients, loopback, "
          f"{args.workers} server worker(s) per target")
    measure = {"answers": answers, "requests": args.requests, "clients": args.clients, "workers": args.workers,
               "client": args.client}
    results = {}
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        # Without a store of their own the servers would use ./mlflow.db in the repository, if there is one
        stores = {"": f"sqlite:///{folder / 'no-model.db'}"}
        if args.model:
            stores["_model"] = train_champion(folder, args.model_households)
        for suffix, store in stores.items():
            label = "submit+model" if suffix else "submit"
            token, households, env = prepare_database(f"sqlite:///{folder / f'bench{suffix}.db'}", args.households,
                                                      store)
            results[f"sqlite{suffix}"] = run_target(f"{label} (SQLite)", SUBMIT, env, token, households,
                                                    model=bool(suffix), **measure)
            if not suffix:
                results["baseline"] = run_target("bare FastAPI baseline", "benchmarks.bench_api:baseline_app", env,
                                                 token, households, **measure)
            database = postgres_database(args.postgres) if args.postgres != "none" else None
            if database is not None:
                url, drop = database
                try:
                    token, households, env = prepare_database(url, args.households, store)
                    results[f"postgresql{suffix}"] = run_target(f"{label} (PostgreSQL)", SUBMIT, env, token,
                                                                households, model=bool(suffix), **measure)
                finally:
                    drop()
    baseline = results["baseline"]["req_per_s"]
    summary = {"client": args.client, "clients": args.clients, "requests": args.requests, "workers": args.workers,
               "baseline_req_per_s": baseline, "baseline_p50_ms": results["baseline"]["p50_ms"],
               "baseline_p99_ms": results["baseline"]["p99_ms"],
               "baseline_server_cpu_ms_per_request": results["baseline"]["server_cpu_ms_per_request"],
               "baseline_client_cpu_ms_per_request": results["baseline"]["client_cpu_ms_per_request"],
               "model": args.model}
    for backend in ("sqlite", "postgresql", "sqlite_model", "postgresql_model"):
        if backend in results:
            figures = results[backend]
            ratio = round(figures["req_per_s"] / baseline, 3)
            print(f"{backend}: {ratio:.1%} of the baseline's throughput")
            summary.update({f"{backend}_req_per_s": figures["req_per_s"], f"{backend}_p50_ms": figures["p50_ms"],
                            f"{backend}_p99_ms": figures["p99_ms"], f"{backend}_failures": figures["failures"],
                            f"{backend}_server_cpu_ms_per_request": figures["server_cpu_ms_per_request"],
                            f"{backend}_client_cpu_ms_per_request": figures["client_cpu_ms_per_request"],
                            f"{backend}_ratio_to_baseline": ratio})
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
