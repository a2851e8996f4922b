"""The whole method on the real Costa Rica household survey (IDB): a catalog, an adapter, evaluate, predict."""

from pathlib import Path

CATALOG_DIR = Path(__file__).parent / "catalog"
