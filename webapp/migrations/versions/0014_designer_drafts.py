"""designer drafts

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 21:45:00

The process designer's drafts: a bundle of BPMN and DMN files saved from the modeler, with the deployed
version it started from and a version number so that a stale save (another tab) is refused.
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import engine.db  # noqa: F401 - custom column types
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('designer_draft',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('files', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('base_key', sa.String(length=120), nullable=True),
    sa.Column('base_version', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('updated_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_designer_draft'))
    )
    with op.batch_alter_table('designer_draft', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_designer_draft_updated_at'), ['updated_at'], unique=False)


def downgrade():
    with op.batch_alter_table('designer_draft', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_designer_draft_updated_at'))
    op.drop_table('designer_draft')
