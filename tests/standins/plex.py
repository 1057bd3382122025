"""Stateful local stand-ins for plex.tv and a Plex Media Server, for tests.

What they reproduce, and from where
-----------------------------------
Shapes, status codes and error bodies follow the public facts of the Plex
APIs, as the community OpenAPI documents of LukeHagar/plex-api-spec give them
(the vendor files the vendor-contract layer reads, see ``tests/contracts/README.md``):

* ``plex-pms-deref-2025.yaml`` (LukeHagar/plex-api-spec, 2025-10), the last file
  carrying plex.tv: ``POST /api/v2/pins`` (``strong``), ``GET /api/v2/pins/{id}``,
  ``GET /api/v2/user``, ``GET /api/v2/resources`` with the ``AuthPinContainer``,
  ``UserPlexAccount`` and ``PlexDevice`` schemas, the ``{"errors": [...]}`` bodies
  (400 code 1000 "X-Plex-Client-Identifier is missing", 401 code 1001 "User
  could not be authenticated", PIN 404 code 1020 "Code not found or expired"),
  and the classic PMS ``GET /library/sections`` and ``GET .../refresh``.
* ``plex-api-spec.yaml`` (same repository, 2026-02) for the Plex Media Server:
  ``/identity`` (no token: ``security: [{}]``), ``/library/sections/all``,
  ``/library/sections/{id}/all`` (``X-Plex-Container-Start``/``-Size``, default
  size 50), ``/library/sections/{id}/collections``, ``/library/collections``,
  ``/library/collections/{id}/items``, ``/library/metadata/{ids}``,
  ``/hubs/search``, ``/hubs/continueWatching`` (``count``; what the asking token's
  account has half watched, with ``viewOffset``), ``/status/sessions`` (the owner's
  token only, as the spec's ``token: [admin]`` says: each stream's ``Player``,
  ``Session``, ``User`` and, when transcoding, ``TranscodeSession``),
  ``/photo/:/transcode`` and the image element paths, all as ``MediaContainer`` JSON.

``PlexTvStandin`` is plex.tv: strong PINs a test can claim for an account or
expire, accounts looked up by token, and the servers each account can reach.
``PlexServerStandin`` is one Plex Media Server: libraries, items (episodes of
shows too), collections, targeted scans that finish only after a number of
polls, search, images, each account's half-watched items (``set_progress``) and
the streams playing now (``set_sessions``).

Both answer JSON only when the request says ``Accept: application/json``
(otherwise XML, as Plex does), and ``answer_mode`` can force XML or a truncated
JSON body for bad-input tests. Every answer is recorded next to its request
(``record.extra["response"]``) so ``validate_plex_requests`` and
``validate_plex_responses`` can check a whole session with openapi-core against
MediaNest's own description of the part of each API it uses
(``tests/contracts/plex/pms-subset.yml`` and ``plex-tv-subset.yml``), or, in the
vendor-contract layer, against the vendor files (``VENDOR_PMS_SPEC``,
``VENDOR_PLEX_TV_SPEC``).

Choices and deviations (each also commented where it is made)
-------------------------------------------------------------
* ``GET /identity`` needs no token nor client identifier (spec: ``security: [{}]``).
* Page size defaults to the spec's 50; ``totalSize``/``offset`` are always sent.
* Thumb, art and collection composite paths answer JPEG (the spec's only type
  for them); ``/photo/:/transcode`` answers PNG of the asked size (``format=jpg``: JPEG).
* ``/library/collections/{id}/children`` is served although only ``.../items``
  is in the spec; the request validator reports it.
* Stricter than a real server, to catch client bugs: an unknown ``sort`` field,
  a collection ``uri`` naming another server or unknown items, a ``type`` that
  does not match the section, and ``smart=1`` all answer 400.
* The spec checks run with openapi-core's spec validation off (the 2026 file has a
  duplicated parameter) and check image bodies by signature (openapi-core #854).
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import os
import posixpath
import re
import secrets
import string
import struct
import threading
import time
import uuid as _uuid
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse
from xml.etree import ElementTree as ET

from flask import Response, g, request

from tests.standins.base import CONTRACTS, VENDOR_CONTRACTS, RecordedRequest, Standin

if TYPE_CHECKING:
    from openapi_core import OpenAPI

__all__ = [
    "ANSWER_MODES",
    "PLEX_CONTRACTS_DIR",
    "PMS_SPEC",
    "PLEX_TV_SPEC",
    "VENDOR_PMS_SPEC",
    "VENDOR_PLEX_TV_SPEC",
    "RecordedResponse",
    "PlexTvAccount",
    "PlexTvPin",
    "PlexTvResource",
    "PlexTvStandin",
    "PlexLibrary",
    "PlexItem",
    "PlexCollection",
    "PlexSession",
    "RegisteredFile",
    "PendingScan",
    "PlexServerStandin",
    "load_plex_spec",
    "validate_plex_requests",
    "validate_plex_responses",
]

PLEX_CONTRACTS_DIR = CONTRACTS / "plex"
#: MediaNest's own descriptions of the part of each API it uses (in the repository).
PMS_SPEC = "pms-subset.yml"
PLEX_TV_SPEC = "plex-tv-subset.yml"
#: The vendor's documents, for the vendor-contract layer only (not in the repository).
VENDOR_PMS_SPEC = VENDOR_CONTRACTS / "plex" / "plex-api-spec.yaml"
VENDOR_PLEX_TV_SPEC = VENDOR_CONTRACTS / "plex" / "plex-pms-deref-2025.yaml"

ANSWER_MODES = ("json", "xml", "truncated")

# Error bodies exactly as the 2025 file documents them (BadRequest / Unauthorized
# schemas and their examples; the PIN 404 example).
_ERR_NO_CLIENT_ID = {"code": 1000, "message": "X-Plex-Client-Identifier is missing", "status": 400}
_ERR_UNAUTHORIZED = {"code": 1001, "message": "User could not be authenticated", "status": 401}
_ERR_PIN_NOT_FOUND = {"code": 1020, "message": "Code not found or expired"}

# An 8x8 baseline JPEG (made once with ffmpeg). The spec gives the image element
# paths (thumb/art/composite) only an ``image/jpeg`` answer, so those answer JPEG.
_TINY_JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAgAAAQABAAD//gAQTGF2YzU5LjM3LjEwMAD/2wBDAAgUFBcUFxsbGxsbGyAeICEhISAgICAh"
    "ISEkJCQqKiokJCQhISQkKCgqKi4vLisrKisvLzIyMjw8OTlGRkhWVmf/xABMAAEBAAAAAAAAAAAAAAAAAAAABgEB"
    "AQAAAAAAAAAAAAAAAAAABQYQAQAAAAAAAAAAAAAAAAAAAAARAQAAAAAAAAAAAAAAAAAAAAD/wAARCAAIAAgDASIA"
    "AhEAAxEA/9oADAMBAAIRAxEAPwCbAUQF/9k="
)
_MAX_TRANSCODE_SIDE = 1000


def _png(width: int, height: int, rgb: tuple[int, int, int] = (0x33, 0x66, 0x99)) -> bytes:
    """A solid-colour RGB PNG of the given size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(rgb) * width
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b"")
    )


