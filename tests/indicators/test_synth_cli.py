"""`assess synth` writes CSV, Parquet and JSON Lines that read back to the generated frame."""

from __future__ import annotations

import math

import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cli.main import app
from indicators import default_catalog
from indicators.synth import generate_households, load_spec

N, SEED = 250, 11


def plain(value):
    """One cell as a plain Python value, whatever the file format made of it."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str) and value in ("True", "False"):
        return value == "True"
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) or hasattr(value, "dtype"):
        return round(float(value), 6)
    return str(value)


def read_back(path):
    if path.suffix == ".csv":
        return pd.read_csv(path)
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_json(path, lines=True, dtype=False)


@pytest.fixture(scope="module")
def expected():
    return generate_households(default_catalog(), load_spec(), N, SEED)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_round_trip(tmp_path, expected, suffix):
    path = tmp_path / f"households{suffix}"
    result = CliRunner().invoke(app, ["synth", "--households", str(N), "--seed", str(SEED), "-o", str(path)])
    assert result.exit_code == 0, result.output
    last_line = result.output.strip().splitlines()[-1]
    assert "SYNTHETIC" in last_line and "合成数据" in last_line
    written = read_back(path)
    assert list(written.columns) == list(expected.columns)
    assert len(written) == N
    for column in expected.columns:
        assert [plain(v) for v in written[column]] == [plain(v) for v in expected[column]], column


def test_parquet_says_it_is_synthetic(tmp_path):
    path = tmp_path / "h.parquet"
    result = CliRunner().invoke(app, ["synth", "-n", "20", "--seed", "3", "-o", str(path)])
    assert result.exit_code == 0, result.output
    metadata = pq.read_schema(path).metadata
    assert metadata[b"synthetic"] == b"true"
    assert metadata[b"seed"] == b"3"
    assert metadata[b"generator"].startswith(b"indicators.synth")
    assert metadata[b"catalog_id"] == default_catalog().id.encode()


def test_unknown_format_is_refused_and_writes_nothing(tmp_path):
    path = tmp_path / "h.xlsx"
    result = CliRunner().invoke(app, ["synth", "-n", "20", "-o", str(path)])
    assert result.exit_code == 2
    assert ".csv" in result.output and "不支持" in result.output
    assert not path.exists()


def test_output_folder_is_created(tmp_path):
    from typer.testing import CliRunner

    from cli.main import app

    target = tmp_path / "new" / "folder" / "households.csv"
    result = CliRunner().invoke(app, ["synth", "--households", "30", "--seed", "1", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert len(target.read_text(encoding="utf-8").splitlines()) == 31  # header + 30 households
