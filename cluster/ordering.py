"""A global order over a data set on Dask: households cut into intervals of a key, each interval in one
partition, with the count of households (per group) in every earlier interval.

Dask's sort puts rows in order, but a rank also needs how many households of the same scope come before
each partition. So the keys are sampled and cut into intervals of about equal size. Then one pass over the
data set counts the households of each interval (and group) and moves them: each partition writes its rows
sorted by interval into one Arrow file of the job's scratch folder, and returns its counts; the partition
of an interval then reads its record batch of every file (one batch per interval in each file). Categorical
columns travel as dictionaries, never as Python objects. The partition functions of `assessment.partitions`
then place the households exactly.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd

from assessment.partitions import (INTERVAL, KEY, interval_bounds, interval_counts, interval_of, interval_offsets,
                                   key_sample)
from cluster.storage import empty_like, read_rows, write_rows

# Keys sampled per partition to choose the interval bounds.
SAMPLE_PER_PARTITION = 1000
ROWS_FILE, ROWS_FILES = "rows.{:05d}.arrow", "rows.*.arrow"


def _sample(keys: pd.Series) -> pd.DataFrame:
    return key_sample(keys.to_numpy(), SAMPLE_PER_PARTITION)


COUNTS_META = pd.DataFrame({"partition": pd.Series(dtype="int64"), "interval": pd.Series(dtype="int64"),
                            "group": pd.Series(dtype="int64"), "households": pd.Series(dtype="int64")})


def _split(part: pd.DataFrame, bounds: np.ndarray, group: str | None, folder: str,
           partition_info=None) -> pd.DataFrame:
    """Write the partition's rows sorted by interval (with an INTERVAL column) to its file in `folder`, a record
    batch per interval; its households per (interval, group)."""
    number = partition_info["number"]
    intervals = interval_of(part[KEY].to_numpy(), bounds)
    order = np.argsort(intervals, kind="stable")
    write_rows(part.iloc[order].reset_index(drop=True).assign(**{INTERVAL: intervals[order]}),
               Path(folder) / ROWS_FILE.format(number), np.bincount(intervals, minlength=len(bounds) + 1))
    return interval_counts(part, bounds, group=group).assign(partition=number)[list(COUNTS_META.columns)]


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


def _interval_pieces(folder: Path, intervals: int) -> list[list[tuple[str, int]]]:
    """For each interval, its record batch (file, number) in every partition's file (the partitions Dask ran: it
    may have joined small ones)."""
    files = sorted(str(path) for path in folder.glob(ROWS_FILES))
    return [[(file, interval) for file in files] for interval in range(intervals)]


def in_order(frames: list[dd.DataFrame], *, intervals: int, scratch: Path, group: str | None = None) -> list[Ordered]:
    """Each frame (with a KEY column, and `group` codes when given) in key order, in about `intervals`
    intervals, its rows moved through files in `scratch` (a folder every worker sees). The frames are
    sampled together, then counted and moved together: two passes each over all of them."""
    key_meta = pd.DataFrame({"key": pd.Series(dtype="int64"), "weight": pd.Series(dtype="float64")})
    samples = dask.compute(*[frame[KEY].map_partitions(_sample, meta=key_meta) for frame in frames])
    bounds = [interval_bounds(sample, intervals) for sample in samples]
    folders = [scratch / f"order-{uuid.uuid4().hex[:12]}" for _ in frames]
    for folder in folders:
        folder.mkdir()
    counts = dask.compute(*[frame.map_partitions(_split, b, group, str(folder), meta=COUNTS_META)
                            for frame, b, folder in zip(frames, bounds, folders)])
    ordered = []
    for frame, b, count, folder in zip(frames, bounds, counts, folders):
        count = count.groupby(["interval", "group"], as_index=False)["households"].sum()
        offsets, sizes = interval_offsets(count)
        meta = empty_like(frame).assign(**{INTERVAL: pd.Series(dtype="int64")})
        moved = dd.from_map(read_rows, _interval_pieces(folder, len(b) + 1), meta=meta, enforce_metadata=False)
        ordered.append(Ordered(frame=moved, bounds=b, counts=count, offsets=offsets, sizes=sizes))
    return ordered
