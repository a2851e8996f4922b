"""Timing shared by the benchmark scripts."""

from __future__ import annotations

import time


def best_of(repeats: int, run):
    """(fastest wall seconds, CPU seconds of that run, result): CPU time is steadier on a shared machine."""
    runs, result = [], None
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        result = run()
        runs.append((time.perf_counter() - wall, time.process_time() - cpu))
    return (*min(runs), result)
