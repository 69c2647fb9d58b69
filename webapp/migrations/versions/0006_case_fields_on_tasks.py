"""case fields on tasks

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 17:03:11.275614

The case fields the task lists filter and sort on (channel, field, priority, place, reception,
title, in lower case) are copied onto each task (workflows.operators.copy_case_fields does it for new tasks;
this fills the existing ones), with the open-task indexes keyed on them.
"""
from alembic import op
import sqlalchemy as sa
import engine.db  # noqa: F401 - custom column types used below
from sqlalchemy import Text  # noqa: F401 - autogenerate writes Text() for JSONB columns


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

_FACETS = ['case_channel', 'case_category', 'case_priority_rank', 'case_place_id', 'case_received_at']
_OPEN = sa.text("state = 'open'")

# UPDATE … FROM: PostgreSQL, and SQLite since 3.33.
_BACKFILL = """
UPDATE human_task SET case_channel = c.channel, case_category = c.category_code,
       case_priority_rank = CASE c.priority WHEN 'high' THEN 0 WHEN 'normal' THEN 1 WHEN 'low' THEN 2 ELSE 3 END,
       case_place_id = c.admin_unit_id, case_received_at = c.created_at, case_title_lower = lower(c.title)
FROM case_record c WHERE c.code = human_task.business_key
"""


def upgrade():
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('case_channel', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('case_category', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('case_priority_rank', sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column('case_place_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('case_received_at', engine.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('case_title_lower', sa.String(length=255), nullable=True))
        batch_op.drop_index('ix_human_task_open_due', postgresql_where=_OPEN, sqlite_where=_OPEN)
    op.execute(_BACKFILL)
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":  # its lower() folds ASCII only; Python's folds Vietnamese letters too
        titles = bind.execute(sa.text("SELECT code, title FROM case_record WHERE code IS NOT NULL")).all()
        if titles:
            bind.execute(sa.text("UPDATE human_task SET case_title_lower = :title WHERE business_key = :code"),
                         [{"code": code, "title": title.lower()} for code, title in titles])
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.create_index('ix_human_task_open_due', ['due_at', 'candidate_unit', *_FACETS], unique=False,
                              postgresql_include=['case_title_lower'], postgresql_where=_OPEN, sqlite_where=_OPEN)
        batch_op.create_index('ix_human_task_open_unit', ['candidate_unit', 'due_at', *_FACETS], unique=False,
                              postgresql_include=['case_title_lower'], postgresql_where=_OPEN, sqlite_where=_OPEN)
        batch_op.create_index('ix_human_task_open_unit_priority', ['candidate_unit', 'case_priority_rank', 'due_at'],
                              unique=False, postgresql_where=_OPEN, sqlite_where=_OPEN)


def downgrade():
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_index('ix_human_task_open_unit_priority', postgresql_where=_OPEN, sqlite_where=_OPEN)
        batch_op.drop_index('ix_human_task_open_unit', postgresql_where=_OPEN, sqlite_where=_OPEN)
        batch_op.drop_index('ix_human_task_open_due', postgresql_where=_OPEN, sqlite_where=_OPEN)
        batch_op.create_index('ix_human_task_open_due', ['due_at', 'candidate_unit'], unique=False,
                              postgresql_where=_OPEN, sqlite_where=_OPEN)
        batch_op.drop_column('case_title_lower')
        batch_op.drop_column('case_received_at')
        batch_op.drop_column('case_place_id')
        batch_op.drop_column('case_priority_rank')
        batch_op.drop_column('case_category')
        batch_op.drop_column('case_channel')
