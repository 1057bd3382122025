"""Socket.IO accepts browser connections from MediaNest's own origin only: a foreign page cannot
open a socket with the household's cookies."""

from __future__ import annotations

import pytest
import requests
import socketio

from medianest.realtime import allowed_origins
from tests.support.sockets import RecordingClient

pytestmark = [pytest.mark.sqlite_only]

FOREIGN = "http://evil.example"


def _connect(server, http, origin: str | None, transport: str) -> RecordingClient:
    client = RecordingClient(server.url, http)
    if transport == "polling":
        if origin:
            client.headers["Origin"] = origin
    else:
        # websocket-client writes its own Origin (the server's): choose it through its options.
        options = {"origin": origin} if origin else {"suppress_origin": True}
        client.sio = socketio.Client(reconnection=False, websocket_extra_options=options)
    return client.connect(transports=[transport])


def _polling_handshake(server, http: requests.Session, origin: str) -> requests.Response:
    return http.get(
        server.url + "/socket.io/", params={"EIO": "4", "transport": "polling"}, headers={"Origin": origin}, timeout=10
    )


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_foreign_origin_is_refused_and_own_origin_accepted(live_server_factory, transport):
    server = live_server_factory()
    http = server.session()
    with pytest.raises(socketio.exceptions.ConnectionError):
        _connect(server, http, FOREIGN, transport)
    own = _connect(server, http, server.url, transport)
    try:
        assert own.sio.connected
    finally:
        own.close()
    # A script sends no Origin: it is not a browser page, and its identity still decides.
    script = _connect(server, http, None, transport)
    try:
        assert script.sio.connected
    finally:
        script.close()


def test_foreign_origin_gets_no_cors_grant(live_server_factory):
    server = live_server_factory()
    http = server.session()
    refused = _polling_handshake(server, http, FOREIGN)
    assert refused.status_code == 400
    assert "Access-Control-Allow-Origin" not in refused.headers
    accepted = _polling_handshake(server, http, server.url)
    assert accepted.status_code == 200
    assert accepted.headers["Access-Control-Allow-Origin"] == server.url


def test_with_a_base_url_only_its_origin_is_accepted(live_server_factory):
    server = live_server_factory(env={"MEDIANEST_BASE_URL": "http://media.example.org:8080/"})
    http = server.session()
    assert _polling_handshake(server, http, "http://media.example.org:8080").status_code == 200
    assert _polling_handshake(server, http, FOREIGN).status_code == 400
    assert _polling_handshake(server, http, "https://media.example.org").status_code == 400


def test_forwarded_host_from_a_stranger_does_not_widen_the_check(live_server_factory):
    """Engine.IO's same-origin check also reads X-Forwarded-Host: only a trusted proxy's counts."""
    server = live_server_factory(env={"MEDIANEST_BEHIND_PROXY": "true", "MEDIANEST_TRUSTED_PROXIES": "192.0.2.1"})
    http = server.session()
    answer = http.get(
        server.url + "/socket.io/",
        params={"EIO": "4", "transport": "polling"},
        headers={"Origin": FOREIGN, "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http"},
        timeout=10,
    )
    assert answer.status_code == 400


def test_allowed_origins_from_the_base_url():
    assert allowed_origins(None) is None
    assert allowed_origins("https://Media.Example.org/") == ["https://media.example.org"]
    assert allowed_origins("https://media.example.org:443/nest") == ["https://media.example.org"]
    assert allowed_origins("http://nas:5000") == ["http://nas:5000"]
    assert allowed_origins("media.example.org") is None  # not a URL: the request's own origin
