"""Read a catalog folder from disk and hand its documents to the core for validation."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import ValidationError

from assessment.catalog import Catalog, ScoringConfig, build_catalog, check_config
from assessment.errors import CatalogError, CatalogErrors, ConfigError

DEFAULT_CATALOG_DIR = Path(__file__).parent / "default"


def read_texts(folder: Path) -> dict[str, str]:
    """The text of every YAML file of a catalog folder, by file name: what a catalog is kept as."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CatalogErrors([CatalogError(str(folder), "(folder)", "is not a folder", code="missing_folder")])
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(folder.glob("*.y*ml"))}


def parse_texts(texts: dict[str, str]) -> dict:
    """Parse a catalog's file texts (`read_texts`); a file that does not parse is a CatalogError."""
    documents, errors = {}, []
    for name, text in texts.items():
        try:
            documents[name] = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            errors.append(CatalogError(name, "(file)", f"not valid YAML: {exc}", code="bad_yaml"))
    if errors:
        raise CatalogErrors(errors)
    return documents


def read_documents(folder: Path) -> dict:
    """Parse every YAML file of a catalog folder; a file that does not parse is a CatalogError."""
    return parse_texts(read_texts(folder))


def catalog_from_texts(texts: dict[str, str]) -> Catalog:
    """Validate and build the catalog whose files' texts these are (`read_texts`)."""
    return build_catalog(parse_texts(texts))


def load_catalog(folder: Path | str | None = None) -> Catalog:
    """Load and validate the catalog in `folder` (the default catalog when None)."""
    if folder is None:
        return default_catalog()
    return build_catalog(read_documents(Path(folder)))


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    return build_catalog(read_documents(DEFAULT_CATALOG_DIR))


def load_config(path: Path | str, catalog: Catalog) -> ScoringConfig:
    """Read a scoring configuration (YAML or JSON) and check that it fits `catalog`."""
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), f"not valid YAML/JSON: {exc}", f"不是有效的 YAML/JSON:{exc}") from exc
    try:
        config = ScoringConfig.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ConfigError(field, f"{path.name}: {field}: {first['msg']}", f"{path.name}:{field}:{first['msg']}") from exc
    check_config(catalog, config)
    return config
