"""notifications in the reader's language

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 16:55:00

A notification keeps its message (msgid, parameters, names in Vietnamese and English) to be shown in the
reader's language, and a "new task" notification the id of its task (a closed task's is no longer unread).
A task keeps its element's English name (property name_en) beside the Vietnamese one.
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import engine.db  # noqa: F401 - custom column types
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('title_en', sa.String(length=255), nullable=True))
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=True))
        batch_op.add_column(sa.Column('task_id', sa.String(length=36), nullable=True))


def downgrade():
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_column('title_en')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_column('task_id')
        batch_op.drop_column('message')
