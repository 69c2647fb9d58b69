"""triage

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 16:55:00

A case keeps what the citizen reads about its close (a rejection's reason, personal data removed).
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import engine.db  # noqa: F401 - custom column types


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('case_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('close_note', sa.Text(), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('case_record', schema=None) as batch_op:
        batch_op.drop_column('close_note')
