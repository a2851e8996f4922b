"""The batch commands on a Dask cluster (`--engine dask`): the same pure core, one partition at a time.

Dask only moves partitions and adds up what they return; every household is scored by
`assessment.partitions`, which knows nothing of Dask. See docs/cluster.md.

Importing this package imports Dask: the command line imports it only when the engine is asked for, so
the default single-process path works without the `cluster` extra.
"""

from cluster.engine import Engine
from cluster.jobs import poverty_dataset, preview_dataset, rank_dataset, score_dataset, sensitivity_dataset
from cluster.storage import dataset_columns

__all__ = ["Engine", "dataset_columns", "poverty_dataset", "preview_dataset", "rank_dataset", "score_dataset",
           "sensitivity_dataset"]
