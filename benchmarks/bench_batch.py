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
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assessment import assess_frame, deprivation_matrix  # noqa: E402
from assessment.ranking import rank  # noqa: E402
from cli.tables import read_table, write_table  # noqa: E402
from indicators import default_catalog  # noqa: E402
from indicators.synth import generate_households, load_spec  # noqa: E402
from benchmarks.timing import best_of  # noqa: E402


def baseline_seconds(catalog, frame, repeats: int) -> float:
    """The bare matrix-vector product of the deprivation matrix with the weights."""
    filled = np.nan_to_num(deprivation_matrix(catalog, frame)[0])
    weights = np.array([i.weight for i in catalog.indicators])
    return best_of(repeats, lambda: filled @ weights)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n = args.households
    catalog = default_catalog()

    start = time.perf_counter()
    frame = generate_households(catalog, load_spec(), n, seed=args.seed)
    generate_s = time.perf_counter() - start
    print(f"generated {n:,} synthetic households in {generate_s:.2f} s")

    baseline_s = baseline_seconds(catalog, frame, args.repeats)

    def pipeline():
        batch = assess_frame(catalog, frame)  # validation, scores, tiers, reasons, recommendations
        return rank(batch.ranking_frame(scope=("town_id",)), scope="town_id", tier_order=catalog.tier_ids)

    pipeline_s, _, ranked = best_of(args.repeats, pipeline)
    assert len(ranked) == n, "every synthetic household must be valid"
    del ranked
    tracemalloc.start()  # a separate run: tracing slows allocation down
    pipeline()
    _, peak_bytes = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "households.parquet", Path(tmp) / "scores.parquet"
        write_table(frame, source)

        def file_to_file():
            batch = assess_frame(catalog, read_table(source))
            write_table(batch.scores, target)

        file_s, _, _ = best_of(args.repeats, file_to_file)

    figures = {
        "households": n,
        "pipeline_s": round(pipeline_s, 3),
        "households_per_s": round(n / pipeline_s),
        "baseline_matvec_s": round(baseline_s, 4),
        "ratio_to_baseline": round(pipeline_s / baseline_s, 1),
        "peak_traced_mb": round(peak_bytes / 2**20),
        "process_max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "file_to_file_s": round(file_s, 3),
        "file_to_file_households_per_s": round(n / file_s),
        "generate_s": round(generate_s, 2),
    }
    print(f"score+tier+rank+recommend: {pipeline_s:.3f} s ({figures['households_per_s']:,} households/s), "
          f"{figures['ratio_to_baseline']}x the bare matrix-vector product ({baseline_s * 1000:.1f} ms)")
    print(f"peak traced memory {figures['peak_traced_mb']} MB; process max RSS {figures['process_max_rss_mb']} MB")
    print(f"parquet -> parquet: {file_s:.3f} s ({figures['file_to_file_households_per_s']:,} households/s)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
