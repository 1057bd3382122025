"""Posters of search results through MediaNest, fetched from TMDB's image server and kept on disk.

Overseerr names each title's poster by a TMDB path (``posterPath``, such as
``/f89U3ADr1oiB1s9GkdPOEpXUk5H.jpg``); the picture itself lives on
image.tmdb.org.  The browser asks MediaNest, which fetches the file once from
the configured image server and serves it from its cache after that: the
household's browsers never talk to a third party, and a page full of posters
costs TMDB one fetch per poster, not one per visitor.

This is not an open proxy: only a file name shaped like TMDB's is taken, it
is only ever fetched from the one configured image server, and every
connection goes through the egress guard, which allows that host alone
(a redirect elsewhere is refused) and a private address only when the
setting names that address itself.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from pathlib import Path
from urllib.parse import urlsplit

import requests
from medianest_overseerr.config import DEFAULT_POSTER_URL, SERVICE

from medianest.plugins import EgressPolicy, EgressProxy
from medianest.plugins.api import ApiError
from medianest.plugins.cache import KEEP_DAYS, PosterCache
from medianest.plugins.settings import service_config

log = logging.getLogger("medianest.overseerr")

NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}\.(?:jpg|jpeg|png|webp)$")
TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}
MAX_BYTES = 4 * 1024 * 1024
TIMEOUT = (3.0, 10.0)
POSTERS = PosterCache("overseerr-posters", tuple(TYPES))


def source() -> str:
    """The image server and size folder posters come from, e.g. ``https://image.tmdb.org/t/p/w300``."""
    configured = (service_config(SERVICE, ["poster_url"]).get("poster_url") or "").strip()
    return (configured or DEFAULT_POSTER_URL).rstrip("/")


def policy_for(base: str) -> EgressPolicy:
    """Only the image server's host and port; a private address only when the setting spells it out."""
    parts = urlsplit(base)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    private: list[str] = []
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        private.append(f"[{address}]:{port}" if address.version == 6 else f"{address}:{port}")
    listed = f"[{host}]:{port}" if address is not None and address.version == 6 else f"{host}:{port}"
    return EgressPolicy([listed], private)


def folder() -> Path:
    return POSTERS.folder()


def poster(name: str) -> tuple[Path, str]:
    """The cached file and content type of one poster, fetched when not on disk yet."""
    if not NAME.match(name):
        raise ApiError("NOT_FOUND", "That is not the name of a poster.")
    base = source()
    return POSTERS.poster(base, name, fetch=lambda: _fetch(base, name))


def _fetch(base: str, name: str) -> tuple[bytes, str]:
    url = f"{base}/{name}"
    unavailable = ApiError("SERVICE_UNAVAILABLE", "The poster could not be fetched from the image server.", 502)
    try:
        with EgressProxy(policy_for(base), timeout=TIMEOUT[1]) as proxy:
            proxies = {"http": proxy.url, "https": proxy.url}
            with requests.get(url, proxies=proxies, timeout=TIMEOUT, stream=True, allow_redirects=False) as answer:
                if proxy.refusals:
                    log.warning("poster %s: %s", name, proxy.refusals[0].message)
                    raise unavailable
                if answer.status_code != 200:
                    log.info("poster %s: the image server answered %s", name, answer.status_code)
                    if answer.status_code in (404, 410) or answer.is_redirect:
                        raise ApiError("NOT_FOUND", "The image server has no such poster.")
                    raise unavailable
                kind = answer.headers.get("Content-Type", "").split(";")[0].strip().lower()
                if kind not in TYPES:
                    log.info("poster %s: the image server sent %s", name, kind or "no content type")
                    raise unavailable
                body = bytearray()
                for chunk in answer.iter_content(64 * 1024):
                    body += chunk
                    if len(body) > MAX_BYTES:
                        raise unavailable
                return bytes(body), kind
    except requests.RequestException as exc:
        log.info("poster %s: %s", name, exc)
        raise unavailable from None


def prune(keep_days: int = KEEP_DAYS) -> int:
    """Delete posters not fetched for ``keep_days`` (the file's mtime is touched on each use)."""
    return POSTERS.prune(keep_days)
