"""Providers in the loop: provider users, referral statuses as FHIR Task status codes, every move in the
history, deliveries, decision reasons, optimistic versions and due dates, directory ids of providers.

Statuses and their history move to the FHIR Task codes: recommended -> draft, referred -> requested,
accepted -> accepted, in_service -> in-progress, completed -> completed, declined -> rejected, cancelled ->
cancelled. Every referral starts at version 1; an open one is due its status's days (below, the table of
api/referrals/workflow.yaml when this revision was written) after its last change. Reasons given before keep
their text (no code: they were typed, not chosen). Each provider gets a directory id (a new UUID).

Revision ID: 0007
Revises: 0006
"""

import uuid
from datetime import timedelta, timezone

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

STATUSES = {'recommended': 'draft', 'referred': 'requested', 'accepted': 'accepted', 'in_service': 'in-progress',
            'completed': 'completed', 'declined': 'rejected', 'cancelled': 'cancelled'}
# Back down, the statuses 0007 added become the nearest old one.
OLD_STATUSES = {**{new: old for old, new in STATUSES.items()}, 'received': 'referred', 'on-hold': 'in_service',
                'failed': 'cancelled'}
DUE_DAYS = {'draft': 14, 'requested': 3, 'received': 3, 'accepted': 7, 'in-progress': 30, 'on-hold': 30}


def _rename_statuses(mapping: dict) -> None:
    for table, columns in (('referrals', ('status',)), ('referral_events', ('from_status', 'to_status'))):
        for column in columns:
            cases = ' '.join(f"WHEN '{old}' THEN '{new}'" for old, new in mapping.items())
            op.execute(f"UPDATE {table} SET {column} = CASE {column} {cases} ELSE {column} END "
                       f"WHERE {column} IS NOT NULL")


def upgrade() -> None:
    connection = op.get_bind()
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('provider_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_users_provider_id_providers'), 'providers', ['provider_id'], ['id'])

    with op.batch_alter_table('providers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('directory_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('description', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
    providers = sa.table('providers', sa.column('id', sa.Integer), sa.column('directory_id', sa.String),
                         sa.column('created_at', sa.DateTime(timezone=True)),
                         sa.column('updated_at', sa.DateTime(timezone=True)))
    for provider_id, created_at in connection.execute(sa.select(providers.c.id, providers.c.created_at)).all():
        connection.execute(providers.update().where(providers.c.id == provider_id)
                           .values(directory_id=str(uuid.uuid4()), updated_at=created_at))
    with op.batch_alter_table('providers', schema=None) as batch_op:
        batch_op.alter_column('directory_id', existing_type=sa.String(length=36), nullable=False)
        batch_op.alter_column('updated_at', existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_providers_directory_id'), ['directory_id'])

    _rename_statuses(STATUSES)
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('follows_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reason_code', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('reason_en', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('scheduled_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('outcome', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('outcome_note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('feedback_outcome', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE referrals SET version = 1")
    referrals = sa.table('referrals', sa.column('id', sa.Integer), sa.column('status', sa.String),
                         sa.column('open_slot', sa.Boolean), sa.column('changed_at', sa.DateTime(timezone=True)),
                         sa.column('due_at', sa.DateTime(timezone=True)))
    for referral_id, status, changed_at in connection.execute(
            sa.select(referrals.c.id, referrals.c.status, referrals.c.changed_at)
            .where(referrals.c.open_slot.is_(True))).all():
        moved = changed_at if changed_at.tzinfo else changed_at.replace(tzinfo=timezone.utc)
        connection.execute(referrals.update().where(referrals.c.id == referral_id)
                           .values(due_at=moved + timedelta(days=DUE_DAYS[status])))
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.alter_column('version', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(batch_op.f('fk_referrals_follows_id_referrals'), 'referrals', ['follows_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_referrals_follows_id'), ['follows_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_due_at'), ['due_at'], unique=False)

    with op.batch_alter_table('referral_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('reason_code', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('reason_en', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('details', sa.JSON(), nullable=True))
    op.execute("UPDATE referral_events SET kind = 'status', details = '{}'")
    with op.batch_alter_table('referral_events', schema=None) as batch_op:
        batch_op.alter_column('kind', existing_type=sa.String(length=32), nullable=False)
        batch_op.alter_column('details', existing_type=sa.JSON(), nullable=False)

    op.create_table('referral_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=False),
    sa.Column('delivered_on', sa.Date(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('units', sa.Float(), nullable=False),
    sa.Column('recorded_by', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recorded_by'], ['users.id'], name=op.f('fk_referral_deliveries_recorded_by_users')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_referral_deliveries_referral_id_referrals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_deliveries'))
    )
    with op.batch_alter_table('referral_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_deliveries_referral_id'), ['referral_id'], unique=False)

    op.create_table('referral_reasons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('label_zh', sa.String(length=200), nullable=False),
    sa.Column('label_en', sa.String(length=200), nullable=False),
    sa.Column('system', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_reasons')),
    sa.UniqueConstraint('status', 'code', name='uq_referral_reasons_code')
    )


def downgrade() -> None:
    op.drop_table('referral_reasons')
    op.drop_table('referral_deliveries')
    op.execute("DELETE FROM referral_events WHERE kind <> 'status'")
    with op.batch_alter_table('referral_events', schema=None) as batch_op:
        for column in ('details', 'note', 'reason_en', 'reason_code', 'kind'):
            batch_op.drop_column(column)
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referrals_due_at'))
        batch_op.drop_index(batch_op.f('ix_referrals_follows_id'))
        batch_op.drop_constraint(batch_op.f('fk_referrals_follows_id_referrals'), type_='foreignkey')
        for column in ('acknowledged_at', 'feedback_outcome', 'outcome_note', 'outcome', 'scheduled_on', 'reason_en',
                       'reason_code', 'due_at', 'version', 'follows_id'):
            batch_op.drop_column(column)
    _rename_statuses(OLD_STATUSES)
    with op.batch_alter_table('providers', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_providers_directory_id'), type_='unique')
        for column in ('updated_at', 'description', 'directory_id'):
            batch_op.drop_column(column)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_users_provider_id_providers'), type_='foreignkey')
        batch_op.drop_column('provider_id')
