"""one Plex client identifier: the Plex plugin's own is folded into the sign-in's

The Plex sign-in stored its X-Plex-Client-Identifier as
``plex_client_identifier`` and the Plex plugin another one as
``plex_client_id``, so Plex listed MediaNest as two devices.  Both now read
``plex_client_identifier``.  The sign-in's identifier is kept (plex.tv knows
it, and PINs are bound to it); an installation that only ever had the
plugin's keeps that one under the shared key.

Revision ID: 0003_plex_client_identifier
Revises: 0002_identity
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_plex_client_identifier"
down_revision = "0002_identity"
branch_labels = None
depends_on = None

SHARED = "plex_client_identifier"
PLUGIN_ONLY = "plex_client_id"

values = sa.table("installation_values", sa.column("key", sa.String), sa.column("value", sa.Text))


def _stored(connection) -> dict[str, str]:
    query = sa.select(values.c.key, values.c.value).where(values.c.key.in_([SHARED, PLUGIN_ONLY]))
    return {key: value for key, value in connection.execute(query)}


def upgrade():
    connection = op.get_bind()
    stored = _stored(connection)
    if PLUGIN_ONLY not in stored:
        return
    if SHARED not in stored:
        connection.execute(values.insert().values(key=SHARED, value=stored[PLUGIN_ONLY]))
    connection.execute(values.delete().where(values.c.key == PLUGIN_ONLY))


def downgrade():
    # The older plugin reads its own key: give it the shared identifier, so it stays one device.
    connection = op.get_bind()
    stored = _stored(connection)
    if SHARED in stored and PLUGIN_ONLY not in stored:
        connection.execute(values.insert().values(key=PLUGIN_ONLY, value=stored[SHARED]))
