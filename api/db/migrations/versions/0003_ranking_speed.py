"""Speed at scale: rank indexes that end with status (index-only counts), and the latest answers as
compact CSV lines for impact previews.

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

RANK_INDEXES = {
    'ix_household_latest_town_rank': ['town_id', 'index', 'tier_code', 'completeness', 'household_id'],
    'ix_household_latest_station_rank': ['station_id', 'index', 'tier_code', 'completeness', 'household_id'],
    'ix_household_latest_rank': ['index', 'tier_code', 'completeness', 'household_id'],
}
TOWN_TIER = ('ix_household_latest_town_tier_rank', ['town_id', 'tier_code', 'index', 'completeness', 'household_id'])


def upgrade() -> None:
    with op.batch_alter_table('household_latest', schema=None) as batch_op:
        batch_op.drop_index(TOWN_TIER[0])
        for name, columns in RANK_INDEXES.items():
            batch_op.drop_index(name)
            batch_op.create_index(name, [*columns, 'status'], unique=False)
    op.create_table('latest_answers',
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('layout', sa.String(length=16), nullable=False),
    sa.Column('answers', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_latest_answers_household_id_households'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('household_id', name=op.f('pk_latest_answers'))
    )


def downgrade() -> None:
    op.drop_table('latest_answers')
    with op.batch_alter_table('household_latest', schema=None) as batch_op:
        for name, columns in RANK_INDEXES.items():
            batch_op.drop_index(name)
            batch_op.create_index(name, columns, unique=False)
        batch_op.create_index(TOWN_TIER[0], TOWN_TIER[1], unique=False)
