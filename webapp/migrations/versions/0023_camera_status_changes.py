"""camera status changes

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04 18:45:00

Each change of a camera's status (online, offline, faulty) is kept with its detail and moment, so that a camera's
page shows its history and the leaders' camera report counts an offline spell that ended before the report was
made (issue 12: cameras out of service).

"""
import sqlalchemy as sa
from alembic import op

import engine.db  # noqa: F401 - custom column types used below

# revision identifiers, used by Alembic.
revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'camera_status_change',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('camera_id', sa.Integer(), nullable=False),
        sa.Column('at', engine.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('detail', sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(['camera_id'], ['camera.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('camera_status_change', schema=None) as batch_op:
        batch_op.create_index('ix_camera_status_change_camera_at', ['camera_id', 'at'], unique=False)
    # What is known so far: each camera's present status, since when.
    op.execute("INSERT INTO camera_status_change (camera_id, at, status, detail) "
               "SELECT id, status_since, status, status_detail FROM camera WHERE status_since IS NOT NULL")


def downgrade():
    with op.batch_alter_table('camera_status_change', schema=None) as batch_op:
        batch_op.drop_index('ix_camera_status_change_camera_at')
    op.drop_table('camera_status_change')
