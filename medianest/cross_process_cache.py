"""Who an API token belongs to, remembered per process, forgotten the moment it changes.

A scripted client sends its token with every call, and loading the token and
its user was the largest cost of such a call (``docs/benchmarks.md``).  This
cache keeps, per web process, ``token hash -> the token's id and its user's
columns`` for valid tokens of active users only.  A hit rebuilds the user as a
persistent object of the request's session without a query, so views use
``current_user`` exactly as before (changes to it are flushed as usual).

Correctness rests on invalidation, not on expiry:

- Every commit that changes a ``User`` or an ``ApiToken`` (a revoke, a
  suspension, a role change, a deletion, ``end_all_sessions``) drops that
  user's entries here at once, and publishes their ids on a Redis channel;
  every web process listens and drops them too.  A bulk ``UPDATE``/``DELETE``
  on those tables, whose rows are unknown, drops everything.
- A load that raced with an invalidation is not stored (a generation counter).
- In production the cache is used only while this process is subscribed to the
  channel: with Redis down, or before the subscription is confirmed, every
  token is looked up in the database, as without a cache.
- Entries also expire after :data:`TTL` seconds, for changes made outside
  MediaNest's ORM (a restore, SQL by hand).

Embedded mode is one process: local invalidation is all there is to do.

The services' stored settings (``medianest.services.service_config``: a query
and a decryption per service, asked by most views) are remembered the same
way: every commit that adds, changes or deletes a ``ServiceSetting`` drops
them all, here and, through the same channel (the message
``{"settings": true}``), in every other web process; they also expire after
:data:`TTL`.  Defaults and the environment are applied on every read.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, make_transient_to_detached

from medianest.metrics import IDENTITY_CACHE

log = logging.getLogger("medianest.auth")

TTL = 60.0
MAX_ENTRIES = 10_000
CHANNEL = "medianest:identity:{db}"
EVERYONE = "*"
# Marks a bulk statement that changes nothing the cache holds (``last_used_at``).
NEUTRAL = "medianest_identity_neutral"


@dataclass(frozen=True)
class Entry:
    token_id: int
    user_id: int
    user_columns: dict[str, Any]
    stored_at: float


class IdentityCache:
    """One per app: the entries, the generation, and the listener that keeps them honest."""

    def __init__(self, redis_url: str | None) -> None:
        self.redis_url = redis_url
        self._entries: dict[str, Entry] = {}
        self._lock = threading.Lock()
        self._generation = 0
        self._listener: threading.Thread | None = None
        self._subscribed = redis_url is None  # embedded: nothing to listen to
        self._stopped = threading.Event()
        self.last_used: dict[int, float] = {}  # token id -> when this process last recorded its use
        self._settings: dict[Any, tuple[dict[str, Any], float]] = {}
        self._settings_generation = 0

    # -------------------------------------------------------------- reading
    @property
    def usable(self) -> bool:
        if not self._subscribed and self.redis_url and self._listener is None:
            self._start_listener()
        return self._subscribed

    def generation(self) -> int:
        return self._generation

    def get(self, token_hash: str) -> Entry | None:
        if not self.usable:
            IDENTITY_CACHE.labels("bypass").inc()
            return None
        entry = self._entries.get(token_hash)
        if entry is not None and time.monotonic() - entry.stored_at > TTL:
            with self._lock:
                self._entries.pop(token_hash, None)
            entry = None
        IDENTITY_CACHE.labels("hit" if entry else "miss").inc()
        return entry

    def put(self, token_hash: str, token_id: int, user: Any, generation: int) -> None:
        """Remember a token loaded from the database, unless an invalidation came in meanwhile."""
        if not self.usable:
            return
        columns = {attr.key: getattr(user, attr.key) for attr in inspect(type(user)).column_attrs}
        entry = Entry(token_id, user.id, columns, time.monotonic())
        with self._lock:
            if generation != self._generation:
                return
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[token_hash] = entry

    # -------------------------------------------------------------- services' settings
    def settings_generation(self) -> int:
        return self._settings_generation

    def settings_get(self, key: Any) -> dict[str, Any] | None:
        if not self.usable:
            return None
        found = self._settings.get(key)
        if found is None or time.monotonic() - found[1] > TTL:
            return None
        return found[0]

    def settings_put(self, key: Any, values: dict[str, Any], generation: int) -> None:
        if not self.usable:
            return
        with self._lock:
            if generation == self._settings_generation:
                self._settings[key] = (values, time.monotonic())

    def forget_settings(self) -> None:
        with self._lock:
            self._settings_generation += 1
            self._settings.clear()

    # -------------------------------------------------------------- forgetting
    def forget(self, user_ids: set[int] | str) -> None:
        with self._lock:
            self._generation += 1
            if user_ids == EVERYONE:
                self._entries.clear()
            else:
                for key in [k for k, e in self._entries.items() if e.user_id in user_ids]:
                    del self._entries[key]

    def announce(self, user_ids: set[int] | str, redis: Any) -> None:
        """Forget here, then tell the other processes."""
        self.forget(user_ids)
        self._publish(json.dumps(EVERYONE if user_ids == EVERYONE else sorted(user_ids)), redis)

    def announce_settings(self, redis: Any) -> None:
        self.forget_settings()
        self._publish(json.dumps({"settings": True}), redis)

    def _publish(self, message: str, redis: Any) -> None:
        if redis is None:
            return
        try:
            redis.publish(self.channel(redis), message)
        except Exception:
            # The others' subscriptions sit on the same Redis: if it is gone they are not caching.
            log.warning("could not announce an identity change on Redis")

    @staticmethod
    def channel(redis: Any) -> str:
        return CHANNEL.format(db=redis.connection_pool.connection_kwargs.get("db", 0))

    # -------------------------------------------------------------- listening
    def _start_listener(self) -> None:
        with self._lock:
            if self._listener is not None:
                return
            self._listener = threading.Thread(target=self._listen, name="medianest-identity", daemon=True)
        self._listener.start()

    def _listen(self) -> None:
        from redis import Redis

        delay = 0.5
        while not self._stopped.is_set():
            client = Redis.from_url(
                self.redis_url, socket_connect_timeout=2, socket_keepalive=True, health_check_interval=10
            )
            pubsub = client.pubsub(ignore_subscribe_messages=False)
            try:
                pubsub.subscribe(self.channel(client))
                while not self._stopped.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    if message["type"] == "subscribe":
                        self.forget(EVERYONE)  # whatever happened while deaf is unknown
                        self.forget_settings()
                        self._subscribed = True
                        delay = 0.5
                    elif message["type"] == "message":
                        self._hear(json.loads(message["data"]))
            except Exception as exc:
                if self._subscribed:
                    log.warning("identity cache off: lost the Redis subscription (%s)", exc.__class__.__name__)
            finally:
                self._subscribed = False
                self.forget(EVERYONE)
                self.forget_settings()
                with contextlib.suppress(Exception):  # closing a connection that is already gone
                    pubsub.close()
                    client.close()
            self._stopped.wait(delay)
            delay = min(delay * 2, 5.0)

    def _hear(self, said: Any) -> None:
        if isinstance(said, dict):
            if said.get("settings"):
                self.forget_settings()
        else:
            self.forget(EVERYONE if said == EVERYONE else {int(i) for i in said})

    def stop(self) -> None:
        self._stopped.set()


# ------------------------------------------------------------------ the request side
def cached_user(token_hash: str, session: Session, user_class: type) -> tuple[Entry, Any] | None:
    """The token's entry and its user, attached to ``session`` without a query; ``None`` on a miss."""
    cache = _cache()
    entry = cache.get(token_hash) if cache else None
    if entry is None:
        return None
    mapper = inspect(user_class)
    user = session.identity_map.get(mapper.identity_key_from_primary_key((entry.user_id,)))
    if user is None:
        # The columns as loaded, without the constructor's per-attribute change
        # events (half the cost of attaching the user).
        user = mapper.class_manager.new_instance()
        inspect(user).dict.update(entry.user_columns)
        make_transient_to_detached(user)
        session.add(user)
    return entry, user


