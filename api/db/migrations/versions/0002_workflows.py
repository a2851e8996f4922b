"""Supervisor and analyst workflows: latest assessment per household, ranking snapshots, providers and
referrals with history, scoring configurations, re-scoring jobs and their results.

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('household_latest',
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('town_id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('assessed_on', sa.Date(), nullable=False),
    sa.Column('index', sa.Float(), nullable=False),
    sa.Column('tier', sa.String(length=64), nullable=False),
    sa.Column('tier_code', sa.Integer(), nullable=False),
    sa.Column('completeness', sa.Float(), nullable=False),
    sa.Column('provisional', sa.Boolean(), nullable=False),
    sa.Column('critical', sa.Boolean(), nullable=False),
    sa.Column('dimension_scores', sa.JSON(), nullable=False),
    sa.Column('services', sa.Text(), nullable=False),
    sa.Column('config_version', sa.String(length=128), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('previous_assessment_id', sa.Integer(), nullable=True),
    sa.Column('previous_index', sa.Float(), nullable=True),
    sa.Column('previous_tier_code', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessments.id'], name=op.f('fk_household_latest_assessment_id_assessments')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_household_latest_household_id_households'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('household_id', name=op.f('pk_household_latest'))
    )
    with op.batch_alter_table('household_latest', schema=None) as batch_op:
        batch_op.create_index('ix_household_latest_town_tier_rank', ['town_id', 'tier_code', 'index', 'completeness', 'household_id'], unique=False)
        batch_op.create_index('ix_household_latest_town_rank', ['town_id', 'index', 'tier_code', 'completeness', 'household_id'], unique=False)
        batch_op.create_index('ix_household_latest_station_rank', ['station_id', 'index', 'tier_code', 'completeness', 'household_id'], unique=False)
        batch_op.create_index('ix_household_latest_rank', ['index', 'tier_code', 'completeness', 'household_id'], unique=False)
        batch_op.create_index('ix_household_latest_due', ['station_id', 'due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_household_latest_assessment_id'), ['assessment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_household_latest_previous_assessment_id'), ['previous_assessment_id'], unique=False)

    op.create_table('ranking_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('format', sa.String(length=8), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('filters', sa.JSON(), nullable=False),
    sa.Column('config_versions', sa.JSON(), nullable=False),
    sa.Column('catalog_version', sa.String(length=64), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('rows', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ranking_snapshots_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ranking_snapshots'))
    )
    with op.batch_alter_table('ranking_snapshots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ranking_snapshots_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ranking_snapshots_user_id'), ['user_id'], unique=False)

    op.create_table('providers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('services', sa.JSON(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('town_id', sa.Integer(), nullable=True),
    sa.Column('contact', sa.String(length=200), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['town_id'], ['towns.id'], name=op.f('fk_providers_town_id_towns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_providers')),
    sa.UniqueConstraint('name', name=op.f('uq_providers_name'))
    )
    op.create_table('referrals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.String(length=64), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=True),
    sa.Column('assessment_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('open_slot', sa.Boolean(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('satisfaction', sa.Integer(), nullable=True),
    sa.Column('feedback_note', sa.Text(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessments.id'], name=op.f('fk_referrals_assessment_id_assessments')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_referrals_created_by_users')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_referrals_household_id_households')),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_referrals_provider_id_providers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referrals')),
    sa.UniqueConstraint('household_id', 'service_id', 'open_slot', name='uq_referrals_open')
    )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referrals_household_id'), ['household_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_provider_id'), ['provider_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_status'), ['status'], unique=False)

    op.create_table('referral_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('provider_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_referral_events_referral_id_referrals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_referral_events_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_events'))
    )
    with op.batch_alter_table('referral_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_events_referral_id'), ['referral_id'], unique=False)

    op.create_table('scoring_configs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=128), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('label', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_scoring_configs_created_by_users')),
    sa.ForeignKeyConstraint(['published_by'], ['users.id'], name=op.f('fk_scoring_configs_published_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scoring_configs')),
    sa.UniqueConstraint('version', name=op.f('uq_scoring_configs_version'))
    )
    with op.batch_alter_table('scoring_configs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scoring_configs_status'), ['status'], unique=False)

    op.create_table('rescoring_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('config_version', sa.String(length=128), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('written', sa.Integer(), nullable=False),
    sa.Column('cursor', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_rescoring_jobs_created_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rescoring_jobs'))
    )
    op.create_table('assessment_rescores',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('config_version', sa.String(length=128), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('index', sa.Float(), nullable=False),
    sa.Column('tier', sa.String(length=64), nullable=False),
    sa.Column('completeness', sa.Float(), nullable=False),
    sa.Column('provisional', sa.Boolean(), nullable=False),
    sa.Column('critical', sa.Boolean(), nullable=False),
    sa.Column('dimension_scores', sa.JSON(), nullable=False),
    sa.Column('services', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessments.id'], name=op.f('fk_assessment_rescores_assessment_id_assessments')),
    sa.ForeignKeyConstraint(['job_id'], ['rescoring_jobs.id'], name=op.f('fk_assessment_rescores_job_id_rescoring_jobs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_rescores')),
    sa.UniqueConstraint('assessment_id', 'config_version', name='uq_assessment_rescores_version')
    )


def downgrade() -> None:
    for table in ("assessment_rescores", "rescoring_jobs", "scoring_configs", "referral_events", "referrals",
                  "providers", "ranking_snapshots", "household_latest"):
        op.drop_table(table)