def _iso(ts: float) -> str:
    return _dt.datetime.fromtimestamp(int(ts), _dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _wants_json() -> bool:
    return "application/json" in request.headers.get("Accept", "").lower()


def _client_identifier() -> str | None:
    return request.headers.get("X-Plex-Client-Identifier") or None


def _request_token() -> str | None:
    # Plex reads the token from the header or from the query string; the spec's
    # security scheme only names the header (the validator flags the query form).
    return request.headers.get("X-Plex-Token") or request.args.get("X-Plex-Token") or None


# --------------------------------------------------------------------------- XML


_METADATA_XML_TAG = {
    "movie": "Video",
    "episode": "Video",
    "clip": "Video",
    "track": "Track",
    "photo": "Photo",
}


def _xml_element(tag: str, data: dict[str, Any]) -> ET.Element:
    element = ET.Element(tag)
    for key, value in data.items():
        if value is None:
            continue
        if isinstance(value, dict):
            element.append(_xml_element(key, value))
        elif isinstance(value, list):
            for entry in value:
                if isinstance(entry, dict):
                    child_tag = key
                    if key == "Metadata":
                        child_tag = _METADATA_XML_TAG.get(str(entry.get("type")), "Directory")
                    element.append(_xml_element(child_tag, entry))
                else:
                    ET.SubElement(element, key).text = str(entry)
        elif isinstance(value, bool):
            element.set(key, "1" if value else "0")
        else:
            element.set(key, str(value))
    return element


def _to_xml(root_tag: str, data: Any) -> bytes:
    if isinstance(data, list):
        root = ET.Element(root_tag, size=str(len(data)))
        child_tag = root_tag[:-1] if root_tag.endswith("s") else "item"
        for entry in data:
            root.append(_xml_element(child_tag, entry))
    else:
        root = _xml_element(root_tag, data)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


# ---------------------------------------------------------------- shared base


@dataclass
class RecordedResponse:
    """What a stand-in answered (stored in ``RecordedRequest.extra["response"]``)."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")


class _PlexStandinBase(Standin):
    """Answer modes, JSON/XML negotiation and response recording."""

    def __init__(self) -> None:
        super().__init__()
        self._answer_mode = "json"
        self._state = threading.RLock()

        # Link each recorded request to its answer. The base class records in its
        # own before_request hook, which runs before this one.
        @self.app.before_request
        def _claim_record() -> None:
            qs = request.query_string.decode("latin-1")
            with self._lock:
                for record in reversed(self.requests):
                    if (
                        "claimed" not in record.extra
                        and record.method == request.method
                        and record.path == request.path
                        and record.query_string == qs
                    ):
                        record.extra["claimed"] = True
                        g.plex_record = record
                        break

        @self.app.after_request
        def _store_response(response: Response) -> Response:
            record = g.get("plex_record")
            if record is not None:
                record.extra["response"] = RecordedResponse(
                    status=response.status_code,
                    headers=dict(response.headers.items()),
                    body=response.get_data(),
                )
            return response

    @property
    def answer_mode(self) -> str:
        """``"json"`` (normal), ``"xml"`` (always XML) or ``"truncated"`` (JSON cut in half)."""
        return self._answer_mode

    @answer_mode.setter
    def answer_mode(self, mode: str) -> None:
        if mode not in ANSWER_MODES:
            raise ValueError(f"answer_mode must be one of {ANSWER_MODES}, not {mode!r}")
        self._answer_mode = mode

    def _answer(
        self,
        data: Any,
        xml_root: str,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """A data answer, subject to content negotiation and ``answer_mode``."""
        if self._answer_mode == "xml" or not _wants_json():
            if isinstance(data, dict) and list(data) == [xml_root]:
                data = data[xml_root]  # {"MediaContainer": {...}} is <MediaContainer ...> in XML
            return Response(_to_xml(xml_root, data), status=status, headers=headers, content_type="application/xml")
        body = json.dumps(data).encode()
        if self._answer_mode == "truncated":
            body = body[: max(1, len(body) // 2)]
        return Response(body, status=status, headers=headers, content_type="application/json")

    @staticmethod
    def _errors(error: dict[str, Any], status: int) -> Response:
        if _wants_json():
            return Response(json.dumps({"errors": [error]}), status=status, content_type="application/json")
        root = ET.Element("errors")
        ET.SubElement(root, "error", {k: str(v) for k, v in error.items()})
        return Response(
            ET.tostring(root, encoding="utf-8", xml_declaration=True), status=status, content_type="application/xml"
        )

    @staticmethod
    def _html_error(status: int, title: str, detail: str = "") -> Response:
        # The 2026 spec gives PMS 400/404 answers as text/html.
        body = f"<html><head><title>{title}</title></head><body><h1>{status} {title}</h1>{detail}</body></html>"
        return Response(body, status=status, content_type="text/html")


# ------------------------------------------------------------------- plex.tv


@dataclass
class PlexTvAccount:
    id: int
    uuid: str
    username: str
    email: str
    token: str
    title: str
    thumb: str
    home: bool = False
    home_admin: bool = False
    joined_at: int = 0


@dataclass
class PlexTvPin:
    id: int
    code: str
    client_identifier: str
    product: str
    strong: bool
    created_at: float
    expires_at: float
    account: PlexTvAccount | None = None
    expired: bool = False

    @property
    def auth_token(self) -> str | None:
        return self.account.token if self.account is not None else None


@dataclass
class PlexTvResource:
    """One ``PlexDevice`` in an account's ``GET /api/v2/resources`` answer."""

    account_id: int
    name: str
    client_identifier: str
    owned: bool
    access_token: str
    provides: str = "server"
    product: str = "Plex Media Server"
    product_version: str = "1.41.3.9314-a0bfb8370"
    platform: str | None = "Linux"
    platform_version: str | None = "6.1.0"
    device: str | None = "PC"
    owner_id: int | None = None
    source_title: str | None = None
    home: bool = False
    presence: bool = True
    public_address: str = "203.0.113.10"
    connections: list[dict[str, Any]] = field(default_factory=list)
    created_at: float = 0.0
    last_seen_at: float = 0.0


def _connection(uri: str, local: bool = True, relay: bool = False) -> dict[str, Any]:
    parsed = urlparse(uri)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    host = parsed.hostname or "127.0.0.1"
    return {
        "protocol": parsed.scheme or "http",
        "address": host,
        "port": port,
        "uri": uri.rstrip("/"),
        "local": local,
        "relay": relay,
        "IPv6": ":" in host,
    }


class PlexTvStandin(_PlexStandinBase):
    """plex.tv's PIN login, account and resources API (``/api/v2``).

    Every call needs ``X-Plex-Client-Identifier`` (400 without, as plex.tv);
    ``/user`` and ``/resources`` need an account token (401 without). A PIN is
    bound to the client identifier that created it: reading it with another
    identifier answers 404, as for an unknown or expired PIN.
    """

    name = "plex-tv"

    def __init__(self, pin_lifetime: int = 900) -> None:
        super().__init__()
        self.pin_lifetime = pin_lifetime  # spec: "by default 900 seconds"
        self.accounts: dict[str, PlexTvAccount] = {}  # by token
        self.pins: dict[int, PlexTvPin] = {}
        self.resources: list[PlexTvResource] = []
        self._next_pin_id = 373040866
        self._next_account_id = 1001
        self._register_routes()

    # ---- helpers for tests

    def add_account(
        self,
        username: str,
        email: str,
        token: str | None = None,
        *,
        title: str | None = None,
        account_id: int | None = None,
        home: bool = False,
        home_admin: bool = False,
    ) -> PlexTvAccount:
        """Create an account that ``token`` authenticates."""
        with self._state:
            if account_id is None:
                account_id = self._next_account_id
                self._next_account_id += 1
            account_uuid = secrets.token_hex(8)
            account = PlexTvAccount(
                id=account_id,
                uuid=account_uuid,
                username=username,
                email=email,
                token=token or secrets.token_urlsafe(15),
                title=title or username,
                thumb=f"https://plex.tv/users/{account_uuid}/avatar?c={int(time.time())}",
                home=home,
                home_admin=home_admin,
                joined_at=int(time.time()) - 86400 * 365,
            )
            self.accounts[account.token] = account
            return account

    def _account(self, account: PlexTvAccount | str) -> PlexTvAccount:
        if isinstance(account, PlexTvAccount):
            return account
        for candidate in self.accounts.values():
            if account in (candidate.token, candidate.username, candidate.email):
                return candidate
        raise KeyError(f"no plex.tv account {account!r}")

    def find_pin(self, pin_id_or_code: int | str) -> PlexTvPin:
        with self._state:
            for pin in self.pins.values():
                if str(pin.id) == str(pin_id_or_code) or pin.code == pin_id_or_code:
                    return pin
        raise KeyError(f"no PIN {pin_id_or_code!r}")

    def claim_pin(self, pin_id_or_code: int | str, account: PlexTvAccount | str) -> PlexTvPin:
        """The user signs in at plex.tv/link: the PIN now carries the account's token."""
        with self._state:
            pin = self.find_pin(pin_id_or_code)
            if self._is_expired(pin):
                raise ValueError(f"PIN {pin.id} has expired")
            pin.account = self._account(account)
            return pin

    def expire_pin(self, pin: PlexTvPin | int | str) -> None:
        """From now on the PIN answers 404 "Code not found or expired"."""
        with self._state:
            target = pin if isinstance(pin, PlexTvPin) else self.find_pin(pin)
            target.expired = True

    def grant_server(
        self,
        account: PlexTvAccount | str,
        machine_identifier: str,
        owned: bool = True,
        *,
        name: str = "MediaNest Plex",
        uri: str | None = None,
        access_token: str | None = None,
        source_title: str | None = None,
        connections: list[dict[str, Any]] | None = None,
    ) -> PlexTvResource:
        """Let ``account`` see a server. ``uri`` (e.g. a PlexServerStandin's url)
        becomes a local connection; ``access_token`` is the token to use on that
        server (owned: the account token by default)."""
        with self._state:
            acct = self._account(account)
            if connections is None:
                connections = [_connection(uri)] if uri else []
            now = time.time()
            resource = PlexTvResource(
                account_id=acct.id,
                name=name,
                client_identifier=machine_identifier,
                owned=owned,
                access_token=access_token or (acct.token if owned else secrets.token_urlsafe(15)),
                owner_id=None if owned else 9_000_000 + len(self.resources),
                source_title=None if owned else (source_title or "owner"),
                connections=connections,
                created_at=now - 86400 * 30,
                last_seen_at=now,
            )
            self.resources.append(resource)
            return resource

    def add_device(
        self,
        account: PlexTvAccount | str,
        name: str,
        client_identifier: str,
        provides: str = "client,player",
    ) -> PlexTvResource:
        """A non-server resource (a player), which a server picker must skip."""
        with self._state:
            acct = self._account(account)
            now = time.time()
            resource = PlexTvResource(
                account_id=acct.id,
                name=name,
                client_identifier=client_identifier,
                owned=True,
                access_token=acct.token,
                provides=provides,
                product="Plex Web",
                product_version="4.145.1",
                platform="Chrome",
                platform_version="131.0",
                device="Linux",
                created_at=now - 3600,
                last_seen_at=now,
            )
            self.resources.append(resource)
            return resource

    # ---- rendering

    def _is_expired(self, pin: PlexTvPin) -> bool:
        return pin.expired or time.time() >= pin.expires_at

    def _pin_json(self, pin: PlexTvPin) -> dict[str, Any]:
        return {
            "id": pin.id,
            "code": pin.code,
            "product": pin.product,
            "trusted": False,
            "qr": f"https://plex.tv/api/v2/pins/qr/{pin.code}",
            "clientIdentifier": pin.client_identifier,
            "location": {
                "code": "NL",
                "european_union_member": True,
                "continent_code": "EU",
                "country": "The Netherlands",
                "city": "Breda",
                "time_zone": "Europe/Amsterdam",
                "postal_code": "4814",
                "in_privacy_restricted_country": True,
                "in_privacy_restricted_region": True,
                "subdivisions": "North Brabant",
                "coordinates": "51.5869, 4.7471",
            },
            "expiresIn": max(0, int(pin.expires_at - time.time())),
            "createdAt": _iso(pin.created_at),
            "expiresAt": _iso(pin.expires_at),
            "authToken": pin.auth_token,
            "newRegistration": None,
        }

    @staticmethod
    def _user_json(account: PlexTvAccount) -> dict[str, Any]:
        return {
            "id": account.id,
            "uuid": account.uuid,
            "username": account.username,
            "title": account.title,
            "friendlyName": account.title,
            "email": account.email,
            "thumb": account.thumb,
            "authToken": account.token,
            "locale": None,
            "confirmed": True,
            "joinedAt": account.joined_at,
            "emailOnlyAuth": False,
            "hasPassword": True,
            "protected": False,
            "mailingListStatus": "unsubscribed",
            "mailingListActive": False,
            "scrobbleTypes": "",
            "country": "NL",
            "subscription": {
                "active": False,
                "subscribedAt": None,
                "status": "Inactive",
                "paymentService": None,
                "plan": None,
                "features": [],
            },
            "subscriptionDescription": None,
            "restricted": False,
            "anonymous": None,
            "home": account.home,
            "guest": False,
            "homeSize": 1,
            "homeAdmin": account.home_admin,
            "maxHomeSize": 15,
            "rememberExpiresAt": int(time.time()) + 86400 * 14,
            "profile": {
                "autoSelectAudio": True,
                "defaultAudioLanguage": "en",
                "defaultSubtitleLanguage": "en",
                "autoSelectSubtitle": 0,
                "defaultSubtitleAccessibility": 0,
                "defaultSubtitleForced": 0,
                "watchedIndicator": 1,
                "mediaReviewsVisibility": 0,
            },
            "entitlements": [],
            "roles": [],
            "services": [],
            "adsConsent": None,
            "adsConsentSetAt": None,
            "adsConsentReminderAt": None,
            "experimentalFeatures": False,
            "twoFactorEnabled": False,
            "backupCodesCreated": False,
            "attributionPartner": None,
        }

    @staticmethod
    def _resource_json(resource: PlexTvResource, include_relay: bool, include_ipv6: bool) -> dict[str, Any]:
        connections = [
            c
            for c in resource.connections
            if (include_relay or not c.get("relay")) and (include_ipv6 or not c.get("IPv6"))
        ]
        return {
            "name": resource.name,
            "product": resource.product,
            "productVersion": resource.product_version,
            "platform": resource.platform,
            "platformVersion": resource.platform_version,
            "device": resource.device,
            "clientIdentifier": resource.client_identifier,
            "createdAt": _iso(resource.created_at),
            "lastSeenAt": _iso(resource.last_seen_at),
            "provides": resource.provides,
            "ownerId": resource.owner_id,
            "sourceTitle": resource.source_title,
            "publicAddress": resource.public_address,
            "accessToken": resource.access_token,
            "owned": resource.owned,
            "home": resource.home,
            "synced": False,
            "relay": True,
            "presence": resource.presence,
            "httpsRequired": False,
            "publicAddressMatches": True,
            "dnsRebindingProtection": False,
            "natLoopbackSupported": False,
            "connections": connections,
        }

    # ---- routes

    def _register_routes(self) -> None:
        app = self.app

        @app.before_request
        def _need_client_identifier() -> Response | None:
            if _client_identifier() is None:
                return self._errors(_ERR_NO_CLIENT_ID, 400)
            return None

        @app.post("/api/v2/pins")
        def create_pin() -> Response:
            strong = request.args.get("strong", "false").lower() in ("true", "1")
            with self._state:
                pin_id = self._next_pin_id
                self._next_pin_id += 1
                if strong:
                    code = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(25))
                else:
                    code = "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(4))
                now = time.time()
                pin = PlexTvPin(
                    id=pin_id,
                    code=code,
                    client_identifier=_client_identifier() or "",
                    product=request.headers.get("X-Plex-Product", "0"),
                    strong=strong,
                    created_at=now,
                    expires_at=now + self.pin_lifetime,
                )
                self.pins[pin_id] = pin
                return self._answer(self._pin_json(pin), "pin", status=201)

        @app.get("/api/v2/pins/<pin_id>")
        def read_pin(pin_id: str) -> Response:
            with self._state:
                pin = self.pins.get(int(pin_id)) if pin_id.isdigit() else None
                if pin is None or self._is_expired(pin) or pin.client_identifier != _client_identifier():
                    return self._errors(_ERR_PIN_NOT_FOUND, 404)
                return self._answer(self._pin_json(pin), "pin")

        @app.get("/api/v2/user")
        def read_user() -> Response:
            account = self.accounts.get(_request_token() or "")
            if account is None:
                return self._errors(_ERR_UNAUTHORIZED, 401)
            return self._answer(self._user_json(account), "user")

        @app.get("/api/v2/resources")
        def read_resources() -> Response:
            account = self.accounts.get(_request_token() or "")
            if account is None:
                return self._errors(_ERR_UNAUTHORIZED, 401)
            include_relay = request.args.get("includeRelay") == "1"
            include_ipv6 = request.args.get("includeIPv6") == "1"
            with self._state:
                body = [
                    self._resource_json(r, include_relay, include_ipv6)
                    for r in self.resources
                    if r.account_id == account.id
                ]
            return self._answer(body, "resources")


