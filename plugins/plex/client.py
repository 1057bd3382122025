"""Talking to a Plex Media Server: its JSON API through MediaNest's HTTP layer.

Every call carries ``Accept: application/json`` (Plex answers XML otherwise),
this installation's ``X-Plex-Client-Identifier``, ``X-Plex-Product``,
``X-Plex-Version`` and the server token as the ``X-Plex-Token`` header (never
in a URL, where it would end up in logs).  python-plexapi is not used: it
parses only XML.
"""

from __future__ import annotations

import contextlib
from typing import Any

from medianest_plex.config import NAME, SERVICE, PlexConfig

from medianest.plugins import plex_client_identifier
from medianest.plugins.api import ApiError
from medianest.plugins.http import ServiceBadAnswer, ServiceClient, ServiceUnauthorized, json_of
from medianest.plugins.settings import MEDIANEST_VERSION

PRODUCT = "MediaNest"
IMAGE_MAX_BYTES = 5 * 1024 * 1024
SECTION_TYPE_NUMBERS = {"movie": 1, "show": 2, "artist": 8, "photo": 13}


def client_identifier() -> str:
    """This installation's X-Plex-Client-Identifier: the core's, the one the Plex sign-in sends too."""
    return plex_client_identifier()


def plex_headers(token: str | None) -> dict[str, str]:
    headers = {
        "Accept": "application/json",
        "X-Plex-Client-Identifier": client_identifier(),
        "X-Plex-Product": PRODUCT,
        "X-Plex-Version": MEDIANEST_VERSION,
        "X-Plex-Device-Name": PRODUCT,
    }
    if token:
        headers["X-Plex-Token"] = token
    return headers


def _bad(message: str) -> ServiceBadAnswer:
    return ServiceBadAnswer(SERVICE, message)


def container(answer: Any) -> dict[str, Any]:
    """The ``MediaContainer`` of a Plex answer, or a clear error when the shape is wrong."""
    box = answer.get("MediaContainer") if isinstance(answer, dict) else None
    if not isinstance(box, dict):
        raise _bad("Plex answered without a MediaContainer.")
    return box


def entries(box: dict[str, Any], name: str = "Metadata") -> list[dict[str, Any]]:
    found = box.get(name) or []
    if not isinstance(found, list):
        raise _bad(f"Plex answered a {name} that is not a list.")
    return [e for e in found if isinstance(e, dict)]


