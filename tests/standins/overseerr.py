"""A stateful local Overseerr (API v1) for MediaNest's tests.

``OverseerrStandin`` serves the part of Overseerr's API that MediaNest uses,
under ``/api/v1`` on 127.0.0.1, and keeps users, a small TMDB catalogue,
media records and requests in memory so a test can drive whole flows
(search -> request -> approve -> available -> webhook).

Everything it answers was built from the contract files in
``tests/contracts/overseerr``: MediaNest's own OpenAPI description of the part
of the API it uses (``overseerr-subset.yml``, which agrees with the document
the real server validates requests against; the vendor-contract layer checks
that), the bodies a real Overseerr returned (``real-responses/``) and the
webhook payloads it posted (``webhooks/``).
Where a behaviour was not captured it follows Overseerr's server code
(``server/routes/request.ts``, ``server/entity/MediaRequest.ts``,
``server/middleware/auth.ts``); those places are marked "per Overseerr's code".

Quirks of the real server that the stand-in reproduces:

* Every request is checked against the OpenAPI file before any route
  runs (the real server uses its ``overseerr-api.yml``; the stand-in the
  subset file, whose parameters, enums and required lists are the same),
  in the order of express-openapi-validator: no ``X-Api-Key`` header (and
  no ``connect.sid`` cookie) -> **401**
  ``{"message":"cookie 'connect.sid' required","errors":[{"path","message"}]}``;
  invalid path/query/body -> **400** ``{"message","errors":[{path,message,errorCode}]}``
  with AJV-style messages (``request.body.mediaType should be equal to one of
  the allowed values: movie, tv``); an unknown query parameter -> 400
  ``Unknown query parameter 'x'``; a raw reserved character in a query value
  -> 400 ``Parameter 'query' must be url encoded...`` -- so ``query=The+Matrix``
  fails and ``query=The%20Matrix`` works (upstream issue 2010; ``requests``'
  ``params=`` encodes spaces as ``+``). Paths outside the spec -> 404,
  methods outside it -> 405.
* Only then the key is checked: a wrong key, an ``X-API-User`` naming an
  unknown user, or a user lacking the permission -> **403**
  ``{"status":403,"error":"You do not have permission to access this endpoint"}``.
* The key acts as the admin (user 1) unless ``X-API-User: <id>`` names the
  user to act as. Requests made as a user with ADMIN / MANAGE_REQUESTS /
  AUTO_APPROVE are approved at once; others stay pending. Users who lack
  MANAGE_REQUESTS / REQUEST_VIEW only see their own requests.
* Request objects carry ``serverId``, ``profileId``, ``rootFolder`` as
  ``null`` although the spec types them as number/string (documented quirk).
* ``GET /request`` pages with ``take``/``skip`` (default page size 20, as
  captured) and answers ``pageInfo`` ``{pages, pageSize, results, page}``;
  ``GET /user`` defaults to 10 per page.
* A duplicate movie request (same TMDB id and 4K flag, earlier request not
  declined) -> **409** ``{"message":"Request for this media already exists."}``.
  A series request whose seasons are all requested or present already -> **202**
  ``{"message":"No seasons available to request"}`` (that is what Overseerr's
  code answers for series; it never answers 409 there).
* A user whose quota is exhausted -> **403** ``{"message":"Movie Quota exceeded."}``
  (``Series Quota exceeded.`` for series).
* ``GET /request/{id}`` for a missing id -> **404** ``{"message":"Request not found."}``.
* ``POST /request/{id}/approve`` answers the request with the media status as it
  was *before* the approval (as captured); the media turns PROCESSING right
  after, which the next read shows. Declining a movie request sets the media
  back to UNKNOWN.
* ``GET /tv/{id}`` lists season 0 ("Specials") in ``seasons`` like TMDB does;
  ``numberOfSeasons`` does not count it.
* ``webhook_payload()`` renders the default webhook template: every value a
  string, statuses as names, ``tvdbId`` ``""`` for films, ``media``/``request``
  ``null`` when absent.

Not reproduced: cookie sessions, TMDB person results, issues, and every
endpoint not listed in ``OverseerrStandin``'s docstring (404: they are not in
the subset file; with the vendor's file as ``spec_path`` they answer 501).
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum, IntFlag
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import yaml
from flask import g, jsonify, request
from flask.typing import ResponseReturnValue
from openapi_core import OpenAPI
from openapi_core.casting.schemas.exceptions import CastError
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest
from openapi_core.deserializing.exceptions import DeserializeError
from openapi_core.templating.media_types.exceptions import MediaTypeNotFound
from openapi_core.templating.paths.exceptions import PathError
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_core.validation.request.exceptions import (
    InvalidRequestBody,
    MissingRequestBodyError,
    MissingRequiredParameter,
    ParameterValidationError,
    SecurityValidationError,
)
from openapi_core.validation.schemas.exceptions import InvalidSchemaValue
from werkzeug.datastructures import Headers
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request as WerkzeugRequest
from werkzeug.wrappers import Response as WerkzeugResponse

from tests.standins.base import CONTRACTS, VENDOR_CONTRACTS, RecordedRequest, Standin

__all__ = [
    "CONTRACTS_DIR",
    "OVERSEERR_SPEC",
    "VENDOR_OVERSEERR_SPEC",
    "WEBHOOK_TEMPLATE",
    "DOCUMENTED_NULL_FIELDS",
    "MediaStatus",
    "RequestStatus",
    "Permission",
    "OverseerrContract",
    "OverseerrStandin",
    "load_contract",
    "validate_recorded_requests",
    "validate_recorded_responses",
]

CONTRACTS_DIR = CONTRACTS
#: MediaNest's own description of the part of the API it uses (in the repository).
OVERSEERR_SPEC = CONTRACTS_DIR / "overseerr" / "overseerr-subset.yml"
#: The vendor's own document, for the vendor-contract layer only (not in the repository).
VENDOR_OVERSEERR_SPEC = VENDOR_CONTRACTS / "overseerr" / "overseerr-api.yml"
WEBHOOK_TEMPLATE = CONTRACTS_DIR / "overseerr" / "webhooks" / "default_template.json"

#: Response fields the real server sends as ``null`` against the spec (README).
DOCUMENTED_NULL_FIELDS = frozenset({"serverId", "profileId", "rootFolder"})
# Where Overseerr links a title Plex has (its default web app) and the Plex server it names.
PLEX_WEB_APP = "https://app.plex.tv/desktop"
PLEX_MACHINE_ID = "0c0ffee0" * 5


class MediaStatus(IntEnum):
    """Media availability, as in the spec's ``MediaInfo.status``."""

    UNKNOWN = 1
    PENDING = 2
    PROCESSING = 3
    PARTIALLY_AVAILABLE = 4
    AVAILABLE = 5


class RequestStatus(IntEnum):
    """Request status; the spec documents 1-3, Overseerr's code adds 4 and 5."""

    PENDING = 1
    APPROVED = 2
    DECLINED = 3
    FAILED = 4
    COMPLETED = 5


#: Requests that no longer block a new request for the same media.
_FINISHED_REQUEST_STATUSES = (RequestStatus.DECLINED, RequestStatus.COMPLETED)


class Permission(IntFlag):
    """Overseerr permission bits (server/lib/permissions.ts)."""

    NONE = 0
    ADMIN = 2
    MANAGE_SETTINGS = 4
    MANAGE_USERS = 8
    MANAGE_REQUESTS = 16
    REQUEST = 32
    VOTE = 64
    AUTO_APPROVE = 128
    AUTO_APPROVE_MOVIE = 256
    AUTO_APPROVE_TV = 512
    REQUEST_4K = 1024
    REQUEST_4K_MOVIE = 2048
    REQUEST_4K_TV = 4096
    REQUEST_ADVANCED = 8192
    REQUEST_VIEW = 16384
    AUTO_APPROVE_4K = 32768
    AUTO_APPROVE_4K_MOVIE = 65536
    AUTO_APPROVE_4K_TV = 131072
    REQUEST_MOVIE = 262144
    REQUEST_TV = 524288
    MANAGE_ISSUES = 1048576
    VIEW_ISSUES = 2097152
    CREATE_ISSUES = 4194304
    AUTO_REQUEST = 8388608
    AUTO_REQUEST_MOVIE = 16777216
    AUTO_REQUEST_TV = 33554432


def _has_any(value: int, *permissions: Permission) -> bool:
    """Overseerr's ``hasPermission(..., {type: 'or'})``: ADMIN has everything."""
    if value & Permission.ADMIN:
        return True
    return any(value & p for p in permissions)


# --------------------------------------------------------------------------
# Error bodies (the captured ones are checked against real-responses/ in tests)
# --------------------------------------------------------------------------

FORBIDDEN_BODY = {"status": 403, "error": "You do not have permission to access this endpoint"}
REQUEST_NOT_FOUND_BODY = {"message": "Request not found."}
DUPLICATE_REQUEST_BODY = {"message": "Request for this media already exists."}
NO_SEASONS_BODY = {"message": "No seasons available to request"}

_RESERVED_CHARACTERS = re.compile(r"[:/?#\[\]@!$&'()*+,;=]")
_TEMPLATE_VARIABLE = re.compile(r"\{\{(\w+)\}\}")
_PARAM_LOCATIONS = {"query": "query", "path": "params", "header": "headers", "cookie": "cookies"}


