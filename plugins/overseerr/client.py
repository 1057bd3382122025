"""Calls to Overseerr's API v1 (Jellyseerr and Seerr speak the same), through the core HTTP layer.

Every answer is parsed forgivingly: the real server sends ``null`` where its
own spec says a number (``serverId``, ``profileId``, ``rootFolder``), and
Jellyseerr adds a media status 6 (blacklisted).
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from medianest_overseerr import answer_cache
from medianest_overseerr.config import NAME, SERVICE, OverseerrConfig

from medianest.plugins.api import ApiError
from medianest.plugins.http import ServiceBadAnswer, ServiceClient, ServiceError, ServiceUnauthorized, json_of

log = logging.getLogger("medianest.overseerr")

SEARCH_TTL = 300.0
SEARCH_PAGE_SIZE = 20
# Overseerr pages (of 20 TMDB results) read for one search: its 100 best matches.
MAX_SEARCH_PAGES = 5
DETAILS_TTL = 300.0
USERS_TTL = 300.0
POSTER_BASE = "https://image.tmdb.org/t/p/w300"
USERS_PAGE = 100
MAX_DIGITS = 18
MAX_ID = 2**31 - 1  # the largest id an Integer column holds on PostgreSQL
MAX_USER_PAGES = 50

# Overseerr's MediaStatus, as words MediaNest shows.
MEDIA_STATES = {
    1: "none",
    2: "pending",
    3: "processing",
    4: "partially_available",
    5: "available",
    6: "blacklisted",
}
MEDIA_STATUS_NAMES = {
    "UNKNOWN": 1,
    "PENDING": 2,
    "PROCESSING": 3,
    "PARTIALLY_AVAILABLE": 4,
    "AVAILABLE": 5,
    "BLACKLISTED": 6,
    "DELETED": 7,
}
# Overseerr's request status (the spec documents 1-3; its code adds 4 failed, 5 completed).
REQUEST_PENDING, REQUEST_APPROVED, REQUEST_DECLINED, REQUEST_FAILED, REQUEST_COMPLETED = 1, 2, 3, 4, 5

# Overseerr permission bits that decide what a request does.
PERM_ADMIN = 2
PERM_MANAGE_REQUESTS = 16
PERM_AUTO_APPROVE = 128
PERM_AUTO_APPROVE_MOVIE = 256
PERM_AUTO_APPROVE_TV = 512


class NotConfigured(ApiError):
    def __init__(self) -> None:
        super().__init__(
            "NOT_CONFIGURED",
            "Overseerr is not set up yet: an admin enters its URL and API key under Admin → Services.",
            details={"service": "overseerr"},
        )


def to_int(value: Any) -> int | None:
    """``"603"``, ``603`` and ``603.0`` are 603; anything else is None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    text = str(value).strip()
    # ASCII digits only: str.isdigit also counts "²", which int() refuses; and no number of 4,000 digits.
    return int(text) if text.isascii() and text.isdigit() and len(text) <= MAX_DIGITS else None


def to_id(value: Any) -> int | None:
    """An Overseerr id MediaNest keeps (a positive 32-bit integer, as its columns hold), or None."""
    number = to_int(value)
    return number if number is not None and 0 < number <= MAX_ID else None


PLEX_URL_MAX = 1000  # the column's length


