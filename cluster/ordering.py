"""A global order over a data set on Dask: households cut into intervals of a key, each interval in one
partition, with the count of households (per group) in every earlier interval.

Dask's sort puts rows in order, but a rank also needs how many households of the same scope come before
each partition. So the keys are sampled and cut into intervals of about equal size, the households of
each interval (and group) counted, and each interval's households moved into one partition with Dask's
shuffle (`set_index` on the interval, with the intervals as divisions). The partition functions of
`assessment.partitions` then place the households exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd

from assessment.partitions import (INTERVAL, KEY, interval_bounds, interval_counts, interval_of, interval_offsets,
                                   key_sample)

# Keys sampled per partition to choose the interval bounds.
SAMPLE_PER_PARTITION = 1000


def _sample(keys: pd.Series) -> pd.DataFrame:
    return key_sample(keys.to_numpy(), SAMPLE_PER_PARTITION)


def _intervals(keys: pd.Series, bounds: np.ndarray) -> pd.Series:
    return pd.Series(interval_of(keys.to_numpy(), bounds), index=keys.index, name=INTERVAL)


def _counts(frame: pd.DataFrame, bounds: np.ndarray, group: str | None) -> pd.DataFrame:
    return interval_counts(frame, bounds, group=group)


COUNTS_META = pd.DataFrame({"interval": pd.Series(dtype="int64"), "group": pd.Series(dtype="int64"),
                            "households": pd.Series(dtype="int64")})


@dataclass(frozen=True)
class Ordered:
    """A data set in key order: `frame` has one partition per interval (in order) and an INTERVAL column;
    the intervals' `bounds`; `counts` per (interval, group); `offsets` and `sizes` as
    `assessment.partitions.interval_offsets` gives them."""

    frame: dd.DataFrame
    bounds: np.ndarray
    counts: pd.DataFrame
    offsets: pd.Series
    sizes: pd.Series

    @property
    def households(self) -> int:
        return int(self.sizes.sum())


def in_order(frames: list[dd.DataFrame], *, intervals: int, group: str | None = None) -> list[Ordered]:
    """Each frame (with a KEY column, and `group` codes when given) in key order, in about `intervals`
    intervals. The frames are sampled together and counted together: one pass each over all of them."""
    key_meta = pd.DataFrame({"key": pd.Series(dtype="int64"), "weight": pd.Series(dtype="float64")})
    samples = dask.compute(*[frame[KEY].map_partitions(_sample, meta=key_meta) for frame in frames])
    bounds = [interval_bounds(sample, intervals) for sample in samples]
    columns = [KEY] if group is None else [KEY, group]
    counts = dask.compute(*[frame[columns].map_partitions(_counts, b, group, meta=COUNTS_META)
                            for frame, b in zip(frames, bounds)])
    ordered = []
    for frame, b, count in zip(frames, bounds, counts):
        count = count.groupby(["interval", "group"], as_index=False)["households"].sum()
        offsets, sizes = interval_offsets(count)
        keyed = frame.assign(**{INTERVAL: frame[KEY].map_partitions(_intervals, b, meta=(INTERVAL, "int64"))})
        shuffled = keyed.set_index(INTERVAL, drop=False, divisions=list(range(len(b) + 2))).reset_index(drop=True)
        ordered.append(Ordered(frame=shuffled, bounds=b, counts=count, offsets=offsets, sizes=sizes))
    return ordered
