"""youtube downloads

Revision ID: youtube_0001
Revises:
Create Date: 2026-11-22 10:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "youtube_0001"
down_revision = None
branch_labels = ("youtube",)
depends_on = None  # a branch of its own: the core is always migrated first


def upgrade():
    op.create_table(
        "youtube_downloads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=True),
        sa.Column("folder", sa.String(length=255), nullable=True),
        sa.Column("entry_count", sa.Integer(), nullable=True),
        sa.Column("entry_index", sa.Integer(), nullable=True),
        sa.Column("entry_title", sa.String(length=500), nullable=True),
        sa.Column("percent", sa.Float(), nullable=False),
        sa.Column("speed", sa.Float(), nullable=True),
        sa.Column("eta", sa.Integer(), nullable=True),
        sa.Column("files", sa.JSON(), nullable=True),
        sa.Column("failures", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=64), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("collection_key", sa.String(length=100), nullable=True),
        sa.Column("collection_url", sa.String(length=1000), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_youtube_downloads_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_youtube_downloads")),
    )
    with op.batch_alter_table("youtube_downloads", schema=None) as batch_op:
        batch_op.create_index("ix_youtube_downloads_status_id", ["status", "id"], unique=False)
        batch_op.create_index("ix_youtube_downloads_user_id_status", ["user_id", "status"], unique=False)


def downgrade():
    with op.batch_alter_table("youtube_downloads", schema=None) as batch_op:
        batch_op.drop_index("ix_youtube_downloads_user_id_status")
        batch_op.drop_index("ix_youtube_downloads_status_id")
    op.drop_table("youtube_downloads")
