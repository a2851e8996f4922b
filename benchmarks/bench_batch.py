"""Batch scoring speed and memory: score, tier, rank and recommend N synthetic households.

Baseline, measured in the same run: the bare numpy product of the deprivation matrix with the
weight vector, the least work any weighted index must do. Also times file to file (Parquet in,
Parquet out). The last line is one JSON object with every figure.

    python benchmarks/bench_batch.py --households 1000000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assessment import assess_frame, deprivation_matrix  # noqa: E402
from assessment.ranking import rank  # noqa: E402
from cli.tables import read_table, write_table  # noqa: E402
from indicators import default_catalog  # noqa: E402
from benchmarks.timing import best_of, peak_memory, synthetic_households  # noqa: E402


def baseline_seconds(catalog, frame, repeats: int) -> float:
    """The bare matrix-vector product of the deprivation matrix with the weights."""
    filled = np.nan_to_num(deprivation_matrix(catalog, frame)[0])
    weights = np.array([i.weight for i in catalog.indicators])
    return best_of(repeats, lambda: filled @ weights)[0]


def pipeline(catalog, households):
    """Validation, scores, tiers, reasons and recommendations, then the ranking within each town."""
    batch = assess_frame(catalog, households)
    return rank(batch.ranking_frame(scope=("town_id",)), scope="town_id", tier_order=catalog.tier_ids)


def memory_probe(source: Path) -> None:
    """In a fresh process: read the households, then print the pipeline's peak resident memory above
    that level (bytes) and the process's maximum resident memory (bytes)."""
    catalog = default_catalog()
    frame = read_table(source)
    pipeline(catalog, frame.head(100))  # compiles the row loops, or loads them from numba's cache
    ranked, peak_bytes = peak_memory(lambda: pipeline(catalog, frame))
    assert len(ranked) == len(frame), "every synthetic household must be valid"
    print(json.dumps({"peak_bytes": peak_bytes,
                      "max_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--memory-probe", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_probe:
        return memory_probe(args.memory_probe)
    n = args.households
    catalog = default_catalog()

    frame, generate_s = synthetic_households(catalog, n, args.seed)
    start = time.perf_counter()
    pipeline(catalog, frame.head(100))
    print(f"first call on 100 households (compiling the row loops, or loading them from numba's cache): "
          f"{time.perf_counter() - start:.2f} s")

    baseline_s = baseline_seconds(catalog, frame, args.repeats)
    pipeline_s, _, ranked = best_of(args.repeats, lambda: pipeline(catalog, frame))
    assert len(ranked) == n, "every synthetic household must be valid"
    del ranked

    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "households.parquet", Path(tmp) / "scores.parquet"
        write_table(frame, source)

        def file_to_file():
            batch = assess_frame(catalog, read_table(source))
            write_table(batch.scores, target)

        file_s, _, _ = best_of(args.repeats, file_to_file)
        # Memory in a fresh process, so that nothing freed by earlier runs is reused unseen.
        probe = subprocess.run([sys.executable, __file__, "--memory-probe", str(source)], check=True,
                               capture_output=True, text=True)
        memory = json.loads(probe.stdout.strip().splitlines()[-1])

    figures = {
        "households": n,
        "pipeline_s": round(pipeline_s, 3),
        "households_per_s": round(n / pipeline_s),
        "baseline_matvec_s": round(baseline_s, 4),
        "ratio_to_baseline": round(pipeline_s / baseline_s, 1),
        "peak_memory_mb": round(memory["peak_bytes"] / 2**20),
        "probe_max_rss_mb": round(memory["max_rss_bytes"] / 2**20),
        "file_to_file_s": round(file_s, 3),
        "file_to_file_households_per_s": round(n / file_s),
        "generate_s": round(generate_s, 2),
    }
    print(f"score+tier+rank+recommend: {pipeline_s:.3f} s ({figures['households_per_s']:,} households/s), "
          f"{figures['ratio_to_baseline']}x the bare matrix-vector product ({baseline_s * 1000:.1f} ms)")
    print(f"peak memory of the pipeline {figures['peak_memory_mb']} MB (resident, above the input, in a fresh "
          f"process whose maximum resident memory was {figures['probe_max_rss_mb']} MB)")
    print(f"parquet -> parquet: {file_s:.3f} s ({figures['file_to_file_households_per_s']:,} households/s)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
