"""A real Dask cluster for the tests of a module: a LocalCluster of 2 worker processes, started once per
module."""

import logging

import pytest

from tests.factories import partitioned_households


@pytest.fixture(scope="module")
def scheduler():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=logging.ERROR) as cluster:
        yield cluster.scheduler_address


@pytest.fixture(scope="module")
def engine(scheduler):
    from cluster import Engine

    with Engine(scheduler=scheduler) as running:
        yield running


@pytest.fixture(scope="module")
def households(tmp_path_factory):
    """(data set folder of 24 partitions: 22 of households, one of invalid rows, one empty; the same
    households as one frame)."""
    return partitioned_households(tmp_path_factory.mktemp("data") / "households")