def _timestamp(moment: datetime) -> str:
    """Format like Overseerr/TypeORM: ``2026-11-21T22:42:10.000Z``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parse_timestamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _coerce_enum(value: int | str, enum: type[IntEnum]) -> IntEnum:
    if isinstance(value, str):
        try:
            return enum[value.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown {enum.__name__} {value!r}") from None
    return enum(int(value))


# --------------------------------------------------------------------------
# The contract: spec lookups, request checks, response checks
# --------------------------------------------------------------------------


@dataclass
class Problem:
    """One reason the real server would reject a request."""

    status: int
    path: str
    message: str
    full_message: str
    error_code: str | None = None

    def as_error(self) -> dict[str, str]:
        error = {"path": self.path, "message": self.message}
        if self.error_code:
            error["errorCode"] = self.error_code
        return error


def _data_path(elements: Iterable[Any]) -> str:
    """AJV data path: ``.seasons[0]``."""
    return "".join(f"[{e}]" if isinstance(e, int) else f".{e}" for e in elements)


def _schema_error_problem(schema_error: Any, base: str) -> Problem:
    """Turn a jsonschema error into AJV's wording, as express-openapi-validator reports it."""
    validator = schema_error.validator
    where = base + _data_path(schema_error.path)
    expected = schema_error.validator_value
    if validator == "required":
        match = re.search(r"'(.+)' is a required property", schema_error.message)
        prop = match.group(1) if match else str(expected)
        message = f"should have required property '{prop}'"
        return Problem(400, f"{where}.{prop}", message, f"request{where} {message}", "required.openapi.validation")
    if validator == "enum":
        message = "should be equal to one of the allowed values: " + ", ".join(str(v) for v in expected)
    elif validator == "type":
        message = "should be " + (",".join(expected) if isinstance(expected, list) else str(expected))
    elif validator == "oneOf":
        message = "should match exactly one schema in oneOf"
    elif validator == "anyOf":
        message = "should match some schema in anyOf"
    elif validator == "minimum":
        message = f"should be >= {expected}"
    elif validator == "maximum":
        message = f"should be <= {expected}"
    else:
        message = schema_error.message
    return Problem(400, where, message, f"request{where} {message}", f"{validator}.openapi.validation")


class OverseerrContract:
    """The OpenAPI file, loaded once: finds operations and checks requests/responses."""

    def __init__(self, spec_path: str | Path = OVERSEERR_SPEC) -> None:
        self.spec_path = Path(spec_path)
        self.document: dict[str, Any] = yaml.safe_load(self.spec_path.read_text())
        self.openapi = OpenAPI.from_file_path(str(self.spec_path))
        self.base_path = self._server_base_path()
        routes = []
        for template in self.document["paths"]:
            pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template))
            routes.append((template.count("{"), template, re.compile(f"^{pattern}$")))
        # Literal segments win over parameters (/request/count before /request/{requestId}).
        self._routes = sorted(routes)

    def _server_base_path(self) -> str:
        server = self.document.get("servers", [{"url": "/"}])[0]
        url = server["url"]
        for name, variable in (server.get("variables") or {}).items():
            url = url.replace("{" + name + "}", str(variable.get("default", "")))
        return urlparse(url).path.rstrip("/")

    # -- lookups ---------------------------------------------------------

    def find_template(self, path: str) -> str | None:
        """The spec path template for a full request path (``/api/v1/...``)."""
        if not path.startswith(self.base_path + "/"):
            return None
        relative = path[len(self.base_path) :]
        for _, template, regex in self._routes:
            if regex.match(relative):
                return template
        return None

    def operation(self, template: str, method: str) -> dict[str, Any] | None:
        return self.document["paths"][template].get(method.lower())

    def _resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = self.document
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = target
        return node

    def parameters(self, template: str, method: str) -> list[dict[str, Any]]:
        path_item = self.document["paths"][template]
        operation = path_item.get(method.lower()) or {}
        declared = [self._resolve(p) for p in path_item.get("parameters", [])]
        declared += [self._resolve(p) for p in operation.get("parameters", [])]
        return declared

    def is_secured(self, template: str, method: str) -> bool:
        operation = self.operation(template, method) or {}
        security = operation.get("security", self.document.get("security", []))
        return bool(security)

    def _required_body_properties(self, template: str, method: str) -> list[str]:
        operation = self.operation(template, method) or {}
        body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
        schema = self._resolve(body.get("schema", {}))
        return list(schema.get("required", []))

    # -- request checks ----------------------------------------------------

    def request_problems(
        self,
        werkzeug_request: WerkzeugRequest,
        raw_query: str,
    ) -> list[Problem]:
        """What the real server's validator would reject, most important first.

        All problems share one status: 404/405 (unknown path/method), 401 (no
        credentials), 415 (body type) or 400 (everything else).
        """
        method = werkzeug_request.method
        path = werkzeug_request.path
        template = self.find_template(path)
        if template is None:
            return [Problem(404, path, "not found", "not found")]
        if self.operation(template, method) is None:
            text = f"{method} method not allowed"
            return [Problem(405, path, text, text)]

        if self.is_secured(template, method):
            has_key = "X-Api-Key" in werkzeug_request.headers
            has_cookie = "connect.sid" in werkzeug_request.cookies
            if not (has_key or has_cookie):
                text = "cookie 'connect.sid' required"
                return [Problem(401, path, text, text)]

        declared = self.parameters(template, method)
        query_names = {p["name"] for p in declared if p.get("in") == "query"}
        raw_pairs: list[tuple[str, str]] = []
        for pair in raw_query.split("&") if raw_query else []:
            if not pair:
                continue
            key, _, value = pair.partition("=")
            raw_pairs.append((unquote(key.replace("+", " ")), value))
        for name, _ in raw_pairs:
            if name not in query_names:
                text = f"Unknown query parameter '{name}'"
                return [Problem(400, f".query.{name}", text, text)]
        allow_reserved = {p["name"] for p in declared if p.get("in") == "query" and p.get("allowReserved")}
        for name, value in raw_pairs:
            if name not in allow_reserved and _RESERVED_CHARACTERS.search(value):
                text = f"Parameter '{name}' must be url encoded. Its value may not contain reserved characters."
                return [Problem(400, f".query.{name}", text, text)]

        problems: list[Problem] = []
        openapi_request = WerkzeugOpenAPIRequest(werkzeug_request)
        for error in self.openapi.iter_request_errors(openapi_request):
            problems.extend(self._translate(error, template, method, werkzeug_request))
        for status in (415, 400):
            selected = [p for p in problems if p.status == status]
            if selected:
                return selected
        return []

    def _translate(
        self, error: Exception, template: str, method: str, werkzeug_request: WerkzeugRequest
    ) -> list[Problem]:
        """One openapi-core error as the problems express-openapi-validator reports."""
        cause = error.__cause__
        if isinstance(error, (SecurityValidationError, PathError)):
            return []  # checked before openapi-core runs
        if isinstance(error, MissingRequiredParameter):
            location = _PARAM_LOCATIONS.get(error.location, error.location)
            message = f"should have required property '{error.name}'"
            return [
                Problem(
                    400,
                    f".{location}.{error.name}",
                    message,
                    f"request.{location} {message}",
                    "required.openapi.validation",
                )
            ]
        if isinstance(error, ParameterValidationError):
            base = f".{_PARAM_LOCATIONS.get(error.location, error.location)}.{error.name}"
            if isinstance(cause, InvalidSchemaValue):
                return [_schema_error_problem(se, base) for se in cause.schema_errors]
            if isinstance(cause, CastError):
                message = f"should be {cause.type}"
                return [Problem(400, base, message, f"request{base} {message}", "type.openapi.validation")]
            return [Problem(400, base, str(error), f"request{base} {error}")]
        if isinstance(error, InvalidRequestBody) and isinstance(cause, InvalidSchemaValue):
            return [_schema_error_problem(se, ".body") for se in cause.schema_errors]
        body_missing = isinstance(error, MissingRequestBodyError) or (
            isinstance(cause, MediaTypeNotFound) and not werkzeug_request.get_data()
        )
        if body_missing:  # express parses a missing body as {}
            required = self._required_body_properties(template, method)
            if not required:
                return [
                    Problem(
                        400, ".body", "should be object", "request.body should be object", "type.openapi.validation"
                    )
                ]
            return [
                Problem(
                    400,
                    f".body.{prop}",
                    f"should have required property '{prop}'",
                    f"request.body should have required property '{prop}'",
                    "required.openapi.validation",
                )
                for prop in required
            ]
        if isinstance(cause, MediaTypeNotFound):
            text = f"unsupported media type {werkzeug_request.mimetype}"
            return [Problem(415, werkzeug_request.path, text, text)]
        if isinstance(cause, DeserializeError):
            return [Problem(400, ".body", "Unexpected token in JSON", "Unexpected token in JSON")]
        return [Problem(400, werkzeug_request.path, str(error), str(error))]

    # -- response checks ---------------------------------------------------

    def response_errors(
        self,
        werkzeug_request: WerkzeugRequest,
        status: int,
        body: bytes,
        content_type: str,
        *,
        tolerate_documented_quirks: bool = True,
        include_undocumented_statuses: bool = False,
    ) -> list[str]:
        """Check one answer against the spec's response schema with openapi-core."""
        response = _StoredResponse(status, body, content_type)
        messages: list[str] = []
        for error in self.openapi.iter_response_errors(WerkzeugOpenAPIRequest(werkzeug_request), response):
            if isinstance(error, PathError):
                continue  # the request itself was outside the spec; validate_requests reports it
            if isinstance(error, ResponseNotFound):
                if include_undocumented_statuses:
                    messages.append(f"status {status} is not documented in the spec")
                continue
            if not isinstance(error.__cause__, InvalidSchemaValue):
                messages.append(f"{type(error).__name__}: {error}")
                continue
            for schema_error in error.__cause__.schema_errors:
                if tolerate_documented_quirks and _is_documented_quirk(schema_error):
                    continue
                where = "/".join(str(p) for p in schema_error.path) or "(root)"
                messages.append(f"{where}: {schema_error.message}")
        return messages


