"""camera incident failures

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 13:06:00

A camera incident whose case could not be opened is kept on its camera_incident row (case_id empty) with why (a
message key and its parameters), how many tries, the last one and the next automatic one, so that it is retried
after a restart and shown to a person (issue 12).

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text  # noqa: F401 - autogenerate writes Text() for JSONB columns
from sqlalchemy.dialects import postgresql

import engine.db  # noqa: F401 - custom column types used below

# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('camera_incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failure', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column(
            'failure_params', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'),
            nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('tried_at', engine.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('retry_at', engine.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_camera_incident_retry_at', ['retry_at'], unique=False)


def downgrade():
    with op.batch_alter_table('camera_incident', schema=None) as batch_op:
        batch_op.drop_index('ix_camera_incident_retry_at')
        batch_op.drop_column('retry_at')
        batch_op.drop_column('tried_at')
        batch_op.drop_column('attempts')
        batch_op.drop_column('failure_params')
        batch_op.drop_column('failure')
