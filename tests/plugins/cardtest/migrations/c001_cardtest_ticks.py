"""cardtest: its own table, on its own branch.

Revision ID: c001_cardtest
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "c001_cardtest"
down_revision = None
branch_labels = ("cardtest",)
depends_on = None  # a branch of its own: the core is always migrated first


def upgrade():
    op.create_table(
        "cardtest_ticks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
    )


def downgrade():
    op.drop_table("cardtest_ticks")
