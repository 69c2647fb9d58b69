"""designer test cases

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 22:00:00

Test runs a process designer keeps: the process, the start data, the steps (task completions, clock moves)
and the outcome expected; re-run before each deploy of the process, with the last result.
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import engine.db  # noqa: F401 - custom column types
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql')


def upgrade():
    op.create_table('designer_test_case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('process_key', sa.String(length=120), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), server_default='', nullable=False),
    sa.Column('start', JSON, nullable=False),
    sa.Column('steps', JSON, nullable=False),
    sa.Column('expected', JSON, nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_run_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_passed', sa.Boolean(), nullable=True),
    sa.Column('last_message', JSON, nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_designer_test_case'))
    )
    with op.batch_alter_table('designer_test_case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_designer_test_case_process_key'), ['process_key'], unique=False)


def downgrade():
    with op.batch_alter_table('designer_test_case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_designer_test_case_process_key'))
    op.drop_table('designer_test_case')