def plex_url_of(media: Any, is4k: bool = False) -> str | None:
    """Where the media is in Plex: the ``plexUrl`` (``plexUrl4k``) Overseerr gives a title Plex has.

    It ends up in a page's link, so only an absolute http(s) URL is kept; anything else
    (absent, ``javascript:``, relative, too long, with spaces or control characters) is None.
    """
    value = media.get("plexUrl4k" if is4k else "plexUrl") if isinstance(media, dict) else None
    if not isinstance(value, str) or not value or len(value) > PLEX_URL_MAX:
        return None
    if not value.isprintable() or any(c.isspace() for c in value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return value


def request_state(request_status: Any, media_status: Any) -> str:
    """One word for a request, from Overseerr's request status and its media's status."""
    status = to_int(request_status)
    media = to_int(media_status)
    if status == REQUEST_DECLINED:
        return "declined"
    if status == REQUEST_FAILED:
        return "failed"
    if status == REQUEST_PENDING:
        return "pending"
    if media == 5:
        return "available"
    if media == 4:
        return "partially_available"
    if status in (REQUEST_APPROVED, REQUEST_COMPLETED):
        return "approved"
    return "pending"


@dataclass
class Created:
    """What ``POST /request`` did."""

    outcome: str  # "created" | "duplicate" | "refused"
    message: str
    body: dict[str, Any] | None = None


class OverseerrClient:
    """One Overseerr, as configured now."""

    def __init__(self, config: OverseerrConfig) -> None:
        if not config.configured:
            raise NotConfigured()
        self.config = config
        self.http = ServiceClient.for_service(
            SERVICE,
            config.url,
            headers={"X-Api-Key": config.api_key, "Accept": "application/json"},
            name=NAME,
        )
        self._cache_scope = hashlib.sha256(config.url.encode()).hexdigest()[:12]

    def _cache_key(self, *parts: Any) -> str:
        return ":".join([self._cache_scope, *(str(p) for p in parts)])

    # -- reads -------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return self._object(self.http.get_json("/api/v1/status"))

    def me(self) -> dict[str, Any]:
        return self._object(self.http.get_json("/api/v1/auth/me"))

    def request_count(self) -> dict[str, Any]:
        return self._object(self.http.get_json("/api/v1/request/count"))

    def search(self, query: str, page: int = 1) -> dict[str, Any]:
        """One page (``SEARCH_PAGE_SIZE``) of the films and series matching ``query``, cached for five minutes.

        Overseerr's pages mix in people, which MediaNest does not show, so its
        totals count results MediaNest drops.  MediaNest reads Overseerr's
        pages itself (at most ``MAX_SEARCH_PAGES``: the best matches) and
        pages what it keeps, so ``total_results`` and ``total_pages`` count
        exactly what a person can see.
        """
        found = self._search_titles(" ".join(query.split()))
        start = (page - 1) * SEARCH_PAGE_SIZE
        total = len(found["results"])
        return {
            "page": page,
            "per_page": SEARCH_PAGE_SIZE,
            "total_pages": max(1, math.ceil(total / SEARCH_PAGE_SIZE)),
            "total_results": total,
            "results": found["results"][start : start + SEARCH_PAGE_SIZE],
            "narrower": found["narrower"],
        }

    def _search_titles(self, normal: str) -> dict[str, Any]:
        """Every film and series among Overseerr's first pages for ``normal``; ``narrower``: it has more."""
        key = self._cache_key("search", hashlib.sha256(normal.lower().encode()).hexdigest())
        cached = answer_cache.get(key)
        if cached is not None:
            return cached
        results: list[dict[str, Any]] = []
        narrower = complete = False
        for page in range(1, MAX_SEARCH_PAGES + 1):
            # Spaces must travel as %20: Overseerr's validator refuses '+' (upstream issue 2010).
            path = f"/api/v1/search?query={quote(normal, safe='')}&page={page}"
            try:
                # A person waits on this: one attempt, so a hanging Overseerr costs one read time-out, not three.
                body = self._object(self.http.get_json(path, retry=False))
            except ServiceError:
                if page == 1:
                    raise
                log.warning("Overseerr's search page %s for %r failed; showing the pages before it", page, normal)
                break
            found = body.get("results") if isinstance(body.get("results"), list) else []
            titles = [title_of(r) for r in found if isinstance(r, dict) and r.get("mediaType") in ("movie", "tv")]
            # A result without a usable TMDB id can be neither opened nor requested.
            results += [t for t in titles if t["tmdb_id"] is not None]
            pages = to_int(body.get("totalPages")) or 1
            if not found or page >= pages:
                complete = True
                break
            narrower = page == MAX_SEARCH_PAGES
        answer = {"results": _unique(results), "narrower": narrower}
        # An empty answer is also what Overseerr gives while it cannot reach TMDB, and a cut-short one is
        # incomplete: neither is kept, so the next search after TMDB is back finds what it should.
        if answer["results"] and (complete or narrower):
            answer_cache.put(key, answer, SEARCH_TTL)
        return answer

    def details(self, media_type: str, tmdb_id: int) -> dict[str, Any]:
        """A film's or series' details (title, year, poster, seasons and their states), cached."""
        key = self._cache_key("details", media_type, tmdb_id)
        cached = answer_cache.get(key)
        if cached is not None:
            return cached
        kind = "film" if media_type == "movie" else "series"
        path = f"/api/v1/{'movie' if media_type == 'movie' else 'tv'}/{tmdb_id}"
        # Overseerr answers 500 ("Unable to retrieve movie.") both for an unknown TMDB id and while
        # it cannot reach TMDB; accepting it keeps either from counting against the circuit breaker.
        response = self.http.get(path, accept_statuses=(404, 500), retry=False)
        if response.status_code in (404, 500):
            # Which of the two it was, Overseerr's answer does not say: the message names both.
            raise ApiError(
                "NOT_FOUND",
                f"Overseerr could not look up the {kind} with TMDB id {tmdb_id}: either there is no such title, "
                "or Overseerr cannot reach TMDB right now (then try again in a while).",
                details={"service": SERVICE, "tmdb_id": tmdb_id},
            )
        body = self._object(json_of(response, SERVICE, NAME))
        info = title_of({**body, "mediaType": media_type})
        media_seasons = {
            to_int(s.get("seasonNumber")): to_int(s.get("status"))
            for s in ((body.get("mediaInfo") or {}).get("seasons") or [])
            if isinstance(s, dict)
        }
        requested = requested_seasons((body.get("mediaInfo") or {}).get("requests"))
        info["seasons"] = [
            {
                "number": to_int(s.get("seasonNumber")),
                "name": s.get("name") or f"Season {s.get('seasonNumber')}",
                "episodes": to_int(s.get("episodeCount")),
                "state": season_state(
                    media_seasons.get(to_int(s.get("seasonNumber"))), requested.get(to_int(s.get("seasonNumber")))
                ),
            }
            for s in (body.get("seasons") or [])
            if isinstance(s, dict) and to_int(s.get("seasonNumber"))
        ]
        answer_cache.put(key, info, DETAILS_TTL)
        return info

    def users(self, fresh: bool = False) -> list[dict[str, Any]]:
        """Every Overseerr user (id, plexId, permissions), cached for five minutes (``fresh``: asked anew)."""
        key = self._cache_key("users")
        cached = None if fresh else answer_cache.get(key)
        if cached is not None:
            return cached
        users: list[dict[str, Any]] = []
        for page in range(MAX_USER_PAGES):
            body = self._object(self.http.get_json(f"/api/v1/user?take={USERS_PAGE}&skip={page * USERS_PAGE}"))
            results = [r for r in (body.get("results") or []) if isinstance(r, dict)]
            users += [
                {
                    "id": to_id(r.get("id")),
                    "plex_id": None if r.get("plexId") is None else str(r.get("plexId")),
                    "permissions": to_int(r.get("permissions")) or 0,
                    "name": r.get("displayName") or r.get("username") or r.get("email"),
                }
                for r in results
            ]
            pages = to_int((body.get("pageInfo") or {}).get("pages")) or 1
            if page + 1 >= pages or not results:
                break
        answer_cache.put(key, users, USERS_TTL)
        return users

    def user_for_plex_id(self, plex_id: str | None, fresh: bool = False) -> dict[str, Any] | None:
        if not plex_id:
            return None
        matches = [u for u in self.users(fresh) if u["plex_id"] == str(plex_id) and u["id"] is not None]
        if len(matches) > 1:
            log.warning("several Overseerr users carry Plex id %s; using the first (id %s)", plex_id, matches[0]["id"])
        return min(matches, key=lambda u: u["id"]) if matches else None

    def requests_of(self, media_type: str, tmdb_id: int) -> tuple[list[dict[str, Any]], Any] | None:
        """Overseerr's requests of one title and the title's media status, asked anew (None: it cannot say)."""
        path = f"/api/v1/{'movie' if media_type == 'movie' else 'tv'}/{tmdb_id}"
        response = self.http.get(path, accept_statuses=(404, 500))
        if response.status_code != 200:
            return None
        body = self._object(json_of(response, SERVICE, NAME))
        media_info = body.get("mediaInfo") if isinstance(body.get("mediaInfo"), dict) else {}
        return [r for r in media_info.get("requests") or [] if isinstance(r, dict)], media_info.get("status")

    def get_request(self, overseerr_id: int) -> dict[str, Any] | None:
        """One request, or None when Overseerr no longer has it."""
        response = self.http.get(f"/api/v1/request/{overseerr_id}", accept_statuses=(404,))
        if response.status_code == 404:
            return None
        return self._object(json_of(response, SERVICE, NAME))

    # -- writes ------------------------------------------------------------

    def create_request(
        self, media_type: str, tmdb_id: int, seasons: list[int] | str | None, as_user: int | None
    ) -> Created:
        """``POST /request`` on behalf of ``as_user`` (None: as the key's owner, the admin)."""
        # is4k must be sent: Overseerr looks earlier requests up by it, and without it its
        # duplicate check finds none and accepts the same film or seasons again.
        body: dict[str, Any] = {"mediaType": media_type, "mediaId": tmdb_id, "is4k": False}
        if media_type == "tv":
            body["seasons"] = seasons if seasons is not None else "all"
        headers = {"X-API-User": str(as_user)} if as_user is not None else None
        response = self.http.post("/api/v1/request", json_body=body, headers=headers, accept_statuses=(403, 409))
        answer = _json_or_empty(response)
        message = str(answer.get("message") or "")
        if response.status_code == 409:
            return Created("duplicate", "This title has already been requested.")
        if response.status_code == 403:
            if not message:  # {"status":403,"error":...}: the key (or X-API-User) was refused
                raise ServiceUnauthorized(SERVICE, "Overseerr refused MediaNest's API key.", {"status": 403})
            return Created("refused", f"Overseerr refused the request: {message}")
        if response.status_code == 202 or not answer.get("id"):
            # Series whose chosen seasons are all requested or present already.
            return Created("duplicate", "The seasons you chose are already requested or available.")
        return Created("created", "Requested.", answer)

    @staticmethod
    def _object(body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ServiceBadAnswer(SERVICE, "Overseerr answered with something other than a JSON object.")
        return body


def _json_or_empty(response) -> dict[str, Any]:
    try:
        body = json_of(response, SERVICE, NAME)
    except ServiceBadAnswer:
        return {}
    return body if isinstance(body, dict) else {}


def _unique(titles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each title once (TMDB's pages can repeat one when its ranking shifts between two calls)."""
    seen: set[tuple[Any, Any]] = set()
    kept = []
    for title in titles:
        identity = (title["media_type"], title["tmdb_id"])
        if identity not in seen:
            seen.add(identity)
            kept.append(title)
    return kept


def requested_seasons(requests: Any) -> dict[int, str]:
    """Season number -> "pending" or "processing" for the seasons of open (not 4K) requests."""
    seasons: dict[int, str] = {}
    for item in requests if isinstance(requests, list) else []:
        if not isinstance(item, dict) or item.get("is4k"):
            continue
        status = to_int(item.get("status"))
        if status not in (REQUEST_PENDING, REQUEST_APPROVED):
            continue
        for season in item.get("seasons") or []:
            number = to_int(season.get("seasonNumber")) if isinstance(season, dict) else None
            if number is not None and seasons.get(number) != "processing":
                seasons[number] = "pending" if status == REQUEST_PENDING else "processing"
    return seasons


def season_state(media_status: int | None, requested: str | None) -> str:
    """A season's state: what Overseerr's media says, or else whether an open request holds it."""
    state = MEDIA_STATES.get(media_status or 1, "none")
    return requested if state == "none" and requested else state


def title_of(result: dict[str, Any]) -> dict[str, Any]:
    """A search result or details body as MediaNest shows it."""
    media_type = result.get("mediaType")
    name = result.get("title") if media_type == "movie" else result.get("name")
    date = (result.get("releaseDate") if media_type == "movie" else result.get("firstAirDate")) or ""
    poster = result.get("posterPath")
    media_info = result.get("mediaInfo") if isinstance(result.get("mediaInfo"), dict) else {}
    state = MEDIA_STATES.get(to_int(media_info.get("status")) or 1, "none")
    return {
        "media_type": media_type,
        "tmdb_id": to_id(result.get("id")),
        "title": name or result.get("originalTitle") or result.get("originalName") or "Untitled",
        "year": to_int(str(date)[:4]) if date else None,
        "overview": result.get("overview") or "",
        "poster_url": f"{POSTER_BASE}{poster}" if isinstance(poster, str) and poster.startswith("/") else None,
        "state": state,
    }
