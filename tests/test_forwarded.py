"""X-Forwarded-* counts only from the configured proxies: a client that reaches the web port
directly cannot pick the address the sign-in limit counts and the session records."""

from __future__ import annotations

import pytest
import requests

from medianest.settings import SettingsError, load_settings
from tests.support.apps import ADMIN_PASSWORD

PROXY = "127.0.0.1"
STRANGER = "203.0.113.9"


def _wrong(client, peer: str, forwarded_for: str):
    return client.post(
        "/api/v1/auth/login",
        json={"username": "admin", "password": "wrong-password"},
        headers={"X-Forwarded-For": forwarded_for},
        environ_base={"REMOTE_ADDR": peer},
    )


def _session_ip(app) -> str | None:
    from medianest.extensions import db
    from medianest.models import UserSession

    with app.app_context():
        return db.session.scalars(db.select(UserSession.ip).order_by(UserSession.created_at.desc())).first()


@pytest.mark.settings(behind_proxy=True)
def test_forged_forwarded_for_from_a_stranger_is_ignored(app):
    client = app.test_client()
    for n in range(5):
        assert _wrong(client, STRANGER, f"198.51.100.{n}").status_code == 401
    # A sixth address of its own choosing does not buy the stranger a new budget.
    refused = _wrong(client, STRANGER, "198.51.100.77")
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "RATE_LIMITED"


@pytest.mark.settings(behind_proxy=True, rate_limit_login="50/minute")
def test_the_session_records_the_peer_not_the_forged_address(app):
    client = app.test_client()
    answer = client.post(
        "/api/v1/auth/login",
        json={"username": "admin", "password": ADMIN_PASSWORD},
        headers={"X-Forwarded-For": "198.51.100.1", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"},
        environ_base={"REMOTE_ADDR": STRANGER},
    )
    assert answer.status_code == 200
    assert _session_ip(app) == STRANGER
    # Nor the scheme: the request is not taken for HTTPS.
    assert "Strict-Transport-Security" not in answer.headers


@pytest.mark.settings(behind_proxy=True, rate_limit_login="50/minute")
def test_forwarded_headers_from_the_proxy_are_honoured(app):
    client = app.test_client()
    answer = client.post(
        "/api/v1/auth/login",
        json={"username": "admin", "password": ADMIN_PASSWORD},
        headers={"X-Forwarded-For": "198.51.100.1", "X-Forwarded-Proto": "https"},
        environ_base={"REMOTE_ADDR": PROXY},
    )
    assert answer.status_code == 200
    assert _session_ip(app) == "198.51.100.1"
    assert "Strict-Transport-Security" in answer.headers  # the request counts as HTTPS


@pytest.mark.settings(behind_proxy=True)
def test_clients_behind_the_proxy_each_have_their_own_budget(app):
    client = app.test_client()
    for n in range(7):
        assert _wrong(client, PROXY, f"198.51.100.{n}").status_code == 401


@pytest.mark.settings(behind_proxy=True, trusted_proxies="10.1.0.0/16, 192.0.2.7")
def test_trusted_proxies_take_networks(app):
    client = app.test_client()
    for n in range(3):
        assert _wrong(client, "10.1.44.3", f"198.51.100.{n}").status_code == 401
        assert _wrong(client, "192.0.2.7", f"198.51.100.{n + 10}").status_code == 401
    # Loopback is no longer a proxy once the list names others.
    for n in range(5):
        _wrong(client, PROXY, f"198.51.100.{n + 20}")
    assert _wrong(client, PROXY, "198.51.100.99").status_code == 429


def test_without_a_proxy_forwarded_headers_count_from_nobody(app):
    client = app.test_client()
    for n in range(5):
        assert _wrong(client, PROXY, f"198.51.100.{n}").status_code == 401
    assert _wrong(client, PROXY, "198.51.100.50").status_code == 429


@pytest.mark.sqlite_only
@pytest.mark.parametrize("value", ["proxy", "10.0.0.1/8", "127.0.0.1;::1"])
def test_a_bad_trusted_proxies_list_is_one_clear_line(value):
    with pytest.raises(SettingsError) as caught:
        load_settings(trusted_proxies=value)
    assert str(caught.value).startswith("setting MEDIANEST_TRUSTED_PROXIES: ")
    assert "is not an IP address or network" in str(caught.value)


@pytest.mark.sqlite_only
def test_gunicorn_trusts_the_same_proxies(monkeypatch):
    import importlib

    from medianest import gunicorn_conf

    monkeypatch.setenv("MEDIANEST_BEHIND_PROXY", "true")
    monkeypatch.setenv("MEDIANEST_TRUSTED_PROXIES", "172.31.250.2")
    monkeypatch.delenv("MEDIANEST_FORWARDED_ALLOW_IPS", raising=False)
    assert importlib.reload(gunicorn_conf).forwarded_allow_ips == "172.31.250.2"
    monkeypatch.delenv("MEDIANEST_BEHIND_PROXY")
    assert importlib.reload(gunicorn_conf).forwarded_allow_ips == "127.0.0.1"


@pytest.mark.sqlite_only
def test_a_live_server_counts_the_real_peer(live_server_factory):
    """Through a real server: the proxy is elsewhere, so this client's forged addresses are its own."""
    server = live_server_factory(
        env={
            "MEDIANEST_BEHIND_PROXY": "true",
            "MEDIANEST_TRUSTED_PROXIES": "192.0.2.1",
            "MEDIANEST_RATE_LIMIT_LOGIN": "5/minute",
        }
    )
    statuses = []
    for n in range(8):
        answer = requests.post(
            server.url + "/api/v1/auth/login",
            json={"username": "admin", "password": "wrong-password"},
            headers={"X-Forwarded-For": f"198.51.100.{n}"},
            timeout=10,
        )
        statuses.append(answer.status_code)
    assert statuses[:5] == [401] * 5
    assert statuses[5:] == [429] * 3