# ------------------------------------------------------------ Plex Media Server


_SECTION_DEFAULTS = {
    # type: (agent, scanner, item type, MediaType number)
    "movie": ("tv.plex.agents.movie", "Plex Movie", "movie", 1),
    "show": ("tv.plex.agents.series", "Plex TV Series", "show", 2),
    "artist": ("tv.plex.agents.music", "Plex Music", "artist", 8),
    "photo": ("com.plexapp.agents.none", "Plex Photo Scanner", "photo", 13),
}
_MEDIA_TYPE_NUMBER = {
    "movie": 1,
    "show": 2,
    "season": 3,
    "episode": 4,
    "artist": 8,
    "album": 9,
    "track": 10,
    "photoalbum": 14,
    "photo": 13,
    "collection": 18,
}
_HUB_TITLES = {"movie": "Movies", "show": "Shows", "artist": "Artists", "collection": "Collections"}
_SORT_FIELDS = ("titleSort", "title", "year", "addedAt", "updatedAt")
_COLLECTION_URI = re.compile(
    r"^server://(?P<machine>[^/]+)/com\.plexapp\.plugins\.library/library/metadata/(?P<keys>[^/?#]+)$"
)


@dataclass
class PlexLibrary:
    key: int
    title: str
    type: str
    agent: str
    scanner: str
    language: str
    uuid: str
    locations: list[str]
    created_at: int
    updated_at: int
    scanned_at: int


