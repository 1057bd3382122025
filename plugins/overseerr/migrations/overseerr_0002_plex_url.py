"""where a request's title is in Plex

Revision ID: overseerr_0002
Revises: overseerr_0001
Create Date: 2026-12-04 22:30:00

Overseerr links a title Plex has (``plexUrl``); "My media" shows it as
"Open in Plex". A request learns it when MediaNest next asks Overseerr
about it.
"""

import sqlalchemy as sa
from alembic import op

revision = "overseerr_0002"
down_revision = "overseerr_0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("overseerr_media_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("plex_url", sa.String(length=1000), nullable=True))


def downgrade():
    with op.batch_alter_table("overseerr_media_requests", schema=None) as batch_op:
        batch_op.drop_column("plex_url")
