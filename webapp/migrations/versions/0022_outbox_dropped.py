"""outbox messages given up by an administrator

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 18:00:00

An outbox message that cannot be delivered (an email refused by the mail server, an address that does not exist)
is shown on the administrators' deliveries page, where it is retried after a fix or given up with a note: who gave
it up, when and why are kept on the row, and the dispatcher leaves it alone.

"""
import sqlalchemy as sa
from alembic import op

import engine.db  # noqa: F401 - custom column types used below

# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dropped_at', engine.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('dropped_by', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('drop_note', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_column('drop_note')
        batch_op.drop_column('dropped_by')
        batch_op.drop_column('dropped_at')
