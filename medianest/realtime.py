"""Socket.IO: authenticated connections, rooms chosen by the server only.

On connect the signed-in identity (session cookie, or a Bearer token in the
``Authorization`` header) decides the rooms: ``user:<id>``, ``household`` and,
for admins, ``admins``.  Anonymous connections are refused.  Clients cannot
join or leave rooms.
"""

from __future__ import annotations

import logging

from flask import request
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, join_room

from medianest.events import ADMINS_ROOM, HOUSEHOLD_ROOM, user_room
from medianest.extensions import socketio
from medianest.metrics import SOCKET_CONNECTIONS

log = logging.getLogger("medianest.realtime")


@socketio.on("connect")
def on_connect(auth: dict | None = None) -> None:
    if not current_user.is_authenticated:
        raise ConnectionRefusedError("unauthorized")
    join_room(user_room(current_user.id))
    join_room(HOUSEHOLD_ROOM)
    if current_user.is_admin:
        join_room(ADMINS_ROOM)
    SOCKET_CONNECTIONS.inc()
    log.debug("socket %s joined as user %s", request.sid, current_user.id)


@socketio.on("disconnect")
def on_disconnect(*_: object) -> None:
    SOCKET_CONNECTIONS.dec()


def sign_out_sockets(user_id: int) -> None:
    """End this user's live connections: a final event, then their rooms are closed."""
    room = user_room(user_id)
    socketio.emit("session.ended", {"user_id": user_id}, to=room, namespace="/")
    manager = socketio.server.manager
    sids = list(manager.get_participants("/", room)) if room in manager.rooms.get("/", {}) else []
    for sid, _eio_sid in sids:
        socketio.server.disconnect(sid, namespace="/")
    socketio.close_room(room, namespace="/")
