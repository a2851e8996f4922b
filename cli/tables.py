"""Reading and writing household tables as CSV, Parquet or JSON Lines, chosen by file extension."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def table_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise typer.BadParameter(f"{path.name}: unknown file type; use one of {', '.join(sorted(FORMATS))}")
    return fmt


def read_table(path: Path) -> pd.DataFrame:
    fmt = table_format(path)
    if not path.exists():
        raise typer.BadParameter(f"{path} does not exist")
    if fmt == "csv":
        return pd.read_csv(path, dtype={"household_id": str}, keep_default_na=True, low_memory=False)
    if fmt == "parquet":
        return pd.read_parquet(path)
    return pd.read_json(path, lines=True, dtype={"household_id": str})


def write_table(frame: pd.DataFrame, path: Path, *, metadata: dict[str, str] | None = None) -> None:
    fmt = table_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        if metadata:
            table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                                   **{k.encode(): v.encode() for k, v in metadata.items()}})
        pq.write_table(table, path)
    else:
        frame.to_json(path, orient="records", lines=True, force_ascii=False)


def sibling(path: Path, suffix: str) -> Path:
    """`scores.parquet` -> `scores.errors.csv` for suffix `errors`."""
    return path.with_name(f"{path.stem}.{suffix}.csv")
