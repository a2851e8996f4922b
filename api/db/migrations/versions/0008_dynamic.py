"""Dynamic management: transfers between stations, members as persons, exits and their history, exit proposal
decisions, verified tiers, appeals, and every catalog the service has used.

- `households.registered_station_id`: where a household is registered (户籍); `station_id` stays the station that
  serves it. Every household is registered where it is served until a transfer says otherwise.
- `household_members`: the members that were a JSON list on the household (relation, birth year, sex) become
  rows, in the same order; a member may now carry a name and an ID number (encrypted) and the ID number's keyed
  hash, indexed so that a person is found by the hash alone. Members migrated from the list carry neither.
- `household_transfers`, `household_status_events`, `exit_proposal_decisions`, `tier_verifications`, `appeals`,
  `catalog_versions` (the catalogs' text, stored by the service when it starts with one it has not seen), and the
  catalog version and hash of re-scored results (`assessment_rescores`, null for those re-scored before).

Revision ID: 0008
Revises: 0007
"""

from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('catalog_versions',
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('catalog_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('documents', sa.JSON(), nullable=False),
    sa.Column('first_used_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('content_hash', name=op.f('pk_catalog_versions'))
    )
    op.create_table('household_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('relation', sa.String(length=40), nullable=False),
    sa.Column('birth_year', sa.Integer(), nullable=True),
    sa.Column('sex', sa.String(length=6), nullable=True),
    sa.Column('personal', sa.Text(), nullable=True),
    sa.Column('id_number_hash', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_household_members_household_id_households'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_household_members')),
    sa.UniqueConstraint('household_id', 'position', name='uq_household_members_position')
    )
    with op.batch_alter_table('household_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_household_members_household_id'), ['household_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_household_members_id_number_hash'), ['id_number_hash'], unique=False)

    op.create_table('household_transfers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('from_station_id', sa.Integer(), nullable=False),
    sa.Column('to_station_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('open_slot', sa.Boolean(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('requested_by', sa.Integer(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_household_transfers_decided_by_users')),
    sa.ForeignKeyConstraint(['from_station_id'], ['stations.id'], name=op.f('fk_household_transfers_from_station_id_stations')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_household_transfers_household_id_households'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by'], ['users.id'], name=op.f('fk_household_transfers_requested_by_users')),
    sa.ForeignKeyConstraint(['to_station_id'], ['stations.id'], name=op.f('fk_household_transfers_to_station_id_stations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_household_transfers')),
    sa.UniqueConstraint('household_id', 'open_slot', name='uq_household_transfers_open')
    )
    with op.batch_alter_table('household_transfers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_household_transfers_from_station_id'), ['from_station_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_household_transfers_household_id'), ['household_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_household_transfers_to_station_id'), ['to_station_id'], unique=False)

    op.create_table('appeals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('open_slot', sa.Boolean(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=True),
    sa.Column('in_force_on', sa.Date(), nullable=False),
    sa.Column('catalog_hash', sa.String(length=64), nullable=False),
    sa.Column('catalog_version', sa.String(length=64), nullable=False),
    sa.Column('config_version', sa.String(length=128), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('index', sa.Float(), nullable=False),
    sa.Column('tier', sa.String(length=64), nullable=False),
    sa.Column('lodged_by', sa.Integer(), nullable=False),
    sa.Column('lodged_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('correction_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessments.id'], name=op.f('fk_appeals_assessment_id_assessments')),
    sa.ForeignKeyConstraint(['correction_id'], ['assessments.id'], name=op.f('fk_appeals_correction_id_assessments')),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_appeals_decided_by_users')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_appeals_household_id_households'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['lodged_by'], ['users.id'], name=op.f('fk_appeals_lodged_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appeals')),
    sa.UniqueConstraint('assessment_id', 'open_slot', name='uq_appeals_open')
    )
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appeals_assessment_id'), ['assessment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_appeals_household_id'), ['household_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_appeals_status'), ['status'], unique=False)

    op.create_table('exit_proposal_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessments.id'], name=op.f('fk_exit_proposal_decisions_assessment_id_assessments')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_exit_proposal_decisions_household_id_households'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_exit_proposal_decisions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exit_proposal_decisions')),
    sa.UniqueConstraint('household_id', 'assessment_id', name='uq_exit_proposal_decisions_assessment')
    )
    op.create_table('household_status_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('assessment_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessments.id'], name=op.f('fk_household_status_events_assessment_id_assessments')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_household_status_events_household_id_households'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_household_status_events_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_household_status_events'))
    )
    with op.batch_alter_table('household_status_events', schema=None) as batch_op:
        batch_op.create_index('ix_household_status_events_household', ['household_id', 'id'], unique=False)

    op.create_table('tier_verifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('computed_tier', sa.String(length=64), nullable=False),
    sa.Column('verified_tier', sa.String(length=64), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('current_slot', sa.Boolean(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessments.id'], name=op.f('fk_tier_verifications_assessment_id_assessments')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_tier_verifications_household_id_households'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_tier_verifications_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tier_verifications')),
    sa.UniqueConstraint('assessment_id', 'current_slot', name='uq_tier_verifications_current')
    )
    with op.batch_alter_table('tier_verifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tier_verifications_assessment_id'), ['assessment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tier_verifications_household_id'), ['household_id'], unique=False)

    with op.batch_alter_table('assessment_rescores', schema=None) as batch_op:
        batch_op.add_column(sa.Column('catalog_version', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('catalog_hash', sa.String(length=64), nullable=True))

    with op.batch_alter_table('households', schema=None) as batch_op:
        batch_op.add_column(sa.Column('registered_station_id', sa.Integer(), nullable=True))
    op.execute("UPDATE households SET registered_station_id = station_id")
    _members_to_rows()
    with op.batch_alter_table('households', schema=None) as batch_op:
        batch_op.alter_column('registered_station_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(batch_op.f('ix_households_registered_station_id'), ['registered_station_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_households_registered_station_id_stations'), 'stations', ['registered_station_id'], ['id'])
        batch_op.drop_column('members')


HOUSEHOLDS = sa.table('households', sa.column('id', sa.Integer()), sa.column('members', sa.JSON()))
MEMBERS = sa.table('household_members', sa.column('household_id', sa.Integer()), sa.column('position', sa.Integer()),
                   sa.column('relation', sa.String()), sa.column('birth_year', sa.Integer()),
                   sa.column('sex', sa.String()))
BATCH = 5000


def _members_to_rows() -> None:
    """Each household's JSON list of members as rows, in batches of households."""
    connection = op.get_bind()
    last = 0
    while rows := connection.execute(sa.select(HOUSEHOLDS.c.id, HOUSEHOLDS.c.members).where(HOUSEHOLDS.c.id > last)
                                     .order_by(HOUSEHOLDS.c.id).limit(BATCH)).all():
        members = [{"household_id": household_id, "position": position,
                    "relation": str(member.get("relation") or "other")[:40], "birth_year": member.get("birth_year"),
                    "sex": member.get("sex")}
                   for household_id, listed in rows for position, member in enumerate(listed or [])
                   if isinstance(member, dict)]
        if members:
            connection.execute(sa.insert(MEMBERS), members)
        last = rows[-1][0]


def _rows_to_members() -> None:
    """The members' rows back as each household's JSON list (names and ID numbers are lost)."""
    connection = op.get_bind()
    listed: dict[int, list] = {}
    for row in connection.execute(sa.select(MEMBERS).order_by(MEMBERS.c.household_id, MEMBERS.c.position)):
        listed.setdefault(row.household_id, []).append(
            {"relation": row.relation, "birth_year": row.birth_year, "sex": row.sex})
    connection.execute(sa.update(HOUSEHOLDS).values(members=[]))
    for household_id, members in listed.items():
        connection.execute(sa.update(HOUSEHOLDS).where(HOUSEHOLDS.c.id == household_id).values(members=members))


def downgrade() -> None:
    with op.batch_alter_table('households', schema=None) as batch_op:
        batch_op.add_column(sa.Column('members', sa.JSON(), nullable=True))
    _rows_to_members()
    with op.batch_alter_table('households', schema=None) as batch_op:
        batch_op.alter_column('members', existing_type=sa.JSON(), nullable=False)
        batch_op.drop_constraint(batch_op.f('fk_households_registered_station_id_stations'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_households_registered_station_id'))
        batch_op.drop_column('registered_station_id')

    with op.batch_alter_table('assessment_rescores', schema=None) as batch_op:
        batch_op.drop_column('catalog_hash')
        batch_op.drop_column('catalog_version')

    with op.batch_alter_table('tier_verifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tier_verifications_household_id'))
        batch_op.drop_index(batch_op.f('ix_tier_verifications_assessment_id'))

    op.drop_table('tier_verifications')
    with op.batch_alter_table('household_status_events', schema=None) as batch_op:
        batch_op.drop_index('ix_household_status_events_household')

    op.drop_table('household_status_events')
    op.drop_table('exit_proposal_decisions')
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appeals_status'))
        batch_op.drop_index(batch_op.f('ix_appeals_household_id'))
        batch_op.drop_index(batch_op.f('ix_appeals_assessment_id'))

    op.drop_table('appeals')
    with op.batch_alter_table('household_transfers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_household_transfers_to_station_id'))
        batch_op.drop_index(batch_op.f('ix_household_transfers_household_id'))
        batch_op.drop_index(batch_op.f('ix_household_transfers_from_station_id'))

    op.drop_table('household_transfers')
    with op.batch_alter_table('household_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_household_members_id_number_hash'))
        batch_op.drop_index(batch_op.f('ix_household_members_household_id'))

    op.drop_table('household_members')
    op.drop_table('catalog_versions')
