"""Discovery: department records matched against the stored households, candidates and alerts, and an early-warning
list for a town.

Loads N synthetic households with one assessment each (bench_ranking's loader: 20 towns of 10 stations, so a town
holds N/20 households) and one member each with an ID number, into a PostgreSQL database it creates and drops
(`bench_discovery`, on the server of ASSESS_BENCH_POSTGRES_URL, default
postgresql://postgres@127.0.0.1:5432/postgres) and M into a temporary SQLite file; then as many department records
(`--records`, default as many as households): 60% carrying a household's own ID number, 20% a member's, 19% an ID
number on no file (those persons become candidates), and `--no-id` of them (default 0.2%) without an ID number,
in town 1, matched by name and birth date. Measured through the service functions: `match_records` (both ID
matches, the name match, the candidates), the "re-assess: new information" list of town 1's supervisor, and the
declaration of a cold wave for town 1 (its frozen list of households at risk) with the first page of the list.
Baseline in the same run: the database's own join of the records to the households and members on the hash
(one COUNT), the least any matching can cost. Last line: one JSON object.

    python benchmarks/bench_discovery.py --households 1000000 --sqlite-households 200000
    python benchmarks/bench_discovery.py --households 2000 --sqlite-households 2000   # a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api import db  # noqa: E402
from api.auth.access import Caller, Role  # noqa: E402
from api.db import Database  # noqa: E402
from api.discovery import early_warning  # noqa: E402
from api.discovery.definitions import discovery_folder, load_discovery, load_warning_rules  # noqa: E402
from api.discovery.service import insert_frame, match_records, new_information  # noqa: E402
from api.discovery.tables import DiscoveryImport, DiscoveryRecord  # noqa: E402
from api.persons import name_birth_hash, name_hash, person_hash  # noqa: E402
from api.security import encrypt_json, id_number_hash, keyed, resolve_keys  # noqa: E402
from api.settings import Settings  # noqa: E402
from benchmarks.bench_ranking import geography, load, synthetic, tables  # noqa: E402
from indicators import default_catalog  # noqa: E402

TODAY = date(2026, 6, 1)
SIGNALS = [("disability", "二级", None), ("medical_bill", None, 30000.0), ("unemployment", None, None),
           ("utility_arrears", "4", 4.0), ("discharge", "肺炎", None)]


def number(serial: int, kind: int) -> str:
    """A distinct synthetic ID number (its check character is not checked here: the hash is what matters)."""
    return f"{kind}{serial:016d}X"


def members_frame(keys, n: int) -> pd.DataFrame:
    ids = np.arange(1, n + 1)
    return pd.DataFrame({"id": ids, "household_id": ids, "position": 0, "relation": "spouse", "birth_year": 1960,
                         "sex": "female", "personal": None,
                         "id_number_hash": [id_number_hash(keys, number(i, 2)) for i in ids]})


def records_frame(keys, n_households: int, n_records: int, no_id_share: float, rng) -> pd.DataFrame:
    """Records: 60% heads, 20% members, 19% persons on no file, `no_id_share` without an ID number (town 1)."""
    kinds = rng.choice([1, 2, 3], size=n_records, p=[0.6, 0.2, 0.2])
    serials = np.where(kinds == 3, rng.integers(1, n_records + 1, size=n_records),
                       rng.integers(1, n_households + 1, size=n_records))
    no_id = rng.random(n_records) < no_id_share
    signal = rng.integers(0, len(SIGNALS), size=n_records)
    hashes = [None if skip else id_number_hash(keys, number(int(s), int(k)))
              for s, k, skip in zip(serials, kinds, no_id)]
    personal = encrypt_json(keys, {"name": "王秀兰", "id_number": None, "birth_date": "1950-03-07"})
    recorded = [TODAY - timedelta(days=int(d)) for d in rng.integers(1, 60, size=n_records)]
    return pd.DataFrame({
        "import_id": 1, "source": "bench", "record_key": [f"{i:064x}" for i in range(n_records)],
        "signal": [SIGNALS[s][0] for s in signal], "detail": [SIGNALS[s][1] for s in signal],
        "detail_number": [SIGNALS[s][2] for s in signal], "recorded_on": recorded,
        "fresh_until": [d + timedelta(days=180) for d in recorded],
        "town_id": np.where(no_id, 1, (serials - 1) % 20 + 1).astype(int),
        "id_number_hash": hashes, "name_hash": name_hash(keys, "王秀兰"),
        "name_birth_hash": [name_birth_hash(keys, "王秀兰", date(1950, 3, 7)) if skip else None for skip in no_id],
        "person_key": [h if h is not None else keyed(keys, f"person\x1f{i}") for i, h in enumerate(hashes)],
        "birth_year": 1950, "personal": [personal if skip else encrypt_json(keys, {"name": "x", "id_number": None,
                                                                                   "birth_date": "1950-01-01"})
                                         if kind == 3 else None for skip, kind in zip(no_id, kinds)]})


def timed_steps() -> dict:
    """Wrap the steps of `match_records` so that each one's seconds are added to the returned dict."""
    from api.discovery import service

    spent: dict[str, float] = {}
    for name in ("_match_id_numbers", "_match_names", "refresh_candidates"):
        original = getattr(service, name)

        def wrapper(*args, _original=original, _name=name, **kwargs):
            begin = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                spent[_name.strip("_")] = spent.get(_name.strip("_"), 0.0) + time.perf_counter() - begin

        setattr(service, name, wrapper)
    return spent


