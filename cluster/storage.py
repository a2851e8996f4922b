"""Parquet data sets on a cluster: reading one, and writing one that appears only when it is complete.

A job writes its output in a hidden folder beside the target (`Staging`), each task its own part file
(written under a temporary name, then renamed, so that a task run again after a lost worker replaces it
whole). Only when every task is done does the job write `_SUCCESS` (what was written, as JSON) and move the
folder into place; a failed job removes it. A data set at the target's path is therefore always complete.
Workers must see the same paths as the client: on a real cluster, a shared file system.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import dask.dataframe as dd
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from assessment.errors import CoreError, Message

SUCCESS = "_SUCCESS"
WORK = "_work"  # a staging folder's intermediate files, removed before it moves into place
PART = "part.{:05d}.parquet"
TEXT = pa.dictionary(pa.int32(), pa.string())  # every categorical column, whatever its partition's categories


def read_dataset(source: str | Path) -> dd.DataFrame:
    """A Parquet data set: a folder of files, a glob of files, or one file. Files are read in name order."""
    text = str(source)
    if glob.has_magic(text):
        found = bool(glob.glob(text))
    else:
        path = Path(text)
        found = path.is_file() or (path.is_dir() and any(path.rglob("*.parquet")))
    if not found:
        raise CoreError(Message(zh=f"找不到 Parquet 数据:{text}", en=f"no Parquet data at {text}"), path="(input)",
                        code="no_input")
    return dd.read_parquet(text)


def empty_like(frame: dd.DataFrame) -> pd.DataFrame:
    """An empty pandas frame with the data set's columns and types (what the core checks before any work)."""
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in frame.dtypes.items()})


def arrow_table(frame: pd.DataFrame, metadata: dict[str, str] | None = None) -> pa.Table:
    """`frame` as Arrow, categorical columns as dictionaries of one index type, so that every part of a data
    set has the same schema; `metadata` joins the schema's metadata."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    fields = [field.with_type(TEXT) if pa.types.is_dictionary(field.type) else field for field in table.schema]
    table = table.cast(pa.schema(fields, metadata=table.schema.metadata))
    if metadata:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                               **{k.encode(): v.encode() for k, v in metadata.items()}})
    return table


def write_part(frame: pd.DataFrame, path: Path, metadata: dict[str, str] | None = None) -> None:
    """One part file, written under a temporary name and renamed: a reader never sees half of it. The folder
    must exist: a task still running after its job failed and removed it cannot bring it back."""
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    table = arrow_table(frame, metadata)
    # dictionary encoding pays for the categorical columns only, as for one process's files
    pq.write_table(table, partial, use_dictionary=[f.name for f in table.schema if pa.types.is_dictionary(f.type)])
    os.replace(partial, path)


def write_rows(frame: pd.DataFrame, path: Path, sizes) -> None:
    """A frame as an Arrow IPC file of consecutive record batches of `sizes` rows (empty ones too), for other tasks
    to read one batch each of (`read_rows`); written under a temporary name and renamed, as a part file."""
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    table = arrow_table(frame).combine_chunks()  # one dictionary per column, shared by every batch
    with pa.OSFile(str(partial), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        start = 0
        for size in sizes:
            rows = table.slice(start, int(size))
            writer.write_batch(pa.RecordBatch.from_arrays(
                [column.chunk(0) if column.num_chunks else pa.array([], type=column.type) for column in rows.columns],
                schema=table.schema))
            start += int(size)
    os.replace(partial, path)


def _used_entries(table: pa.Table) -> pa.Table:
    """`table` with each dictionary column's dictionary cut to the entries its rows use."""
    columns = []
    for column in table.columns:
        if pa.types.is_dictionary(column.type):
            array = column.combine_chunks()
            used = pc.drop_null(pc.unique(array.indices))
            column = pa.DictionaryArray.from_arrays(pc.index_in(array.indices, value_set=used),
                                                    array.dictionary.take(used))
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=table.schema)


def read_rows(pieces: list[tuple[str, int]]) -> pd.DataFrame:
    """Record batch `number` of each `write_rows` file of `pieces` (path, number), one after the other; only those
    batches (and the files' dictionaries) are read. Categorical columns have the categories the rows use, of every
    file; a column without values in a file (of no type there) takes the others' type."""
    tables = []
    for path, number in pieces:
        with pa.OSFile(path) as source:
            tables.append(_used_entries(pa.Table.from_batches([pa.ipc.open_file(source).get_batch(number)])))
    return pa.concat_tables(tables, promote_options="default").to_pandas()


def read_parts(folder: Path) -> Iterator[pd.DataFrame]:
    """The part files of a folder, one frame each, in order."""
    for path in sorted(folder.glob("part.*.parquet")):
        yield pq.read_table(path).to_pandas()


class Staging:
    """A data set being written for `target`: a hidden sibling folder, moved into place by `commit`."""

    def __init__(self, target: Path, work: tuple[str, ...] = ()):
        self.target = target
        self.folder = target.parent / f".{target.name}.partial-{uuid.uuid4().hex[:12]}"
        self.work = self.folder / WORK
        self.subfolders = work

    def __enter__(self) -> "Staging":
        self.work.mkdir(parents=True)
        for name in self.subfolders:
            (self.work / name).mkdir()
        return self

    def __exit__(self, exc_type, *rest) -> None:
        if exc_type is not None or self.folder.exists():
            shutil.rmtree(self.folder, ignore_errors=True)

    def part(self, number: int) -> Path:
        return self.folder / PART.format(number)

    def commit(self, summary: dict) -> None:
        """Mark the data set complete and move it into place (replacing an older one)."""
        shutil.rmtree(self.work)
        (self.folder / SUCCESS).write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
        old = None
        if self.target.exists():
            old = self.target.parent / f".{self.target.name}.old-{uuid.uuid4().hex[:12]}"
            os.replace(self.target, old)
        os.replace(self.folder, self.target)
        if old is not None:
            shutil.rmtree(old) if old.is_dir() else old.unlink()


class Scratch:
    """A folder for a job's intermediate data sets, removed when the job ends: inside `parent` (default the
    system's temporary folder; on a real cluster, a folder every worker sees)."""

    def __init__(self, parent: Path | None = None):
        self.folder = Path(parent or tempfile.gettempdir()) / f"assess-work-{uuid.uuid4().hex[:12]}"

    def __enter__(self) -> Path:
        self.folder.mkdir(parents=True)
        return self.folder

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def dataset_columns(source: str | Path) -> list[str]:
    """The column names of a Parquet data set (read from its files' schemas, no data)."""
    return list(read_dataset(source).columns)
