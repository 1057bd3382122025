"""Bodies over MEDIANEST_MAX_BODY_BYTES are refused with 413, chunked or declared, before anything
is saved: the JSON envelope for API routes, a page for browser routes."""

from __future__ import annotations

import io

import pytest
import requests

LIMIT = 1024 * 1024
OVER = LIMIT + LIMIT // 2


def _chunks(body: bytes, size: int = 64 * 1024):
    # A generator body: requests sends it with Transfer-Encoding: chunked and no Content-Length.
    for start in range(0, len(body), size):
        yield body[start : start + size]


def _form_over_limit(name: str) -> bytes:
    # Cut at the limit, this is still a valid form that names a token.
    return f"name={name}&pad=".encode() + b"x" * OVER


def _json_over_limit(name: str) -> bytes:
    return b'{"name": "' + name.encode() + b'", "pad": "' + b"x" * OVER + b'"}'


def _token_names(http: requests.Session, url: str) -> list[str]:
    answer = http.get(url + "/api/v1/auth/tokens", timeout=10)
    assert answer.status_code == 200
    return [t["name"] for t in answer.json()["data"]]


@pytest.fixture(params=["embedded", "production"])
def server(request, live_server_factory):
    if request.param == "production":  # gunicorn, as behind Caddy in production
        return live_server_factory(redis=True, backend="postgresql")
    return live_server_factory()


@pytest.mark.sqlite_only
def test_chunked_bodies_over_the_limit_are_refused_and_nothing_is_saved(server):
    http = server.session()
    page = http.post(
        server.url + "/auth/tokens",
        data=_chunks(_form_over_limit("cut-form")),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=30,
    )
    assert page.status_code == 413
    assert "text/html" in page.headers["Content-Type"] and "PAYLOAD_TOO_LARGE" in page.text

    api = http.post(
        server.url + "/api/v1/auth/tokens",
        data=_chunks(_json_over_limit("cut-json")),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert api.status_code == 413
    error = api.json()
    assert error["success"] is False and error["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert error["error"]["details"]["limit_bytes"] == LIMIT

    assert _token_names(http, server.url) == []


@pytest.mark.sqlite_only
def test_chunked_bodies_within_the_limit_arrive_whole(server):
    http = server.session()
    padding = b" " * (LIMIT - 100)  # JSON whitespace: the body parses only if all of it arrived
    body = b'{"name": "chunked"' + padding + b"}"
    answer = http.post(
        server.url + "/api/v1/auth/tokens",
        data=_chunks(body),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    form = http.post(
        server.url + "/auth/tokens",
        data=_chunks(b"name=chunked-form"),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=30,
    )
    assert form.status_code == 201
    assert sorted(_token_names(http, server.url)) == ["chunked", "chunked-form"]


@pytest.mark.sqlite_only
def test_declared_bodies_over_the_limit_are_refused(server):
    http = server.session()
    api = http.post(
        server.url + "/api/v1/auth/tokens",
        data=_json_over_limit("declared"),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert api.status_code == 413 and api.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    page = http.post(server.url + "/auth/tokens", data=_form_over_limit("declared-form"), timeout=30)
    assert page.status_code == 413 and "PAYLOAD_TOO_LARGE" in page.text
    assert _token_names(http, server.url) == []


@pytest.mark.settings(max_body_bytes=1000)
def test_the_limit_is_the_setting_and_holds_on_every_database(app, user_client):
    body = b'{"name": "small", "pad": "' + b"x" * 1200 + b'"}'
    answer = user_client.post(
        "/api/v1/auth/tokens",
        input_stream=io.BytesIO(body),
        headers={"Transfer-Encoding": "chunked", "Content-Type": "application/json"},
    )
    assert answer.status_code == 413
    assert answer.get_json()["error"]["details"]["limit_bytes"] == 1000
    fits = user_client.post(
        "/api/v1/auth/tokens",
        input_stream=io.BytesIO(b'{"name": "fits"}'),
        headers={"Transfer-Encoding": "chunked", "Content-Type": "application/json"},
    )
    assert fits.status_code == 201
    names = [t["name"] for t in user_client.get("/api/v1/auth/tokens").get_json()["data"]]
    assert names == ["fits"]


@pytest.mark.sqlite_only
def test_request_lines_up_to_gunicorns_maximum_get_the_envelope(live_server_factory):
    """gunicorn answers past its limits itself, in HTML; up to 8190 bytes the request reaches MediaNest."""
    server = live_server_factory(redis=True, backend="postgresql")
    long_query = "q=" + "a" * 6000  # past gunicorn's default limit of 4094
    answer = requests.get(server.url + "/api/v1/auth/session?" + long_query, timeout=10)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "AUTH_REQUIRED"
    beyond = requests.get(server.url + "/api/v1/auth/session?q=" + "a" * 9000, timeout=10)
    assert beyond.status_code == 414 and "text/html" in beyond.headers["Content-Type"]
