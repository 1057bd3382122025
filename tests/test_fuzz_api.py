"""Schemathesis against ``/api/v1/openapi.json`` of a running MediaNest.

One server (``medianest run``, embedded mode: gevent, SQLite, the in-process
worker) with every service it talks to configured and answering: the
Overseerr, Plex Media Server, plex.tv and Uptime Kuma stand-ins and a local
media feed for downloads.  Each operation of the document is fuzzed as two
identities: ``alice`` (a user, with a personal API token) and the local
``admin`` (cookie session and the ``X-CSRFToken`` header, as a page sends it).
Cases come from the document's schemas (valid ones) and from their negation
(invalid ones).  Every answer must:

* not be a 5xx (the stand-ins answer, so a 5xx is MediaNest's own fault);
* carry errors in the envelope ``{success: false, error: {code, message,
  details}}`` with a code the document lists, and ``X-Correlation-Id``;
* match the document: status, content type, body schema.

Failures are collected, not shrunk, so one run reports every operation that
misbehaves (with a curl command to reproduce it).

Rate limits would stop a fuzzer within seconds, so the server is started with
generous limits (``MEDIANEST_RATE_LIMIT_API=100000/minute`` and the login,
YouTube and media-request limits alike); the limits themselves are tested
elsewhere (tests/test_api_conventions.py, the plugins' tests).

What the fuzzer may not do, and why:

* ``POST /api/v1/auth/logout`` is not sent: as the admin it would end the
  cookie session every later admin case needs, and as alice it would revoke
  the token her run uses (with a token it revokes that token only;
  tests/test_tokens_accounts.py covers it).
* ``DELETE /api/v1/auth/tokens/{id}`` never names alice's own token (the id is
  rewritten to a spare token of hers): revoking it would end her run.
* ``PATCH``/``DELETE /api/v1/admin/users/{id}`` never name the admin or alice
  (rewritten to one of a few spare users): suspending or deleting them would
  end a run; the last-admin rule has its own tests.
* No request may send MediaNest to a host other than this machine: every URL
  in a generated body or query is pointed at 127.0.0.1 before it is sent
  (service settings, the connection test and download URLs take URLs).

``MEDIANEST_FUZZ_EXAMPLES`` (default 20) sets the valid cases per operation
and identity (invalid ones: 60 % of that); ``MEDIANEST_FUZZ_SEED`` replays a run (the seed is printed with
any failure).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup  # noqa: E402

from medianest.json_answers import ERROR_CODES  # noqa: E402
from tests.standins.base import closed_port  # noqa: E402
from tests.standins.media_feed import MediaFeedStandin  # noqa: E402
from tests.standins.overseerr import OverseerrStandin  # noqa: E402
from tests.standins.plex import PlexServerStandin, PlexTvStandin  # noqa: E402
from tests.standins.uptime_kuma import UptimeKumaStandin  # noqa: E402
from tests.support.apps import ADMIN_PASSWORD, SECRET, LiveServer, add_local_users  # noqa: E402
from tests.support.services import free_port  # noqa: E402

pytestmark = [pytest.mark.slow]

EXAMPLES = int(os.environ.get("MEDIANEST_FUZZ_EXAMPLES", "20"))
SEED = int(os.environ.get("MEDIANEST_FUZZ_SEED") or random.SystemRandom().randrange(1, 2**31))
RNG = random.Random(SEED)
MIN_CASES = 2000  # across both identities, as the issue asks
PASSWORD = "a-long-password-for-the-fuzzer"
PLEX_TOKEN = "fuzz-plex-server-token"
GENEROUS = "100000/minute"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
# The core's codes, and those the plugins declare, as the served document lists them (``fuzz``).
KNOWN_CODES = set(ERROR_CODES)


# ------------------------------------------------------------------ checks
@schemathesis.check
def error_in_envelope(ctx, response, case) -> bool | None:
    """Every error under /api/ is the JSON envelope with a known code; every answer has a correlation id."""
    assert _header(response, "X-Correlation-Id"), "no X-Correlation-Id header"
    if response.status_code < 400:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"error answer {response.status_code} is not JSON: {response.content[:200]!r}") from None
    assert isinstance(body, dict) and body.get("success") is False, f"error answer without success=false: {body!r:.300}"
    error = body.get("error")
    assert isinstance(error, dict), f"error answer without an error object: {body!r:.300}"
    assert error.get("code") in KNOWN_CODES, f"unknown error code {error.get('code')!r}"
    assert isinstance(error.get("message"), str) and error["message"], "error without a message"
    assert isinstance(error.get("details"), dict), "error details are not an object"
    assert "Traceback" not in response.content.decode("utf-8", "replace"), "a stack trace reached the caller"
    if response.status_code == 429:
        assert _header(response, "Retry-After"), "429 without Retry-After"
    return None


def _header(response, name: str) -> str | None:
    for key, values in response.headers.items():
        if key.lower() == name.lower():
            return values[0] if isinstance(values, list) else values
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    error_in_envelope,
]
# Invalid input must be refused cleanly; the body of a refusal is checked, not its exact status.
NEGATIVE_CHECKS = [not_a_server_error, content_type_conformance, error_in_envelope]


# ------------------------------------------------------------------ the running server
@dataclass
class Identity:
    name: str
    http: requests.Session
    user_id: int
    own_token_id: int | None = None
    spare_token_ids: list[int] = field(default_factory=list)


@dataclass
class Stack:
    server: LiveServer
    admin: Identity
    alice: Identity
    spare_user_ids: list[int]
    closed: int


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("fuzz")) as running:
        yield running


@contextmanager
def running_stack(work: Path) -> Iterator[Stack]:
    standins = {
        "overseerr": OverseerrStandin(),
        "pms": PlexServerStandin(token=PLEX_TOKEN),
        "plex_tv": PlexTvStandin(),
        "kuma": UptimeKumaStandin(slug="household", hang_seconds=5),
        "feed": MediaFeedStandin(),
    }
    for standin in standins.values():
        standin.start()
    feed = standins["feed"]
    feed.add_playlist("fuzz", "Fuzz Playlist", [("Clip", 40_000)])
    env = {
        "MEDIANEST_DATA_DIR": str(work / "data"),
        "MEDIANEST_SECRET_KEY": SECRET,
        "MEDIANEST_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "MEDIANEST_LOG_FORMAT": "text",
        "MEDIANEST_HEALTH_CHECK_INTERVAL": "5",
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
        # A fuzzer is a flood: the limits are tested elsewhere.
        "MEDIANEST_RATE_LIMIT_API": GENEROUS,
        "MEDIANEST_RATE_LIMIT_LOGIN": GENEROUS,
        "MEDIANEST_RATE_LIMIT_YOUTUBE": GENEROUS,
        "MEDIANEST_RATE_LIMIT_MEDIA_REQUESTS": GENEROUS,
        "MEDIANEST_OVERSEERR_URL": standins["overseerr"].url,
        "MEDIANEST_OVERSEERR_API_KEY": "testkey",
        "MEDIANEST_OVERSEERR_WEBHOOK_SECRET": "fuzz-webhook-secret",
        "MEDIANEST_PLEX_URL": standins["pms"].url,
        "MEDIANEST_PLEX_TOKEN": PLEX_TOKEN,
        "MEDIANEST_PLEX_TV_URL": standins["plex_tv"].url,
        "MEDIANEST_UPTIME_KUMA_URL": standins["kuma"].url,
        "MEDIANEST_UPTIME_KUMA_SLUG": "household",
        "MEDIANEST_UPTIME_KUMA_READ_TIMEOUT": "2",
        "MEDIANEST_YOUTUBE_ALLOWED_HOSTS": "127.0.0.1",
        "MEDIANEST_YOUTUBE_ALLOWED_PRIVATE": "127.0.0.1",  # the local stand-ins are on loopback
        "MEDIANEST_YOUTUBE_DOWNLOAD_ROOT": str(work / "downloads"),
        "MEDIANEST_YOUTUBE_MIN_FREE_GB": "0",
        "MEDIANEST_YOUTUBE_SOCKET_TIMEOUT": "3",
        "MEDIANEST_YOUTUBE_RETRIES": "0",
    }
    server = LiveServer(env, free_port(), work / "server.log")
    try:
        server.start()
        users = add_local_users(server, work, PASSWORD, "alice", "spare1", "spare2", "spare3")
        admin_http = server.session()
        admin = Identity("admin", admin_http, admin_http.get(server.url + "/api/v1/auth/session").json()["data"]["id"])
        alice = token_identity(server, "alice", users["alice"])
        seed_data(server, alice, feed)
        yield Stack(server, admin, alice, [users[n] for n in ("spare1", "spare2", "spare3")], closed_port())
    finally:
        server.stop()
        for standin in standins.values():
            standin.stop()


def token_identity(server: LiveServer, username: str, user_id: int) -> Identity:
    """A user who calls the API with a personal token (no cookie, no CSRF), plus two spare tokens."""
    browser = server.session(username, PASSWORD)
    made = [browser.post(server.url + "/api/v1/auth/tokens", json={"name": f"fuzz {i}"}, timeout=10) for i in range(3)]
    for response in made:
        assert response.status_code == 201, response.text
    http = requests.Session()
    http.headers["Authorization"] = "Bearer " + made[0].json()["data"]["token"]
    return Identity(username, http, user_id, made[0].json()["data"]["id"], [r.json()["data"]["id"] for r in made[1:]])


def seed_data(server: LiveServer, alice: Identity, feed: MediaFeedStandin) -> None:
    """Something to find: a finished download of alice's (with a file) and a failed one."""
    base = server.url + "/api/v1/youtube/downloads"
    good = alice.http.post(base, json={"url": feed.url_for_playlist("fuzz"), "format": "best"}, timeout=10)
    bad = alice.http.post(base, json={"url": feed.url + "/missing.mp4", "format": "best"}, timeout=10)
    assert good.status_code == 201 and bad.status_code == 201, (good.text, bad.text)
    deadline = time.monotonic() + 60
    states: list[str] = []
    while time.monotonic() < deadline:
        states = [
            alice.http.get(f"{base}/{r.json()['data']['id']}", timeout=10).json()["data"]["status"] for r in (good, bad)
        ]
        if all(s in ("completed", "failed") for s in states):
            break
        time.sleep(0.3)
    assert states == ["completed", "failed"], states


