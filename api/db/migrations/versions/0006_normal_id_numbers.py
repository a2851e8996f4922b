"""ID numbers in one normal form: a table of keyed steps left to the service, and one such step.

Duplicate detection and look-ups now hash the normal form of an ID number (Unicode NFKC, the digits of
any script as ASCII digits, no spaces, upper case; `api.id_numbers`). Numbers stored before were hashed as
typed, so a number typed in fullwidth digits hashed differently from the same number in ASCII. Re-hashing
them needs the hash key and the data key, which migrations do not have: this revision only records the
step (`maintenance_tasks`, when there are households), and the service does it when it starts
(`run_pending_maintenance`), as `assess keys rotate` does.

Revision ID: 0006
Revises: 0005
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'maintenance_tasks',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_maintenance_tasks')),
    )
    op.execute("INSERT INTO maintenance_tasks (name, requested_at) SELECT 'normalise_id_numbers', CURRENT_TIMESTAMP "
               "WHERE EXISTS (SELECT 1 FROM households)")


def downgrade() -> None:
    op.drop_table('maintenance_tasks')
