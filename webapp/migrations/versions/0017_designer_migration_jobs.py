"""designer migration jobs

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 22:10:00

A process designer's move of running instances to another version of their process, run as one job:
the job (who, when, how many moved) and one row per instance with its outcome and the reasons of a refusal.
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import engine.db  # noqa: F401 - custom column types
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql')


def upgrade():
    op.create_table('designer_migration_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('process_key', sa.String(length=120), nullable=False),
    sa.Column('target_definition_id', sa.Integer(), nullable=False),
    sa.Column('target_version', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('moved', sa.Integer(), nullable=False),
    sa.Column('refused', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['target_definition_id'], ['process_definition.id'],
                            name=op.f('fk_designer_migration_job_target_definition_id_process_definition')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_designer_migration_job'))
    )
    with op.batch_alter_table('designer_migration_job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_designer_migration_job_process_key'), ['process_key'], unique=False)

    op.create_table('designer_migration_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('business_key', sa.String(length=64), nullable=True),
    sa.Column('from_version', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('reasons', JSON, nullable=False),
    sa.Column('finished_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'],
                            name=op.f('fk_designer_migration_item_instance_id_process_instance')),
    sa.ForeignKeyConstraint(['job_id'], ['designer_migration_job.id'],
                            name=op.f('fk_designer_migration_item_job_id_designer_migration_job')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_designer_migration_item')),
    sa.UniqueConstraint('job_id', 'instance_id', name='uq_designer_migration_item_job_instance')
    )
    with op.batch_alter_table('designer_migration_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_designer_migration_item_job_id'), ['job_id'], unique=False)


def downgrade():
    with op.batch_alter_table('designer_migration_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_designer_migration_item_job_id'))
    op.drop_table('designer_migration_item')
    with op.batch_alter_table('designer_migration_job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_designer_migration_job_process_key'))
    op.drop_table('designer_migration_job')