def _is_documented_quirk(schema_error: Any) -> bool:
    """``null`` in ``serverId``/``profileId``/``rootFolder`` -- and nothing else."""
    path = list(schema_error.path)
    return (
        schema_error.validator == "type"
        and schema_error.instance is None
        and bool(path)
        and path[-1] in DOCUMENTED_NULL_FIELDS
    )


class _StoredResponse:
    """The ``openapi_core`` Response protocol over a recorded answer."""

    def __init__(self, status: int, body: bytes, content_type: str) -> None:
        self.status_code = status
        self.data = body
        self.content_type = content_type or "application/octet-stream"
        self.headers = Headers({"Content-Type": self.content_type})


_CONTRACTS: dict[Path, OverseerrContract] = {}
_CONTRACTS_LOCK = threading.Lock()


def load_contract(spec_path: str | Path = OVERSEERR_SPEC) -> OverseerrContract:
    """The parsed spec, cached per file (loading takes about two seconds)."""
    key = Path(spec_path).resolve()
    with _CONTRACTS_LOCK:
        if key not in _CONTRACTS:
            _CONTRACTS[key] = OverseerrContract(key)
        return _CONTRACTS[key]


def _request_from_record(record: RecordedRequest) -> WerkzeugRequest:
    headers = Headers(list(record.headers.items()))
    host = headers.get("Host", "127.0.0.1")
    builder = EnvironBuilder(
        method=record.method,
        path=record.path,
        query_string=record.query_string,
        headers=headers,
        data=record.body or None,
        base_url=f"http://{host}",
    )
    return WerkzeugRequest(builder.get_environ())


def _describe(record: RecordedRequest) -> str:
    query = f"?{record.query_string}" if record.query_string else ""
    return f"{record.method} {record.path}{query}"


def validate_recorded_requests(records: Iterable[RecordedRequest], spec_path: str | Path = OVERSEERR_SPEC) -> list[str]:
    """Validate recorded requests against the spec with openapi-core.

    Also reports what express-openapi-validator adds on top of the schema
    (unknown query parameters, raw reserved characters such as ``+``) and
    missing credentials. One string per problem: ``"METHOD /path?query: message"``.
    """
    contract = load_contract(spec_path)
    errors: list[str] = []
    for record in records:
        for problem in contract.request_problems(_request_from_record(record), record.query_string):
            errors.append(f"{_describe(record)}: {problem.full_message}")
    return errors


def validate_recorded_responses(
    records: Iterable[RecordedRequest],
    spec_path: str | Path = OVERSEERR_SPEC,
    *,
    tolerate_documented_quirks: bool = True,
    include_undocumented_statuses: bool = False,
) -> list[str]:
    """Validate the answers stored on recorded requests (``extra["response"]``).

    The spec documents success statuses only, so error answers (400, 401,
    403, 404, 409, ...) are skipped unless ``include_undocumented_statuses``.
    """
    contract = load_contract(spec_path)
    errors: list[str] = []
    for record in records:
        answer = record.extra.get("response")
        if answer is None:
            continue
        for message in contract.response_errors(
            _request_from_record(record),
            answer["status"],
            answer["body"],
            answer["content_type"],
            tolerate_documented_quirks=tolerate_documented_quirks,
            include_undocumented_statuses=include_undocumented_statuses,
        ):
            errors.append(f"{_describe(record)} -> {answer['status']}: {message}")
    return errors


# --------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------


@dataclass
class User:
    id: int
    email: str
    username: str
    plex_username: str
    plex_id: int | None
    permissions: int
    avatar: str
    created_at: datetime
    updated_at: datetime
    user_type: int = 1  # 1 = Plex user, 2 = local user
    display_name: str | None = None
    movie_quota_limit: int | None = None
    movie_quota_days: int | None = None
    tv_quota_limit: int | None = None
    tv_quota_days: int | None = None
    movie_quota_exceeded: bool = False
    tv_quota_exceeded: bool = False


@dataclass
class SeasonInfo:
    season_number: int
    episode_count: int
    name: str
    air_date: str | None
    id: int


@dataclass
class Title:
    """A TMDB title as the stand-in's catalogue knows it."""

    media_type: str  # "movie" | "tv"
    tmdb_id: int
    title: str
    date: str  # releaseDate (movie) / firstAirDate (tv), YYYY-MM-DD
    overview: str
    poster_path: str
    backdrop_path: str
    imdb_id: str | None = None
    tvdb_id: int | None = None
    original_language: str = "en"
    genre_ids: list[int] = field(default_factory=list)
    popularity: float = 10.0
    vote_average: float = 7.0
    vote_count: int = 1000
    runtime: int | None = None
    seasons: list[SeasonInfo] = field(default_factory=list)
    last_air_date: str | None = None
    origin_country: list[str] = field(default_factory=lambda: ["US"])


@dataclass
class MediaSeason:
    id: int
    season_number: int
    status: MediaStatus
    status4k: MediaStatus
    created_at: datetime
    updated_at: datetime


@dataclass
class Media:
    id: int
    media_type: str
    tmdb_id: int
    tvdb_id: int | None
    imdb_id: str | None
    status: MediaStatus
    status4k: MediaStatus
    created_at: datetime
    updated_at: datetime
    last_season_change: datetime
    media_added_at: datetime | None = None
    seasons: dict[int, MediaSeason] = field(default_factory=dict)
    rating_key: str | None = None  # Plex's, once Plex has the title
    plex_url: str | None = None  # what Overseerr computes from it (``plexUrl``)


@dataclass
class SeasonRequest:
    id: int
    season_number: int
    status: RequestStatus
    created_at: datetime
    updated_at: datetime


@dataclass
class MediaRequest:
    id: int
    status: RequestStatus
    media_id: int
    type: str
    is4k: bool
    requested_by: int
    modified_by: int | None
    created_at: datetime
    updated_at: datetime
    seasons: list[SeasonRequest] = field(default_factory=list)
    server_id: int | None = None
    profile_id: int | None = None
    root_folder: str | None = None
    language_profile_id: int | None = None
    tags: list[int] | None = None
    is_auto_request: bool = False


_GENRES = {
    12: "Adventure",
    18: "Drama",
    28: "Action",
    53: "Thriller",
    878: "Science Fiction",
    10759: "Action & Adventure",
    10765: "Sci-Fi & Fantasy",
}

_IMAGE_BASE = "https://image.tmdb.org/t/p/w600_and_h900_bestv2"


def _seed_users() -> list[User]:
    """The two users of real-responses/user_list.json (both carry plexId 1 there)."""
    created = _parse_timestamp("2026-11-21T22:40:54.000Z")
    return [
        User(
            id=1,
            email="admin@seerr.dev",
            username="admin",
            plex_username="admin",
            plex_id=1,
            permissions=int(Permission.ADMIN),
            avatar="https://gravatar.com/avatar/abe004981d8c301dd39ae36ee1d5d18d?default=mm&size=200",
            created_at=created,
            updated_at=created,
        ),
        User(
            id=2,
            email="friend@seerr.dev",
            username="friend",
            plex_username="friend",
            plex_id=1,
            permissions=int(Permission.REQUEST),
            avatar="https://gravatar.com/avatar/c77fdc27cab83732b8623d2ea873d330?default=mm&size=200",
            created_at=created,
            updated_at=created,
        ),
    ]


def _seed_catalogue() -> list[Title]:
    """The Matrix and Game of Thrones as the captured files show them, plus two sequels.

    Titles, TMDB/TVDB/IMDb ids, overviews and posters of 603 and 1399 come from
    the captured webhooks and media records; popularity/votes, backdrops and
    the sequels' posters are stand-in values.
    """
    got_season_dates = [
        "2011-04-17",
        "2012-04-01",
        "2013-03-31",
        "2014-04-06",
        "2015-04-12",
        "2016-04-24",
        "2017-07-16",
        "2019-04-14",
    ]
    got_episodes = [10, 10, 10, 10, 10, 10, 7, 6]
    got_seasons = [SeasonInfo(0, 1, "Specials", None, 1399_00)] + [
        SeasonInfo(n, got_episodes[n - 1], f"Season {n}", got_season_dates[n - 1], 1399_00 + n) for n in range(1, 9)
    ]
    return [
        Title(
            media_type="movie",
            tmdb_id=603,
            title="The Matrix",
            date="1999-03-30",
            overview=(
                "Set in the 22nd century, The Matrix tells the story of a computer hacker who joins a group "
                "of underground insurgents fighting the vast and powerful computers who now rule the earth."
            ),
            poster_path="/f89U3ADr1oiB1s9GkdPOEpXUk5H.jpg",
            backdrop_path="/standin-603-backdrop.jpg",
            imdb_id="tt0133093",
            genre_ids=[28, 878],
            popularity=80.0,
            vote_average=8.2,
            vote_count=25000,
            runtime=136,
        ),
        Title(
            media_type="movie",
            tmdb_id=604,
            title="The Matrix Reloaded",
            date="2003-05-15",
            overview="Neo and the rebels race against the machines to defend Zion.",
            poster_path="/standin-604-poster.jpg",
            backdrop_path="/standin-604-backdrop.jpg",
            imdb_id="tt0234215",
            genre_ids=[28, 878],
            popularity=40.0,
            vote_average=7.0,
            vote_count=10000,
            runtime=138,
        ),
        Title(
            media_type="movie",
            tmdb_id=605,
            title="The Matrix Revolutions",
            date="2003-11-05",
            overview="The war between humans and machines reaches its end.",
            poster_path="/standin-605-poster.jpg",
            backdrop_path="/standin-605-backdrop.jpg",
            imdb_id="tt0242653",
            genre_ids=[28, 878],
            popularity=35.0,
            vote_average=6.7,
            vote_count=9000,
            runtime=129,
        ),
        Title(
            media_type="tv",
            tmdb_id=1399,
            title="Game of Thrones",
            date="2011-04-17",
            overview="Seven noble families fight for control of the mythical land of Westeros.",
            poster_path="/1XS1oqL89opfnbLl8WnZY1O1uJx.jpg",
            backdrop_path="/standin-1399-backdrop.jpg",
            tvdb_id=121361,
            genre_ids=[10765, 18, 10759],
            popularity=100.0,
            vote_average=8.4,
            vote_count=22000,
            seasons=got_seasons,
            last_air_date="2019-05-19",
        ),
    ]


