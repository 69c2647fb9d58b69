"""deploy notes

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 21:50:00

A deployed version keeps the deployer's note, where it was deployed from (cli, browser, setup…) and the
designer's draft it came from, for the library of definitions.
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('process_definition', schema=None) as batch_op:
        batch_op.add_column(sa.Column('note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('source', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('draft_id', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('process_definition', schema=None) as batch_op:
        batch_op.drop_column('draft_id')
        batch_op.drop_column('source')
        batch_op.drop_column('note')