# ------------------------------------------------------------------ guards
def keep_on_this_machine(value: Any, closed: int) -> Any:
    """Point every absolute URL in a generated value at 127.0.0.1 (a closed port): no traffic leaves."""
    if isinstance(value, dict):
        return {k: keep_on_this_machine(v, closed) for k, v in value.items()}
    if isinstance(value, list):
        return [keep_on_this_machine(v, closed) for v in value]
    if isinstance(value, str) and "://" in value:
        try:
            host = urlparse(value.strip()).hostname
        except ValueError:
            host = None
        if host not in LOOPBACK:
            return f"http://127.0.0.1:{closed}/fuzz"
    return value


def guard(case, identity: Identity, stack: Stack) -> bool:
    """Rewrite a case that would end this identity's run; False: don't send it at all."""
    path = case.operation.path
    if path == "/api/v1/auth/logout":
        return False
    params = case.path_parameters or {}
    for name, value in params.items():
        # half the time, an id that exists (downloads 1-2, tokens 1-3, users 1-5): ids drawn
        # from 0..2**31 would otherwise only ever meet "not found"
        if isinstance(value, int) and not isinstance(value, bool) and RNG.random() < 0.5:
            params[name] = RNG.randint(1, 5)
    if path == "/api/v1/auth/tokens/{token_id}" and params.get("token_id") == identity.own_token_id:
        params["token_id"] = identity.spare_token_ids[0] if identity.spare_token_ids else 10_000
    if path == "/api/v1/admin/users/{user_id}" and params.get("user_id") in (stack.admin.user_id, stack.alice.user_id):
        params["user_id"] = RNG.choice(stack.spare_user_ids)
    if case.body is not None and not isinstance(case.body, type(schemathesis.core.NOT_SET)):
        case.body = keep_on_this_machine(case.body, stack.closed)
    if case.query:
        case.query = keep_on_this_machine(case.query, stack.closed)
    return True


