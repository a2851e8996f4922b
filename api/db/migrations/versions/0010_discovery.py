"""Proactive discovery: department records and their imports, candidates for a visit, and early-warning events
with their frozen lists of households at risk (api/discovery).

- `discovery_imports`, `discovery_records` (one signal per row; ID numbers only as keyed hashes, personal data
  encrypted), `discovery_candidates` (the visit lists).
- `warning_events`, `warning_households` (risk, reasons and the checklist of each household at risk).

Revision ID: 0010
Revises: 0009
"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('discovery_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('added', sa.Integer(), nullable=False),
    sa.Column('refused', sa.Integer(), nullable=False),
    sa.Column('imported_by', sa.Integer(), nullable=True),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['imported_by'], ['users.id'], name=op.f('fk_discovery_imports_imported_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_discovery_imports'))
    )
    with op.batch_alter_table('discovery_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_discovery_imports_source'), ['source'], unique=False)

    op.create_table('warning_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('town_ids', sa.JSON(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('declared_by', sa.Integer(), nullable=True),
    sa.Column('declared_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['declared_by'], ['users.id'], name=op.f('fk_warning_events_declared_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_warning_events'))
    )
    op.create_table('warning_households',
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('town_id', sa.Integer(), nullable=False),
    sa.Column('risk', sa.Integer(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('contacted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('contacted_by', sa.Integer(), nullable=True),
    sa.Column('visited_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('visited_by', sa.Integer(), nullable=True),
    sa.Column('supplies_delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('supplies_delivered_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['contacted_by'], ['users.id'], name=op.f('fk_warning_households_contacted_by_users')),
    sa.ForeignKeyConstraint(['event_id'], ['warning_events.id'], name=op.f('fk_warning_households_event_id_warning_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_warning_households_household_id_households'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['supplies_delivered_by'], ['users.id'], name=op.f('fk_warning_households_supplies_delivered_by_users')),
    sa.ForeignKeyConstraint(['visited_by'], ['users.id'], name=op.f('fk_warning_households_visited_by_users')),
    sa.PrimaryKeyConstraint('event_id', 'household_id', name=op.f('pk_warning_households'))
    )
    with op.batch_alter_table('warning_households', schema=None) as batch_op:
        batch_op.create_index('ix_warning_households_event_station', ['event_id', 'station_id', 'risk'], unique=False)

    op.create_table('discovery_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('record_key', sa.String(length=64), nullable=False),
    sa.Column('signal', sa.String(length=64), nullable=False),
    sa.Column('detail', sa.String(length=200), nullable=True),
    sa.Column('detail_number', sa.Float(), nullable=True),
    sa.Column('recorded_on', sa.Date(), nullable=False),
    sa.Column('fresh_until', sa.Date(), nullable=False),
    sa.Column('town_id', sa.Integer(), nullable=False),
    sa.Column('id_number_hash', sa.String(length=64), nullable=True),
    sa.Column('name_hash', sa.String(length=64), nullable=False),
    sa.Column('person_key', sa.String(length=64), nullable=False),
    sa.Column('birth_year', sa.Integer(), nullable=False),
    sa.Column('personal', sa.Text(), nullable=True),
    sa.Column('household_id', sa.Integer(), nullable=True),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('match_kind', sa.String(length=16), nullable=True),
    sa.Column('match_confirmed', sa.Boolean(), nullable=True),
    sa.Column('confirmed_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['confirmed_by'], ['users.id'], name=op.f('fk_discovery_records_confirmed_by_users')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_discovery_records_household_id_households'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['import_id'], ['discovery_imports.id'], name=op.f('fk_discovery_records_import_id_discovery_imports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_id'], ['household_members.id'], name=op.f('fk_discovery_records_member_id_household_members'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['town_id'], ['towns.id'], name=op.f('fk_discovery_records_town_id_towns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_discovery_records')),
    sa.UniqueConstraint('source', 'record_key', name='uq_discovery_records_key')
    )
    with op.batch_alter_table('discovery_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_discovery_records_household_id'), ['household_id'], unique=False)

    op.create_table('discovery_candidates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_key', sa.String(length=64), nullable=False),
    sa.Column('town_id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('contact_record_id', sa.Integer(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('visited_by', sa.Integer(), nullable=True),
    sa.Column('visited_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_record_id'], ['discovery_records.id'], name=op.f('fk_discovery_candidates_contact_record_id_discovery_records')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_discovery_candidates_household_id_households'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_discovery_candidates_station_id_stations')),
    sa.ForeignKeyConstraint(['town_id'], ['towns.id'], name=op.f('fk_discovery_candidates_town_id_towns')),
    sa.ForeignKeyConstraint(['visited_by'], ['users.id'], name=op.f('fk_discovery_candidates_visited_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_discovery_candidates')),
    sa.UniqueConstraint('person_key', name='uq_discovery_candidates_person_key')
    )
    with op.batch_alter_table('discovery_candidates', schema=None) as batch_op:
        batch_op.create_index('ix_discovery_candidates_station', ['station_id', 'status', 'priority'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('discovery_candidates', schema=None) as batch_op:
        batch_op.drop_index('ix_discovery_candidates_station')

    op.drop_table('discovery_candidates')
    with op.batch_alter_table('discovery_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_discovery_records_household_id'))

    op.drop_table('discovery_records')
    with op.batch_alter_table('warning_households', schema=None) as batch_op:
        batch_op.drop_index('ix_warning_households_event_station')

    op.drop_table('warning_households')
    op.drop_table('warning_events')
    with op.batch_alter_table('discovery_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_discovery_imports_source'))

    op.drop_table('discovery_imports')