def _cache() -> IdentityCache | None:
    if not has_app_context():
        return None
    return current_app.extensions.get("medianest.identity_cache")


def generation() -> int:
    cache = _cache()
    return cache.generation() if cache else 0


def remember(token_hash: str, token_id: int, user: Any, seen_generation: int) -> None:
    cache = _cache()
    if cache is not None:
        cache.put(token_hash, token_id, user, seen_generation)


def cached_settings(key: Any, load: Any) -> dict[str, Any]:
    """A service's settings under ``key``, from this process's memory or from ``load()``."""
    cache = _cache()
    if cache is None:
        return load()
    values = cache.settings_get(key)
    if values is None:
        seen = cache.settings_generation()
        values = load()
        cache.settings_put(key, values, seen)
    return values


# ------------------------------------------------------------------ the writing side
_PENDING = "medianest.identity_changed"
_SETTINGS_PENDING = "medianest.settings_changed"


def _watched(obj: Any) -> int | None:
    from medianest.models import ApiToken, User

    if isinstance(obj, User):
        return obj.id
    if isinstance(obj, ApiToken):
        return obj.user_id
    return None


def _after_flush(session: Session, _context: Any) -> None:
    from medianest.models import ServiceSetting

    if any(isinstance(obj, ServiceSetting) for obj in (*session.new, *session.dirty, *session.deleted)):
        session.info[_SETTINGS_PENDING] = True
    changed = session.info.setdefault(_PENDING, set())
    if changed == EVERYONE:  # a bulk change already asks to forget everything
        return
    for obj in (*session.dirty, *session.deleted):
        user_id = _watched(obj)
        if user_id is not None and (obj in session.deleted or session.is_modified(obj, include_collections=False)):
            changed.add(user_id)


def _on_orm_execute(state: Any) -> None:
    from medianest.models import ApiToken, ServiceSetting, User

    if not (state.is_update or state.is_delete) or state.execution_options.get(NEUTRAL):
        return
    mapper = state.bind_mapper
    if mapper is not None and mapper.class_ in (User, ApiToken):
        state.session.info[_PENDING] = EVERYONE
    elif mapper is not None and mapper.class_ is ServiceSetting:
        state.session.info[_SETTINGS_PENDING] = True


def _after_commit(session: Session) -> None:
    changed = session.info.pop(_PENDING, None)
    settings_changed = session.info.pop(_SETTINGS_PENDING, False)
    if not changed and not settings_changed:
        return
    cache = _cache()
    if cache is None:
        return
    from medianest.redis_connection import redis_client

    if changed:
        cache.announce(changed if changed == EVERYONE else set(changed), redis_client())
    if settings_changed:
        cache.announce_settings(redis_client())


def _after_rollback(session: Session, _transaction: Any) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_SETTINGS_PENDING, None)


def _install_events() -> None:
    if event.contains(Session, "after_commit", _after_commit):
        return
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "do_orm_execute", _on_orm_execute)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_soft_rollback", _after_rollback)


def init_app(app: Flask) -> None:
    _install_events()
    app.extensions["medianest.identity_cache"] = IdentityCache(app.config["MEDIANEST"].redis_url)
