"""watchstats: its snapshots table, on a branch of its own.

Revision ID: watchstats_0001
Revises:
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "watchstats_0001"
down_revision = None
branch_labels = ("watchstats",)
depends_on = None  # the core is always migrated first


def upgrade():
    op.create_table(
        "watchstats_snapshots",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("taken_at", sa.DateTime(), nullable=False),
        sa.Column("streams", sa.Integer(), nullable=False),
        sa.Column("top_title", sa.String(300), nullable=True),
    )


def downgrade():
    op.drop_table("watchstats_snapshots")
