"""working-time calendar

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 16:55:00

The administrator's calendar exceptions (days off, make-up working days) and the office hours that
deadlines are counted in (workflows/calendar).
"""
from alembic import op
import sqlalchemy as sa
import engine.db  # noqa: F401 - custom column types


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('calendar_exception',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('working', sa.Boolean(), nullable=False),
    sa.Column('note', sa.String(length=255), server_default='', nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'],
                            name=op.f('fk_calendar_exception_created_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_exception')),
    sa.UniqueConstraint('day', name=op.f('uq_calendar_exception_day'))
    )
    op.create_table('working_hours',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('periods', sa.String(length=120), nullable=False),
    sa.Column('weekdays', sa.String(length=20), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'],
                            name=op.f('fk_working_hours_updated_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_working_hours'))
    )


def downgrade():
    op.drop_table('working_hours')
    op.drop_table('calendar_exception')