class PlexServer:
    """One Plex Media Server, as configured in the admin's settings."""

    def __init__(self, config: PlexConfig, connect_timeout: float = 3, read_timeout: float = 10) -> None:
        self.config = config
        self.http = ServiceClient.for_service(
            SERVICE,
            config.url,
            headers=plex_headers(config.token),
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            name=NAME,
        )

    # ------------------------------------------------------------ plumbing
    def _get(self, path: str, params: dict[str, Any] | None = None, *, missing: str | None = None) -> dict[str, Any]:
        statuses = (404,) if missing else ()
        response = self.http.get(path, params=params, accept_statuses=statuses)
        if missing and response.status_code == 404:
            raise ApiError("NOT_FOUND", missing)
        return container(json_of(response, SERVICE, NAME))

    @staticmethod
    def _paging(start: int, size: int) -> dict[str, int]:
        return {"X-Plex-Container-Start": max(0, start), "X-Plex-Container-Size": max(0, size)}

    # ------------------------------------------------------------ server
    def identity(self) -> dict[str, Any]:
        """``/identity``: machine identifier, version, claimed (Plex answers it without a token)."""
        box = self._get("/identity")
        if not box.get("machineIdentifier"):
            raise _bad("Plex's /identity answer has no machineIdentifier.")
        return {
            "machine_identifier": str(box["machineIdentifier"]),
            "version": str(box.get("version") or ""),
            "claimed": bool(box.get("claimed")),
        }

    def friendly_name(self) -> str | None:
        """The server's own name from ``/`` (not every server answers it; ``None`` then)."""
        try:
            response = self.http.get("/", accept_statuses=(404,))
            if response.status_code == 404:
                return None
            name = container(json_of(response, SERVICE, NAME)).get("friendlyName")
        except (ServiceBadAnswer, ServiceUnauthorized):
            return None
        return str(name) if name else None

    # ------------------------------------------------------------ libraries
    def libraries(self) -> list[dict[str, Any]]:
        """The library sections: the classic ``/library/sections``, else ``/library/sections/all``."""
        response = self.http.get("/library/sections", accept_statuses=(404,))
        if response.status_code != 404:
            # some servers answer the classic listing oddly; the newer one is authoritative
            with contextlib.suppress(ServiceBadAnswer):
                return entries(container(json_of(response, SERVICE, NAME)), "Directory")
        return entries(self._get("/library/sections/all"), "Directory")

    def library_items(self, section: str, start: int, size: int, sort: str | None = None) -> dict[str, Any]:
        params: dict[str, Any] = self._paging(start, size)
        if sort:
            params["sort"] = sort
        return self._get(f"/library/sections/{section}/all", params, missing=f"There is no Plex library {section}.")

    def collections(self, section: str, start: int, size: int) -> dict[str, Any]:
        return self._get(
            f"/library/sections/{section}/collections",
            self._paging(start, size),
            missing=f"There is no Plex library {section}.",
        )

    def collection_items(self, collection: str) -> dict[str, Any]:
        return self._get(
            f"/library/collections/{collection}/items", missing=f"There is no Plex collection {collection}."
        )

    def metadata(self, key: str) -> dict[str, Any]:
        box = self._get(f"/library/metadata/{key}", missing=f"There is no Plex item {key}.")
        found = entries(box)
        if not found:
            raise ApiError("NOT_FOUND", f"There is no Plex item {key}.")
        return found[0]

    def search(self, query: str, limit: int) -> list[dict[str, Any]]:
        return entries(self._get("/hubs/search", {"query": query, "limit": limit}), "Hub")

    def image(self, path: str, width: int, height: int) -> tuple[bytes, str]:
        """A poster scaled by Plex's transcoder: (bytes, content type)."""
        response = self.http.get(
            "/photo/:/transcode",
            params={"url": path, "width": width, "height": height, "minSize": 1, "upscale": 1},
            headers={"Accept": "image/jpeg,image/png,image/*"},
            max_bytes=IMAGE_MAX_BYTES,
        )
        kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if not kind.startswith("image/"):
            raise _bad(f"Plex answered a poster with {kind or 'no content type'}.")
        return response.content, kind

    # ------------------------------------------------------------ the home cards
    def recently_added(self, section: str, media_type: int, size: int) -> list[dict[str, Any]]:
        """The newest items of one library (``type`` is Plex's number: 1 movie, 4 episode).

        ``/library/sections/{id}/all`` sorted by ``addedAt:desc``: the 2026 document
        dropped ``/library/recentlyAdded``, and the 2025 one types its ``ratingKey``
        as a number where Plex sends a string.
        """
        params = {"type": media_type, "sort": "addedAt:desc", **self._paging(0, size)}
        return entries(
            self._get(f"/library/sections/{section}/all", params, missing=f"There is no Plex library {section}.")
        )

    def continue_watching(self, token: str, count: int) -> list[dict[str, Any]]:
        """``/hubs/continueWatching`` as one person sees it: asked with their own token."""
        response = self.http.get("/hubs/continueWatching", params={"count": count}, headers={"X-Plex-Token": token})
        hubs = entries(container(json_of(response, SERVICE, NAME)), "Hub")
        return [meta for hub in hubs for meta in entries(hub)]

    def sessions(self) -> list[dict[str, Any]]:
        """``/status/sessions``: what is playing now, on every player (needs the owner's token)."""
        return entries(self._get("/status/sessions"))

    # ------------------------------------------------------------ changes
    def scan(self, section: str, path: str | None) -> None:
        """A targeted scan of one folder (the whole library without ``path``)."""
        params = {"path": path} if path else None
        self.http.get(f"/library/sections/{section}/refresh", params=params)

    def collection_uri(self, machine: str, keys: list[str]) -> str:
        return f"server://{machine}/com.plexapp.plugins.library/library/metadata/{','.join(keys)}"

    def create_collection(self, section: str, section_type: str, title: str, uri: str) -> dict[str, Any]:
        params = {
            "type": SECTION_TYPE_NUMBERS.get(section_type, 1),
            "title": title,
            "smart": 0,
            "sectionId": section,
            "uri": uri,
        }
        found = entries(container(json_of(self.http.post("/library/collections", params=params), SERVICE, NAME)))
        if not found or not found[0].get("ratingKey"):
            raise _bad("Plex did not say which collection it created.")
        return found[0]

    def add_to_collection(self, collection: str, uri: str) -> None:
        self.http.put(f"/library/collections/{collection}/items", params={"uri": uri})