@dataclass
class PlexItem:
    rating_key: str
    section_id: int
    title: str
    type: str
    year: int | None
    title_sort: str
    added_at: int
    updated_at: int
    file_path: str | None = None
    summary: str = ""
    guid: str = ""
    duration: int | None = None  # milliseconds
    show_key: str | None = None  # an episode's show (its grandparent)
    season: int | None = None  # an episode's parentIndex
    episode: int | None = None  # an episode's index


@dataclass
class PlexSession:
    """One stream in ``GET /status/sessions``: who plays which item on which player, and how."""

    rating_key: str
    user_id: int
    user_title: str
    player_title: str = "Living Room TV"
    product: str = "Plex for Android (TV)"
    platform: str = "Android"
    state: str = "playing"  # the Player's state: playing, paused, buffering
    view_offset: int = 0  # milliseconds
    transcode: bool = False  # a TranscodeSession (video transcoded) rather than direct play
    location: str = "lan"
    session_id: str = field(default_factory=lambda: secrets.token_hex(12))


@dataclass
class PlexCollection:
    rating_key: str
    section_id: int
    title: str
    smart: bool
    item_keys: list[str]
    added_at: int
    updated_at: int
    guid: str = ""


@dataclass
class RegisteredFile:
    """A file on the server's disk that a scan of its folder turns into an item."""

    section_id: int
    path: str
    title: str
    year: int | None = None


@dataclass
class PendingScan:
    section_id: int
    folder: str | None
    remaining_polls: int


def _title_sort(title: str) -> str:
    for article in ("The ", "A ", "An "):
        if title.startswith(article) and len(title) > len(article):
            return title[len(article) :]
    return title


def _under(path: str, folder: str) -> bool:
    path = posixpath.normpath(path)
    folder = posixpath.normpath(folder)
    return path == folder or path.startswith(folder.rstrip("/") + "/")


