"""Timing shared by the benchmark scripts."""

from __future__ import annotations

import os
import threading
import time


def best_of(repeats: int, run):
    """(fastest wall seconds, CPU seconds of that run, result): CPU time is steadier on a shared machine."""
    runs, result = [], None
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        result = run()
        runs.append((time.perf_counter() - wall, time.process_time() - cpu))
    return (*min(runs), result)


def peak_memory(run):
    """(result, peak resident memory in bytes above the level at the start): sampled from /proc every
    millisecond, so it counts what Python's allocator never sees (compiled loops, Arrow buffers)."""
    page = os.sysconf("SC_PAGE_SIZE")

    def resident() -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * page

    start = peak = resident()
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.wait(0.001):
            peak = max(peak, resident())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        result = run()
    finally:
        done.set()
        sampler.join()
    return result, max(peak, resident()) - start


def synthetic_households(catalog, n: int, seed: int):
    """(frame, seconds): n synthetic households, with the time it took printed."""
    from indicators.synth import generate_households, load_spec

    start = time.perf_counter()
    frame = generate_households(catalog, load_spec(), n, seed=seed)
    seconds = time.perf_counter() - start
    print(f"generated {n:,} synthetic households in {seconds:.2f} s")
    return frame, seconds
