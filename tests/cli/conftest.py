import pytest
import yaml

from tests.factories import mini_documents


@pytest.fixture
def mini_dir(tmp_path):
    """The mini catalog written out as a catalog folder."""
    folder = tmp_path / "mini"
    folder.mkdir()
    for name, document in mini_documents().items():
        (folder / name).write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return folder


# The service's commands are tried against the same databases as the service itself.
from tests.api.conftest import app, city, client, database_url, postgres_database, sqlite_template  # noqa: E402,F401
