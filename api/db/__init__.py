"""The database layer: engines and URLs, sessions and where work runs, the SQLite writer queue, statements
run on the driver's cursor, and schema migrations."""

from api.db.database import Database, InSession, begin, bound_connection, in_autocommit, roll_back
from api.db.engine import is_sqlite, normalise_url, sqlite_file
from api.db.migrate import downgrade, upgrade

__all__ = ["Database", "InSession", "begin", "bound_connection", "downgrade", "in_autocommit", "is_sqlite",
           "normalise_url", "roll_back", "sqlite_file", "upgrade"]
