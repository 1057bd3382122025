"""overseerr: MediaNest's record of the requests it made

Revision ID: overseerr_0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "overseerr_0001"
down_revision = None
branch_labels = ("overseerr",)
depends_on = None  # a branch of its own: the core is always migrated first


def upgrade():
    op.create_table(
        "overseerr_media_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("media_type", sa.String(length=8), nullable=False),
        sa.Column("tmdb_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("poster_url", sa.String(length=1024), nullable=True),
        sa.Column("seasons", sa.JSON(), nullable=True),
        sa.Column("all_seasons", sa.Boolean(), nullable=False),
        sa.Column("overseerr_id", sa.Integer(), nullable=True),
        sa.Column("overseerr_user_id", sa.Integer(), nullable=True),
        sa.Column("as_admin", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("status_message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("synced_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_overseerr_media_requests_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_overseerr_media_requests")),
        sa.UniqueConstraint("overseerr_id", name=op.f("uq_overseerr_media_requests_overseerr_id")),
    )
    with op.batch_alter_table("overseerr_media_requests") as batch_op:
        batch_op.create_index("ix_overseerr_media_requests_user_created", ["user_id", "created_at"], unique=False)
        batch_op.create_index("ix_overseerr_media_requests_status", ["status"], unique=False)
        batch_op.create_index("ix_overseerr_media_requests_media", ["media_type", "tmdb_id"], unique=False)


def downgrade():
    op.drop_table("overseerr_media_requests")
