"""The batch commands on a local Dask cluster next to one process: score and rank N synthetic households.

The households are generated chunk by chunk straight into a partitioned Parquet data set (never all in
memory). Then, on the same data in the same run, as a user runs them:

- one process: `assess score DATA -o FILE`, then `assess rank FILE --scope town_id` (the baseline);
- the cluster: `assess score DATA -o FOLDER --engine dask --workers CORES`, then `assess rank FOLDER
  --scope town_id --engine dask --workers CORES` (a local cluster using every core, one thread per worker).

Reported: households per second, per-core efficiency (the cluster's households per second per core over
the single process's, for scoring and for scoring and ranking; goal at least 0.8) and peak resident memory
per worker process (goal under 2 GB, whatever the number of households: it follows the partition size).
The last line is one JSON object.

    python benchmarks/bench_cluster.py --households 10000000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cli.tables import write_table  # noqa: E402
from indicators import default_catalog  # noqa: E402
from indicators.synth import generate_households, load_spec  # noqa: E402

GOAL_EFFICIENCY = 0.8
GOAL_WORKER_BYTES = 2 * 2**30


def generate(folder: Path, households: int, partition_rows: int, seed: int) -> float:
    """Write `households` synthetic households as part files of `partition_rows`; seconds taken."""
    start = time.perf_counter()
    catalog, spec = default_catalog(), load_spec()
    folder.mkdir(parents=True)
    for number, first in enumerate(range(0, households, partition_rows)):
        rows = min(partition_rows, households - first)
        chunk = generate_households(catalog, spec, rows, seed=seed + number)
        chunk["household_id"] = [f"h{first + k:010d}" for k in range(rows)]  # unique over the data set
        write_table(chunk, folder / f"part-{number:05d}.parquet")
    return time.perf_counter() - start


def run(command: list[str]) -> dict:
    """Run an `assess` command; its wall seconds, CPU seconds (of it and every process it started), and the
    peak resident memory of the command's own process and of its child processes (the workers), sampled
    every 50 ms."""
    start, usage = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    process = psutil.Popen([sys.executable, "-m", "cli.main", *command], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    peaks: dict[int, int] = {}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            try:
                family = [process, *process.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
            for member in family:
                try:
                    peaks[member.pid] = max(peaks.get(member.pid, 0), member.memory_info().rss)
                except psutil.NoSuchProcess:
                    pass

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = process.communicate()
    done.set()
    sampler.join()
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_seconds = after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{out}\n{err}")
    workers = [peak for pid, peak in peaks.items() if pid != process.pid]
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "main_peak_bytes": peaks.get(process.pid, 0),
            "worker_peak_bytes": max(workers, default=0), "child_processes": len(workers), "output": out.strip()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=10_000_000)
    parser.add_argument("--partition-rows", type=int, default=250_000,
                        help="Households per part file of the generated data set (a worker's unit of work).")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="Worker processes (default: every core).")
    parser.add_argument("--baseline-households", type=int,
                        help="Run the single process on the first partitions holding this many households "
                             "(default: all of them; one process holds its whole input and output in memory, "
                             "about 2 KB a household).")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="Generate into this folder and keep it (default: a temporary one).")
    args = parser.parse_args()
    n, cores = args.households, args.workers
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    try:
        data = root / "households.parquet"  # a folder of part files: both paths read it as it is
        generate_s = generate(data, n, args.partition_rows, args.seed)
        partitions = len(list(data.glob("part-*.parquet")))
        print(f"generated {n:,} synthetic households in {partitions} partitions in {generate_s:.1f} s")

        baseline, baseline_n = data, n
        if args.baseline_households is not None and args.baseline_households < n:
            parts = -(-args.baseline_households // args.partition_rows)
            baseline, baseline_n = root / "baseline.parquet", min(n, parts * args.partition_rows)
            baseline.mkdir()
            for path in sorted(data.glob("part-*.parquet"))[:parts]:
                (baseline / path.name).symlink_to(path)
            print(f"the single process scores the first {baseline_n:,} households")
        single_score = run(["score", str(baseline), "-o", str(root / "scores.parquet"), "--no-progress"])
        single_rank = run(["rank", str(root / "scores.parquet"), "-o", str(root / "ranked.parquet"),
                           "--scope", "town_id"])
        dask = ["--engine", "dask", "--workers", str(cores)]
        cluster_score = run(["score", str(data), "-o", str(root / "scores"), *dask])
        cluster_rank = run(["rank", str(root / "scores"), "-o", str(root / "ranked"), "--scope", "town_id", *dask])
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)

    machine_cores = os.cpu_count() or 1
    single_rate = baseline_n / single_score["seconds"]
    cluster_rate = n / cluster_score["seconds"]
    # the single process uses every core of the machine, the cluster `cores` workers of one thread each
    efficiency = (cluster_rate / cores) / (single_rate / machine_cores)
    worker_peak = max(cluster_score["worker_peak_bytes"], cluster_rank["worker_peak_bytes"])
    figures = {
        "households": n,
        "single_process_households": baseline_n,
        "partitions": partitions,
        "partition_rows": args.partition_rows,
        "cores": machine_cores,
        "workers": cores,
        "single_score_s": round(single_score["seconds"], 2),
        "single_score_households_per_s": round(single_rate),
        "single_score_cpu_s": round(single_score["cpu_seconds"], 1),
        "single_rank_s": round(single_rank["seconds"], 2),
        "single_peak_memory_mb": round(max(single_score["main_peak_bytes"], single_rank["main_peak_bytes"]) / 2**20),
        "cluster_score_s": round(cluster_score["seconds"], 2),
        "cluster_score_households_per_s": round(cluster_rate),
        "cluster_score_cpu_s": round(cluster_score["cpu_seconds"], 1),
        "cluster_rank_s": round(cluster_rank["seconds"], 2),
        "cluster_score_and_rank_households_per_s": round(n / (cluster_score["seconds"] + cluster_rank["seconds"])),
        "single_score_and_rank_households_per_s": round(baseline_n / (single_score["seconds"]
                                                                      + single_rank["seconds"])),
        "per_core_efficiency": round(efficiency, 3),
        "per_core_efficiency_score_and_rank": round(
            (n / (cluster_score["seconds"] + cluster_rank["seconds"]) / cores)
            / (baseline_n / (single_score["seconds"] + single_rank["seconds"]) / machine_cores), 3),
        "per_core_efficiency_goal": GOAL_EFFICIENCY,
        "worker_peak_memory_mb": round(worker_peak / 2**20),
        "worker_peak_memory_goal_mb": GOAL_WORKER_BYTES // 2**20,
        "client_peak_memory_mb": round(max(cluster_score["main_peak_bytes"], cluster_rank["main_peak_bytes"]) / 2**20),
        "generate_s": round(generate_s, 1),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    print(f"one process:   score {single_score['seconds']:.1f} s ({single_rate:,.0f} households/s), "
          f"rank {single_rank['seconds']:.1f} s; peak memory {figures['single_peak_memory_mb']:,} MB")
    print(f"local cluster: score {cluster_score['seconds']:.1f} s ({cluster_rate:,.0f} households/s), "
          f"rank {cluster_rank['seconds']:.1f} s, {cores} workers of one thread")
    print(f"per-core efficiency: score {efficiency:.2f}, score and rank "
          f"{figures['per_core_efficiency_score_and_rank']:.2f} (goal {GOAL_EFFICIENCY}); peak memory per worker "
          f"{figures['worker_peak_memory_mb']:,} MB (goal under {figures['worker_peak_memory_goal_mb']:,} MB, "
          f"partitions of {args.partition_rows:,} households); client {figures['client_peak_memory_mb']:,} MB")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