class PlexServerStandin(_PlexStandinBase):
    """A Plex Media Server speaking the 2026 spec's JSON.

    Every call except ``GET /identity`` needs ``X-Plex-Client-Identifier`` (400)
    and a known token as ``X-Plex-Token`` header or query parameter (401).
    ``GET /identity`` needs neither: the spec gives it ``security: [{}]`` and no
    client-identifier parameter, and a real PMS answers it to anyone.

    Scans: ``GET|POST /library/sections/{id}/refresh[?path=folder]`` queues a scan
    of the registered files under ``folder`` (the whole section without
    ``path``). With ``scan_delay_polls=N`` the next N reads of the section
    (``/library/sections/{id}/all``, ``/library/sections``, ``/library/sections/all``)
    still answer without the new items, the section showing ``refreshing: true``;
    the read after them finds the items. ``N=0`` finishes the scan at once.
    """

    name = "plex-server"

    def __init__(
        self,
        token: str = "servertoken",
        machine_identifier: str | None = None,
        *,
        scan_delay_polls: int = 0,
        version: str = "1.41.3.9314-a0bfb8370",
        claimed: bool = True,
    ) -> None:
        super().__init__()
        self.token = token
        self.tokens: set[str] = {token}
        self.machine_identifier = machine_identifier or secrets.token_hex(20)
        self.version = version
        self.claimed = claimed
        self.scan_delay_polls = scan_delay_polls
        self.libraries: dict[int, PlexLibrary] = {}
        self.items: dict[str, PlexItem] = {}
        self.collections: dict[str, PlexCollection] = {}
        self.files: list[RegisteredFile] = []
        self.pending_scans: list[PendingScan] = []
        self.scan_requests: list[tuple[int, str | None]] = []
        # What each token's account has half watched: token -> {ratingKey: viewOffset}.
        self.watch_progress: dict[str, dict[str, int]] = {}
        self.sessions: list[PlexSession] = []
        self._next_section_id = 1
        self._next_rating_key = 1001
        self._clock_base = int(time.time()) - 1_000_000
        self._clock_ticks = 0
        self._register_routes()

    # ---- helpers for tests

    def _tick(self) -> int:
        self._clock_ticks += 1
        return self._clock_base + self._clock_ticks * 60

    def add_token(self, token: str) -> None:
        """Accept another token (e.g. a shared user's server token)."""
        self.tokens.add(token)

    def add_library(
        self,
        title: str,
        type: str = "movie",
        *,
        locations: Iterable[str] | None = None,
        section_id: int | None = None,
        language: str = "en-US",
    ) -> int:
        """Create a library section; returns its id (the ``key``)."""
        if type not in _SECTION_DEFAULTS:
            raise ValueError(f"library type must be one of {sorted(_SECTION_DEFAULTS)}")
        agent, scanner, _, _ = _SECTION_DEFAULTS[type]
        with self._state:
            if section_id is None:
                section_id = self._next_section_id
            self._next_section_id = max(self._next_section_id, section_id + 1)
            now = self._tick()
            self.libraries[section_id] = PlexLibrary(
                key=section_id,
                title=title,
                type=type,
                agent=agent,
                scanner=scanner,
                language=language,
                uuid=str(_uuid.uuid4()),
                locations=list(locations) if locations else [f"/data/{title.lower().replace(' ', '-')}"],
                created_at=now,
                updated_at=now,
                scanned_at=now,
            )
            return section_id

    def add_item(
        self,
        section_id: int,
        title: str,
        year: int | None = None,
        *,
        file_path: str | None = None,
        added_at: int | None = None,
        title_sort: str | None = None,
        summary: str = "",
        duration: int | None = None,
    ) -> str:
        """Add an item to a section; returns its ``ratingKey``."""
        with self._state:
            library = self.libraries[section_id]
            rating_key = str(self._next_rating_key)
            self._next_rating_key += 1
            stamp = self._tick()
            item_type = _SECTION_DEFAULTS[library.type][2]
            self.items[rating_key] = PlexItem(
                rating_key=rating_key,
                section_id=section_id,
                title=title,
                type=item_type,
                year=year,
                title_sort=title_sort or _title_sort(title),
                added_at=added_at if added_at is not None else stamp,
                updated_at=stamp,
                file_path=file_path,
                summary=summary,
                guid=f"plex://{item_type}/{secrets.token_hex(12)}",
                duration=duration,
            )
            library.updated_at = stamp
            return rating_key

    def add_episode(self, show_key: str, season: int, episode: int, title: str, *, duration: int = 2_700_000) -> str:
        """Add an episode of a show (an item of a show library); returns its ``ratingKey``."""
        with self._state:
            show = self.items[show_key]
            rating_key = self.add_item(show.section_id, title, show.year, duration=duration)
            item = self.items[rating_key]
            item.type = "episode"
            item.guid = f"plex://episode/{secrets.token_hex(12)}"
            item.show_key, item.season, item.episode = show_key, season, episode
            return rating_key

    def set_progress(self, token: str, rating_key: str, view_offset: int | None) -> None:
        """What the account of ``token`` has watched of an item (``None``: finished or never started)."""
        with self._state:
            progress = self.watch_progress.setdefault(token, {})
            if view_offset is None:
                progress.pop(rating_key, None)
            else:
                progress[rating_key] = view_offset
                self.items[rating_key].updated_at = self._tick()

    def set_sessions(self, sessions: Iterable[PlexSession]) -> None:
        """What ``GET /status/sessions`` answers from now on."""
        with self._state:
            self.sessions = list(sessions)

    def register_file(self, section_id: int, path: str, title: str, year: int | None = None) -> None:
        """A file on disk that the next scan covering its folder turns into an item."""
        with self._state:
            if section_id not in self.libraries:
                raise KeyError(f"no library section {section_id}")
            self.files.append(RegisteredFile(section_id, posixpath.normpath(path), title, year))

    def add_collection(self, section_id: int, title: str, item_keys: Iterable[str] = ()) -> str:
        """Seed a (non-smart) collection; returns its ``ratingKey``."""
        with self._state:
            if section_id not in self.libraries:
                raise KeyError(f"no library section {section_id}")
            rating_key = str(self._next_rating_key)
            self._next_rating_key += 1
            stamp = self._tick()
            self.collections[rating_key] = PlexCollection(
                rating_key=rating_key,
                section_id=section_id,
                title=title,
                smart=False,
                item_keys=[str(k) for k in item_keys],
                added_at=stamp,
                updated_at=stamp,
                guid=f"collection://{_uuid.uuid4()}",
            )
            return rating_key

    def complete_scans(self) -> None:
        """Finish every queued scan now."""
        with self._state:
            for scan in list(self.pending_scans):
                self._finish_scan(scan)

    def items_in(self, section_id: int) -> list[PlexItem]:
        with self._state:
            return [i for i in self.items.values() if i.section_id == section_id]

    def collection_by_title(self, title: str) -> PlexCollection | None:
        with self._state:
            return next((c for c in self.collections.values() if c.title == title), None)

    # ---- scans

    def _finish_scan(self, scan: PendingScan) -> None:
        known_files = {i.file_path for i in self.items.values() if i.file_path}
        for registered in self.files:
            if registered.section_id != scan.section_id or registered.path in known_files:
                continue
            if scan.folder is None or _under(registered.path, scan.folder):
                self.add_item(scan.section_id, registered.title, registered.year, file_path=registered.path)
                known_files.add(registered.path)
        library = self.libraries.get(scan.section_id)
        if library is not None:
            library.scanned_at = self._tick()
        self.pending_scans.remove(scan)

    def _poll_section(self, section_id: int) -> None:
        """One read of a section: count down or finish its queued scans."""
        for scan in [s for s in self.pending_scans if s.section_id == section_id]:
            if scan.remaining_polls > 0:
                scan.remaining_polls -= 1
            else:
                self._finish_scan(scan)

    # ---- rendering

    def _library_json(self, library: PlexLibrary, classic: bool) -> dict[str, Any]:
        return {
            "allowSync": True,
            "art": f"/:/resources/{library.type}-fanart.jpg",
            "composite": f"/library/sections/{library.key}/composite/{library.updated_at}",
            "filters": True,
            "refreshing": any(s.section_id == library.key for s in self.pending_scans),
            "thumb": f"/:/resources/{library.type}.png",
            "key": str(library.key),
            "type": library.type,
            "title": library.title,
            "agent": library.agent,
            "scanner": library.scanner,
            "language": library.language,
            "uuid": library.uuid,
            "updatedAt": library.updated_at,
            "createdAt": library.created_at,
            "scannedAt": library.scanned_at,
            "content": True,
            "directory": True,
            "contentChangedAt": library.updated_at,
            # The 2025 file types `hidden` as integer 0/1/2, the 2026 file as boolean.
            "hidden": 0 if classic else False,
            "Location": [{"id": i + 1, "path": p} for i, p in enumerate(library.locations)],
        }

    def _item_json(self, item: PlexItem) -> dict[str, Any]:
        library = self.libraries[item.section_id]
        data: dict[str, Any] = {
            "ratingKey": item.rating_key,
            "key": f"/library/metadata/{item.rating_key}",
            "guid": item.guid,
            "type": item.type,
            "title": item.title,
            "titleSort": item.title_sort,
            "summary": item.summary,
            "addedAt": item.added_at,
            "updatedAt": item.updated_at,
            "thumb": f"/library/metadata/{item.rating_key}/thumb/{item.updated_at}",
            "art": f"/library/metadata/{item.rating_key}/art/{item.updated_at}",
            "librarySectionID": library.key,
            "librarySectionKey": f"/library/sections/{library.key}",
            "librarySectionTitle": library.title,
        }
        if item.year is not None:
            data["year"] = item.year
        if item.duration is not None:
            data["duration"] = item.duration
        if item.type == "episode" and item.show_key in self.items:
            show = self.items[item.show_key]
            data.update(
                {
                    "grandparentRatingKey": show.rating_key,
                    "grandparentKey": f"/library/metadata/{show.rating_key}",
                    "grandparentTitle": show.title,
                    "grandparentThumb": f"/library/metadata/{show.rating_key}/thumb/{show.updated_at}",
                    "parentTitle": f"Season {item.season}",
                    "parentIndex": item.season,
                    "index": item.episode,
                }
            )
        if item.file_path:
            media_id = int(item.rating_key) * 10
            data["Media"] = [
                {
                    "id": media_id,
                    "container": posixpath.splitext(item.file_path)[1].lstrip(".") or "mkv",
                    "Part": [
                        {
                            "id": media_id + 1,
                            "key": f"/library/parts/{media_id + 1}/{item.updated_at}/file",
                            "file": item.file_path,
                            "size": 1_000_000,
                        }
                    ],
                }
            ]
        return data

    def _collection_json(self, collection: PlexCollection) -> dict[str, Any]:
        library = self.libraries[collection.section_id]
        return {
            "ratingKey": collection.rating_key,
            "key": f"/library/collections/{collection.rating_key}/children",
            "guid": collection.guid,
            "type": "collection",
            "subtype": _SECTION_DEFAULTS[library.type][2],
            "title": collection.title,
            "titleSort": collection.title,
            "childCount": len(collection.item_keys),
            "addedAt": collection.added_at,
            "updatedAt": collection.updated_at,
            "thumb": f"/library/collections/{collection.rating_key}/composite/{collection.updated_at}",
            "librarySectionID": library.key,
            "librarySectionKey": f"/library/sections/{library.key}",
            "librarySectionTitle": library.title,
        }

    def _session_json(self, session: PlexSession) -> dict[str, Any]:
        item = self.items[session.rating_key]
        data = self._item_json(item)
        data.update(
            {
                "sessionKey": str(zlib.crc32(session.session_id.encode()) % 1000),
                "viewOffset": session.view_offset,
                "Player": {
                    "address": "192.168.1.40" if session.location == "lan" else "198.51.100.7",
                    "local": session.location == "lan",
                    "machineIdentifier": f"player-{session.session_id[:8]}",
                    "platform": session.platform,
                    "product": session.product,
                    "relayed": False,
                    "secure": True,
                    "state": session.state,
                    "title": session.player_title,
                    "userID": session.user_id,
                },
                "Session": {"id": session.session_id, "bandwidth": 12000, "location": session.location},
                "User": {
                    "id": str(session.user_id),
                    "title": session.user_title,
                    "thumb": f"https://plex.tv/users/{session.user_id}/avatar",
                },
            }
        )
        if session.transcode:
            # Real servers add the decisions; the vendor's TranscodeSession schema leaves them to
            # its open properties (see the subset file's x-beyond-vendor-spec).
            data["TranscodeSession"] = {
                "key": f"/transcode/sessions/{session.session_id}",
                "throttled": False,
                "complete": False,
                "progress": 12.5,
                "speed": 1.5,
                "duration": item.duration or 0,
                "context": "streaming",
                "protocol": "dash",
                "sourceVideoCodec": "hevc",
                "sourceAudioCodec": "eac3",
                "videoDecision": "transcode",
                "audioDecision": "copy",
                "transcodeHwRequested": True,
            }
        return data

    def _metadata_json(self, rating_key: str) -> dict[str, Any] | None:
        if rating_key in self.items:
            return self._item_json(self.items[rating_key])
        if rating_key in self.collections:
            return self._collection_json(self.collections[rating_key])
        return None

    def _container(self, extra: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
        container = {
            "size": 0,
            "allowSync": False,
            "identifier": "com.plexapp.plugins.library",
            "mediaTagPrefix": "/system/bundle/media/flags/",
            "mediaTagVersion": 1700000000,
        }
        container.update(extra)
        return self._answer({"MediaContainer": container}, "MediaContainer", headers=headers)

    # ---- request parsing

    @staticmethod
    def _paging() -> tuple[int, int] | str:
        values = []
        for name, default in (("X-Plex-Container-Start", 0), ("X-Plex-Container-Size", 50)):
            raw = request.headers.get(name, request.args.get(name))
            if raw is None:
                values.append(default)  # spec: start defaults to 0, size to 50
                continue
            try:
                value = int(raw)
            except ValueError:
                return f"{name} must be an integer, not {raw!r}"
            if value < 0:
                return f"{name} must not be negative"
            values.append(value)
        return values[0], values[1]

    @staticmethod
    def _sort_items(items: list[PlexItem], sort: str | None) -> list[PlexItem] | str:
        result = sorted(items, key=lambda i: (i.title_sort.lower(), i.rating_key))
        if not sort:
            return result
        keys = []
        for part in sort.split(","):
            field_name, _, direction = part.partition(":")
            if field_name not in _SORT_FIELDS or direction not in ("", "asc", "desc"):
                return f"unsupported sort {part!r} (stand-in knows {', '.join(_SORT_FIELDS)}[:desc])"
            keys.append((field_name, direction == "desc"))
        getters = {
            "titleSort": lambda i: i.title_sort.lower(),
            "title": lambda i: i.title.lower(),
            "year": lambda i: i.year or 0,
            "addedAt": lambda i: i.added_at,
            "updatedAt": lambda i: i.updated_at,
        }
        for field_name, descending in reversed(keys):
            result.sort(key=getters[field_name], reverse=descending)
        return result

    def _collection_uri_keys(self, uri: str) -> list[str] | str:
        match = _COLLECTION_URI.match(uri)
        if not match:
            return (
                "uri must look like server://<machineIdentifier>/com.plexapp.plugins.library/library/metadata/<keys>, "
                f"not {uri!r}"
            )
        if match["machine"] != self.machine_identifier:
            return f"uri names server {match['machine']!r}, this server is {self.machine_identifier!r}"
        keys = [k for k in match["keys"].split(",") if k]
        unknown = [k for k in keys if k not in self.items]
        if unknown:
            return f"unknown ratingKeys in uri: {', '.join(unknown)}"
        return keys

    # ---- routes

    def _register_routes(self) -> None:
        app = self.app

        @app.before_request
        def _authenticate() -> Response | None:
            if request.path == "/identity":
                return None
            if _client_identifier() is None:
                return self._errors(_ERR_NO_CLIENT_ID, 400)
            if _request_token() not in self.tokens:
                return self._errors(_ERR_UNAUTHORIZED, 401)
            return None

        @app.get("/identity")
        def identity() -> Response:
            return self._answer(
                {
                    "MediaContainer": {
                        "size": 0,
                        "claimed": self.claimed,
                        "machineIdentifier": self.machine_identifier,
                        "version": self.version,
                    }
                },
                "MediaContainer",
            )

        def sections(classic: bool) -> Response:
            with self._state:
                for section_id in list(self.libraries):
                    self._poll_section(section_id)
                directories = [self._library_json(lib, classic) for lib in self.libraries.values()]
            return self._container(
                {"size": len(directories), "allowSync": False, "title1": "Plex Library", "Directory": directories},
                headers={"X-Plex-Container-Start": "0", "X-Plex-Container-Total-Size": str(len(directories))},
            )

        # The classic listing; only the 2025 file still documents it.
        app.add_url_rule("/library/sections", "sections_classic", lambda: sections(True))
        app.add_url_rule("/library/sections/all", "sections_all", lambda: sections(False))

        @app.get("/library/sections/<int:section_id>/all")
        def section_items(section_id: int) -> Response:
            paging = self._paging()
            if isinstance(paging, str):
                return self._html_error(400, "Bad Request", paging)
            start, size = paging
            with self._state:
                library = self.libraries.get(section_id)
                if library is None:
                    return self._html_error(404, "Not Found")
                self._poll_section(section_id)
                items = [i for i in self.items.values() if i.section_id == section_id]
                # Without `type` a section lists its own kind (a show library its shows, not their episodes).
                wanted_type = request.args.get("type") or str(_SECTION_DEFAULTS[library.type][3])
                items = [i for i in items if str(_MEDIA_TYPE_NUMBER.get(i.type)) == wanted_type]
                title_filter = request.args.get("title")
                if title_filter:
                    items = [i for i in items if title_filter.lower() in i.title.lower()]
                ordered = self._sort_items(items, request.args.get("sort"))
                if isinstance(ordered, str):
                    return self._html_error(400, "Bad Request", ordered)
                page = ordered[start : start + size]
                metadata = [self._item_json(i) for i in page]
            return self._container(
                {
                    "size": len(metadata),
                    "totalSize": len(ordered),
                    "offset": start,
                    "allowSync": True,
                    "librarySectionID": library.key,
                    "librarySectionTitle": library.title,
                    "librarySectionUUID": library.uuid,
                    "title1": library.title,
                    "title2": "All",
                    "viewGroup": _SECTION_DEFAULTS[library.type][2],
                    "Metadata": metadata,
                },
                headers={"X-Plex-Container-Start": str(start), "X-Plex-Container-Total-Size": str(len(ordered))},
            )

        @app.route("/library/sections/<int:section_id>/refresh", methods=["GET", "POST"])
        def refresh(section_id: int) -> Response:
            folder = request.args.get("path") or None
            with self._state:
                if section_id not in self.libraries:
                    return self._html_error(404, "Not Found")
                self.scan_requests.append((section_id, folder))
                scan = PendingScan(section_id, folder, self.scan_delay_polls)
                self.pending_scans.append(scan)
                if self.scan_delay_polls <= 0:
                    self._finish_scan(scan)
            # The 2026 spec gives this 200 a text/html body (the 2025 GET none).
            return Response("<html><body>OK</body></html>", status=200, content_type="text/html")

        @app.get("/library/sections/<int:section_id>/collections")
        def section_collections(section_id: int) -> Response:
            paging = self._paging()
            if isinstance(paging, str):
                return self._html_error(400, "Bad Request", paging)
            start, size = paging
            with self._state:
                library = self.libraries.get(section_id)
                if library is None:
                    return self._html_error(404, "Not Found")
                found = sorted(
                    (c for c in self.collections.values() if c.section_id == section_id),
                    key=lambda c: (c.title.lower(), c.rating_key),
                )
                metadata = [self._collection_json(c) for c in found[start : start + size]]
            return self._container(
                {
                    "size": len(metadata),
                    "totalSize": len(found),
                    "offset": start,
                    "librarySectionID": library.key,
                    "librarySectionTitle": library.title,
                    "title1": library.title,
                    "Metadata": metadata,
                },
                headers={"X-Plex-Container-Start": str(start), "X-Plex-Container-Total-Size": str(len(found))},
            )

        @app.post("/library/collections")
        def create_collection() -> Response:
            args = request.args
            with self._state:
                section_raw = args.get("sectionId", "")
                library = self.libraries.get(int(section_raw)) if section_raw.isdigit() else None
                if library is None:
                    return self._html_error(400, "Bad Request", f"unknown sectionId {section_raw!r}")
                title = args.get("title", "").strip()
                if not title:
                    return self._html_error(400, "Bad Request", "title is required")
                if args.get("smart", "0") not in ("0", "false"):
                    return self._html_error(400, "Bad Request", "the stand-in only makes smart=0 collections")
                expected_type = str(_SECTION_DEFAULTS[library.type][3])
                if args.get("type", expected_type) != expected_type:
                    return self._html_error(
                        400,
                        "Bad Request",
                        f"type {args.get('type')!r} does not match a {library.type} section ({expected_type})",
                    )
                keys: list[str] | str = []
                if args.get("uri"):
                    keys = self._collection_uri_keys(args["uri"])
                    if isinstance(keys, str):
                        return self._html_error(400, "Bad Request", keys)
                rating_key = self.add_collection(library.key, title, keys)
                body = self._collection_json(self.collections[rating_key])
            return self._container({"size": 1, "Metadata": [body]})

        @app.put("/library/collections/<collection_id>/items")
        def add_collection_items(collection_id: str) -> Response:
            with self._state:
                collection = self.collections.get(collection_id)
                if collection is None:
                    return self._html_error(404, "Not Found")
                if not request.args.get("uri"):
                    return self._html_error(400, "Bad Request", "uri is required")
                keys = self._collection_uri_keys(request.args["uri"])
                if isinstance(keys, str):
                    return self._html_error(400, "Bad Request", keys)
                for key in keys:
                    if key not in collection.item_keys:
                        collection.item_keys.append(key)
                collection.updated_at = self._tick()
                body = self._collection_json(collection)
            return self._container({"size": 1, "Metadata": [body]})

        def collection_items(collection_id: str) -> Response:
            with self._state:
                collection = self.collections.get(collection_id)
                if collection is None:
                    return self._html_error(404, "Not Found")
                metadata = [self._item_json(self.items[k]) for k in collection.item_keys if k in self.items]
            return self._container(
                {
                    "size": len(metadata),
                    "totalSize": len(metadata),
                    "offset": 0,
                    "title1": collection.title,
                    "Metadata": metadata,
                },
            )

        # `/items` is the spec's path; `/children` is the collection's `key` on a
        # real server (python-plexapi reads it) but in neither spec file, so the
        # request validator reports it.
        app.add_url_rule(
            "/library/collections/<collection_id>/items", "collection_items", collection_items, methods=["GET"]
        )
        app.add_url_rule(
            "/library/collections/<collection_id>/children", "collection_children", collection_items, methods=["GET"]
        )

        @app.get("/library/metadata/<ids>")
        def metadata(ids: str) -> Response:
            with self._state:
                found = [m for m in (self._metadata_json(k) for k in ids.split(",")) if m is not None]
            if not found:
                return self._html_error(404, "Not Found")
            return self._container(
                {"size": len(found), "Metadata": found},
                headers={"X-Plex-Container-Start": "0", "X-Plex-Container-Total-Size": str(len(found))},
            )

        @app.get("/hubs/search")
        def search() -> Response:
            query = request.args.get("query", "").strip().lower()
            if not query:
                return self._html_error(400, "Bad Request", "query is required")
            section_raw = request.args.get("sectionId")
            limit_raw = request.args.get("limit")
            limit = int(limit_raw) if limit_raw and limit_raw.isdigit() else None
            with self._state:
                matches: dict[str, list[dict[str, Any]]] = {t: [] for t in _HUB_TITLES}
                for item in self.items.values():
                    if section_raw and str(item.section_id) != section_raw:
                        continue
                    if query in item.title.lower():
                        matches.setdefault(item.type, []).append(self._item_json(item))
                for collection in self.collections.values():
                    if section_raw and str(collection.section_id) != section_raw:
                        continue
                    if query in collection.title.lower():
                        matches["collection"].append(self._collection_json(collection))
            hubs = []
            for hub_type, found in matches.items():
                shown = found[:limit] if limit is not None else found
                hub: dict[str, Any] = {
                    "title": _HUB_TITLES.get(hub_type, hub_type.title()),
                    "type": hub_type,
                    "hubIdentifier": hub_type,
                    "context": f"hub.{hub_type}",
                    "size": len(shown),
                    "more": len(shown) < len(found),
                    "style": "shelf",
                }
                if shown:  # a real PMS leaves Metadata out of an empty hub
                    hub["Metadata"] = shown
                hubs.append(hub)
            return self._container(
                {"size": len(hubs), "Hub": hubs},
                headers={"X-Plex-Container-Start": "0", "X-Plex-Container-Total-Size": str(len(hubs))},
            )

        @app.get("/hubs/continueWatching")
        def continue_watching() -> Response:
            count_raw = request.args.get("count")
            count = int(count_raw) if count_raw and count_raw.isdigit() else None
            with self._state:
                progress = self.watch_progress.get(_request_token() or "", {})
                found = sorted(
                    (self.items[k] for k in progress if k in self.items), key=lambda i: i.updated_at, reverse=True
                )
                shown = found[:count] if count is not None else found
                metadata = [
                    {**self._item_json(i), "viewOffset": progress[i.rating_key], "lastViewedAt": i.updated_at}
                    for i in shown
                ]
            hub: dict[str, Any] = {
                "key": "/hubs/continueWatching/items",
                "hubKey": "/library/metadata/" + ",".join(i.rating_key for i in shown),
                "title": "Continue Watching",
                "type": "mixed",
                "hubIdentifier": "home.continue",
                "context": "hub.home.continue",
                "size": len(shown),
                "more": len(shown) < len(found),
                "style": "hero",
                "promoted": True,
            }
            if shown:  # a real PMS leaves Metadata out of an empty hub
                hub["Metadata"] = metadata
            return self._container(
                {"size": 1, "Hub": [hub]},
                headers={"X-Plex-Container-Start": "0", "X-Plex-Container-Total-Size": "1"},
            )

        @app.get("/status/sessions")
        def status_sessions() -> Response:
            # The spec's security is `token: [admin]`: only the owner's token sees every stream.
            if _request_token() != self.token:
                return self._errors(_ERR_UNAUTHORIZED, 401)
            with self._state:
                metadata = [self._session_json(s) for s in self.sessions if s.rating_key in self.items]
            return self._container(
                {"size": len(metadata), "Metadata": metadata},
                headers={"X-Plex-Container-Start": "0", "X-Plex-Container-Total-Size": str(len(metadata))},
            )

        def jpeg_if(known: bool) -> Response:
            if not known:
                return self._html_error(404, "Not Found")
            return Response(_TINY_JPEG, content_type="image/jpeg")

        @app.get("/library/metadata/<rating_key>/<element>/<int:timestamp>")
        @app.get("/library/metadata/<rating_key>/<element>")
        def metadata_image(rating_key: str, element: str, timestamp: int | None = None) -> Response:
            if element not in ("thumb", "art", "banner", "poster", "clearLogo"):
                return self._html_error(404, "Not Found")
            with self._state:
                return jpeg_if(rating_key in self.items or rating_key in self.collections)

        @app.get("/library/collections/<collection_id>/composite/<int:timestamp>")
        def collection_composite(collection_id: str, timestamp: int) -> Response:
            with self._state:
                return jpeg_if(collection_id in self.collections)

        @app.get("/photo/:/transcode")
        def transcode() -> Response:
            url = request.args.get("url", "")
            if not url:
                return self._html_error(400, "Bad Request", "url is required")
            try:
                width = int(request.args.get("width", "0"))
                height = int(request.args.get("height", "0"))
            except ValueError:
                return self._html_error(400, "Bad Request", "width and height must be integers")
            if width <= 0 or height <= 0:
                return self._html_error(400, "Bad Request", "width and height are required")
            # A server-relative image must exist here; an absolute URL is fetched
            # by a real PMS and not checked by the stand-in.
            local = None
            if not url.startswith(("http://", "https://")):
                local = re.match(r"^/library/(metadata|collections)/([^/?]+)/", urlparse(url).path)
            if local is not None:
                with self._state:
                    known = local.group(2) in (self.items if local.group(1) == "metadata" else self.collections)
                if not known:
                    return self._html_error(404, "Not Found")
            width, height = min(width, _MAX_TRANSCODE_SIDE), min(height, _MAX_TRANSCODE_SIDE)
            if request.args.get("format") in ("jpg", "jpeg"):
                return Response(_TINY_JPEG, content_type="image/jpeg")
            return Response(_png(width, height), content_type="image/png")


# ---------------------------------------------------------------- validation

_SPEC_CACHE: dict[str, Any] = {}
_SPEC_CACHE_LOCK = threading.Lock()

# Operations MediaNest may use that the 2026 file dropped but the 2025 file still
# documents (and the contracts README names): these are checked against the 2025
# file instead. Classic `GET /library/sections` is the listing the brief allows
# explicitly; `GET .../refresh?path=` is the README's targeted scan (2026 only has POST).
_LEGACY_PMS_OPERATIONS = (
    ("GET", re.compile(r"^/library/sections/?$")),
    ("GET", re.compile(r"^/library/sections/\d+/refresh/?$")),
)
_IMAGE_PATH = re.compile(
    r"^/photo/|^/library/(metadata|collections)/[^/]+/(thumb|art|banner|poster|clearLogo|composite)"
)
_PMS_VALIDATION_HOST = "http://localhost:32400"
_PLEX_TV_VALIDATION_HOST = "https://plex.tv"


def load_plex_spec(name: str | Path = PMS_SPEC) -> OpenAPI:
    """The ``openapi_core.OpenAPI`` for a Plex spec file, loaded once per process.

    ``name`` is a file in ``PLEX_CONTRACTS_DIR`` or a path. The spec itself is not
    validated on load: the vendor's 2026 file fails openapi-spec-validator with
    ``ParameterDuplicateError`` (an operation lists X-Plex-Client-Identifier
    twice), which does not affect request or response checks.
    """
    from openapi_core import Config, OpenAPI

    path = Path(name) if isinstance(name, Path) or os.sep in name else PLEX_CONTRACTS_DIR / name
    key = str(path)
    with _SPEC_CACHE_LOCK:
        if key not in _SPEC_CACHE:
            config = Config(
                spec_validator_cls=None,
                # Allowed deviation: openapi-core 0.23 checks a raw image body against
                # the spec's `type: string, format: binary` with the OAS 3.1 validator,
                # which never accepts bytes (openapi-core issue #854). Image bodies are
                # instead checked for the PNG/JPEG signature and then handed on as text.
                extra_media_type_deserializers={
                    "image/jpeg": _image_deserializer(b"\xff\xd8\xff"),
                    "image/png": _image_deserializer(b"\x89PNG\r\n\x1a\n"),
                },
            )
            _SPEC_CACHE[key] = OpenAPI.from_file_path(key, config=config)
        return _SPEC_CACHE[key]


def _image_deserializer(signature: bytes) -> Any:
    def deserialize(value: bytes, **_parameters: str) -> str:
        if not value.startswith(signature):
            raise ValueError(f"body does not start with the {signature!r} image signature")
        return value.decode("latin-1")

    return deserialize


class _RecordedOpenAPIResponse:
    """openapi-core's Response protocol over a RecordedResponse."""

    def __init__(self, response: RecordedResponse) -> None:
        from werkzeug.datastructures import Headers

        self.status_code = response.status
        self.content_type = response.content_type.split(";")[0].strip().lower()
        self.headers = Headers(response.headers)
        self.data = response.body


def _openapi_request(record: RecordedRequest, host: str) -> Any:
    import requests
    from openapi_core.contrib.requests import RequestsOpenAPIRequest

    url = host + record.path + (f"?{record.query_string}" if record.query_string else "")
    prepared = requests.Request(record.method, url, headers=dict(record.headers), data=record.body or None).prepare()
    return RequestsOpenAPIRequest(prepared)


def _describe(error: Exception) -> str:
    """One line per openapi-core error; schema failures list each failing field."""
    cause = error.__cause__
    schema_errors = getattr(cause, "schema_errors", None) or getattr(error, "schema_errors", None)
    if schema_errors:
        fields = "; ".join(
            f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:200]}" for e in schema_errors
        )
        return f"{type(error).__name__}: {fields}"
    text = f"{type(error).__name__}: {error}"
    if cause is not None and str(cause) not in text:
        text += f" ({type(cause).__name__}: {cause})"
    return text if len(text) <= 600 else text[:600] + "..."


