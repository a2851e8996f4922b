"""On PostgreSQL, the stored answers and results of assessments are compressed with lz4 instead of pglz: each
result is about 5 KB of JSON, which PostgreSQL compresses as it stores it, and pglz took about a seventh of a bulk
import's time (lz4 compresses such text several times faster). Values stored before keep their compression until
they are written again. Nothing on SQLite, nor on a PostgreSQL server built without lz4.

Revision ID: 0012
Revises: 0011
"""

from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

COLUMNS = ('result', 'answers')


def _compression(method: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql':
        return
    offered = bind.execute(sa.text("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'"))
    if 'lz4' not in (offered.scalar() or []):
        return
    for name in COLUMNS:
        op.execute(f'ALTER TABLE assessments ALTER COLUMN {name} SET COMPRESSION {method}')


def upgrade() -> None:
    _compression('lz4')


def downgrade() -> None:
    _compression('default')
