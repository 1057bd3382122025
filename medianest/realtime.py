"""Socket.IO: authenticated connections, rooms chosen by the server only.

On connect the signed-in identity (session cookie, or a Bearer token in the
``Authorization`` header) decides the rooms: ``user:<id>``, ``household`` and,
for admins, ``admins``.  Anonymous connections are refused.  Clients cannot
join or leave rooms.

Origins: a browser connection (one that sends ``Origin``) is accepted only
from MediaNest's own pages: the origin of ``MEDIANEST_BASE_URL`` when it is
set, else the origin the request came to (scheme and host, as the trusted
proxy reported them).  Engine.IO refuses any other before the connect
handler runs, so a foreign page cannot open a socket with the household's
cookies.  Scripts send no ``Origin`` and are not affected.
"""

from __future__ import annotations

import logging
import threading
from urllib.parse import urlsplit

from flask import request
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, disconnect, join_room

from medianest.events import ADMINS_ROOM, HOUSEHOLD_ROOM, user_room
from medianest.extensions import socketio
from medianest.metrics import SOCKET_CONNECTIONS
from medianest.redis_connection import redis_client

log = logging.getLogger("medianest.realtime")

# Which user each connection of this process belongs to; with Redis, the sids
# of every process are also kept in a Redis set per user, so a sign-out made in
# one process reaches connections held by another (through the message queue).
_local_users: dict[str, int] = {}
_local_lock = threading.Lock()
SOCKETS_KEY = "medianest:sockets:user:{}"


def allowed_origins(base_url: str | None) -> list[str] | None:
    """Engine.IO's ``cors_allowed_origins``: the base URL's origin, or ``None`` for the request's own.

    Never ``[]``: to Engine.IO that means "no CORS handling", which accepts every origin.
    """
    parts = urlsplit((base_url or "").strip())
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in ("http", "https") or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    default_port = {"http": 80, "https": 443}.get(scheme)
    port = parts.port
    return [f"{scheme}://{host}" if port in (None, default_port) else f"{scheme}://{host}:{port}"]


def _redis():
    return redis_client(2)


def on_connect(auth: dict | None = None) -> None:
    try:
        authenticated = current_user.is_authenticated
    except Exception:  # python-socketio would refuse silently: say why in the log
        log.exception("could not load the user of socket %s", request.sid)
        raise
    if not authenticated:
        raise ConnectionRefusedError("unauthorized")
    join_room(user_room(current_user.id))
    join_room(HOUSEHOLD_ROOM)
    if current_user.is_admin:
        join_room(ADMINS_ROOM)
    SOCKET_CONNECTIONS.inc()
    with _local_lock:
        _local_users[request.sid] = current_user.id
    redis = _redis()
    if redis is not None:
        key = SOCKETS_KEY.format(current_user.id)
        try:
            redis.sadd(key, request.sid)
            redis.expire(key, 7 * 86400)
        except Exception:
            log.warning("could not record socket %s in Redis", request.sid)
    log.debug("socket %s joined as user %s", request.sid, current_user.id)


def on_disconnect(*_: object) -> None:
    SOCKET_CONNECTIONS.dec()
    with _local_lock:
        user_id = _local_users.pop(request.sid, None)
    redis = _redis()
    if redis is not None and user_id is not None:
        try:
            redis.srem(SOCKETS_KEY.format(user_id), request.sid)
        except Exception:
            log.warning("could not forget socket %s in Redis", request.sid)


def sign_out_sockets(user_id: int) -> None:
    """End this user's live connections in every process: a final event, then a server-side disconnect.

    A connection held by another web process is disconnected through the Redis
    message queue (python-socketio forwards ``disconnect`` of a sid it doesn't hold).
    """
    room = user_room(user_id)
    socketio.emit("session.ended", {"user_id": user_id}, to=room, namespace="/")
    with _local_lock:
        sids = {sid for sid, uid in _local_users.items() if uid == user_id}
    redis = _redis()
    if redis is not None:
        key = SOCKETS_KEY.format(user_id)
        try:
            sids |= {sid.decode() if isinstance(sid, bytes) else sid for sid in redis.smembers(key)}
            redis.delete(key)
        except Exception:
            log.warning("could not read the sockets of user %s from Redis", user_id)
    for sid in sids:
        disconnect(sid=sid, namespace="/")
    socketio.close_room(room, namespace="/")


def bind_handlers() -> None:
    """Bind the connect and disconnect handlers to the server ``socketio.init_app`` just made."""
    socketio.on_event("connect", on_connect, namespace="/")
    socketio.on_event("disconnect", on_disconnect, namespace="/")
