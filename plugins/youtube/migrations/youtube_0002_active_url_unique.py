"""one active download per person and URL

Revision ID: youtube_0002
Revises: youtube_0001
Create Date: 2026-12-04 17:10:00

"""

import hashlib
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa
from alembic import op

revision = "youtube_0002"
down_revision = "youtube_0001"
branch_labels = None
depends_on = None

ACTIVE = sa.text("status IN ('queued', 'running')")


def _key(url: str) -> str:
    # The same key as medianest_youtube.models.url_key, frozen here as a migration must be.
    parts = urlsplit(url)
    normal = urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, parts.query, parts.fragment))
    return hashlib.sha256(normal.encode("utf-8", "surrogatepass")).hexdigest()


def upgrade():
    with op.batch_alter_table("youtube_downloads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("url_key", sa.String(length=64), nullable=True))

    table = sa.table(
        "youtube_downloads",
        sa.column("id", sa.Integer),
        sa.column("user_id", sa.Integer),
        sa.column("url", sa.Text),
        sa.column("status", sa.String),
        sa.column("url_key", sa.String),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(table.c.id, table.c.user_id, table.c.url, table.c.status).order_by(table.c.id))
    seen: set[tuple[int, str]] = set()
    for row_id, user_id, url, status in rows.fetchall():
        key = _key(url)
        if status in ("queued", "running"):
            if (user_id, key) in seen:  # an older duplicate keeps the key; this one stays outside the index
                continue
            seen.add((user_id, key))
        connection.execute(sa.update(table).where(table.c.id == row_id).values(url_key=key))

    with op.batch_alter_table("youtube_downloads", schema=None) as batch_op:
        batch_op.create_index(
            "uq_youtube_downloads_active_url",
            ["user_id", "url_key"],
            unique=True,
            postgresql_where=ACTIVE,
            sqlite_where=ACTIVE,
        )


def downgrade():
    with op.batch_alter_table("youtube_downloads", schema=None) as batch_op:
        batch_op.drop_index("uq_youtube_downloads_active_url")
        batch_op.drop_column("url_key")
