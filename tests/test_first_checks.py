"""The services are checked as soon as MediaNest starts, not one check interval later."""

from __future__ import annotations

import time

import pytest

pytestmark = [pytest.mark.plugins("cardtest")]


def test_embedded_start_checks_the_services_at_once(live_server_factory, installed_plugins):
    """With an hour between checks, the dashboard still shows each service's status within seconds of the start."""
    started = time.monotonic()
    server = live_server_factory(plugins=installed_plugins, env={"MEDIANEST_HEALTH_CHECK_INTERVAL": "3600"})
    http = server.session()
    deadline = time.monotonic() + 20
    seen = {}
    while time.monotonic() < deadline:
        response = http.get(server.url + "/api/v1/dashboard/status", timeout=10)
        seen = {item["service"]: item["status"] for item in response.json()["data"]}
        if seen.get("cardtest") == "online":
            break
        time.sleep(0.3)
    assert seen.get("cardtest") == "online", seen
    assert time.monotonic() - started < 30