# ------------------------------------------------------------------ the run
@dataclass
class Tally:
    cases: int = 0
    by_operation: dict[str, int] = field(default_factory=dict)
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    failures: dict[tuple[str, str], str] = field(default_factory=dict)


def fuzz(stack: Stack, identity: Identity) -> Tally:
    schema = schemathesis.openapi.from_url(stack.server.url + "/api/v1/openapi.json")
    document = requests.get(stack.server.url + "/api/v1/openapi.json", timeout=30).json()
    envelope = document["components"]["schemas"]["ErrorEnvelope"]
    KNOWN_CODES.update(envelope["properties"]["error"]["properties"]["code"]["enum"])
    tally = Tally()
    for result in schema.get_all_operations():
        operation = result.ok()
        run_operation(stack, identity, operation, GenerationMode.POSITIVE, CHECKS, EXAMPLES, tally)
        run_operation(stack, identity, operation, GenerationMode.NEGATIVE, NEGATIVE_CHECKS, EXAMPLES * 3 // 5, tally)
    return tally


def run_operation(stack: Stack, identity: Identity, operation, mode, checks, examples: int, tally: Tally) -> None:
    label = f"{operation.method.upper()} {operation.path}"

    @seed(SEED)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def one(case) -> None:
        if not guard(case, identity, stack):
            return
        response = case.call(base_url=stack.server.url, session=identity.http, timeout=30)
        tally.cases += 1
        tally.by_operation[label] = tally.by_operation.get(label, 0) + 1
        tally.statuses[response.status_code] = tally.statuses.get(response.status_code, 0) + 1
        try:
            case.validate_response(response, checks=checks)
        except (AssertionError, FailureGroup) as exc:  # a check failed: keep the first example of each kind
            key = (label, f"{mode.value} {type(exc).__name__} {response.status_code}")
            if key not in tally.failures:
                tally.failures[key] = (
                    f"{identity.name} {label} [{mode.value}] -> {response.status_code}\n"
                    f"  {str(exc).strip()[:800]}\n"
                    f"  answer: {response.content[:300]!r}\n"
                    f"  {case.as_curl_command(base_url=stack.server.url)}"
                )

    started = time.monotonic()
    with contextlib.suppress(Unsatisfiable):  # nothing invalid can be made for an operation without inputs
        one()
    tally.seconds[label] = tally.seconds.get(label, 0.0) + time.monotonic() - started


@pytest.fixture(scope="module")
def tallies() -> dict[str, Tally]:
    return {}


@pytest.mark.parametrize("who", ["alice", "admin"])
def test_fuzz_the_api_document(stack: Stack, tallies: dict[str, Tally], who: str) -> None:
    identity = getattr(stack, who)
    tally = fuzz(stack, identity)
    tallies[who] = tally
    slowest = sorted(tally.seconds.items(), key=lambda item: -item[1])[:8]
    print(f"{who}: {tally.cases} cases, statuses {dict(sorted(tally.statuses.items()))}, slowest {slowest}")
    # the identity survived its own run (the guards worked)
    assert identity.http.get(stack.server.url + "/api/v1/auth/session", timeout=10).status_code == 200
    assert not tally.failures, (
        f"{len(tally.failures)} kind(s) of failure as {who} (MEDIANEST_FUZZ_SEED={SEED}):\n\n"
        + "\n\n".join(tally.failures.values())
    )
    # every operation of the document was exercised
    assert len(tally.by_operation) >= 40, sorted(tally.by_operation)


def test_enough_cases_were_run(tallies: dict[str, Tally]) -> None:
    """Runs after both identities: the issue asks for at least 2000 generated cases in total."""
    assert set(tallies) == {"alice", "admin"}, "the fuzz runs did not both complete"
    total = sum(t.cases for t in tallies.values())
    assert total >= MIN_CASES, {who: t.cases for who, t in tallies.items()}
    # valid and invalid input both reached the application (not only 401/404 answers)
    statuses = {s for t in tallies.values() for s in t.statuses}
    assert {200, 201, 400, 404} <= statuses, sorted(statuses)
