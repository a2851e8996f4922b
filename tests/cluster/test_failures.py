"""A worker process killed for real during a job: the job completes, or fails cleanly; an output is never
left behind as complete when it is not."""

import logging
import os
import signal
import threading
import time

import dask
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from assessment import assess_frame
from cli.main import app
from cluster import Engine, score_dataset
from cluster.storage import SUCCESS, read_parts
from indicators import default_catalog
from indicators.synth import generate_households, load_spec

CATALOG = default_catalog()
TEXT_AMOUNTS = ("econ_income_per_capita", "econ_medical_costs", "econ_debt")


@pytest.fixture(scope="module")
def slow_households(tmp_path_factory):
    """4 partitions of 80,000 households whose amounts are distinct texts, read one by one: scoring one
    partition takes long enough (about a second) for a worker to be killed in the middle of it."""
    base = generate_households(CATALOG, load_spec(), 10_000, seed=11)
    frame = pd.concat([base] * 32, ignore_index=True)
    frame["household_id"] = [f"s{k:06d}" for k in range(len(frame))]
    jitter = np.arange(len(frame)) * 1e-6
    for column in TEXT_AMOUNTS:
        frame[column] = [f"{value:.6f}" if value == value else None for value in frame[column].to_numpy() + jitter]
    folder = tmp_path_factory.mktemp("slow") / "households"
    folder.mkdir()
    for number in range(4):
        frame.iloc[number * 80_000:(number + 1) * 80_000].to_parquet(folder / f"part-{number}.parquet", index=False)
    return folder, frame


def kill_a_worker_while_scoring(client, timeout: float = 60) -> str:
    """Wait until a worker is scoring a partition, then kill its process (SIGKILL); its address."""
    pids = client.run(os.getpid)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = [worker for worker, keys in client.processing().items()
                if any("_score_task" in str(key) for key in keys)]
        if busy:
            os.kill(pids[busy[0]], signal.SIGKILL)
            return busy[0]
        time.sleep(0.005)
    raise AssertionError("no worker started scoring")


def in_background(run):
    outcome = {}

    def target():
        try:
            outcome["result"] = run()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    return thread, outcome


def started_cluster(**config):
    from distributed import LocalCluster

    with dask.config.set(config):
        return LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                            silence_logs=logging.CRITICAL)


def test_a_job_that_loses_a_worker_completes_with_every_household(slow_households, tmp_path):
    folder, frame = slow_households
    output = tmp_path / "scores"
    with started_cluster() as cluster, Engine(scheduler=cluster.scheduler_address) as engine:
        thread, outcome = in_background(lambda: score_dataset(
            engine, folder, output, catalog=CATALOG, config=None, write_findings=lambda severity, frames: 0))
        kill_a_worker_while_scoring(engine.client)
        assert not output.exists()  # still being written: nothing at the target's path
        thread.join(timeout=300)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["result"]["scored"] == outcome["result"]["rows"] == 320_000
    assert (output / SUCCESS).exists()
    got = pd.concat(read_parts(output), ignore_index=True)
    expected = assess_frame(CATALOG, frame).scores
    assert got["household_id"].tolist() == expected["household_id"].tolist()
    assert got["index"].to_numpy().tobytes() == expected["index"].to_numpy().tobytes()
    assert [p.name for p in tmp_path.iterdir()] == ["scores"]  # no staging folder left


def test_a_job_that_cannot_recover_fails_cleanly_and_writes_nothing(slow_households, tmp_path):
    folder, _ = slow_households
    output = tmp_path / "scores"
    (tmp_path / "scores.errors.csv").write_text("from an earlier run\n")
    with started_cluster(**{"distributed.scheduler.allowed-failures": 0}) as cluster:
        command = ["score", str(folder), "-o", str(output), "--engine", "dask", "--scheduler",
                   cluster.scheduler_address]
        thread, outcome = in_background(lambda: CliRunner().invoke(app, command))
        from distributed import Client

        with Client(cluster.scheduler_address) as client:
            kill_a_worker_while_scoring(client)
        thread.join(timeout=300)
    result = outcome["result"]
    assert result.exit_code == 1, result.output
    assert "the job failed on the cluster, nothing was written as complete" in result.stderr
    assert "KilledWorker" in result.stderr
    # no output, no half-written folder; the earlier run's files are left as they were
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.errors.csv"]
