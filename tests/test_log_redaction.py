"""No secret in a log line: credentials in URLs and the services' stored secrets are masked by one filter."""

from __future__ import annotations

import io
import json
import logging

import pytest
from flask import Response, request

from medianest.http import ServiceBadAnswer, ServiceClient, ServiceUnreachable, reset_clients
from medianest.logs import MASK, configure_logging, forget_secrets, redact, remove_logging
from medianest.service_settings import service_config
from tests.standins.base import Standin, shutdown_socket

SECRET = "SECRET-0d1e2a3b4c"
STORED_SECRET = "stored-key-9f8e7d6c5b4a"


class Failing(Standin):
    """Answers 503 on ``/busy`` (the client retries it) and drops the connection on ``/drop``."""

    name = "failing"

    def __init__(self) -> None:
        super().__init__()

        @self.app.get("/busy")
        def busy():
            return Response('{"error": "busy"}', status=503, content_type="application/json")

        @self.app.get("/drop")
        def drop():
            shutdown_socket(request.environ["werkzeug.socket"])
            return Response(b"", status=204)


@pytest.fixture
def failing():
    reset_clients()
    with Failing() as server:
        yield server
    reset_clients()


@pytest.fixture(params=["text", "json"])
def log_output(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """Everything the root logger writes, at DEBUG, through MediaNest's own handler and format."""
    root = logging.getLogger()
    level = root.level
    # Other tests in the same process may have quietened urllib3 (a library's logging set-up):
    # its own loggers pass everything on to the root here.
    for name in ("urllib3", "urllib3.connectionpool", "urllib3.util.retry"):
        monkeypatch.setattr(logging.getLogger(name), "disabled", False)
        monkeypatch.setattr(logging.getLogger(name), "level", logging.NOTSET)
    monkeypatch.setattr(logging.root.manager, "disable", logging.NOTSET)
    stream = io.StringIO()
    configure_logging("DEBUG", request.param, stream=stream)
    forget_secrets()
    try:
        yield stream
    finally:
        remove_logging()
        root.setLevel(level)
        logging.getLogger("medianest").setLevel(logging.NOTSET)
        forget_secrets()


def _lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_urllib3_retry_warning_on_a_broken_connection_is_masked(failing, log_output):
    client = ServiceClient("failing", failing.url, retries=2, read_timeout=2)
    with pytest.raises(ServiceUnreachable):
        client.get("/drop", params={"apikey": SECRET, "page": "2"})
    lines = _lines(log_output)
    retries = [line for line in lines if "Retrying (Retry(" in line]
    assert len(retries) == 2, lines  # urllib3's WARNING, once per retry
    assert all(f"/drop?apikey={MASK}&page=2" in line for line in retries), retries
    assert SECRET not in log_output.getvalue()


def test_urllib3_status_retries_are_masked(failing, log_output):
    client = ServiceClient("failing", failing.url, retries=2)
    with pytest.raises(ServiceBadAnswer):
        client.get("/busy", params={"X-Plex-Token": SECRET})
    text = log_output.getvalue()
    assert len(failing.requests) == 3  # two retries, each logged by urllib3 with the URL
    assert text.count("Incremented Retry for (url=") == 2, text
    assert text.count(f"Retry: /busy?X-Plex-Token={MASK}") == 2, text
    assert SECRET not in text


@pytest.mark.plugins("cardtest")
def test_a_stored_secret_is_masked_wherever_it_appears(app, admin_client, log_output):

    answer = admin_client.put(
        "/api/v1/admin/services/cardtest",
        json={"values": {"url": "http://127.0.0.1:9", "api_key": STORED_SECRET}},
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    forget_secrets()  # as a process that has not read the settings yet
    log = logging.getLogger("medianest.cardtest")
    with app.app_context():
        key = service_config("cardtest")["api_key"]  # the settings store hands the secret out ...
    assert key == STORED_SECRET
    log.warning("calling the service with key %s", key)  # ... and a careless plugin logs it
    log.info("header %r", {"X-Api-Key": key})
    try:
        raise RuntimeError(f"refused key {key}")
    except RuntimeError:
        log.exception("the call failed")
    log.warning("stack", stack_info=True, extra={"detail": f"key={key}"})
    text = log_output.getvalue()
    assert STORED_SECRET not in text
    assert f"calling the service with key {MASK}" in text
    assert f"refused key {MASK}" in text  # the exception text too
    assert "Traceback" in text


def test_json_lines_stay_json(log_output):
    logging.getLogger("medianest.x").warning(
        "GET %s failed", "https://user:hunter2pass@media.example/api?token=abc123&x=1"
    )
    line = _lines(log_output)[-1]
    if line.startswith("{"):
        message = json.loads(line)["message"]
    else:
        message = line
    assert "hunter2pass" not in message and "abc123" not in message
    assert f"https://{MASK}@media.example/api?token={MASK}&x=1" in message


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("/api/v1/status?api_key=K1234567", "K1234567"),
        ("/library?X-Plex-Token=pt-7777777&a=1", "pt-7777777"),
        ("GET /x?key=abcdefgh", "abcdefgh"),
        ("/oauth?access_token=at-1234;q=2", "at-1234"),
        ("/login?user=ann&password=pw-secret", "pw-secret"),
        ("/x?client_secret=cs-0000#frag", "cs-0000"),
        ("/x?secret=s-0000", "s-0000"),
        ("https://ann:pw-in-url@host:8080/path", "pw-in-url"),
        ("redis://:redis-pass@127.0.0.1:6379/0", "redis-pass"),
        ("Authorization: Bearer tok-abcdef", "tok-abcdef"),
        ("{'X-Api-Key': 'hdr-secret-1'}", "hdr-secret-1"),
    ],
)
def test_credentials_in_urls_and_headers_are_masked(text, secret):
    masked = redact(text)
    assert secret not in masked and MASK in masked


def test_harmless_text_is_left_alone():
    text = "GET /api/v1/plex/libraries?page=2&per_page=25 200 in 12 ms (https://plex.local:32400/)"
    assert redact(text) == text
