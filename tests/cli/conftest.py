import pytest

from tests.api.mini_city import write_catalog
from tests.factories import mini_documents


@pytest.fixture
def mini_dir(tmp_path):
    """The mini catalog written out as a catalog folder."""
    return write_catalog(tmp_path / "mini", mini_documents())


# The service's commands are tried against the same databases as the service itself.
from tests.api.conftest import (app, catalog, city, client, database_url, postgres_database,  # noqa: E402,F401
                                sqlite_template)