def _label(record: RecordedRequest) -> str:
    return f"{record.method} {record.path}" + (f"?{record.query_string}" if record.query_string else "")


def _spec_errors(
    standin: Standin,
    record: RecordedRequest,
    spec: str | Path,
    tv_spec: str | Path,
    check: str,
    response: RecordedResponse | None = None,
) -> list[str]:
    """Errors of one request (check="request") or its answer (check="response")."""
    from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound

    if isinstance(standin, PlexTvStandin):
        api, host = load_plex_spec(tv_spec), _PLEX_TV_VALIDATION_HOST
    else:
        api, host = load_plex_spec(spec), _PMS_VALIDATION_HOST

    def run(openapi: Any) -> list[Exception]:
        oreq = _openapi_request(record, host)
        if check == "request":
            return list(openapi.iter_request_errors(oreq))
        assert response is not None
        return list(openapi.iter_response_errors(oreq, _RecordedOpenAPIResponse(response)))

    errors = run(api)
    if (
        not isinstance(standin, PlexTvStandin)
        and any(isinstance(e, (PathNotFound, OperationNotFound)) for e in errors)
        and any(m == record.method and p.match(record.path) for m, p in _LEGACY_PMS_OPERATIONS)
    ):
        errors = run(load_plex_spec(tv_spec))
    return [f"{_label(record)}: {_describe(e)}" for e in errors]


