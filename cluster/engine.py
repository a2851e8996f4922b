"""Connecting to a Dask cluster, or starting a local one, and what each worker holds for a job."""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import dask
import numba
import numpy as np
import pandas as pd
from distributed import Client, LocalCluster, WorkerPlugin, get_worker

from assessment.batch import WeightChange, assess_prepared, household_weights, prepare_frame, reweighted
from assessment.catalog import Catalog, Indicator, ScoringConfig
from assessment.partitions import discordant_pairs

# Shuffles log their start and end as warnings; a command's output has no use for them.
QUIET_LOGGERS = ("distributed.shuffle._scheduler_plugin",)
# Dask options for every job: partitions reach the core as pandas reads Parquet (no conversion of text
# columns to another string type), so that they are the frames one process would score.
DASK_OPTIONS = {"dataframe.convert-string": False}


def _first_answer(indicator: Indicator):
    spec = indicator.answer
    if spec.type == "yes_no":
        return False
    if spec.type == "ordinal":
        return spec.levels[0].value
    if spec.type == "choice":
        return spec.options[0].value
    return max(spec.min, min(1, spec.max))  # a count or amount; 1 rather than 0, which may divide


def warm_up(catalog: Catalog, configs: dict[str, ScoringConfig]) -> None:
    """Run every compiled loop of the core once on two made-up households, so that numba compiles them, or
    loads them from its cache, now rather than in the first task."""
    answers = {ind.id: [_first_answer(ind)] * 2 for ind in catalog.indicators}
    frame = pd.DataFrame({"household_id": ["warm-up-1", "warm-up-2"], **answers})
    prepared = prepare_frame(catalog, frame)
    config = next(iter(configs.values()), None) or catalog.default_config()  # the loops' types, not values
    assess_prepared(prepared, config=config)
    household_weights(catalog, config, prepared.scores[prepared.valid])
    list(reweighted(prepared, config, [WeightChange()], 1.0))
    discordant_pairs(np.arange(2.0), np.arange(2.0))


class JobContext(WorkerPlugin):
    """The catalog and configurations of one job, sent to each worker once as the job starts (and to any
    worker that joins during it); tasks carry only the context's name. Setting up also warms the compiled
    loops up (`warm_up`), once per worker."""

    def __init__(self, catalog: Catalog, configs: dict[str, ScoringConfig]):
        self.catalog = catalog
        self.configs = configs
        self.partitions = 0  # the partitions a worker has handled with this context

    async def setup(self, worker) -> None:
        await asyncio.get_running_loop().run_in_executor(None, warm_up, self.catalog, self.configs)


def job_context(name: str) -> JobContext:
    """In a task: the job's context on this worker; the compiled loops use the worker's threads."""
    worker = get_worker()
    context = worker.plugins[name]
    numba.set_num_threads(max(1, min(worker.state.nthreads, numba.config.NUMBA_NUM_THREADS)))
    context.partitions += 1
    return context


class Engine:
    """A Dask client for the batch commands: connected to the scheduler at `scheduler`, or to a local cluster
    of `workers` processes (default: one per core, one thread each) started for the command and stopped
    after it."""

    def __init__(self, scheduler: str | None = None, workers: int | None = None):
        self.scheduler = scheduler
        self.workers = workers
        self.cluster: LocalCluster | None = None
        self.client: Client | None = None
        self._options = None

    def __enter__(self) -> "Engine":
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.ERROR)
        if self.scheduler is None:
            # as many single-threaded processes as cores (numba's loops follow the worker's threads)
            self.cluster = LocalCluster(n_workers=self.workers or os.cpu_count() or 1, threads_per_worker=1,
                                        processes=True, dashboard_address=":0", silence_logs=logging.ERROR)
            self.client = Client(self.cluster)
        else:
            self.client = Client(self.scheduler)
        self._options = dask.config.set(DASK_OPTIONS)
        self._options.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._options.__exit__(*exc)
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    @property
    def worker_count(self) -> int:
        return len(self.client.nthreads())

    @contextmanager
    def job(self, catalog: Catalog, **configs: ScoringConfig) -> Iterator[str]:
        """The name of a JobContext registered on every worker for the duration of the block."""
        name = f"assess-job-{uuid.uuid4().hex}"
        self.client.register_plugin(JobContext(catalog, configs), name=name)
        try:
            yield name
        finally:
            self.client.unregister_worker_plugin(name)