def measure(url: str, n: int, n_records: int, no_id_share: float, seed: int, label: str) -> dict:
    catalog = default_catalog()
    settings = Settings(database_url=url, data_key=None, hash_key=None, key_file=Path(tempfile.gettempdir()) /
                        f"bench_discovery_{os.getpid()}.keys.json")
    keys = resolve_keys(settings)
    discovery = load_discovery(discovery_folder(None), frozenset(i.id for i in catalog.indicators))
    warning_rules = load_warning_rules(discovery_folder(None), catalog)
    db.upgrade(url)
    database = Database(url)
    rng = np.random.default_rng(seed)
    figures = {}
    try:
        _, station_town, _ = geography(database, catalog)
        start = time.perf_counter()
        scores, answers = synthetic(catalog, n, seed)
        frames = tables(catalog, scores, answers, encrypt_json(keys, {"name": "王秀兰", "phone": "13800001234",
                                                                      "id_number": "110101195003071227"}),
                        station_town)
        frames["households"]["id_number_hash"] = [id_number_hash(keys, number(i, 1))
                                                  for i in frames["households"]["id"]]
        frames["households"]["name_birth_hash"] = person_hash(keys, "王秀兰", "110101195003071227")
        frames["household_members"] = members_frame(keys, n)
        records = records_frame(keys, n, n_records, no_id_share, rng)
        figures["generate_s"] = time.perf_counter() - start
        start = time.perf_counter()
        load(database, frames)
        with database.session(write=True) as session:
            session.add(DiscoveryImport(id=1, source="bench", file_name="bench.csv", rows=n_records,
                                        added=n_records, refused=0))
            session.flush()
            insert_frame(session, DiscoveryRecord.__table__, records)
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE" if database.dialect == "postgresql" else "ANALYZE")
        figures["load_s"] = time.perf_counter() - start
        print(f"[{label}] {n:,} households (+{n:,} members) and {n_records:,} records generated in "
              f"{figures['generate_s']:.1f} s, loaded in {figures['load_s']:.1f} s")

        begin = time.perf_counter()
        with database.session() as session:
            joined = session.execute(text(
                "SELECT count(*) FROM discovery_records r WHERE EXISTS (SELECT 1 FROM households h WHERE "
                "h.id_number_hash = r.id_number_hash) OR EXISTS (SELECT 1 FROM household_members m WHERE "
                "m.id_number_hash = r.id_number_hash)")).scalar_one()
        figures["baseline_join_s"] = time.perf_counter() - begin
        print(f"[{label}] baseline: the database's join of the records to households and members on the hash: "
              f"{figures['baseline_join_s']:.2f} s ({joined:,} records with a match)")

        steps = timed_steps()
        begin = time.perf_counter()
        with database.session(write=True) as session:
            done = match_records(session=session, discovery=discovery, today=TODAY)
        figures["match_s"] = time.perf_counter() - begin
        figures.update({k: float(v) for k, v in done.items()})
        ratio = figures["match_s"] / max(figures["baseline_join_s"], 1e-9)
        print(f"[{label}] match_records: {figures['match_s']:.2f} s ({ratio:.1f}x the baseline join): "
              + ", ".join(f"{k} {v:,}" for k, v in done.items()))
        print(f"[{label}]   of which " + ", ".join(f"{k} {v:.2f} s" for k, v in steps.items()))
        figures.update({f"{k}_s": v for k, v in steps.items()})

        supervisor = Caller(id=1, name="bench", role=Role.supervisor, town_ids=frozenset({1}))
        begin = time.perf_counter()
        with database.session() as session:
            alerts = new_information(session=session, caller=supervisor, discovery=discovery, today=TODAY, limit=50)
        figures["new_information_s"] = time.perf_counter() - begin
        print(f"[{label}] re-assess: new information for town 1 ({alerts['total']:,} households): "
              f"{figures['new_information_s']:.2f} s")

        begin = time.perf_counter()
        with database.session(write=True) as session:
            event = early_warning.declare(session=session, caller=supervisor, rules=warning_rules, catalog=catalog,
                                          kind="cold_wave", town_ids=[1], starts_on=TODAY, ends_on=TODAY, note=None)
            early_warning.event_households(session=session, caller=supervisor, keys=keys, rules=warning_rules,
                                           event_id=event["id"], limit=50)
        figures["early_warning_s"] = time.perf_counter() - begin
        figures["early_warning_households"] = event["households"]
        print(f"[{label}] cold wave declared for town 1 ({n // 20:,} households, {event['households']:,} at risk, "
              f"frozen) and its first page: {figures['early_warning_s']:.2f} s")
    finally:
        database.dispose()
        settings.key_file.unlink(missing_ok=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1_000_000, help="into PostgreSQL (0: skip)")
    parser.add_argument("--sqlite-households", type=int, default=200_000, help="into SQLite (0: skip)")
    parser.add_argument("--records", type=int, default=None, help="department records [default: as households]")
    parser.add_argument("--no-id", type=float, default=0.002, help="share of records without an ID number")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    result = {"postgres_households": args.households, "sqlite_households": args.sqlite_households,
              "measured_through": "service functions"}
    if args.households:
        server_url = db.normalise_url(os.environ.get("ASSESS_BENCH_POSTGRES_URL",
                                                     "postgresql://postgres@127.0.0.1:5432/postgres"))
        server = create_engine(server_url, isolation_level="AUTOCOMMIT")
        with server.connect() as connection:
            connection.execute(text("DROP DATABASE IF EXISTS bench_discovery WITH (FORCE)"))
            connection.execute(text("CREATE DATABASE bench_discovery"))
        try:
            url = make_url(server_url).set(database="bench_discovery").render_as_string(hide_password=False)
            figures = measure(url, args.households, args.records or args.households, args.no_id, args.seed,
                              "postgresql")
            result.update({f"postgres_{k}": round(v, 3) for k, v in figures.items()})
        finally:
            with server.connect() as connection:
                connection.execute(text("DROP DATABASE IF EXISTS bench_discovery WITH (FORCE)"))
            server.dispose()
    if args.sqlite_households:
        with tempfile.TemporaryDirectory() as folder:
            figures = measure(f"sqlite:///{Path(folder) / 'bench.db'}", args.sqlite_households,
                              args.records or args.sqlite_households, args.no_id, args.seed, "sqlite")
        result.update({f"sqlite_{k}": round(v, 3) for k, v in figures.items()})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
