"""Socket.IO over real connections: refused when anonymous, rooms from the server-side identity,
events from a web request (embedded) and from a Celery worker through Redis (production)."""

from __future__ import annotations

import time

import pytest
import requests
import socketio

from tests.support.sockets import RecordingClient

pytestmark = [pytest.mark.plugins("cardtest")]


def test_anonymous_connection_is_refused(live_server_factory, installed_plugins):
    server = live_server_factory(plugins=installed_plugins)
    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(server.url, transports=["websocket"], wait_timeout=5)
    assert not client.connected


def test_forged_cookie_is_refused(live_server_factory, installed_plugins):
    server = live_server_factory(plugins=installed_plugins)
    client = RecordingClient(server.url, headers={"Cookie": "session=forged.value.sig"})
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect()


def test_event_from_a_web_request_reaches_signed_in_clients(live_server_factory, installed_plugins):
    server = live_server_factory(plugins=installed_plugins)
    http = server.session()
    listener = RecordingClient(server.url, http).connect()
    try:
        response = http.post(server.url + "/api/v1/cardtest/bump", timeout=10)
        assert response.status_code == 200
        data = listener.wait_for("cardtest.tick", lambda d: d["source"] == "request")
        # The count the request made (the plugin's periodic tick may have counted first).
        assert data == {"user_id": None, "n": response.json()["data"]["count"], "source": "request"}
    finally:
        listener.close()


def test_client_cannot_choose_its_rooms(live_server_factory, installed_plugins):
    server = live_server_factory(plugins=installed_plugins)
    http = server.session()
    client = RecordingClient(server.url, http).connect()
    try:
        # There is no join handler: asking to join another user's room does nothing.
        client.sio.emit("join", {"room": "user:999"})
        client.sio.emit("join_room", "admins")
        time.sleep(0.5)
        assert client.sio.connected
    finally:
        client.close()


@pytest.mark.slow
def test_worker_event_reaches_the_browser_room_through_redis(live_server_factory, installed_plugins):
    """Production mode: gunicorn+gevent web, a separate `medianest worker`; the worker emits via Redis."""
    server = live_server_factory(plugins=installed_plugins, redis=True, backend="postgresql")
    worker = live_server_factory.process(["worker", "--pool", "threads", "-c", "2"], server, "worker")
    worker.wait_for_log("ready", timeout=60)
    http = server.session()
    listener = RecordingClient(server.url, http).connect()
    try:
        assert http.post(server.url + "/api/v1/cardtest/queue", timeout=10).status_code == 202
        data = listener.wait_for("cardtest.tick", lambda d: d["source"] == "beat", timeout=30)
        assert data["n"] == 1
    finally:
        listener.close()
    assert requests.get(server.url + "/healthz", timeout=5).status_code == 200
