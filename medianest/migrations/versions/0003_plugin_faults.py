"""plugin states: the fault that stopped a plugin, shared by every process

Revision ID: 0003_plugin_faults
Revises: 0002_status
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_plugin_faults"
down_revision = "0002_status"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("plugin_states", schema=None) as batch_op:
        batch_op.add_column(sa.Column("error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("failed_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("plugin_states", schema=None) as batch_op:
        batch_op.drop_column("failed_at")
        batch_op.drop_column("error")
