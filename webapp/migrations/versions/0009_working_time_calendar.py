"""working-time calendar

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 16:55:00

Reserved for issue 9's work on this subject: a no-op until its schema lands.
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import engine.db  # noqa: F401 - custom column types


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
