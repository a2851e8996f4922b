"""Reading and writing household tables as CSV, Parquet or JSON Lines, chosen by file extension.

Parquet and JSON Lines are for programs: ids and figures at full precision. A CSV of scores or findings is
for people, who open it in a spreadsheet: `for_reading` adds the label of every id in the reader's language
beside it and rounds the figures. Every CSV is written as UTF-8 with a byte order mark, so spreadsheet
programs read Chinese.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import typer
from tqdm import tqdm

from assessment import Catalog

WRITE_CHUNK_ROWS = 100_000
FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}
# The byte order mark lets spreadsheet programs read a CSV's Chinese text.
CSV_ENCODING = "utf-8-sig"
# Figures in a CSV are rounded to this many decimal places (the index to a thousandth of a point).
CSV_DECIMALS = 3
FIGURES = ("index", "index_low", "index_high", "completeness", "af_score")


class Language(str, Enum):
    """The language of the labels a CSV shows beside the ids."""

    zh = "zh"
    en = "en"


def table_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise typer.BadParameter(
            f"{path.name}: unknown file type {path.suffix or '(none)'!r}; use .csv, .parquet or .jsonl / "
            f"不支持的文件类型,请使用 .csv、.parquet 或 .jsonl")
    return fmt


def read_table(path: Path) -> pd.DataFrame:
    fmt = table_format(path)
    if not path.exists():
        raise typer.BadParameter(f"{path} does not exist")
    if fmt == "csv":
        return pd.read_csv(path, dtype={"household_id": str}, keep_default_na=True, low_memory=False,
                           encoding=CSV_ENCODING)
    if fmt == "parquet":
        return pq.read_table(path).to_pandas()  # the same frame as pd.read_parquet, in a fraction of the time
    return pd.read_json(path, lines=True, dtype={"household_id": str})


def write_table(frame: pd.DataFrame, path: Path, *, metadata: dict[str, str] | None = None,
                progress: tqdm | None = None) -> None:
    """Write by the file extension, chunk by chunk so that a progress bar can move."""
    fmt = table_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    chunks = ((start, frame.iloc[start:start + WRITE_CHUNK_ROWS]) for start in range(0, max(len(frame), 1),
                                                                                       WRITE_CHUNK_ROWS))
    if fmt == "parquet":
        schema = pa.Schema.from_pandas(frame, preserve_index=False)
        if metadata:
            schema = schema.with_metadata({**(schema.metadata or {}),
                                           **{k.encode(): v.encode() for k, v in metadata.items()}})
        # Dictionary encoding pays for categorical columns only; tried on figures it is wasted work.
        categorical = [name for name, dtype in frame.dtypes.items() if isinstance(dtype, pd.CategoricalDtype)]
        with pq.ParquetWriter(path, schema, use_dictionary=categorical) as writer:
            for _, chunk in chunks:
                writer.write_table(pa.Table.from_pandas(chunk, schema=schema, preserve_index=False))
                if progress is not None:
                    progress.update(len(chunk))
        return
    with path.open("w", encoding=CSV_ENCODING if fmt == "csv" else "utf-8", newline="") as out:
        for start, chunk in chunks:
            if fmt == "csv":
                chunk.to_csv(out, index=False, header=start == 0)
            elif len(chunk):
                text = chunk.to_json(orient="records", lines=True, force_ascii=False)
                out.write(text if text.endswith("\n") else text + "\n")
            if progress is not None:
                progress.update(len(chunk))


def sibling(path: Path, suffix: str) -> Path:
    """`scores.parquet` -> `scores.errors.csv` for suffix `errors`."""
    return path.with_name(f"{path.stem}.{suffix}.csv")


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """A small table (errors, warnings, a report) as CSV for people."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, encoding=CSV_ENCODING)


def _labels(values: pd.Series, label_of: dict[str, str]) -> np.ndarray:
    """The label of each id, or of each id of a ';'-joined list of them; an unknown id stays as it is."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    texts = [";".join(label_of.get(part, part) for part in str(value).split(";") if part) for value in uniques]
    return np.array([*texts, ""], dtype=object)[codes]  # code -1 (missing) takes the "" at the end


def for_reading(frame: pd.DataFrame, catalog: Catalog, language: Language) -> pd.DataFrame:
    """`frame` as a CSV shows it: beside each column of catalog ids (tiers, indicators, services, regions)
    a `<column>_label` column in `language`, and the figures rounded to CSV_DECIMALS places."""
    def text(label) -> str:
        return label.zh if language is Language.zh else label.en

    tiers = {t.id: text(t.label) for t in catalog.tiers}
    indicators = {i.id: text(i.label) for i in catalog.indicators}
    labelled = {"tier": tiers, "tier_from_index": tiers, "raised_by": indicators, "top_reasons": indicators,
                "recommended_services": {s.id: text(s.label) for s in catalog.services},
                "indicator": indicators, "region": {r.id: text(r.label) for r in catalog.regions}}
    columns = {}
    for name in frame.columns:
        if name.endswith("_label") and name.removesuffix("_label") in labelled:
            continue  # labelled again below, in this language
        values = frame[name]
        if name in FIGURES or (name.startswith("dim_") and pd.api.types.is_float_dtype(values)):
            values = values.round(CSV_DECIMALS)
        columns[name] = values
        if name in labelled:
            columns[f"{name}_label"] = _labels(values, labelled[name])
    return pd.DataFrame(columns, index=frame.index)
