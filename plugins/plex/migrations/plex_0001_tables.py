"""plex: known image paths and downloads on their way into collections

Revision ID: plex_0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "plex_0001"
down_revision = None
branch_labels = ("plex",)
depends_on = None  # a branch of its own: the core is always migrated first


def upgrade():
    op.create_table(
        "plex_image_paths",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_plex_image_paths")),
    )
    op.create_index(op.f("ix_plex_image_paths_seen_at"), "plex_image_paths", ["seen_at"])
    op.create_table(
        "plex_download_collections",
        sa.Column("download_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("folder", sa.Text(), nullable=True),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("section_key", sa.String(length=32), nullable=True),
        sa.Column("collection_key", sa.String(length=32), nullable=True),
        sa.Column("collection_title", sa.String(length=500), nullable=True),
        sa.Column("item_keys", sa.JSON(), nullable=False),
        sa.Column("missing", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("polls", sa.Integer(), nullable=False),
        sa.Column("waited_seconds", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("scan_requested_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_plex_download_collections_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("download_id", name=op.f("pk_plex_download_collections")),
    )
    op.create_index(op.f("ix_plex_download_collections_user_id"), "plex_download_collections", ["user_id"])


def downgrade():
    op.drop_index(op.f("ix_plex_download_collections_user_id"), table_name="plex_download_collections")
    op.drop_table("plex_download_collections")
    op.drop_index(op.f("ix_plex_image_paths_seen_at"), table_name="plex_image_paths")
    op.drop_table("plex_image_paths")
