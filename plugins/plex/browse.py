"""Reading the libraries: what the pages and the JSON API show, cached briefly.

Plex's answers are turned into small dicts here, and every image path in them
is recorded (``PlexImagePath``) so the poster route will fetch it — and only
those.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from flask import url_for
from medianest_plex import cache
from medianest_plex.client import PlexServer, entries
from medianest_plex.config import SERVICE, PlexConfig, plex_config
from medianest_plex.models import PlexImagePath, path_digest

from medianest.plugins.api import ApiError
from medianest.plugins.db import db, utcnow

POSTER_SIZE = (240, 360)
ART_SIZE = (960, 540)
MAX_PER_PAGE = 100
SORTS = {"title": "titleSort", "year": "year", "added": "addedAt"}
COLLECTION_PAGE = 200  # how many collections one call to Plex asks for


def server(config: PlexConfig | None = None) -> PlexServer:
    config = config or plex_config()
    if not config.configured:
        raise ApiError(
            "NOT_CONFIGURED",
            "Plex is not set up yet: an admin enters its URL and token in the settings.",
            details={"service": SERVICE},
        )
    return PlexServer(config)


def _cache_key(config: PlexConfig, *parts: object) -> str:
    # The server and token are part of the key: other settings never see these answers.
    who = hashlib.sha256(f"{config.url}\0{config.token}".encode()).hexdigest()[:16]
    return ":".join([who, *(str(p) for p in parts)])


def _cached(config: PlexConfig, parts: tuple[object, ...], produce):
    return cache.cached(_cache_key(config, *parts), config.cache_seconds, produce)


# ------------------------------------------------------------------ images
def remember_images(paths: set[str]) -> None:
    """Record image paths Plex gave us (the poster route's allow-list)."""
    wanted = {path_digest(p): p for p in paths if p and len(p) <= 2000}
    if not wanted:
        return
    now = utcnow()
    known = set(db.session.scalars(db.select(PlexImagePath.digest).where(PlexImagePath.digest.in_(list(wanted)))))
    if known:
        db.session.execute(db.update(PlexImagePath).where(PlexImagePath.digest.in_(list(known))).values(seen_at=now))
    for digest, path in wanted.items():
        if digest not in known:
            db.session.add(PlexImagePath(digest=digest, path=path, seen_at=now))
    try:
        db.session.commit()
    except Exception:  # another request recorded the same path at the same moment
        db.session.rollback()


def is_known_image(path: str) -> bool:
    return db.session.get(PlexImagePath, path_digest(path)) is not None


def _image_url(path: Any, size: tuple[int, int], seen: set[str]) -> str | None:
    if not isinstance(path, str) or not path:
        return None
    seen.add(path)
    return url_for("plex.poster", path=path, w=size[0], h=size[1])


# ------------------------------------------------------------------ shapes
def _when(value: Any) -> str | None:
    """A Plex timestamp (seconds) as ISO 8601, or None for one no calendar can show."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        return None
    try:
        return datetime.fromtimestamp(int(value), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):  # past year 9999, e.g. a timestamp in milliseconds
        return None


def _page_url(meta: dict[str, Any]) -> str:
    key = str(meta.get("ratingKey", ""))
    if meta.get("type") == "collection":
        return url_for("plex.collection_page", key=key)
    return url_for("plex.item_page", key=key)


def item_summary(meta: dict[str, Any], seen: set[str]) -> dict[str, Any]:
    count = meta.get("childCount", meta.get("leafCount"))
    return {
        "key": str(meta.get("ratingKey", "")),
        "type": str(meta.get("type") or ""),
        "title": str(meta.get("title") or "Untitled"),
        "year": meta.get("year") if isinstance(meta.get("year"), int) else None,
        "summary": str(meta.get("summary") or ""),
        "added_at": _when(meta.get("addedAt")),
        "library_key": str(meta["librarySectionID"]) if meta.get("librarySectionID") is not None else None,
        "library_title": meta.get("librarySectionTitle"),
        "child_count": count if isinstance(count, int) else None,
        "poster": _image_url(meta.get("thumb"), POSTER_SIZE, seen),
        "url": _page_url(meta),
    }


def _tags(meta: dict[str, Any], name: str) -> list[str]:
    return [str(t.get("tag")) for t in meta.get(name) or [] if isinstance(t, dict) and t.get("tag")]


def item_details(meta: dict[str, Any], seen: set[str]) -> dict[str, Any]:
    details = item_summary(meta, seen)
    duration = meta.get("duration")
    details.update(
        {
            "tagline": meta.get("tagline"),
            "content_rating": meta.get("contentRating"),
            "studio": meta.get("studio"),
            "rating": meta.get("rating") or meta.get("audienceRating"),
            "duration_minutes": round(duration / 60000) if isinstance(duration, (int, float)) and duration else None,
            "released": meta.get("originallyAvailableAt"),
            "genres": _tags(meta, "Genre"),
            "directors": _tags(meta, "Director"),
            "art": _image_url(meta.get("art"), ART_SIZE, seen),
        }
    )
    return details


def library_summary(directory: dict[str, Any]) -> dict[str, Any]:
    key = str(directory.get("key", ""))
    return {
        "key": key,
        "title": str(directory.get("title") or f"Library {key}"),
        "type": str(directory.get("type") or ""),
        "refreshing": bool(directory.get("refreshing")),
        "updated_at": _when(directory.get("updatedAt")),
        "scanned_at": _when(directory.get("scannedAt")),
        "url": url_for("plex.library_page", key=key),
    }


def _total(box: dict[str, Any], shown: int, start: int) -> int:
    for name in ("totalSize", "size"):
        value = box.get(name)
        if isinstance(value, int) and value >= 0:
            return value if name == "totalSize" else start + shown
    return start + shown


# ------------------------------------------------------------------ reads
def check_key(key: str, what: str = "library") -> str:
    """Plex keys are numbers; anything else is a key Plex never gave (answered without asking Plex)."""
    if not key.isdigit() or len(key) > 18:
        raise ApiError("NOT_FOUND", f"There is no Plex {what} {key[:40]!r}.")
    return key


def libraries(config: PlexConfig | None = None) -> list[dict[str, Any]]:
    config = config or plex_config()
    plex = server(config)
    return _cached(config, ("libraries",), lambda: [library_summary(d) for d in plex.libraries()])


def library(key: str, config: PlexConfig | None = None) -> dict[str, Any]:
    check_key(key)
    for found in libraries(config):
        if found["key"] == key:
            return found
    raise ApiError("NOT_FOUND", f"There is no Plex library {key}.")


def library_items(key: str, page: int, per_page: int, sort: str = "title", order: str = "asc") -> tuple[list, int]:
    check_key(key)
    config = plex_config()
    plex = server(config)
    start = (page - 1) * per_page
    plex_sort = SORTS[sort] + (":desc" if order == "desc" else "")

    def produce() -> dict[str, Any]:
        box = plex.library_items(key, start, per_page, plex_sort)
        seen: set[str] = set()
        found = entries(box)
        items = [item_summary(m, seen) for m in found[:per_page]]
        remember_images(seen)
        return {"items": items, "total": _total(box, len(items), start)}

    answer = _cached(config, ("items", key, start, per_page, plex_sort), produce)
    return answer["items"], answer["total"]


def library_count(key: str, config: PlexConfig) -> int:
    plex = server(config)
    return _cached(config, ("count", key), lambda: _total(plex.library_items(key, 0, 0), 0, 0))


def _all_collections(plex: PlexServer, key: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    start = 0
    while True:
        box = plex.collections(key, start, COLLECTION_PAGE)
        batch = entries(box)
        found.extend(batch)
        start += len(batch)
        if not batch or start >= _total(box, len(batch), start - len(batch)) or start >= 5000:
            return found


def collections(library_key: str | None, page: int, per_page: int) -> tuple[list, int]:
    config = plex_config()
    plex = server(config)
    keys = [check_key(library_key)] if library_key else [lib["key"] for lib in libraries(config)]

    def produce() -> list[dict[str, Any]]:
        seen: set[str] = set()
        every = [item_summary(m, seen) for key in keys for m in _all_collections(plex, key)]
        remember_images(seen)
        return sorted(every, key=lambda c: (c["title"].lower(), c["key"]))

    every = _cached(config, ("collections", ",".join(keys)), produce)
    start = (page - 1) * per_page
    return every[start : start + per_page], len(every)


def item(key: str) -> dict[str, Any]:
    check_key(key, "item")
    config = plex_config()
    plex = server(config)

    def produce() -> dict[str, Any]:
        seen: set[str] = set()
        details = item_details(plex.metadata(key), seen)
        remember_images(seen)
        return details

    return _cached(config, ("item", key), produce)


def collection(key: str) -> dict[str, Any]:
    found = item(check_key(key, "collection"))
    if found["type"] != "collection":
        raise ApiError("NOT_FOUND", f"There is no Plex collection {key}.")
    return found


def collection_items(key: str, page: int, per_page: int) -> tuple[list, int]:
    check_key(key, "collection")
    config = plex_config()
    plex = server(config)

    def produce() -> list[dict[str, Any]]:
        seen: set[str] = set()
        every = [item_summary(m, seen) for m in entries(plex.collection_items(key))]
        remember_images(seen)
        return every

    every = _cached(config, ("collection-items", key), produce)
    start = (page - 1) * per_page
    return every[start : start + per_page], len(every)


def search(query: str, limit: int) -> list[dict[str, Any]]:
    config = plex_config()
    plex = server(config)

    def produce() -> list[dict[str, Any]]:
        seen: set[str] = set()
        results = []
        for hub in plex.search(query, limit):
            for meta in entries(hub):
                found = item_summary(meta, seen)
                found["hub"] = str(hub.get("title") or hub.get("type") or "")
                results.append(found)
        remember_images(seen)
        return results

    return _cached(config, ("search", query.lower(), limit), produce)
