"""A service's last good answer per key, with its age.

The health checks (and any plugin call that succeeds) ``remember`` what a
service said; a page reads ``last_good`` and shows it, marked stale when the
service is down, instead of waiting on the service.  Production keeps the
answers in Redis (shared by the web processes and the workers); embedded mode
keeps them in the database (``service_answers``).

Neither function raises for a storage problem: a cache that can't be reached
is a cache miss, logged.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from medianest.extensions import db
from medianest.models import ServiceAnswer, utcnow
from medianest.redis_connection import redis_client

log = logging.getLogger("medianest.service_cache")

REDIS_PREFIX = "medianest:last-good"
# Answers older than this are forgotten in Redis; nothing shows month-old data as "last known".
REDIS_TTL_SECONDS = 30 * 24 * 3600


@dataclass(frozen=True)
class CachedAnswer:
    """What a service last answered successfully, and when."""

    value: Any
    stored_at: datetime  # naive UTC, like every stored time
    age_seconds: float

    def to_public(self) -> dict[str, Any]:
        return {"stored_at": self.stored_at.isoformat() + "Z", "age_seconds": round(self.age_seconds, 1)}


def _redis():
    return redis_client(1)


def _redis_key(service: str, key: str) -> str:
    return f"{REDIS_PREFIX}:{service}:{key}"


def remember(service: str, key: str, value: Any) -> None:
    """Keep ``value`` (JSON-serialisable) as the last good answer of ``service`` for ``key``."""
    now = utcnow()
    value = json.loads(json.dumps(value, default=str))
    client = _redis()
    if client is not None:
        try:
            client.set(
                _redis_key(service, key),
                json.dumps({"value": value, "stored_at": now.isoformat()}),
                ex=REDIS_TTL_SECONDS,
            )
        except Exception:
            log.warning("could not store the last answer of %s/%s in Redis", service, key, exc_info=True)
        return
    for _attempt in range(2):
        try:
            row = db.session.get(ServiceAnswer, (service, key))
            if row is None:
                db.session.add(ServiceAnswer(service=service, key=key, value=value, stored_at=now))
            else:
                row.value = value
                row.stored_at = now
            db.session.commit()
            return
        except IntegrityError:  # another thread inserted the same key first: update it
            db.session.rollback()
        except SQLAlchemyError:
            db.session.rollback()
            log.warning("could not store the last answer of %s/%s", service, key, exc_info=True)
            return


def last_good(service: str, key: str) -> CachedAnswer | None:
    """The last good answer of ``service`` for ``key`` with its age, or ``None``."""
    now = utcnow()
    client = _redis()
    if client is not None:
        try:
            raw = client.get(_redis_key(service, key))
        except Exception:
            log.warning("could not read the last answer of %s/%s from Redis", service, key, exc_info=True)
            return None
        if raw is None:
            return None
        try:
            stored = json.loads(raw)
            stored_at = datetime.fromisoformat(stored["stored_at"])
        except (ValueError, KeyError, TypeError):
            return None
        return CachedAnswer(stored["value"], stored_at, max(0.0, (now - stored_at).total_seconds()))
    try:
        row = db.session.get(ServiceAnswer, (service, key))
    except SQLAlchemyError:
        db.session.rollback()
        log.warning("could not read the last answer of %s/%s", service, key, exc_info=True)
        return None
    if row is None:
        return None
    return CachedAnswer(row.value, row.stored_at, max(0.0, (now - row.stored_at).total_seconds()))


def forget(service: str, key: str | None = None) -> None:
    """Drop a service's answers (all keys when ``key`` is None), e.g. after its URL changed."""
    client = _redis()
    if client is not None:
        try:
            if key is not None:
                client.delete(_redis_key(service, key))
            else:
                for name in client.scan_iter(match=_redis_key(service, "*")):
                    client.delete(name)
        except Exception:
            log.warning("could not forget the answers of %s", service, exc_info=True)
        return
    query = db.delete(ServiceAnswer).where(ServiceAnswer.service == service)
    if key is not None:
        query = query.where(ServiceAnswer.key == key)
    db.session.execute(query)
    db.session.commit()
