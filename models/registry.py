"""MLflow model-registry helpers: where the store is, which versions exist, which one is the champion.

MLflow is optional: every function imports it lazily. The default store is `mlflow.db` (SQLite) in the
working directory, which is what MLflow 3 itself picks when no tracking URI is set.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

DEFAULT_MODEL_NAME = "hardship-champion"
CHAMPION_ALIAS = "champion"
# tags put on each registered version so that a served result can be traced to its catalog
VERSION_TAGS = ("catalog_id", "catalog_version", "catalog_hash", "config_version", "tier_order")


def default_tracking_uri() -> str:
    return f"sqlite:///{Path.cwd() / 'mlflow.db'}"


def resolve_tracking_uri(tracking_uri: str | None) -> str:
    """A plain folder path becomes a file: URI; None becomes the default SQLite store."""
    if not tracking_uri:
        return default_tracking_uri()
    if "://" in tracking_uri or tracking_uri.startswith("file:"):
        return tracking_uri
    return Path(tracking_uri).resolve().as_uri()


def store_exists(tracking_uri: str | None) -> bool:
    """Whether a local store is there already (a remote server is assumed to be)."""
    uri = resolve_tracking_uri(tracking_uri)
    parsed = urlparse(uri)
    if parsed.scheme == "sqlite":
        return Path(unquote(uri[len("sqlite:///"):])).is_file()
    if parsed.scheme == "file":
        return Path(unquote(parsed.path)).is_dir()
    return True


def artifact_location(tracking_uri: str | None) -> str | None:
    """Artifacts of a SQLite store go to `mlartifacts/` beside the database file (MLflow's own default,
    `./mlruns` in the working directory, would scatter them wherever a command happens to run)."""
    uri = resolve_tracking_uri(tracking_uri)
    if urlparse(uri).scheme != "sqlite":
        return None
    return (Path(unquote(uri[len("sqlite:///"):])).parent / "mlartifacts").resolve().as_uri()


def client(tracking_uri: str | None):
    from mlflow import MlflowClient

    uri = resolve_tracking_uri(tracking_uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def versions_of_run(tracking_uri: str | None, run_id: str, model_name: str = DEFAULT_MODEL_NAME) -> list:
    return list(client(tracking_uri).search_model_versions(f"name = '{model_name}' and run_id = '{run_id}'"))


def promote(tracking_uri: str | None, run_id: str, model_name: str = DEFAULT_MODEL_NAME) -> str:
    """Make the model registered by run `run_id` the champion; returns its version.
    Raises LookupError naming the run when it registered no model."""
    if not store_exists(tracking_uri):
        raise LookupError(f"no MLflow store at {resolve_tracking_uri(tracking_uri)} / 找不到 MLflow 存储")
    found = versions_of_run(tracking_uri, run_id, model_name)
    if not found:
        raise LookupError(f"run {run_id!r} registered no version of model {model_name!r} / "
                          f"运行 {run_id!r} 没有注册模型 {model_name!r} 的版本")
    version = max(found, key=lambda v: int(v.version)).version
    client(tracking_uri).set_registered_model_alias(model_name, CHAMPION_ALIAS, version)
    return str(version)


def list_versions(tracking_uri: str | None, model_name: str = DEFAULT_MODEL_NAME) -> list[dict]:
    """Every registered version, newest first, with its run, aliases and catalog tags."""
    if not store_exists(tracking_uri):
        return []
    from mlflow.exceptions import MlflowException

    registry = client(tracking_uri)
    try:
        found = registry.search_model_versions(f"name = '{model_name}'")
        aliases = registry.get_registered_model(model_name).aliases
    except MlflowException:
        return []
    by_version: dict[str, list[str]] = {}
    for alias, version in aliases.items():
        by_version.setdefault(str(version), []).append(alias)
    return [{"version": str(v.version), "run_id": v.run_id, "aliases": by_version.get(str(v.version), []),
             **{k: v.tags.get(k) for k in VERSION_TAGS}}
            for v in sorted(found, key=lambda v: -int(v.version))]
