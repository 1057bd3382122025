"""The outbound HTTP layer: errors, retries for idempotent calls only, the breaker, options."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Response

from medianest.http import (
    CircuitOpen,
    ServiceBadAnswer,
    ServiceClient,
    ServiceUnauthorized,
    ServiceUnreachable,
    breaker_for,
    breaker_states,
    check_base_url,
    client_options,
    json_of,
    reset_clients,
)
from tests.standins.base import Standin, closed_port


class Echo(Standin):
    """Answers what a test asks for; ``/together`` waits until three callers are inside at once."""

    name = "echo"

    def __init__(self) -> None:
        super().__init__()
        self.barrier = threading.Barrier(3, timeout=5)

        @self.app.route("/status/<int:code>", methods=["GET", "POST"])
        def status(code: int):
            return Response(f'{{"code": {code}}}', status=code, content_type="application/json")

        @self.app.get("/together")
        def together():
            self.barrier.wait()
            return {"ok": True}

        @self.app.get("/big")
        def big():
            return Response(b"[" + b"1," * 600_000 + b"1]", content_type="application/json")

        @self.app.get("/html")
        def html():
            return "<html>hello</html>"

        @self.app.get("/nul")
        def nul():
            return {"title": "The\x00 Matrix", "cast": [{"na\x00me": "Neo\x00"}], "year": 1999}


@pytest.fixture
def echo():
    reset_clients()
    with Echo() as server:
        yield server
    reset_clients()


def test_concurrent_calls_through_one_breaker_are_not_queued_behind_each_other(echo):
    # pybreaker's own call() holds a lock for the whole call; three callers would then
    # never be inside the service together and the barrier would break.
    client = ServiceClient.for_service("echo", echo.url, read_timeout=8)
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda _: client.get_json("/together"), range(3)))
    assert results == [{"ok": True}] * 3


def test_idempotent_calls_are_retried_and_posts_are_not(echo):
    client = ServiceClient.for_service("echo", echo.url, fail_max=50)
    with pytest.raises(ServiceBadAnswer) as info:
        client.get("/status/503")
    assert info.value.details == {"service": "echo", "status": 503}
    assert info.value.code == "SERVICE_BAD_ANSWER" and info.value.status == 502
    assert len([r for r in echo.requests if r.method == "GET"]) == 3  # one call, two retries

    echo.clear_requests()
    with pytest.raises(ServiceBadAnswer):
        client.post("/status/503")
    assert len(echo.requests) == 1

    echo.clear_requests()
    with pytest.raises(ServiceBadAnswer):
        client.get("/status/503", retry=False)
    assert len(echo.requests) == 1


def test_refusals_and_client_errors_do_not_open_the_breaker(echo):
    client = ServiceClient.for_service("echo", echo.url, fail_max=2)
    for _ in range(3):
        with pytest.raises(ServiceUnauthorized) as info:
            client.get("/status/401")
        assert info.value.code == "SERVICE_UNAUTHORIZED"
    for _ in range(3):
        with pytest.raises(ServiceBadAnswer) as info:
            client.get("/status/404")
        assert info.value.details["status"] == 404
    assert client.get("/status/409", accept_statuses=(409,)).status_code == 409
    assert breaker_states()["echo"]["state"] == "closed"


def test_breaker_opens_after_the_set_failures_then_fails_fast(echo):
    port = closed_port()
    client = ServiceClient.for_service("gone", f"http://127.0.0.1:{port}", fail_max=2, reset_timeout=60, retries=0)
    for _ in range(2):
        with pytest.raises(ServiceUnreachable) as info:
            client.get("/")
        assert "refused" in info.value.message and info.value.code == "SERVICE_UNAVAILABLE"
    with pytest.raises(CircuitOpen) as info:
        client.get("/")
    assert info.value.code == "SERVICE_UNAVAILABLE" and info.value.details == {"service": "gone"}
    state = breaker_states()["gone"]
    assert state["state"] == "open" and state["failures"] == 2 and 0 < state["retry_in_seconds"] <= 60


def test_malformed_huge_and_html_answers_are_bad_answers(echo):
    client = ServiceClient.for_service("echo", echo.url)
    with pytest.raises(ServiceBadAnswer) as info:
        client.get("/big", max_bytes=100_000)
    assert "larger than 100000 bytes" in info.value.message
    with pytest.raises(ServiceBadAnswer) as info:
        json_of(client.get("/html"), "echo")
    assert "not JSON" in info.value.message and "text/html" in info.value.message


def test_nul_characters_are_taken_out_of_an_answers_strings(echo):
    # PostgreSQL refuses NUL in text: a title kept from a valid answer must not fail to be stored.
    client = ServiceClient.for_service("echo", echo.url)
    response = client.get("/nul")
    assert b"\\u0000" in response.content
    assert json_of(response, "echo") == {"title": "The Matrix", "cast": [{"name": "Neo"}], "year": 1999}


def test_urls_that_are_not_http_or_have_no_host_are_refused():
    assert check_base_url("ftp://example.org") == "The URL must start with http:// or https://."
    assert check_base_url("kuma:3001") is not None
    assert check_base_url("http://") == "The URL has no host name."
    assert check_base_url("https://kuma.lan:3001/base") is None
    with pytest.raises(ServiceUnreachable):
        ServiceClient("bad", "javascript:alert(1)")


def test_timeouts_and_breaker_come_from_the_service_then_env_then_settings(monkeypatch):
    assert client_options("plex") == {
        "connect_timeout": 3.0,
        "read_timeout": 10.0,
        "fail_max": 5,
        "reset_timeout": 30.0,
    }
    monkeypatch.setenv("MEDIANEST_PLEX_READ_TIMEOUT", "4")
    monkeypatch.setenv("MEDIANEST_PLEX_BREAKER_FAIL_MAX", "7")
    assert client_options("plex")["read_timeout"] == 4.0 and client_options("plex")["fail_max"] == 7
    assert client_options("plex", {"read_timeout": "2.5"})["read_timeout"] == 2.5
    assert client_options("plex", {"read_timeout": "nonsense"})["read_timeout"] == 4.0
    reset_clients()
    client = ServiceClient.for_service("plex", "http://127.0.0.1:1")
    assert client.timeout == (3.0, 4.0) and client.breaker.fail_max == 7
    assert breaker_for("plex", 7, 30.0) is client.breaker
    reset_clients()


@pytest.mark.sqlite_only
@pytest.mark.settings(service_read_timeout=6.0, breaker_reset_seconds=12.0)
def test_app_settings_are_the_defaults(app):
    with app.app_context():
        options = client_options("overseerr")
    assert options["read_timeout"] == 6.0 and options["reset_timeout"] == 12.0 and options["connect_timeout"] == 3.0


def test_messages_name_the_product_not_the_settings_key(echo):
    """People read "Uptime Kuma answered with HTTP 500.", never "uptime_kuma answered 500."."""
    client = ServiceClient.for_service("uptime_kuma", echo.url, fail_max=50, name="Uptime Kuma")
    with pytest.raises(ServiceBadAnswer) as info:
        client.get("/status/500", retry=False)
    assert info.value.message == "Uptime Kuma answered with HTTP 500."
    assert info.value.details["service"] == "uptime_kuma"  # the key stays for programs
    with pytest.raises(ServiceBadAnswer) as info:
        client.get_json("/html")
    assert info.value.message.startswith("Uptime Kuma answered with something that is not JSON")
