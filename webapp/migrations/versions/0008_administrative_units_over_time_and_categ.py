"""administrative units over time and categories

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 16:55:00

Units gain their validity (valid_from, valid_to) and a successor; their scheduled and applied
changes (add, rename, merge, dissolve) and former names and parents have tables of their own.
"""
from alembic import op
import sqlalchemy as sa
import engine.db  # noqa: F401 - custom column types
from sqlalchemy import Text  # noqa: F401 - JSONB columns
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('admin_unit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('valid_from', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('valid_to', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('successor_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_admin_unit_successor_id_admin_unit'), 'admin_unit',
                                    ['successor_id'], ['id'])
    op.create_table('admin_unit_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('successor_id', sa.Integer(), nullable=True),
    sa.Column('effective_on', sa.Date(), nullable=False),
    sa.Column('detail', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('result', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=True),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('applied_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['successor_id'], ['admin_unit.id'], name=op.f('fk_admin_unit_change_successor_id_admin_unit')),
    sa.ForeignKeyConstraint(['unit_id'], ['admin_unit.id'], name=op.f('fk_admin_unit_change_unit_id_admin_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_unit_change'))
    )
    with op.batch_alter_table('admin_unit_change', schema=None) as batch_op:
        batch_op.create_index('ix_admin_unit_change_due', ['applied_at', 'effective_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_admin_unit_change_unit_id'), ['unit_id'], unique=False)
    op.create_table('admin_unit_period',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('name_en', sa.String(length=255), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['parent_id'], ['admin_unit.id'], name=op.f('fk_admin_unit_period_parent_id_admin_unit')),
    sa.ForeignKeyConstraint(['unit_id'], ['admin_unit.id'], name=op.f('fk_admin_unit_period_unit_id_admin_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_unit_period'))
    )
    with op.batch_alter_table('admin_unit_period', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_admin_unit_period_unit_id'), ['unit_id'], unique=False)


def downgrade():
    with op.batch_alter_table('admin_unit_period', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_admin_unit_period_unit_id'))
    op.drop_table('admin_unit_period')
    with op.batch_alter_table('admin_unit_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_admin_unit_change_unit_id'))
        batch_op.drop_index('ix_admin_unit_change_due')
    op.drop_table('admin_unit_change')
    with op.batch_alter_table('admin_unit', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_admin_unit_successor_id_admin_unit'), type_='foreignkey')
        batch_op.drop_column('successor_id')
        batch_op.drop_column('valid_to')
        batch_op.drop_column('valid_from')
