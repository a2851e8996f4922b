"""`--engine dask` end to end: the same command on a local cluster and in one process gives the same files."""

import json
import sys

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from cli.batch import SOME_ROWS_FAILED
from cli.main import app
from cluster.storage import SUCCESS
from tests.cluster.conftest import households, scheduler  # noqa: F401 - the module's cluster and data set

runner = CliRunner()


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype({name: object for name, dtype in frame.dtypes.items()
                         if isinstance(dtype, pd.CategoricalDtype)})


@pytest.fixture(scope="module")
def one_file(households, tmp_path_factory):
    """The data set's households as one Parquet file, for the single-process commands."""
    _, whole = households
    path = tmp_path_factory.mktemp("single") / "households.parquet"
    whole.to_parquet(path, index=False)
    return path


def on_cluster(scheduler, *arguments):
    return runner.invoke(app, [*arguments, "--engine", "dask", "--scheduler", scheduler])


def test_score_and_rank_write_what_one_process_writes(scheduler, households, one_file, tmp_path):
    folder, _ = households
    cluster_out, single_out = tmp_path / "cluster" / "scores", tmp_path / "single" / "scores.parquet"
    result = on_cluster(scheduler, "score", str(folder), "-o", str(cluster_out), "--lang", "en")
    assert result.exit_code == SOME_ROWS_FAILED, result.output
    assert f"scored 2601 of 2605 households -> {cluster_out}" in result.stdout
    assert "4 row(s) failed validation" in result.stderr
    single = runner.invoke(app, ["score", str(one_file), "-o", str(single_out), "--lang", "en"])
    assert single.exit_code == SOME_ROWS_FAILED, single.output
    # the errors and warnings files: one each, byte for byte those of one process
    for kind in ("errors", "warnings"):
        cluster_csv = (tmp_path / "cluster" / f"scores.{kind}.csv").read_bytes()
        assert cluster_csv == (tmp_path / "single" / f"scores.{kind}.csv").read_bytes(), kind
        assert cluster_csv.startswith(b"\xef\xbb\xbf") and cluster_csv.count(b"\xef\xbb\xbf") == 1
    assert (cluster_out / SUCCESS).exists() and len(list(cluster_out.glob("part.*.parquet"))) == 24
    scores = pd.read_parquet(cluster_out)
    pd.testing.assert_frame_equal(plain(scores), plain(pd.read_parquet(single_out)), check_dtype=False)

    ranked_cluster, ranked_single = tmp_path / "cluster" / "ranked", tmp_path / "single" / "ranked.parquet"
    result = on_cluster(scheduler, "rank", str(cluster_out), "-o", str(ranked_cluster), "--scope", "town_id")
    assert result.exit_code == 0, result.output
    assert f"ranked 2601 households within town_id -> {ranked_cluster}" in result.stdout
    single = runner.invoke(app, ["rank", str(single_out), "-o", str(ranked_single), "--scope", "town_id"])
    assert single.exit_code == 0, single.output
    got, expected = (plain(pd.read_parquet(p)).sort_values(["town_id", "rank"], ignore_index=True)
                     for p in (ranked_cluster, ranked_single))
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def test_poverty_measures_as_one_process(scheduler, households, one_file, tmp_path):
    folder, _ = households
    # INPUT as a glob of the part files, as a shell passes it in quotes
    result = on_cluster(scheduler, "poverty", str(folder / "part-*.parquet"), "--by", "region", "-o",
                        str(tmp_path / "cluster.json"))
    assert result.exit_code == 0, result.output
    single = runner.invoke(app, ["poverty", str(one_file), "--by", "region", "-o", str(tmp_path / "single.json")])
    assert single.exit_code == 0, single.output
    assert result.stdout.splitlines()[:2] == single.stdout.splitlines()[:2]  # counts, k, H, A, M0 as printed
    got, expected = (json.loads((tmp_path / name).read_text(encoding="utf-8")) for name in ("cluster.json",
                                                                                            "single.json"))
    assert json.dumps(got, sort_keys=True) == json.dumps(approx_json(expected, got), sort_keys=True)


