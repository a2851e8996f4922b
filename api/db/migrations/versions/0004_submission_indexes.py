"""Submission speed: a household's latest assessment read from one index entry, and no indexes on the
figures of every stored assessment (rankings and alerts read `household_latest`), which each submission
had to update.

Revision ID: 0004
Revises: 0003
"""

from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

HOUSEHOLD_ASSESSED = 'ix_assessments_household_assessed'


def upgrade() -> None:
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.drop_index('ix_assessments_index')
        batch_op.drop_index('ix_assessments_tier')
        batch_op.drop_index(HOUSEHOLD_ASSESSED)
        batch_op.create_index(HOUSEHOLD_ASSESSED, ['household_id', 'assessed_on', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.drop_index(HOUSEHOLD_ASSESSED)
        batch_op.create_index(HOUSEHOLD_ASSESSED, ['household_id', 'assessed_on'], unique=False)
        batch_op.create_index('ix_assessments_tier', ['tier'], unique=False)
        batch_op.create_index('ix_assessments_index', ['index'], unique=False)
