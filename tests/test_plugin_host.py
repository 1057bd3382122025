"""The plugin host: entry-point loading, failures contained, collisions refused, admin switches."""

from __future__ import annotations

import pytest

from medianest.cli import cli
from medianest.events import UnknownEvent, publish
from medianest.extensions import db
from medianest.models import ServiceStatus
from medianest.service_settings import service_definitions
from medianest.status import run_checks
from tests.support.apps import build_app, make_settings


def _host(app):
    return app.extensions["medianest.plugins"]


@pytest.mark.plugins("cardtest")
def test_test_plugin_loads_through_entry_points(app, admin_client):
    info = _host(app).plugins["cardtest"]
    assert info.version == "0.1.0"
    assert info.error is None
    assert {
        "register_blueprints",
        "dashboard_cards",
        "health_checks",
        "service_settings",
        "periodic_tasks",
        "event_subscriptions",
        "published_events",
        "nav_items",
        "migration_locations",
        "startup",
    } <= set(info.hooks)
    assert app.config["CARDTEST_STARTED"] is True
    response = admin_client.get("/api/v1/cardtest/count")
    assert response.status_code == 200
    assert response.get_json()["data"] == {"count": 0, "started": True}


@pytest.mark.plugins("cardtest")
def test_hook_register_blueprints(app, admin_client):
    assert app.blueprints["cardtest"]
    assert admin_client.get("/cardtest/").status_code == 200
    assert _host(app).plugins["cardtest"].active


