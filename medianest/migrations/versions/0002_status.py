"""service status: last good answers, breaker state per service

Revision ID: 0002_status
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_status"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "service_answers",
        sa.Column("service", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("stored_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("service", "key", name=op.f("pk_service_answers")),
    )
    with op.batch_alter_table("service_statuses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("breaker_state", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("breaker_failures", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("service_statuses", schema=None) as batch_op:
        batch_op.drop_column("breaker_failures")
        batch_op.drop_column("breaker_state")
    op.drop_table("service_answers")
