"""Intake: bulk imports with their row-by-row outcomes (`import_jobs`, `import_rows`), per-station intake tokens
(`intake_tokens`, hashed), collected submissions once per instance id with the intake queue (`intake_submissions`),
and the checkpoints of pulls from ODK Central (`intake_checkpoints`).

Revision ID: 0009
Revises: 0008
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('intake_checkpoints',
    sa.Column('source', sa.String(length=500), nullable=False),
    sa.Column('submitted_until', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('source', name=op.f('pk_intake_checkpoints'))
    )
    op.create_table('import_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('file_hash', sa.String(length=64), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('rows_done', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_import_jobs_station_id_stations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_import_jobs_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_jobs'))
    )
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_import_jobs_station_file', ['station_id', 'file_hash', 'status'], unique=False)

    op.create_table('intake_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_intake_tokens_created_by_users')),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_intake_tokens_station_id_stations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_intake_tokens_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intake_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_intake_tokens_token_hash'))
    )
    with op.batch_alter_table('intake_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intake_tokens_station_id'), ['station_id'], unique=False)

    op.create_table('import_rows',
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('row', sa.Integer(), nullable=False),
    sa.Column('source_key', sa.String(length=200), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=True),
    sa.Column('registered', sa.Boolean(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=True),
    sa.Column('code', sa.String(length=64), nullable=True),
    sa.Column('path', sa.String(length=200), nullable=True),
    sa.Column('message_zh', sa.Text(), nullable=True),
    sa.Column('message_en', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['job_id'], ['import_jobs.id'],
                            name=op.f('fk_import_rows_job_id_import_jobs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('job_id', 'row', name=op.f('pk_import_rows'))
    )
    op.create_table('intake_submissions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.String(length=200), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('form_version', sa.String(length=128), nullable=True),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('errors', sa.JSON(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessments.id'],
                            name=op.f('fk_intake_submissions_assessment_id_assessments')),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_intake_submissions_decided_by_users')),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_intake_submissions_station_id_stations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intake_submissions')),
    sa.UniqueConstraint('instance_id', name=op.f('uq_intake_submissions_instance_id'))
    )
    with op.batch_alter_table('intake_submissions', schema=None) as batch_op:
        batch_op.create_index('ix_intake_submissions_station_status', ['station_id', 'status', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('intake_submissions', schema=None) as batch_op:
        batch_op.drop_index('ix_intake_submissions_station_status')

    op.drop_table('intake_submissions')
    op.drop_table('import_rows')
    with op.batch_alter_table('intake_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intake_tokens_station_id'))

    op.drop_table('intake_tokens')
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_import_jobs_station_file')

    op.drop_table('import_jobs')
    op.drop_table('intake_checkpoints')
