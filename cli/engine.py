"""`--engine dask`: the batch commands on a Dask cluster (docs/cluster.md).

The `cluster` package, and with it Dask, is imported only when this engine is asked for, so that the
default single-process path works without the `cluster` extra installed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path

import pandas as pd
import typer

from assessment import Catalog
from assessment.errors import CoreError
from cli.tables import CSV_ENCODING, Language, for_reading, sibling


class EngineName(str, Enum):
    """Where a batch command runs: in this process, or on a Dask cluster."""

    local = "local"
    dask = "dask"


ENGINE_OPTION = typer.Option(EngineName.local, "--engine", help="local: in this process; dask: on a Dask cluster, "
                                                                "with INPUT a Parquet data set (a folder of files or "
                                                                "a quoted glob) and OUTPUT a folder of part files.")
SCHEDULER_OPTION = typer.Option(None, "--scheduler", help="With --engine dask: the address of a running Dask "
                                                          "scheduler, e.g. tcp://10.0.0.5:8786 (default: start a "
                                                          "local cluster for the command).")
WORKERS_OPTION = typer.Option(None, "--workers", min=1, help="With --engine dask and no --scheduler: worker "
                                                             "processes of the local cluster (default: one per core).")
SCRATCH_OPTION = typer.Option(None, "--scratch", help="With --engine dask: where intermediate data go (default: "
                                                      "the system's temporary folder; on a real cluster, a folder "
                                                      "every worker sees).")


def _fail(en: str, zh: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {en}\n错误:{zh}", err=True)
    return typer.Exit(code)


@contextmanager
def cluster_engine(scheduler: str | None, workers: int | None) -> Iterator:
    """The `cluster` package and a connected `cluster.Engine`. A job that fails on the cluster (a worker lost
    too often, a file that cannot be read) ends the command with exit code 1 and its reason; it never leaves
    an output behind as complete."""
    try:
        import cluster
    except ImportError as exc:
        raise _fail(f"--engine dask needs Dask ({exc.name} is not installed): "
                    "pip install 'hardship-assessment[cluster]'",
                    f"--engine dask 需要 Dask(未安装 {exc.name}):pip install 'hardship-assessment[cluster]'",
                    code=2) from None
    engine = cluster.Engine(scheduler, workers)
    try:
        engine.__enter__()
    except (OSError, TimeoutError) as exc:
        if scheduler is None:
            raise _fail(f"cannot start a local Dask cluster: {exc}", f"无法启动本地 Dask 集群:{exc}") from None
        raise _fail(f"cannot reach the Dask scheduler {scheduler}: {exc}",
                    f"无法连接 Dask 调度器 {scheduler}:{exc}") from None
    try:
        yield cluster, engine
    except (CoreError, typer.Exit, typer.BadParameter):
        raise
    except Exception as exc:  # noqa: BLE001 - whatever failed on the cluster, the command ends cleanly
        raise _fail(f"the job failed on the cluster, nothing was written as complete: {type(exc).__name__}: {exc}",
                    f"集群上的任务失败,没有输出被标记为完成:{type(exc).__name__}:{exc}") from None
    finally:
        engine.__exit__(None, None, None)


def dataset_output(output: Path) -> None:
    """With the dask engine, OUTPUT is a folder of Parquet part files."""
    if output.suffix.lower() not in ("", ".parquet"):
        raise typer.BadParameter(f"with --engine dask, OUTPUT is a Parquet data set (a folder): {output.name} / "
                                 f"使用 --engine dask 时,输出是 Parquet 数据集(文件夹)", param_hint="--output")


def findings_writer(output: Path, catalog: Catalog, language: Language):
    """For `cluster.score_dataset`: writes the errors or warnings, arriving partition by partition, into one
    CSV beside OUTPUT as `assess score` writes it (removed when there are none)."""
    def write(severity: str, frames: Iterator[pd.DataFrame]) -> int:
        path = sibling(output, f"{severity}s")
        partial = path.with_name(f".{path.name}.partial")
        rows = 0
        with partial.open("w", encoding=CSV_ENCODING, newline="") as out:
            for frame in frames:
                for_reading(frame, catalog, language).to_csv(out, index=False, header=rows == 0)
                rows += len(frame)
        if rows:
            os.replace(partial, path)
        else:
            partial.unlink()
            path.unlink(missing_ok=True)
        return rows

    return write
