"""The engine: a local cluster started for a command, and a job's catalog and configuration reaching each
worker once, with the compiled loops ready before the first task."""

import os

import dask.dataframe as dd
import pandas as pd

from cluster import Engine
from cluster.engine import job_context
from indicators import default_catalog

CATALOG = default_catalog()


def compiled_loops() -> int:
    from assessment import kernels

    return len(kernels.score_rows.signatures)


def probe(part: pd.DataFrame, name: str) -> pd.DataFrame:
    from distributed import get_worker

    context = job_context(name)
    return pd.DataFrame({"worker": [get_worker().address], "context": [id(context)],
                         "catalog": [context.catalog.content_hash], "compiled": [compiled_loops()]})


def test_a_job_context_reaches_each_worker_once_with_the_loops_compiled():
    with Engine(workers=2) as engine:  # no scheduler: a local cluster of 2 processes, for this block only
        assert engine.worker_count == 2
        assert os.getpid() not in engine.client.run(os.getpid).values()  # worker processes, not threads of this one
        assert set(engine.client.run(compiled_loops).values()) == {0}  # fresh processes: nothing compiled yet
        tasks = dd.from_pandas(pd.DataFrame({"x": range(24)}), npartitions=24)
        with engine.job(CATALOG, config=CATALOG.default_config()) as name:
            # set up on every worker before any task: the compiled loops are loaded
            assert min(engine.client.run(compiled_loops).values()) >= 1
            meta = pd.DataFrame({"worker": pd.Series(dtype=object), "context": pd.Series(dtype="int64"),
                                 "catalog": pd.Series(dtype=object), "compiled": pd.Series(dtype="int64")})
            seen = tasks.map_partitions(probe, name, meta=meta).compute()
            counted = engine.client.run(lambda dask_worker: dask_worker.plugins[name].partitions)
        assert len(seen) == 24 and set(seen["catalog"]) == {CATALOG.content_hash}
        assert seen["compiled"].min() >= 1
        # one context object per worker, the same for all of its tasks: sent once, not with every task
        assert seen.groupby("worker")["context"].nunique().eq(1).all()
        assert sum(counted.values()) == 24 and counted == seen["worker"].value_counts().to_dict()
        # the job's context leaves the workers with the job
        assert not any(engine.client.run(lambda dask_worker: name in dask_worker.plugins).values())
    assert engine.client.status == "closed"
