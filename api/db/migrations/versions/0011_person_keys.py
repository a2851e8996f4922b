"""Keyed hashes of name and birth date on households and members, so that department records without an ID
number are matched by comparing hashes instead of decrypting every person of their towns.

- `households.name_birth_hash`, `household_members.name_birth_hash` (indexed), `discovery_records.name_birth_hash`.
- `ix_discovery_records_waiting`: the ID-number hashes of the records not matched yet (partial), which matching
  joins on (without it SQLite scanned every record for each household found).
- `discovery_records.household_id` without its foreign key: matching sets it on most records at once, and the
  check of each row cost a quarter of the matching; households are never deleted, and the matches are made by
  joins to them.

Filling them needs the keys, which migrations do not have: this revision records the step `person_keys`
(`maintenance_tasks`, when there are households or records), and the service does it when it starts
(`run_pending_maintenance`), as `assess keys rotate` does.

Revision ID: 0011
Revises: 0010
"""

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ('households', 'household_members'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('name_birth_hash', sa.String(length=64), nullable=True))
            batch_op.create_index(batch_op.f(f'ix_{table}_name_birth_hash'), ['name_birth_hash'], unique=False)
    with op.batch_alter_table('discovery_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_birth_hash', sa.String(length=64), nullable=True))
        batch_op.drop_constraint(batch_op.f('fk_discovery_records_household_id_households'), type_='foreignkey')
        waiting = sa.text('match_kind IS NULL')
        batch_op.create_index('ix_discovery_records_waiting', ['id_number_hash'], unique=False, sqlite_where=waiting,
                              postgresql_where=waiting)
    op.execute("INSERT INTO maintenance_tasks (name, requested_at) SELECT 'person_keys', CURRENT_TIMESTAMP "
               "WHERE EXISTS (SELECT 1 FROM households) OR EXISTS (SELECT 1 FROM discovery_records)")


def downgrade() -> None:
    op.execute("DELETE FROM maintenance_tasks WHERE name = 'person_keys'")
    with op.batch_alter_table('discovery_records', schema=None) as batch_op:
        batch_op.drop_index('ix_discovery_records_waiting')
        batch_op.drop_column('name_birth_hash')
        batch_op.create_foreign_key(batch_op.f('fk_discovery_records_household_id_households'), 'households',
                                    ['household_id'], ['id'], ondelete='SET NULL')
    for table in ('household_members', 'households'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{table}_name_birth_hash'))
            batch_op.drop_column('name_birth_hash')