@pytest.mark.plugins("cardtest")
def test_hook_dashboard_cards(admin_client):
    page = admin_client.get("/").get_data(as_text=True)
    assert 'id="card-cardtest"' in page
    assert 'hx-trigger="load, cardtest.tick from:body, socket.reconnected from:body"' in page
    fragment = admin_client.get("/dashboard/cards/cardtest", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert 'data-count="0"' in fragment.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"]
    assert admin_client.get("/dashboard/cards/nope").status_code == 404


@pytest.mark.plugins("cardtest")
def test_hook_nav_items(admin_client, client):
    assert 'href="/cardtest/"' in admin_client.get("/").get_data(as_text=True)
    assert 'href="/cardtest/"' not in client.get("/auth/login").get_data(as_text=True)


@pytest.mark.plugins("cardtest")
def test_hook_startup(app):
    assert app.config["CARDTEST_STARTED"] is True


@pytest.mark.plugins("cardtest")
def test_hook_migration_locations(app, admin_client):
    """The plugin's own Alembic branch ran after the core's, recorded in a version table of its own."""
    from sqlalchemy import inspect

    with app.app_context():
        assert "cardtest_ticks" in inspect(db.engine).get_table_names()
        core = {row[0] for row in db.session.execute(db.text("SELECT version_num FROM alembic_version"))}
        mine = {row[0] for row in db.session.execute(db.text("SELECT version_num FROM alembic_version_cardtest"))}
    assert mine == {"c001_cardtest"}
    assert "c001_cardtest" not in core and "0005_notifications" in core
    assert admin_client.post("/api/v1/cardtest/bump").get_json()["data"]["count"] == 1


@pytest.mark.plugins("cardtest")
def test_hook_published_events_and_event_subscriptions(app, admin_client):
    import tests.plugins.cardtest as cardtest

    cardtest.received.clear()
    admin_client.post("/api/v1/cardtest/bump")
    assert cardtest.received == [{"user_id": None, "n": 1, "source": "request"}]
    with app.app_context():
        with pytest.raises(UnknownEvent):
            publish("cardtest.unknown", {"user_id": None})
        with pytest.raises(ValueError, match="user_id"):
            publish("cardtest.tick", {"n": 1})


@pytest.mark.plugins("cardtest")
def test_a_raising_subscriber_does_not_stop_delivery(app, caplog):
    import tests.plugins.cardtest as cardtest

    cardtest.received.clear()
    subscriptions = app.extensions["medianest.subscriptions"]["cardtest.tick"]

    def explode(payload):
        raise RuntimeError("subscriber failed")

    subscriptions.insert(0, ("cardtest", explode))
    with app.app_context():
        publish("cardtest.tick", {"user_id": None, "n": 7})
    assert cardtest.received == [{"user_id": None, "n": 7}]
    assert "subscriber failed" in caplog.text


@pytest.mark.plugins("cardtest")
def test_hook_periodic_tasks(app):
    schedule = app.extensions["celery"].conf.beat_schedule
    assert schedule["cardtest.tick"] == {"task": "cardtest.tick", "schedule": 1.0}
    assert schedule["medianest.health-checks"]["task"] == "medianest.run_health_checks"


@pytest.mark.plugins("cardtest")
def test_hook_health_checks(app):

    with app.app_context():
        results = run_checks()
        assert results["cardtest"].status == "online"
        row = db.session.get(ServiceStatus, "cardtest")
        assert row.status == "online" and row.plugin == "cardtest"
        assert row.display_name == "Card test service"


@pytest.mark.plugins("cardtest")
def test_hook_service_settings(app):

    with app.app_context():
        definition = service_definitions()["cardtest"]
    assert [f.name for f in definition.fields] == ["url", "api_key"]
    assert definition.fields[1].secret
    assert definition.test_connection({"api_key": "good-key"}).ok
    assert not definition.test_connection({"api_key": "bad"}).ok


@pytest.mark.plugins("cardtest", "brokentest", "hookfailtest")
def test_failing_plugins_leave_the_app_serving(app, admin_client, caplog):
    host = _host(app)
    assert "failed to load" in host.plugins["brokentest"].error
    assert "imaginary dependency" in host.plugins["brokentest"].error
    # The dashboard still renders: the plugin whose hook raised is disabled, the others' cards stay.
    page = admin_client.get("/")
    assert page.status_code == 200
    assert 'id="card-cardtest"' in page.get_data(as_text=True)
    assert "dashboard_cards raised RuntimeError" in host.plugins["hookfailtest"].error
    health = admin_client.get("/api/v1/health").get_json()["data"]
    assert set(health["failed_plugins"]) == {"brokentest", "hookfailtest"}
    assert health["plugins"]["brokentest"]["state"] == "failed"
    assert health["plugins"]["cardtest"]["state"] == "enabled"
    setup_log = "\n".join(r.getMessage() for r in caplog.get_records("setup"))
    assert "plugin brokentest disabled: failed to load: ImportError" in setup_log


@pytest.mark.plugins("cardtest", "clashtest")
def test_name_collisions_are_refused_naming_both_plugins(app):
    error = _host(app).plugins["clashtest"].error
    assert "'cardtest'" in error
    assert "blueprint name" in error or "already published" in error
    assert _host(app).plugins["cardtest"].active


@pytest.mark.plugins("typotest")
def test_misspelt_hook_is_an_error_not_a_silent_noop(app):
    error = _host(app).plugins["typotest"].error
    assert "dashbord_cards" in error


@pytest.mark.plugins("cardtest")
def test_admin_disables_a_plugin_and_it_stays_disabled_after_restart(app, admin_client, user_client):
    response = admin_client.patch("/api/v1/admin/plugins/cardtest", json={"enabled": False})
    assert response.status_code == 200
    assert response.get_json()["data"]["state"] == "disabled"
    assert admin_client.get("/api/v1/cardtest/count").status_code == 404
    assert 'id="card-cardtest"' not in admin_client.get("/").get_data(as_text=True)
    assert user_client.patch("/api/v1/admin/plugins/cardtest", json={"enabled": True}).status_code == 403

    restarted = build_app(make_settings(app.config["MEDIANEST"].data_dir, app.config["MEDIANEST"].database_url))
    assert restarted.extensions["medianest.plugins"].plugins["cardtest"].enabled is False

    with restarted.app_context():
        db.engine.dispose()

    assert admin_client.patch("/api/v1/admin/plugins/cardtest", json={"enabled": True}).status_code == 200
    assert admin_client.get("/api/v1/cardtest/count").status_code == 200


@pytest.mark.plugins("cardtest")
def test_admin_plugin_api_rejects_unknown_plugins_and_bad_bodies(admin_client):
    assert (
        admin_client.patch("/api/v1/admin/plugins/nope", json={"enabled": False}).get_json()["error"]["code"]
        == "NOT_FOUND"
    )
    bad = admin_client.patch("/api/v1/admin/plugins/cardtest", json={"enabled": "maybe"})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "VALIDATION_ERROR"


@pytest.mark.plugins("cardtest", "brokentest")
def test_plugins_command_lists_versions_hooks_and_errors(runner):

    result = runner.invoke(cli, ["plugins"])
    assert result.exit_code == 0, result.output
    assert "cardtest" in result.output and "0.1.0" in result.output and "dashboard_cards" in result.output
    assert "brokentest" in result.output and "error: failed to load" in result.output


def test_service_settings_are_collected_once_until_a_plugin_is_switched(app):
    """``service_definitions`` reads a remembered collection; switching a plugin off or on renews it."""

    host = app.extensions["medianest.plugins"]
    calls = []
    original = host.collect

    def counted(hook_name, **kwargs):
        calls.append(hook_name)
        return original(hook_name, **kwargs)

    host.collect = counted
    with app.app_context():
        first = service_definitions()
        assert "youtube" in first
        assert service_definitions().keys() == first.keys()
        assert calls == ["service_settings"]  # the second read is remembered
        host.set_enabled("youtube", False)
        assert "youtube" not in service_definitions()
        host.set_enabled("youtube", True)
        assert "youtube" in service_definitions()
    assert calls == ["service_settings"] * 3
