"""Catalog data (the default catalog lives in `default/`) and the loader that reads it."""

from indicators.loader import DEFAULT_CATALOG_DIR, default_catalog, load_catalog

__all__ = ["DEFAULT_CATALOG_DIR", "default_catalog", "load_catalog"]
