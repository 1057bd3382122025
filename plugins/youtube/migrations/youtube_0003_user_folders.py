"""readable names for the people's download folders

Revision ID: youtube_0003
Revises: youtube_0002
Create Date: 2026-12-04 19:20:00

Folders were named by user id ("<root>/7").  New folders get a readable
name chosen once ("alice-3f9c2"); a person who already has downloads keeps
the folder they have, recorded here under its old name.  Nothing is moved
on disk: the migration may run where the download root is not mounted (or
before its setting is readable), and Plex libraries and collections point
at the existing paths.
"""

import sqlalchemy as sa
from alembic import op

revision = "youtube_0003"
down_revision = "youtube_0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "youtube_user_folders",
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_youtube_user_folders")),
        sa.UniqueConstraint("name", name=op.f("uq_youtube_user_folders_name")),
    )
    folders = sa.table(
        "youtube_user_folders",
        sa.column("user_id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("created_at", sa.DateTime),
    )
    downloads = sa.table("youtube_downloads", sa.column("user_id", sa.Integer))
    connection = op.get_bind()
    owners = connection.execute(sa.select(downloads.c.user_id).distinct()).scalars().all()
    now = sa.func.current_timestamp()
    for user_id in sorted(owners):
        connection.execute(sa.insert(folders).values(user_id=user_id, name=str(user_id), created_at=now))


def downgrade():
    # Folders created with a readable name stay on disk; the code of youtube_0002 looks for "<root>/<id>".
    op.drop_table("youtube_user_folders")