def validate_plex_requests(
    standin: Standin,
    spec: str | Path = PMS_SPEC,
    *,
    tv_spec: str | Path = PLEX_TV_SPEC,
    contract_checks: bool = True,
) -> list[str]:
    """Check every request ``standin`` received; returns the problems found.

    Plex Media Server requests are checked against ``spec``, plex.tv requests
    against ``tv_spec``: MediaNest's own subset files by default. The
    vendor-contract layer passes the vendor's 2026 file and its 2025 file (the
    last one with ``/api/v2/pins``, ``/user``, ``/resources``); the 2026 file
    lacks the two classic operations of ``_LEGACY_PMS_OPERATIONS``, which are
    then checked against ``tv_spec``. With
    ``contract_checks`` it also applies the contracts README rules the spec files
    do not encode: ``X-Plex-Client-Identifier``, ``X-Plex-Product`` and
    ``X-Plex-Version`` on every call, the token as a header and never in the
    query string, ``Accept: application/json`` on everything but images.
    """
    problems: list[str] = []
    for record in list(standin.requests):
        problems.extend(_spec_errors(standin, record, spec, tv_spec, "request"))
        if not contract_checks:
            continue
        headers = {k.lower(): v for k, v in record.headers.items()}
        for name in ("X-Plex-Client-Identifier", "X-Plex-Product", "X-Plex-Version"):
            if not headers.get(name.lower()):
                problems.append(f"{_label(record)}: contract: {name} header missing")
        if "X-Plex-Token" in record.query:
            problems.append(f"{_label(record)}: contract: X-Plex-Token sent in the query string, send it as a header")
        if not _IMAGE_PATH.match(record.path) and "application/json" not in headers.get("accept", ""):
            problems.append(f"{_label(record)}: contract: Accept: application/json missing (Plex answers XML)")
    return problems


def validate_plex_responses(
    standin: Standin, spec: str | Path = PMS_SPEC, *, tv_spec: str | Path = PLEX_TV_SPEC
) -> list[str]:
    """Check every recorded answer of ``standin`` against the spec's responses.

    Nothing is skipped: an answer whose status the operation does not document
    shows up as ``ResponseNotFound``, an XML or truncated body as a media-type or
    deserialisation error.
    """
    problems: list[str] = []
    for record in list(standin.requests):
        response = record.extra.get("response")
        if response is None:
            problems.append(f"{_label(record)}: no recorded response")
            continue
        problems.extend(_spec_errors(standin, record, spec, tv_spec, "response", response))
    return problems