# --------------------------------------------------------------------------
# The stand-in
# --------------------------------------------------------------------------


class OverseerrStandin(Standin):
    """Stateful Overseerr on 127.0.0.1, answering under ``/api/v1``.

    Endpoints: ``GET /status``, ``GET /auth/me``, ``GET /user``,
    ``GET /search``, ``GET /movie/{id}``, ``GET /tv/{id}``,
    ``POST /request``, ``GET /request``, ``GET /request/count``,
    ``GET /request/{id}``, ``POST /request/{id}/{approve|decline}``,
    ``GET /settings/main``. Other spec endpoints answer 501.

    Attributes (plain data, guarded by ``lock``): ``users`` (id -> User),
    ``catalogue`` ((media_type, tmdb_id) -> Title), ``media``
    ((media_type, tmdb_id) -> Media), ``media_requests`` (id -> MediaRequest),
    ``notifications`` (list of ``(notification_type, request_id)`` the real
    server would have sent), ``requests`` (every HTTP request received, from
    ``Standin``; each carries the answer in ``extra["response"]``).
    """

    name = "overseerr"

    def __init__(
        self,
        api_key: str = "testkey",
        *,
        seed_users: bool = True,
        seed_catalogue: bool = True,
        spec_path: str | Path = OVERSEERR_SPEC,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__()
        self.api_key = api_key
        self.spec_path = Path(spec_path)
        self.contract = load_contract(self.spec_path)
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.lock = threading.RLock()
        self._seed_users = seed_users
        self._seed_catalogue = seed_catalogue
        self.reset()
        self.app.json.sort_keys = False  # keep Overseerr's field order
        self._install_hooks()
        self._install_routes()

    # -- state helpers -------------------------------------------------------

    def reset(self) -> None:
        """Back to the seeded state (recorded HTTP requests are kept; see ``clear_requests``)."""
        with self.lock:
            self.users: dict[int, User] = {u.id: u for u in (_seed_users() if self._seed_users else [])}
            self.catalogue: dict[tuple[str, int], Title] = {
                (t.media_type, t.tmdb_id): t for t in (_seed_catalogue() if self._seed_catalogue else [])
            }
            # People TMDB's multi-search also finds: (tmdb id, name, popularity).
            self.people: list[tuple[int, str, float]] = []
            self.media: dict[tuple[str, int], Media] = {}
            self.media_requests: dict[int, MediaRequest] = {}
            self.notifications: list[tuple[str, int | None]] = []
            # Fault modes: TMDB out of Overseerr's reach (search answers nothing, details 500),
            # and routes whose answer never comes (by route name, e.g. "search").
            self.tmdb_reachable = True
            self.hanging: set[str] = set()
            # Overseerr's webhook agent posts the creation's notification from its subscriber,
            # before the HTTP answer leaves: ``webhook_sink`` receives each body at that moment.
            self.webhook_sink: Callable[[dict[str, Any]], None] | None = None
            # Seconds Overseerr takes to make a request (its TMDB look-ups); it finishes the
            # request even when the client has given up waiting.
            self.create_seconds = 0.0
            self._next_ids = {
                "user": max(self.users, default=0) + 1,
                "media": 1,
                "request": 1,
                "season": 1,
                "media_season": 1,
            }

    def _new_id(self, kind: str) -> int:
        value = self._next_ids[kind]
        self._next_ids[kind] = value + 1
        return value

    @property
    def api_url(self) -> str:
        """Base URL including ``/api/v1``."""
        return self.url + self.contract.base_path

    def add_user(
        self,
        username: str,
        *,
        plex_id: int | None,
        email: str | None = None,
        permissions: int = Permission.REQUEST,
        user_id: int | None = None,
        display_name: str | None = None,
        user_type: int = 1,
        avatar: str | None = None,
    ) -> int:
        """Add an Overseerr user (a Plex user by default) and return its id.

        ``plex_id`` is what ``GET /user`` reports as ``plexId``: MediaNest maps
        its users to Overseerr users through it.
        """
        with self.lock:
            new_id = user_id if user_id is not None else self._new_id("user")
            if new_id in self.users:
                raise ValueError(f"user id {new_id} already exists")
            self._next_ids["user"] = max(self._next_ids["user"], new_id + 1)
            now = self.clock()
            digest = hashlib.sha1(f"{plex_id}:{username}".encode()).hexdigest()[:16]
            self.users[new_id] = User(
                id=new_id,
                email=email or f"{username}@example.com",
                username=username,
                plex_username=username,
                plex_id=plex_id,
                permissions=int(permissions),
                avatar=avatar or f"https://plex.tv/users/{digest}/avatar?c=1700000000",
                created_at=now,
                updated_at=now,
                user_type=user_type,
                display_name=display_name,
            )
            return new_id

    def set_quota_exceeded(self, user_id: int, exceeded: bool = True, *, media_type: str | None = None) -> None:
        """Make request creation by this user answer 403 (``media_type`` None = both)."""
        with self.lock:
            user = self.users[user_id]
            if media_type in (None, "movie"):
                user.movie_quota_exceeded = exceeded
            if media_type in (None, "tv"):
                user.tv_quota_exceeded = exceeded

    def add_person(self, tmdb_id: int, name: str, popularity: float = 10.0) -> None:
        """A person the search finds beside films and series (``mediaType: person``), as TMDB's multi-search does."""
        with self.lock:
            self.people.append((tmdb_id, name, popularity))

    def add_title(
        self,
        media_type: str,
        tmdb_id: int,
        title: str,
        *,
        date: str,
        overview: str = "",
        poster_path: str | None = None,
        season_episode_counts: Mapping[int, int] | None = None,
        tvdb_id: int | None = None,
        imdb_id: str | None = None,
    ) -> None:
        """Add a title to the catalogue (``season_episode_counts``: season number -> episodes)."""
        if media_type not in ("movie", "tv"):
            raise ValueError("media_type must be 'movie' or 'tv'")
        seasons = [
            SeasonInfo(number, count, "Specials" if number == 0 else f"Season {number}", None, tmdb_id * 100 + number)
            for number, count in sorted((season_episode_counts or {}).items())
        ]
        with self.lock:
            self.catalogue[(media_type, tmdb_id)] = Title(
                media_type=media_type,
                tmdb_id=tmdb_id,
                title=title,
                date=date,
                overview=overview,
                poster_path=poster_path or f"/standin-{tmdb_id}-poster.jpg",
                backdrop_path=f"/standin-{tmdb_id}-backdrop.jpg",
                imdb_id=imdb_id,
                tvdb_id=tvdb_id,
                seasons=seasons,
            )

    def _ensure_media(self, media_type: str, tmdb_id: int) -> Media:
        key = (media_type, tmdb_id)
        if key not in self.media:
            title = self.catalogue.get(key)
            now = self.clock()
            self.media[key] = Media(
                id=self._new_id("media"),
                media_type=media_type,
                tmdb_id=tmdb_id,
                tvdb_id=title.tvdb_id if title else None,
                imdb_id=title.imdb_id if title else None,
                status=MediaStatus.UNKNOWN,
                status4k=MediaStatus.UNKNOWN,
                created_at=now,
                updated_at=now,
                last_season_change=now,
            )
        return self.media[key]

    def set_media_status(
        self,
        tmdb_id: int,
        media_type: str,
        status: int | str,
        *,
        is4k: bool = False,
        seasons: Mapping[int, int | str] | None = None,
        rating_key: str | None = None,
        plex_url: str | None = None,
    ) -> None:
        """Set a media record's status (1 UNKNOWN .. 5 AVAILABLE, or the name).

        Creates the media record if there is none. ``seasons`` sets per-season
        statuses of a series (season number -> status). ``rating_key`` says Plex
        has the title: its ``plexUrl`` then leads to it in the Plex web app, as
        Overseerr writes it (``plex_url`` sends any other value instead).
        """
        value = MediaStatus(_coerce_enum(status, MediaStatus))
        with self.lock:
            media = self._ensure_media(media_type, tmdb_id)
            now = self.clock()
            if rating_key is not None:
                media.rating_key = rating_key
                media.plex_url = (
                    f"{PLEX_WEB_APP}#!/server/{PLEX_MACHINE_ID}/details?key=%2Flibrary%2Fmetadata%2F{rating_key}"
                )
            if plex_url is not None:
                media.plex_url = plex_url
            if is4k:
                media.status4k = value
            else:
                media.status = value
                if value == MediaStatus.AVAILABLE and media.media_added_at is None:
                    media.media_added_at = now
            for number, season_status in (seasons or {}).items():
                season_value = MediaStatus(_coerce_enum(season_status, MediaStatus))
                season = media.seasons.get(number)
                if season is None:
                    season = MediaSeason(
                        self._new_id("media_season"), number, MediaStatus.UNKNOWN, MediaStatus.UNKNOWN, now, now
                    )
                    media.seasons[number] = season
                if is4k:
                    season.status4k = season_value
                else:
                    season.status = season_value
                season.updated_at = now
                media.last_season_change = now
            media.updated_at = now

    def set_request_status(self, request_id: int, status: int | str) -> None:
        """Set a request's status (1 PENDING, 2 APPROVED, 3 DECLINED, 4 FAILED, 5 COMPLETED).

        Only the request (and its season requests) change; use
        ``set_media_status`` for the media record.
        """
        value = RequestStatus(_coerce_enum(status, RequestStatus))
        with self.lock:
            media_request = self.media_requests[request_id]
            now = self.clock()
            media_request.status = value
            media_request.updated_at = now
            for season in media_request.seasons:
                season.status = value
                season.updated_at = now

    def add_request(
        self,
        media_type: str,
        tmdb_id: int,
        *,
        user_id: int = 1,
        status: int | str = RequestStatus.PENDING,
        seasons: Iterable[int] | None = None,
        is4k: bool = False,
        modified_by: int | None = None,
    ) -> int:
        """Create a request directly (no HTTP, no checks) and return its id.

        The media record turns PENDING (PROCESSING when the request is approved)
        if it was UNKNOWN, as creating it through the API would.
        """
        value = RequestStatus(_coerce_enum(status, RequestStatus))
        with self.lock:
            media = self._ensure_media(media_type, tmdb_id)
            self._raise_media_for_new_request(media, is4k)
            modifier = self.users[modified_by] if modified_by is not None else None
            media_request = self._create_request(
                media, media_type, self.users[user_id], modifier, value, is4k, seasons or [], {}
            )
            if value == RequestStatus.APPROVED:
                self._update_parent_status(media_request)
            return media_request.id

    def request_json(self, request_id: int) -> dict[str, Any]:
        """The request as ``GET /request/{id}`` would answer it."""
        with self.lock:
            return self._request_json(self.media_requests[request_id], detail=True)

    # -- webhooks ------------------------------------------------------------

    _EVENTS = {
        "MEDIA_PENDING": "New {4k}{kind} Request",
        "MEDIA_APPROVED": "{4k}{kind} Request Approved",
        "MEDIA_AVAILABLE": "{4k}{kind} Request Now Available",
        "MEDIA_FAILED": "{4k}{kind} Request Failed",
        "MEDIA_DECLINED": "{4k}{kind} Request Declined",
        "MEDIA_AUTO_APPROVED": "{4k}{kind} Request Automatically Approved",
    }

    def webhook_payload(
        self,
        notification_type: str,
        request_id: int | None = None,
        *,
        template: Mapping[str, Any] | str | None = None,
    ) -> dict[str, Any]:
        """Render the webhook body Overseerr would post for this request, now.

        ``notification_type`` is a name such as ``"MEDIA_AVAILABLE"`` (or
        ``"TEST_NOTIFICATION"``, which needs no request). The default template
        is ``webhooks/default_template.json``; pass ``template`` (dict or JSON
        text) to render an admin-edited one. Statuses are read from the
        current state, so set them before rendering. Event names are the
        captured ones; 4K requests get Overseerr's "4K " prefix (from its code,
        not captured).
        """
        notification_type = notification_type.upper()
        if template is None:
            template_data = json.loads(WEBHOOK_TEMPLATE.read_text())
        elif isinstance(template, str):
            template_data = json.loads(template)
        else:
            template_data = copy.deepcopy(dict(template))

        with self.lock:
            if notification_type == "TEST_NOTIFICATION":
                variables = {
                    "notification_type": notification_type,
                    "event": "",
                    "subject": "Test Notification",
                    "message": "Check check, 1, 2, 3. Are we coming in clear?",
                    "image": "",
                }
                sections = {"media": False, "request": False, "issue": False, "comment": False}
                extra: list[dict[str, str]] = []
            elif notification_type in self._EVENTS:
                if request_id is None:
                    raise ValueError(f"{notification_type} needs a request_id")
                media_request = self.media_requests[request_id]
                media = self._media_by_id(media_request.media_id)
                title = self.catalogue[(media.media_type, media.tmdb_id)]
                user = self.users[media_request.requested_by]
                kind = "Movie" if media_request.type == "movie" else "Series"
                year = title.date[:4]
                variables = {
                    "notification_type": notification_type,
                    "event": self._EVENTS[notification_type].format(
                        kind=kind, **{"4k": "4K " if media_request.is4k else ""}
                    ),
                    "subject": f"{title.title} ({year})" if year else title.title,
                    "message": title.overview,
                    "image": f"{_IMAGE_BASE}{title.poster_path}",
                    "media_type": media.media_type,
                    "media_tmdbid": str(media.tmdb_id),
                    "media_tvdbid": "" if media.tvdb_id is None else str(media.tvdb_id),
                    "media_status": MediaStatus(media.status).name,
                    "media_status4k": MediaStatus(media.status4k).name,
                    "request_id": str(media_request.id),
                    "requestedBy_email": user.email,
                    "requestedBy_username": self._display_name(user),
                    "requestedBy_avatar": user.avatar,
                    "requestedBy_settings_discordId": "",
                    "requestedBy_settings_telegramChatId": "",
                }
                sections = {"media": True, "request": True, "issue": False, "comment": False}
                extra = []
                if media_request.type == "tv" and notification_type != "MEDIA_AVAILABLE":
                    numbers = ", ".join(str(s.season_number) for s in media_request.seasons)
                    extra = [{"name": "Requested Seasons", "value": numbers}]
            else:
                raise ValueError(f"unsupported notification type {notification_type!r}")

        def render(node: Any) -> Any:
            if isinstance(node, dict):
                rendered: dict[str, Any] = {}
                for key, value in node.items():
                    section = _TEMPLATE_VARIABLE.fullmatch(key)
                    if section and section.group(1) == "extra":
                        rendered["extra"] = extra
                    elif section and section.group(1) in sections:
                        name = section.group(1)
                        rendered[name] = render(value) if sections[name] else None
                    else:
                        rendered[render(key)] = render(value)
                return rendered
            if isinstance(node, list):
                return [render(item) for item in node]
            if isinstance(node, str):
                return _TEMPLATE_VARIABLE.sub(lambda m: variables.get(m.group(1), ""), node)
            return node

        return render(template_data)

    @staticmethod
    def webhook_headers(authorization: str | None = None) -> dict[str, str]:
        """Headers the real Overseerr sent with its webhooks (real_webhooks.jsonl)."""
        headers = {
            "Accept": "application/json, text/plain, */*",
            "Content-Type": "application/json",
            "User-Agent": "axios/1.3.4",
        }
        if authorization is not None:
            headers["Authorization"] = authorization
        return headers

    # -- contract checks -------------------------------------------------------

    def validate_requests(self, spec_path: str | Path | None = None) -> list[str]:
        """Every recorded request checked against the spec; ``[]`` when all are valid.

        ``spec_path`` defaults to the stand-in's own (MediaNest's subset file);
        the vendor-contract layer passes ``VENDOR_OVERSEERR_SPEC``.
        """
        with self._lock:
            records = list(self.requests)
        return validate_recorded_requests(records, spec_path or self.spec_path)

    def validate_responses(
        self,
        spec_path: str | Path | None = None,
        *,
        tolerate_documented_quirks: bool = True,
        include_undocumented_statuses: bool = False,
    ) -> list[str]:
        """Every answer given so far checked against the spec's response schemas."""
        with self._lock:
            records = list(self.requests)
        return validate_recorded_responses(
            records,
            spec_path or self.spec_path,
            tolerate_documented_quirks=tolerate_documented_quirks,
            include_undocumented_statuses=include_undocumented_statuses,
        )

    # -- serialisation -------------------------------------------------------------

    def _display_name(self, user: User) -> str:
        return user.display_name or user.username or user.plex_username or user.email

    def _user_json(self, user: User, *, with_settings: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "permissions": user.permissions,
            "id": user.id,
            "email": user.email,
            "plexUsername": user.plex_username,
            "username": user.username,
            "recoveryLinkExpirationDate": None,
            "userType": user.user_type,
            "plexId": user.plex_id,
            "avatar": user.avatar,
            "movieQuotaLimit": user.movie_quota_limit,
            "movieQuotaDays": user.movie_quota_days,
            "tvQuotaLimit": user.tv_quota_limit,
            "tvQuotaDays": user.tv_quota_days,
            "createdAt": _timestamp(user.created_at),
            "updatedAt": _timestamp(user.updated_at),
        }
        if with_settings:
            body["settings"] = None
        body["requestCount"] = sum(1 for r in self.media_requests.values() if r.requested_by == user.id)
        body["displayName"] = self._display_name(user)
        return body

    def _media_by_id(self, media_id: int) -> Media:
        return next(m for m in self.media.values() if m.id == media_id)

    def _media_json(self, media: Media, *, with_seasons: bool = True, with_requests: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "downloadStatus": [],
            "downloadStatus4k": [],
            "id": media.id,
            "mediaType": media.media_type,
            "tmdbId": media.tmdb_id,
            "tvdbId": media.tvdb_id,
            "imdbId": media.imdb_id,
            "status": int(media.status),
            "status4k": int(media.status4k),
            "createdAt": _timestamp(media.created_at),
            "updatedAt": _timestamp(media.updated_at),
            "lastSeasonChange": _timestamp(media.last_season_change),
            "mediaAddedAt": _timestamp(media.media_added_at) if media.media_added_at else None,
            "serviceId": None,
            "serviceId4k": None,
            "externalServiceId": None,
            "externalServiceId4k": None,
            "externalServiceSlug": None,
            "externalServiceSlug4k": None,
            "ratingKey": media.rating_key,
            "ratingKey4k": None,
        }
        if media.plex_url is not None:  # Overseerr adds it only for a title Plex has
            body["plexUrl"] = media.plex_url
        if with_seasons:
            body["seasons"] = [
                {
                    "id": s.id,
                    "seasonNumber": s.season_number,
                    "status": int(s.status),
                    "status4k": int(s.status4k),
                    "createdAt": _timestamp(s.created_at),
                    "updatedAt": _timestamp(s.updated_at),
                }
                for s in sorted(media.seasons.values(), key=lambda s: s.season_number)
            ]
        if with_requests:
            body["requests"] = [
                self._request_json(r, detail=True, with_media=False)
                for r in sorted(self.media_requests.values(), key=lambda r: r.id)
                if r.media_id == media.id
            ]
            body["issues"] = []
        return body

    def _request_json(self, media_request: MediaRequest, *, detail: bool, with_media: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": media_request.id,
            "status": int(media_request.status),
            "createdAt": _timestamp(media_request.created_at),
            "updatedAt": _timestamp(media_request.updated_at),
            "type": media_request.type,
            "is4k": media_request.is4k,
            "serverId": media_request.server_id,
            "profileId": media_request.profile_id,
            "rootFolder": media_request.root_folder,
            "languageProfileId": media_request.language_profile_id,
            "tags": media_request.tags,
            "isAutoRequest": media_request.is_auto_request,
        }
        requested_by = self._user_json(self.users[media_request.requested_by], with_settings=detail)
        modified_by = (
            self._user_json(self.users[media_request.modified_by], with_settings=detail)
            if media_request.modified_by is not None
            else None
        )
        seasons = [
            {
                "id": s.id,
                "seasonNumber": s.season_number,
                "status": int(s.status),
                "createdAt": _timestamp(s.created_at),
                "updatedAt": _timestamp(s.updated_at),
            }
            for s in media_request.seasons
        ]
        media = self._media_by_id(media_request.media_id)
        if detail:
            body["requestedBy"] = requested_by
            body["modifiedBy"] = modified_by
            if with_media:
                body["media"] = self._media_json(media)
            body["seasons"] = seasons
        else:
            body["media"] = self._media_json(media, with_seasons=False)
            body["seasons"] = seasons
            body["modifiedBy"] = modified_by
            body["requestedBy"] = requested_by
        body["seasonCount"] = len(seasons)
        return body

    def _title_result_json(self, title: Title) -> dict[str, Any]:
        media = self.media.get((title.media_type, title.tmdb_id))
        if title.media_type == "movie":
            body: dict[str, Any] = {
                "id": title.tmdb_id,
                "mediaType": "movie",
                "adult": False,
                "genreIds": list(title.genre_ids),
                "originalLanguage": title.original_language,
                "originalTitle": title.title,
                "overview": title.overview,
                "popularity": title.popularity,
                "releaseDate": title.date,
                "title": title.title,
                "video": False,
                "voteAverage": title.vote_average,
                "voteCount": title.vote_count,
                "backdropPath": title.backdrop_path,
                "posterPath": title.poster_path,
            }
        else:
            body = {
                "id": title.tmdb_id,
                "firstAirDate": title.date,
                "genreIds": list(title.genre_ids),
                "mediaType": "tv",
                "name": title.title,
                "originCountry": list(title.origin_country),
                "originalLanguage": title.original_language,
                "originalName": title.title,
                "overview": title.overview,
                "popularity": title.popularity,
                "voteAverage": title.vote_average,
                "voteCount": title.vote_count,
                "backdropPath": title.backdrop_path,
                "posterPath": title.poster_path,
            }
        if media is not None:
            body["mediaInfo"] = self._media_json(media)
        return body

    def _details_common(self, title: Title) -> dict[str, Any]:
        return {
            "genres": [{"id": g_id, "name": _GENRES.get(g_id, "Unknown")} for g_id in title.genre_ids],
            "originalLanguage": title.original_language,
            "overview": title.overview,
            "popularity": title.popularity,
            "productionCompanies": [],
            "productionCountries": [],
            "spokenLanguages": [],
            "voteAverage": title.vote_average,
            "voteCount": title.vote_count,
            "credits": {"cast": [], "crew": []},
            "watchProviders": [],
        }

    def _movie_details_json(self, title: Title) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": title.tmdb_id,
            "imdbId": title.imdb_id,
            "adult": False,
            "backdropPath": title.backdrop_path,
            "posterPath": title.poster_path,
            "budget": 0,
            "homepage": "",
            "relatedVideos": [],
            "originalTitle": title.title,
            "releaseDate": title.date,
            "revenue": None,
            "runtime": title.runtime or 0,
            "status": "Released",
            "tagline": "",
            "title": title.title,
            "video": False,
            "externalIds": {"imdbId": title.imdb_id},
        }
        body.update(self._details_common(title))
        media = self.media.get(("movie", title.tmdb_id))
        if media is not None:
            body["mediaInfo"] = self._media_json(media, with_requests=True)
        return body

    def _tv_details_json(self, title: Title) -> dict[str, Any]:
        seasons = []
        for season in title.seasons:
            entry: dict[str, Any] = {
                "airDate": season.air_date,
                "episodeCount": season.episode_count,
                "id": season.id,
                "name": season.name,
                "overview": "",
                "seasonNumber": season.season_number,
            }
            seasons.append(entry)
        regular = [s for s in title.seasons if s.season_number != 0]
        body: dict[str, Any] = {
            "createdBy": [],
            "episodeRunTime": [],
            "firstAirDate": title.date,
            "homepage": "",
            "id": title.tmdb_id,
            "inProduction": False,
            "languages": [title.original_language],
            "lastAirDate": title.last_air_date or title.date,
            "name": title.title,
            "networks": [],
            "numberOfEpisodes": sum(s.episode_count for s in regular),
            "numberOfSeasons": len(regular),
            "originCountry": list(title.origin_country),
            "originalName": title.title,
            "seasons": seasons,
            "status": "Ended",
            "tagline": "",
            "type": "Scripted",
            "backdropPath": title.backdrop_path,
            "posterPath": title.poster_path,
            "externalIds": {"tvdbId": title.tvdb_id, "imdbId": title.imdb_id},
            "keywords": [],
        }
        body.update(self._details_common(title))
        media = self.media.get(("tv", title.tmdb_id))
        if media is not None:
            body["mediaInfo"] = self._media_json(media, with_requests=True)
        return body

    # -- request logic (server/entity/MediaRequest.ts) ----------------------------

    def _raise_media_for_new_request(self, media: Media, is4k: bool) -> None:
        if not is4k and media.status == MediaStatus.UNKNOWN:
            media.status = MediaStatus.PENDING
        if is4k and media.status4k == MediaStatus.UNKNOWN:
            media.status4k = MediaStatus.PENDING

    def _create_request(
        self,
        media: Media,
        media_type: str,
        requested_by: User,
        modified_by: User | None,
        status: RequestStatus,
        is4k: bool,
        seasons: Iterable[int],
        body: Mapping[str, Any],
    ) -> MediaRequest:
        now = self.clock()
        media_request = MediaRequest(
            id=self._new_id("request"),
            status=status,
            media_id=media.id,
            type=media_type,
            is4k=is4k,
            requested_by=requested_by.id,
            modified_by=modified_by.id if modified_by else None,
            created_at=now,
            updated_at=now,
            seasons=[
                SeasonRequest(self._new_id("season"), int(number), status, now, now)
                for number in (seasons if media_type == "tv" else [])
            ],
            server_id=body.get("serverId"),
            profile_id=body.get("profileId"),
            root_folder=body.get("rootFolder"),
            language_profile_id=body.get("languageProfileId") if media_type == "tv" else None,
            tags=body.get("tags"),
        )
        self.media_requests[media_request.id] = media_request
        return media_request

    def _update_parent_status(self, media_request: MediaRequest) -> None:
        """What Overseerr's ``updateParentStatus`` subscriber does after a save."""
        media = self._media_by_id(media_request.media_id)
        attribute = "status4k" if media_request.is4k else "status"
        current = getattr(media, attribute)
        now = self.clock()
        if media_request.status == RequestStatus.APPROVED and current not in (
            MediaStatus.AVAILABLE,
            MediaStatus.PARTIALLY_AVAILABLE,
        ):
            setattr(media, attribute, MediaStatus.PROCESSING)
            media.updated_at = now
        if media.media_type == "movie" and media_request.status == RequestStatus.DECLINED:
            setattr(media, attribute, MediaStatus.UNKNOWN)
            media.updated_at = now
        if media.media_type == "tv" and media_request.status == RequestStatus.DECLINED:
            pending = [
                r for r in self.media_requests.values() if r.media_id == media.id and r.status == RequestStatus.PENDING
            ]
            if not pending and current == MediaStatus.PENDING:
                setattr(media, attribute, MediaStatus.UNKNOWN)
                media.updated_at = now
        if media.media_type == "tv" and media_request.status == RequestStatus.APPROVED:
            for season in media_request.seasons:
                season.status = RequestStatus.APPROVED
                season.updated_at = now

    # -- HTTP plumbing -----------------------------------------------------------

    def _install_hooks(self) -> None:
        app = self.app

        @app.before_request
        def _gatekeeper() -> ResponseReturnValue | None:
            g.standin_record = self._claim_record()
            if not request.path.startswith(self.contract.base_path + "/"):
                return jsonify({"message": "not found"}), 404
            problems = self.contract.request_problems(
                request._get_current_object(), request.query_string.decode("latin-1")
            )  # type: ignore[attr-defined]
            if problems:
                status = problems[0].status
                if status == 401:
                    return jsonify({"message": problems[0].message, "errors": [problems[0].as_error()]}), 401
                message = ", ".join(p.full_message for p in problems)
                return jsonify({"message": message, "errors": [p.as_error() for p in problems]}), status

            template = self.contract.find_template(request.path)
            assert template is not None
            g.user = None
            if self.contract.is_secured(template, request.method):
                if request.headers.get("X-Api-Key") != self.api_key:
                    return jsonify(FORBIDDEN_BODY), 403
                acting_id = request.headers.get("X-API-User")
                try:
                    user_id = int(acting_id) if acting_id else 1
                except ValueError:
                    user_id = -1
                with self.lock:
                    user = self.users.get(user_id)
                if user is None:
                    return jsonify(FORBIDDEN_BODY), 403
                g.user = user
            return None

        @app.after_request
        def _remember_answer(response: WerkzeugResponse) -> WerkzeugResponse:
            record = g.get("standin_record")
            if record is not None:
                record.extra["response"] = {
                    "status": response.status_code,
                    "content_type": response.content_type or "",
                    "body": response.get_data(),
                }
            return response

        @app.errorhandler(404)
        @app.errorhandler(405)
        def _not_implemented(_error: Exception) -> ResponseReturnValue:
            return jsonify(
                {"message": f"Not implemented by the Overseerr stand-in: {request.method} {request.path}"}
            ), 501

    def _claim_record(self) -> RecordedRequest | None:
        """The ``RecordedRequest`` the base class just stored for this request."""
        query = request.query_string.decode("latin-1")
        with self._lock:
            for record in reversed(self.requests):
                if (
                    not record.extra.get("_claimed")
                    and record.method == request.method
                    and record.path == request.path
                    and record.query_string == query
                ):
                    record.extra["_claimed"] = True
                    return record
        return None

    def _install_routes(self) -> None:
        base = self.contract.base_path
        rules: list[tuple[str, str, Callable[..., ResponseReturnValue]]] = [
            ("/status", "GET", self._route_status),
            ("/auth/me", "GET", self._route_auth_me),
            ("/user", "GET", self._route_users),
            ("/search", "GET", self._route_search),
            ("/movie/<movie_id>", "GET", self._route_movie),
            ("/tv/<tv_id>", "GET", self._route_tv),
            ("/request", "GET", self._route_request_list),
            ("/request", "POST", self._route_request_create),
            ("/request/count", "GET", self._route_request_count),
            ("/request/<request_id>", "GET", self._route_request_get),
            ("/request/<request_id>/<action>", "POST", self._route_request_status),
            ("/settings/main", "GET", self._route_settings_main),
        ]
        for rule, method, view in rules:
            endpoint = f"{method.lower()}_{rule}"
            self.app.add_url_rule(base + rule, endpoint=endpoint, view_func=view, methods=[method])

    def _user(self) -> User:
        return g.user

    @staticmethod
    def _paging(default_take: int) -> tuple[int, int]:
        take_raw = request.args.get("take")
        skip_raw = request.args.get("skip")
        take = int(float(take_raw)) if take_raw else default_take
        skip = int(float(skip_raw)) if skip_raw else 0
        return (take if take > 0 else default_take), max(skip, 0)

    @staticmethod
    def _page_info(total: int, take: int, skip: int) -> dict[str, int]:
        return {
            "pages": math.ceil(total / take),
            "pageSize": take,
            "results": total,
            "page": math.ceil(skip / take) + 1,
        }

    # -- routes ------------------------------------------------------------------

    def _route_status(self) -> ResponseReturnValue:
        return jsonify(
            {
                "version": "develop-local",
                "commitTag": "local",
                "updateAvailable": False,
                "commitsBehind": 0,
                "restartRequired": False,
            }
        )

    def _route_auth_me(self) -> ResponseReturnValue:
        with self.lock:
            return jsonify(self._user_json(self._user(), with_settings=True))

    def _route_users(self) -> ResponseReturnValue:
        if not _has_any(self._user().permissions, Permission.MANAGE_USERS, Permission.MANAGE_REQUESTS):
            return jsonify(FORBIDDEN_BODY), 403
        take, skip = self._paging(10)
        sort = request.args.get("sort", "created")
        with self.lock:
            users = list(self.users.values())
            bodies = {u.id: self._user_json(u, with_settings=False) for u in users}
            if sort == "updated":
                users.sort(key=lambda u: (u.updated_at, u.id), reverse=True)
            elif sort == "requests":
                users.sort(key=lambda u: (bodies[u.id]["requestCount"], -u.id), reverse=True)
            elif sort == "displayname":
                users.sort(key=lambda u: self._display_name(u).lower())
            else:
                users.sort(key=lambda u: u.id)
            page = [bodies[u.id] for u in users[skip : skip + take]]
            return jsonify({"pageInfo": self._page_info(len(users), take, skip), "results": page})

    def _route_search(self) -> ResponseReturnValue:
        if "search" in self.hanging:
            return self.hang_request()
        if not self.tmdb_reachable:  # Overseerr logs TMDB's error and answers an empty page
            return jsonify({"page": 1, "totalPages": 1, "totalResults": 0, "results": []})
        query = request.args.get("query", "")
        page = max(int(float(request.args.get("page") or 1)), 1)
        words = [w for w in re.split(r"\W+", query.lower()) if w]
        with self.lock:

            def found(name: str) -> bool:
                return bool(words) and all(w in re.split(r"\W+", name.lower()) or w in name.lower() for w in words)

            matches: list[tuple[float, int, dict[str, Any]]] = [
                (-t.popularity, t.tmdb_id, self._title_result_json(t))
                for t in self.catalogue.values()
                if found(t.title)
            ]
            matches += [
                (-popularity, tmdb_id, {"id": tmdb_id, "mediaType": "person", "name": name, "adult": False})
                for tmdb_id, name, popularity in self.people
                if found(name)
            ]
            matches.sort(key=lambda m: (m[0], m[1]))
            per_page = 20
            results = [m[2] for m in matches[(page - 1) * per_page : page * per_page]]
            return jsonify(
                {
                    "page": page,
                    "totalPages": max(1, math.ceil(len(matches) / per_page)),
                    "totalResults": len(matches),
                    "results": results,
                }
            )

    def _route_movie(self, movie_id: str) -> ResponseReturnValue:
        with self.lock:
            title = self.catalogue.get(("movie", int(float(movie_id))))
            if title is None or not self.tmdb_reachable:
                return jsonify({"message": "Unable to retrieve movie."}), 500
            return jsonify(self._movie_details_json(title))

    def _route_tv(self, tv_id: str) -> ResponseReturnValue:
        with self.lock:
            title = self.catalogue.get(("tv", int(float(tv_id))))
            if title is None or not self.tmdb_reachable:
                return jsonify({"message": "Unable to retrieve series."}), 500
            return jsonify(self._tv_details_json(title))

    def _route_request_list(self) -> ResponseReturnValue:
        user = self._user()
        take, skip = self._paging(20)
        filter_name = request.args.get("filter") or "all"
        sort = request.args.get("sort", "added")
        requested_by_raw = request.args.get("requestedBy")
        requested_by = int(float(requested_by_raw)) if requested_by_raw else None

        status_filter = {
            "approved": {RequestStatus.APPROVED},
            "processing": {RequestStatus.APPROVED},
            "available": {RequestStatus.APPROVED},
            "pending": {RequestStatus.PENDING},
            "unavailable": {RequestStatus.PENDING, RequestStatus.APPROVED},
            "failed": {RequestStatus.FAILED},
        }.get(
            filter_name, {RequestStatus.PENDING, RequestStatus.APPROVED, RequestStatus.DECLINED, RequestStatus.FAILED}
        )
        not_available = {
            MediaStatus.UNKNOWN,
            MediaStatus.PENDING,
            MediaStatus.PROCESSING,
            MediaStatus.PARTIALLY_AVAILABLE,
        }
        media_filter = {
            "available": {MediaStatus.AVAILABLE},
            "processing": not_available,
            "unavailable": not_available,
        }.get(filter_name, not_available | {MediaStatus.AVAILABLE})

        can_see_all = _has_any(user.permissions, Permission.MANAGE_REQUESTS, Permission.REQUEST_VIEW)
        if not can_see_all:
            if requested_by and requested_by != user.id:
                return jsonify({"message": "You do not have permission to view this user's requests."}), 403
            requested_by = user.id

        with self.lock:
            selected = []
            for media_request in self.media_requests.values():
                media = self._media_by_id(media_request.media_id)
                media_status = media.status4k if media_request.is4k else media.status
                if media_request.status not in status_filter or media_status not in media_filter:
                    continue
                if requested_by is not None and media_request.requested_by != requested_by:
                    continue
                selected.append(media_request)
            if sort == "modified":
                selected.sort(key=lambda r: (r.updated_at, r.id), reverse=True)
            else:
                selected.sort(key=lambda r: r.id, reverse=True)
            page = [self._request_json(r, detail=False) for r in selected[skip : skip + take]]
            return jsonify({"pageInfo": self._page_info(len(selected), take, skip), "results": page})

    def _route_request_count(self) -> ResponseReturnValue:
        with self.lock:
            all_requests = list(self.media_requests.values())

            def available(r: MediaRequest) -> bool:
                media = self._media_by_id(r.media_id)
                return (media.status4k if r.is4k else media.status) == MediaStatus.AVAILABLE

            approved = [r for r in all_requests if r.status == RequestStatus.APPROVED]
            return jsonify(
                {
                    "total": len(all_requests),
                    "movie": sum(1 for r in all_requests if r.type == "movie"),
                    "tv": sum(1 for r in all_requests if r.type == "tv"),
                    "pending": sum(1 for r in all_requests if r.status == RequestStatus.PENDING),
                    "approved": len(approved),
                    "declined": sum(1 for r in all_requests if r.status == RequestStatus.DECLINED),
                    "processing": sum(1 for r in approved if not available(r)),
                    "available": sum(1 for r in approved if available(r)),
                }
            )

    def _find_request(self, request_id: str) -> MediaRequest | None:
        try:
            return self.media_requests.get(int(request_id))
        except ValueError:
            return None

    def _route_request_get(self, request_id: str) -> ResponseReturnValue:
        user = self._user()
        with self.lock:
            media_request = self._find_request(request_id)
            if media_request is None:
                return jsonify(REQUEST_NOT_FOUND_BODY), 404
            if media_request.requested_by != user.id and not _has_any(
                user.permissions, Permission.MANAGE_REQUESTS, Permission.REQUEST_VIEW
            ):
                return jsonify({"message": "You do not have permission to view this request."}), 403
            return jsonify(self._request_json(media_request, detail=True))

    def _route_request_status(self, request_id: str, action: str) -> ResponseReturnValue:
        if action not in ("approve", "decline"):
            return jsonify(
                {"message": f"Not implemented by the Overseerr stand-in: POST /request/{{id}}/{action}"}
            ), 501
        user = self._user()
        if not _has_any(user.permissions, Permission.MANAGE_REQUESTS):
            return jsonify(FORBIDDEN_BODY), 403
        with self.lock:
            media_request = self._find_request(request_id)
            if media_request is None:
                return jsonify(REQUEST_NOT_FOUND_BODY), 404
            media_request.status = RequestStatus.APPROVED if action == "approve" else RequestStatus.DECLINED
            media_request.modified_by = user.id
            media_request.updated_at = self.clock()
            body = self._request_json(media_request, detail=True)  # before the subscriber runs, as captured
            media = self._media_by_id(media_request.media_id)
            already_available = (media.status4k if media_request.is4k else media.status) == MediaStatus.AVAILABLE
            self._update_parent_status(media_request)
            if not already_available:
                kind = "MEDIA_APPROVED" if action == "approve" else "MEDIA_DECLINED"
                self.notifications.append((kind, media_request.id))
            return jsonify(body)

    def _route_request_create(self) -> ResponseReturnValue:
        if self.create_seconds:
            time.sleep(self.create_seconds)
        acting = self._user()
        body = request.get_json(silent=True) or {}
        media_type = body["mediaType"]
        tmdb_id = int(body["mediaId"])
        is4k = bool(body.get("is4k", False))
        with self.lock:
            requester = acting
            if body.get("userId"):
                if not _has_any(acting.permissions, Permission.MANAGE_USERS, Permission.MANAGE_REQUESTS):
                    return jsonify({"message": "You do not have permission to modify the request user."}), 403
                requester = self.users.get(int(body["userId"]))
                if requester is None:
                    return jsonify(
                        {"message": f'Could not find any entity of type "User" matching id {body["userId"]}'}
                    ), 500

            if is4k:
                needed = (
                    Permission.REQUEST_4K,
                    Permission.REQUEST_4K_MOVIE if media_type == "movie" else Permission.REQUEST_4K_TV,
                )
            else:
                needed = (
                    Permission.REQUEST,
                    Permission.REQUEST_MOVIE if media_type == "movie" else Permission.REQUEST_TV,
                )
            if not _has_any(requester.permissions, *needed):
                kind = "movie" if media_type == "movie" else "series"
                return jsonify(
                    {"message": f"You do not have permission to make {'4K ' if is4k else ''}{kind} requests."}
                ), 403

            if media_type == "movie" and requester.movie_quota_exceeded:
                return jsonify({"message": "Movie Quota exceeded."}), 403
            if media_type == "tv" and requester.tv_quota_exceeded:
                return jsonify({"message": "Series Quota exceeded."}), 403

            title = self.catalogue.get((media_type, tmdb_id))
            if title is None:
                what = "movie details" if media_type == "movie" else "TV show details"
                return jsonify({"message": f"[TMDB] Failed to fetch {what}: Request failed with status code 404"}), 500

            existed = (media_type, tmdb_id) in self.media
            media = self._ensure_media(media_type, tmdb_id)
            previous = (media.status, media.status4k)
            self._raise_media_for_new_request(media, is4k)
            # Overseerr 1.34 finds earlier requests with ``is4k = <the body's is4k>``: a body without
            # is4k matches none, so neither the 409 for a film nor the requested seasons apply.
            same_media = sorted(
                (
                    r
                    for r in self.media_requests.values()
                    if "is4k" in body and r.media_id == media.id and r.is4k == is4k
                ),
                key=lambda r: r.id,
            )

            def undo_media() -> None:
                if existed:
                    media.status, media.status4k = previous
                else:
                    del self.media[(media_type, tmdb_id)]

            if media_type == "movie" and same_media and same_media[0].status not in _FINISHED_REQUEST_STATUSES:
                undo_media()
                return jsonify(DUPLICATE_REQUEST_BODY), 409

            seasons: list[int] = []
            if media_type == "tv":
                wanted = body.get("seasons")
                if wanted == "all":
                    wanted = [s.season_number for s in title.seasons if s.season_number != 0]
                if not isinstance(wanted, list):
                    undo_media()
                    return jsonify({"message": "Cannot read properties of undefined (reading 'filter')"}), 500
                taken = {
                    s.season_number for r in same_media if r.status not in _FINISHED_REQUEST_STATUSES for s in r.seasons
                }
                status_attribute = "status4k" if is4k else "status"
                taken |= {n for n, s in media.seasons.items() if getattr(s, status_attribute) != MediaStatus.UNKNOWN}
                seasons = [int(n) for n in wanted if int(n) not in taken]
                if not seasons:
                    undo_media()
                    return jsonify(NO_SEASONS_BODY), 202

            if is4k:
                by_type = Permission.AUTO_APPROVE_4K_MOVIE if media_type == "movie" else Permission.AUTO_APPROVE_4K_TV
                auto_permissions = (Permission.AUTO_APPROVE_4K, by_type, Permission.MANAGE_REQUESTS)
            else:
                by_type = Permission.AUTO_APPROVE_MOVIE if media_type == "movie" else Permission.AUTO_APPROVE_TV
                auto_permissions = (Permission.AUTO_APPROVE, by_type, Permission.MANAGE_REQUESTS)
            auto_approved = _has_any(acting.permissions, *auto_permissions)
            status = RequestStatus.APPROVED if auto_approved else RequestStatus.PENDING
            media_request = self._create_request(
                media, media_type, requester, acting if auto_approved else None, status, is4k, seasons, body
            )
            answer = self._request_json(media_request, detail=True)  # media as saved, before the subscriber runs
            kind = "MEDIA_AUTO_APPROVED" if auto_approved else "MEDIA_PENDING"
            if auto_approved:
                self._update_parent_status(media_request)
            self.notifications.append((kind, media_request.id))
            delivery = self.webhook_payload(kind, media_request.id) if self.webhook_sink else None
        if delivery is not None and self.webhook_sink is not None:
            self.webhook_sink(delivery)
        return jsonify(answer), 201

    def _route_settings_main(self) -> ResponseReturnValue:
        if not _has_any(self._user().permissions, Permission.ADMIN):
            return jsonify(FORBIDDEN_BODY), 403
        return jsonify(
            {
                "apiKey": self.api_key,
                "applicationTitle": "Overseerr",
                "applicationUrl": "",
                "csrfProtection": False,
                "cacheImages": False,
                "defaultPermissions": 32,
                "defaultQuotas": {"movie": {}, "tv": {}},
                "hideAvailable": False,
                "localLogin": True,
                "newPlexLogin": True,
                "region": "",
                "originalLanguage": "",
                "trustProxy": False,
                "partialRequestsEnabled": True,
                "locale": "en",
            }
        )
