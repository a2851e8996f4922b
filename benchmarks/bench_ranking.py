"""Ranking, export, name search, impact preview, re-scoring and key rotation over many stored households.

Loads N synthetic households with one assessment each (and their `household_latest` rows) into a
PostgreSQL database it creates and drops (`bench_ranking`, on the server of ASSESS_BENCH_POSTGRES_URL,
default postgresql://postgres@127.0.0.1:5432/postgres) and M into a temporary SQLite file, with COPY /
large executemany batches; then measures, through the service functions (no HTTP):
first page of a town's ranking with a tier filter as that town's supervisor (p50, p99 over --requests
pages), the CSV export of a town, a name search over a town (against reading its households' encrypted
data without decrypting it), the impact preview of a draft over every household, re-scoring every
assessment under a newly published configuration, and a key rotation (`assess keys rotate`). After the
load the database is vacuumed and analysed (PostgreSQL: VACUUM ANALYZE; SQLite: ANALYZE), as autovacuum
keeps a live one. Last line: one JSON object.

    python benchmarks/bench_ranking.py --households 1000000 --sqlite-households 200000
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api import db  # noqa: E402
from api.db import Database  # noqa: E402
from api.security import Keys, encrypt_json, resolve_keys  # noqa: E402
from api.assessments.frames import answers_layout, answers_line  # noqa: E402
from api.assessments.latest import services_text  # noqa: E402
from api.assessments.schedule import schedule  # noqa: E402
from api.auth.access import Caller, Role  # noqa: E402
from api.configs import rescoring  # noqa: E402
from api.configs import service as configs  # noqa: E402
from api.geography.service import sync_regions  # noqa: E402
from api.households import service as households  # noqa: E402
from api.rankings import service as rankings  # noqa: E402
from api.rankings.schemas import RankingFilters  # noqa: E402
from api.settings import Settings  # noqa: E402
from assessment import assess_frame  # noqa: E402
from assessment.batch import join_codes  # noqa: E402
from indicators import default_catalog  # noqa: E402
from indicators.synth import generate_households, load_spec  # noqa: E402

TOWNS, STATIONS_PER_TOWN = 20, 10
ASSESSED_ON = date(2026, 3, 1)


def synthetic(catalog, n: int, seed: int) -> tuple[pd.DataFrame, list[str]]:
    """Households' answers (as JSON lines) and their scores under the catalog's default configuration."""
    frame = generate_households(catalog, load_spec(), n, seed=seed)
    ids = [i.id for i in catalog.indicators]
    answers = frame[ids].to_json(orient="records", lines=True).splitlines()
    frame = frame.assign(year=ASSESSED_ON.year)
    batch = assess_frame(catalog, frame)
    assert batch.valid.all(), "every synthetic household must be valid"
    tiers = np.array(catalog.tier_ids, dtype=object)[batch.tier_code]
    services = join_codes(batch.recommendation_codes, [s.id for s in catalog.services])
    dims = batch.dimension_scores
    dimension_json = [json.dumps({d.id: (None if np.isnan(row[k]) else float(row[k]))
                                  for k, d in enumerate(catalog.dimensions)}) for row in dims]
    scores = pd.DataFrame({
        "region": frame["region"].to_numpy(), "index": batch.index, "tier": tiers,
        "tier_code": batch.tier_code, "completeness": batch.completeness, "provisional": batch.provisional,
        "critical": (batch.raised_by >= 0).any(axis=1), "dimension_scores": dimension_json,
        "services": [services_text(s.split(";")) for s in services]})
    return scores, answers


def geography(database: Database, catalog) -> tuple[list[int], dict[int, int], int]:
    regions = [r.id for r in catalog.regions if r.parent]
    with database.session(write=True) as session:
        sync_regions(session=session, catalog=catalog)
        for t in range(TOWNS):
            session.execute(text("INSERT INTO towns (id, region_id, name) VALUES (:id, :region, :name)"),
                            {"id": t + 1, "region": regions[t % len(regions)], "name": f"T{t + 1}"})
        for s in range(TOWNS * STATIONS_PER_TOWN):
            session.execute(text("INSERT INTO stations (id, town_id, name) VALUES (:id, :town, :name)"),
                            {"id": s + 1, "town": s % TOWNS + 1, "name": f"S{s + 1}"})
        session.execute(text("INSERT INTO users (id, name, role, active, created_at) VALUES "
                             "(1, 'bench', 'analyst', true, CURRENT_TIMESTAMP)"))
    station_town = {s + 1: s % TOWNS + 1 for s in range(TOWNS * STATIONS_PER_TOWN)}
    return list(range(1, TOWNS + 1)), station_town, 1


def tables(catalog, scores: pd.DataFrame, answers: list[str], personal: str, station_town: dict) -> dict:
    n = len(scores)
    ids = np.arange(1, n + 1)
    stations = (ids - 1) % len(station_town) + 1
    towns = np.array([station_town[s] for s in stations])
    version = catalog.default_config().version
    due = schedule().due_dates(pd.Series([ASSESSED_ON] * n), scores["tier"].to_numpy(),
                                scores["provisional"].to_numpy())
    households = pd.DataFrame({"id": ids, "station_id": stations, "registered_station_id": stations, "status": "active",
                               "personal": personal, "id_number_hash": [f"{i:064x}" for i in ids], "created_by": 1,
                               "created_at": "2026-03-01T00:00:00+00:00", "updated_at": "2026-03-01T00:00:00+00:00"})
    assessments = pd.DataFrame({
        "id": ids, "household_id": ids, "assessed_on": ASSESSED_ON.isoformat(), "region_id": scores["region"],
        "answers": answers, "result": "{}", "index": scores["index"], "tier": scores["tier"],
        "completeness": scores["completeness"], "provisional": scores["provisional"], "catalog_id": catalog.id,
        "catalog_version": catalog.version, "catalog_hash": catalog.content_hash, "config_version": version,
        "idempotency_key": [f"bench-{i}" for i in ids], "request_hash": "0" * 64, "created_by": 1,
        "created_at": "2026-03-01T00:00:00+00:00"})
    latest = pd.DataFrame({
        "household_id": ids, "assessment_id": ids, "station_id": stations, "town_id": towns,
        "region_id": scores["region"], "status": "active", "assessed_on": ASSESSED_ON.isoformat(),
        "index": scores["index"], "tier": scores["tier"], "tier_code": scores["tier_code"],
        "completeness": scores["completeness"], "provisional": scores["provisional"],
        "critical": scores["critical"], "dimension_scores": scores["dimension_scores"],
        "services": scores["services"], "config_version": version, "due_on": [d.isoformat() for d in due]})
    layout = answers_layout(catalog)
    compact = pd.DataFrame({"household_id": ids, "assessment_id": ids, "layout": layout,
                            "answers": [answers_line(catalog, json.loads(line)) for line in answers]})
    return {"households": households, "assessments": assessments, "household_latest": latest,
            "latest_answers": compact}


def load(database: Database, frames: dict) -> None:
    postgres = not db.is_sqlite(database.url)
    with database.engine.begin() as connection:
        for name, frame in frames.items():
            columns = ", ".join(f'"{c}"' for c in frame.columns)
            if postgres:
                buffer = io.StringIO()
                frame.to_csv(buffer, index=False, header=False)
                cursor = connection.connection.driver_connection.cursor()
                with cursor.copy(f'COPY "{name}" ({columns}) FROM STDIN WITH (FORMAT csv, FORCE_NOT_NULL (services))'
                                 if name == "household_latest" else
                                 f'COPY "{name}" ({columns}) FROM STDIN WITH (FORMAT csv)') as copy:
                    copy.write(buffer.getvalue())
            else:
                placeholders = ", ".join("?" for _ in frame.columns)
                rows = list(frame.astype(object).itertuples(index=False, name=None))
                for start in range(0, len(rows), 50_000):
                    connection.exec_driver_sql(f'INSERT INTO "{name}" ({columns}) VALUES ({placeholders})',
                                               rows[start:start + 50_000])
    # A real database is vacuumed (autovacuum); right after a bulk load the visibility map is empty and
    # every count would visit the table instead of the index alone.
    if postgres:
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    else:
        with database.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values) * 1000, q))


def measure(url: str, n: int, requests: int, seed: int, label: str) -> dict:
    catalog = default_catalog()
    settings = Settings(database_url=url, data_key=None, hash_key=None, key_file=Path(tempfile.gettempdir()) /
                        f"bench_ranking_{os.getpid()}.keys.json")
    keys = resolve_keys(settings)
    db.upgrade(url)
    database = Database(url)
    figures = {}
    try:
        town_ids, station_town, _ = geography(database, catalog)
        start = time.perf_counter()
        scores, answers = synthetic(catalog, n, seed)
        figures["generate_s"] = time.perf_counter() - start
        start = time.perf_counter()
        load(database, tables(catalog, scores, answers, encrypt_json(keys, {"name": "王秀兰", "phone": "13800001234",
                                                                             "id_number": "110101195003071227"}),
                              station_town))
        figures["load_s"] = time.perf_counter() - start
        print(f"[{label}] {n:,} households generated in {figures['generate_s']:.1f} s, loaded in "
              f"{figures['load_s']:.1f} s (then VACUUM ANALYZE / ANALYZE, as a maintained database would be)")

        rng = random.Random(seed)
        timings = []
        for _ in range(requests):
            town = rng.choice(town_ids)
            caller = Caller(id=1, name="bench", role=Role.supervisor, town_ids=frozenset({town}))
            filters = RankingFilters(town_id=town, tier=rng.choice(catalog.tier_ids[1:]))
            begin = time.perf_counter()
            with database.session(write=True) as session:
                rankings.ranking_page(session=session, caller=caller, keys=keys, catalog=catalog, filters=filters)
            timings.append(time.perf_counter() - begin)
        figures["page_p50_ms"], figures["page_p99_ms"] = percentile(timings, 50), percentile(timings, 99)
        print(f"[{label}] first page of a town with a tier filter: p50 {figures['page_p50_ms']:.1f} ms, "
              f"p99 {figures['page_p99_ms']:.1f} ms ({requests} pages, service function, supervisor)")

        caller = Caller(id=1, name="bench", role=Role.supervisor, town_ids=frozenset({1}))
        begin = time.perf_counter()
        with database.session(write=True) as session:
            content, _ = rankings.export(session=session, caller=caller, keys=keys, catalog=catalog,
                                         filters=RankingFilters(town_id=1), fmt="csv")
        figures["export_town_s"] = time.perf_counter() - begin
        figures["export_town_rows"] = content.count(b"\n") - 1
        print(f"[{label}] CSV export of a town ({figures['export_town_rows']:,} rows, names decrypted): "
              f"{figures['export_town_s']:.2f} s")

        # Every household is named 王秀兰: a text in no name makes the search decrypt the whole town
        begin = time.perf_counter()
        with database.session() as session:
            read = len(session.execute(households.scoped_names(caller)).all())
        figures["town_households_read_s"] = time.perf_counter() - begin
        begin = time.perf_counter()
        with database.session(write=True) as session:
            found = households.search_by_name(session=session, caller=caller, keys=keys, name="李")
        figures["name_search_town_s"] = time.perf_counter() - begin
        assert found["items"] == [] and read == figures["export_town_rows"]
        print(f"[{label}] name search in a town, no match ({read:,} names decrypted): "
              f"{figures['name_search_town_s']:.2f} s (baseline: their encrypted data read, not decrypted: "
              f"{figures['town_households_read_s']:.2f} s)")

        analyst = Caller(id=1, name="bench", role=Role.analyst)
        with database.session(write=True) as session:
            draft = configs.create_draft(session=session, caller=analyst, catalog=catalog,
                                         document={"version": "bench-draft", "tier_cutoffs": {"severe": 45},
                                                   "dimension_weights": {catalog.dimensions[0].id: 2.0}})
        begin = time.perf_counter()
        with database.session() as session:
            preview = configs.impact(session=session, caller=analyst, catalog=catalog, config_id=draft["id"])
        figures["impact_preview_s"] = time.perf_counter() - begin
        print(f"[{label}] impact preview over {preview['compared']:,} households: {figures['impact_preview_s']:.2f} s "
              f"({preview['changed_tier']:,} change tier, Spearman {preview['spearman']:.4f})")

        with database.session(write=True) as session:
            configs.publish(session=session, caller=analyst, catalog=catalog, config_id=draft["id"])
            job = rescoring.create_job(session=session, caller=analyst, catalog=catalog)
        begin = time.perf_counter()
        finished = rescoring.run_job(database, catalog, job["id"], batch_size=50_000)
        figures["rescore_s"] = time.perf_counter() - begin
        assert finished["written"] == n
        figures["rescore_households_per_s"] = n / figures["rescore_s"]
        print(f"[{label}] re-scoring {n:,} assessments: {figures['rescore_s']:.1f} s "
              f"({figures['rescore_households_per_s']:,.0f} per s)")

        rotated = Keys(data_keys=(Fernet.generate_key().decode(), *keys.data_keys), hash_key=keys.hash_key + "-new")
        begin = time.perf_counter()
        with database.session(write=True) as session:
            done = households.rotate_keys(session=session, keys=rotated)
        figures["rotate_keys_s"] = time.perf_counter() - begin
        assert (done["households"], done["rehashed"]) == (n, n)
        print(f"[{label}] key rotation, every household re-encrypted and re-hashed in one transaction: "
              f"{figures['rotate_keys_s']:.1f} s ({n / figures['rotate_keys_s']:,.0f} per s)")
    finally:
        database.dispose()
        settings.key_file.unlink(missing_ok=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1_000_000, help="into PostgreSQL (0: skip)")
    parser.add_argument("--sqlite-households", type=int, default=200_000, help="into SQLite (0: skip)")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    result = {"postgres_households": args.households, "sqlite_households": args.sqlite_households,
              "requests": args.requests, "page_measured_through": "service function"}
    if args.households:
        server_url = db.normalise_url(os.environ.get("ASSESS_BENCH_POSTGRES_URL",
                                                     "postgresql://postgres@127.0.0.1:5432/postgres"))
        server = create_engine(server_url, isolation_level="AUTOCOMMIT")
        with server.connect() as connection:
            connection.execute(text("DROP DATABASE IF EXISTS bench_ranking WITH (FORCE)"))
            connection.execute(text("CREATE DATABASE bench_ranking"))
        try:
            url = make_url(server_url).set(database="bench_ranking").render_as_string(hide_password=False)
            figures = measure(url, args.households, args.requests, args.seed, "postgresql")
            result.update({f"postgres_{k}": round(v, 3) for k, v in figures.items()})
        finally:
            with server.connect() as connection:
                connection.execute(text("DROP DATABASE IF EXISTS bench_ranking WITH (FORCE)"))
            server.dispose()
    if args.sqlite_households:
        with tempfile.TemporaryDirectory() as folder:
            figures = measure(f"sqlite:///{Path(folder) / 'bench.db'}", args.sqlite_households, args.requests,
                              args.seed, "sqlite")
        result.update({f"sqlite_{k}": round(v, 3) for k, v in figures.items()})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
