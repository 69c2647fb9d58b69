"""incidents handled in a page

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 16:55:00

How an incident was resolved (retried, skipped, cancelled), by whom and with what note,
so a resolved incident stays readable in the incidents page; an index for its lists.
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import engine.db  # noqa: F401 - custom column types


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('incident') as batch:
        batch.add_column(sa.Column('resolution', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('resolved_by', sa.String(length=120), nullable=True))
        batch.add_column(sa.Column('note', sa.Text(), nullable=True))
    op.create_index('ix_incident_open', 'incident', ['resolved_at', 'created_at'], unique=False)


def downgrade():
    op.drop_index('ix_incident_open', table_name='incident')
    with op.batch_alter_table('incident') as batch:
        batch.drop_column('note')
        batch.drop_column('resolved_by')
        batch.drop_column('resolution')