def approx_json(expected, got):
    """`expected` with each number replaced by `got`'s where they agree to 1e-12 (sums taken in another
    order differ in the last digits), so that any other difference shows."""
    if isinstance(expected, dict):
        return {k: approx_json(v, got.get(k) if isinstance(got, dict) else None) for k, v in expected.items()}
    if isinstance(expected, list):
        return [approx_json(v, got[i] if isinstance(got, list) and i < len(got) else None)
                for i, v in enumerate(expected)]
    if isinstance(expected, float) and isinstance(got, float) and got == pytest.approx(expected, rel=1e-12, abs=1e-15):
        return got
    return expected


def test_config_preview_and_sensitivity_as_one_process(scheduler, households, one_file, tmp_path):
    folder, _ = households
    draft = tmp_path / "draft.yaml"
    draft.write_text(yaml.safe_dump({"dimension_weights": {"health": 3}, "tier_cutoffs": {"severe": 60}}),
                     encoding="utf-8")
    result = on_cluster(scheduler, "config", "preview", str(draft), "--households", str(folder), "-o",
                        str(tmp_path / "cluster.json"), "--scratch", str(tmp_path))
    assert result.exit_code == 0, result.output
    single = runner.invoke(app, ["config", "preview", str(draft), "--households", str(one_file), "-o",
                                 str(tmp_path / "single.json")])
    assert single.exit_code == 0, single.output
    got, expected = (json.loads((tmp_path / name).read_text(encoding="utf-8")) for name in ("cluster.json",
                                                                                            "single.json"))
    assert expected["changed_tier"] > 0 and len(expected["movers"]) == 20
    assert json.dumps(got, sort_keys=True) == json.dumps(approx_json(expected, got), sort_keys=True)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("assess-work-")]  # intermediate data removed

    arguments = ["config", "sensitivity", "--households", None, "--indicator", "econ_debt", "--indicator",
                 "care_lives_alone", "-o", None]
    arguments[3], arguments[-1] = str(folder), str(tmp_path / "cluster.csv")
    result = on_cluster(scheduler, *arguments)
    assert result.exit_code == 0, result.output
    arguments[3], arguments[-1] = str(one_file), str(tmp_path / "single.csv")
    single = runner.invoke(app, arguments)
    assert single.exit_code == 0, single.output
    got, expected = (pd.read_csv(tmp_path / name) for name in ("cluster.csv", "single.csv"))
    assert len(expected) == 2 + 8  # two indicators and the eight dimensions
    pd.testing.assert_frame_equal(got, expected, rtol=1e-12)


def test_engine_mistakes_are_clear(scheduler, households, tmp_path, monkeypatch):
    folder, _ = households
    result = on_cluster(scheduler, "score", str(folder), "-o", str(tmp_path / "scores.csv"))
    assert result.exit_code == 2 and "OUTPUT is a Parquet data set (a folder)" in " ".join(
        result.output.replace("│", " ").split())
    result = runner.invoke(app, ["score", str(folder), "-o", str(tmp_path / "x"), "--engine", "dask",
                                 "--scheduler", "tcp://127.0.0.1:9", ])
    assert result.exit_code == 1 and "cannot reach the Dask scheduler tcp://127.0.0.1:9" in result.stderr
    result = on_cluster(scheduler, "score", str(tmp_path / "nothing-here"), "-o", str(tmp_path / "x"))
    assert result.exit_code == 1 and "no Parquet data at" in result.stderr and "找不到 Parquet 数据" in result.stderr
    # a data set written for another catalog: one error naming the catalog in use, as in one process
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    pd.DataFrame({"household_id": ["a"], "fam_size": [2]}).to_parquet(wrong / "part-0.parquet")
    result = on_cluster(scheduler, "score", str(wrong), "-o", str(tmp_path / "x"))
    assert result.exit_code == 1 and "no input column is an indicator of the catalog in use" in result.stderr
    assert not (tmp_path / "x").exists()
    # without the cluster extra installed
    monkeypatch.setitem(sys.modules, "cluster", None)
    result = on_cluster(scheduler, "score", str(folder), "-o", str(tmp_path / "x"))
    assert result.exit_code == 2 and "pip install 'hardship-assessment[cluster]'" in result.stderr
