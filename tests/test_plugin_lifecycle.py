"""Plugin lifecycle: disabled or uninstalled plugins never stop MediaNest, switches reach every process,
faults are shared, and a plugin's data goes only by an explicit, backed-up command."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from medianest.cli import cli
from medianest.database_upgrade import upgrade_database
from medianest.events import publish
from medianest.extensions import db
from medianest.models import PluginState
from tests.support.apps import MediaNestClient, build_app, make_settings, sign_in
from tests.support.plugins import InstalledPlugins, write_distributions

# One JSON route per built-in plugin that needs no external service to answer.
BUILT_IN_ROUTES = {
    "overseerr": "/api/v1/media/requests",
    "plex": "/api/v1/plex/collections",
    "uptime_kuma": "/api/v1/uptime/monitors",
    "youtube": "/api/v1/youtube/downloads",
}


def _restart(app, **config):
    """Another process of the same installation: a new app on the same database, migrated as `medianest run` does."""
    settings = app.config["MEDIANEST"]
    again = build_app(make_settings(settings.data_dir, settings.database_url), **config)
    again.test_client_class = MediaNestClient
    upgrade_database(again)
    assert again.extensions["medianest.migration_problems"] == []
    return again


def _dispose(*apps) -> None:
    for each in apps:
        with each.app_context():
            db.engine.dispose()


def _save_state(app, name: str, enabled: bool) -> None:
    with app.app_context():
        row = db.session.get(PluginState, name) or PluginState(name=name)
        row.enabled = enabled
        db.session.add(row)
        db.session.commit()


def _tables(app) -> set[str]:
    with app.app_context():
        return set(inspect(db.engine).get_table_names())


def _versions(app, table: str) -> set[str]:
    with app.app_context():
        if not inspect(db.engine).has_table(table):
            return set()
        return set(db.session.scalars(text(f"SELECT version_num FROM {table}")))


def _openapi_paths(client) -> set[str]:
    return set(client.get("/api/v1/openapi.json").get_json()["paths"])


# ------------------------------------------------------------------ restarts
@pytest.mark.parametrize("plugin", sorted(BUILT_IN_ROUTES))
def test_a_disabled_built_in_plugin_never_stops_a_restart(app, admin_client, admin_user, plugin):
    assert admin_client.patch(f"/api/v1/admin/plugins/{plugin}", json={"enabled": False}).status_code == 200
    restarted = _restart(app)
    try:
        client = sign_in(restarted.test_client(), admin_user)
        assert client.get(BUILT_IN_ROUTES[plugin]).status_code == 404
        assert client.get("/").status_code == 200  # the dashboard and its top bar, without the plugin
        paths = _openapi_paths(client)
        assert BUILT_IN_ROUTES[plugin] not in paths
        for other, route in BUILT_IN_ROUTES.items():
            if other != plugin:
                assert client.get(route).status_code != 404, other
                assert route in paths
        host = restarted.extensions["medianest.plugins"]
        assert host.plugins[plugin].state == "disabled"
        assert [p.name for p in host.failed()] == []
        # Its tables and their revision stay, in a version table of its own.
        if plugin != "uptime_kuma":  # the one built-in without tables
            assert _versions(restarted, f"alembic_version_{plugin}")
    finally:
        _dispose(restarted)


@pytest.mark.plugins("cardtest")
def test_an_uninstalled_plugin_leaves_its_tables_and_never_stops_a_restart(
    app, admin_client, admin_user, installed_plugins
):
    assert admin_client.post("/api/v1/cardtest/bump").status_code == 200
    installed_plugins.__exit__(None, None, None)  # uninstalled: its distribution and entry point are gone
    try:
        restarted = _restart(app)
        client = sign_in(restarted.test_client(), admin_user)
        assert "cardtest" not in restarted.extensions["medianest.plugins"].plugins
        assert client.get("/").status_code == 200
        assert client.get("/api/v1/youtube/downloads").status_code == 200
        assert client.get("/api/v1/cardtest/count").status_code == 404
        assert "cardtest_ticks" in _tables(restarted)
        assert _versions(restarted, "alembic_version_cardtest") == {"c001_cardtest"}
        _dispose(restarted)
    finally:
        installed_plugins.__enter__()
    # Installed again: everything it had is still there.
    again = _restart(app)
    try:
        client = sign_in(again.test_client(), admin_user)
        assert client.get("/api/v1/cardtest/count").get_json()["data"]["count"] == 1
    finally:
        _dispose(again)


@pytest.mark.plugins("cardtest")
def test_an_installation_with_one_version_table_moves_each_plugins_revision_to_its_own(app, tmp_path):
    """Before per-plugin tables every head sat in alembic_version; the upgrade sorts them out, even uninstalled ones."""
    with app.app_context():
        for table, revision in (
            ("alembic_version_cardtest", "c001_cardtest"),
            ("alembic_version_youtube", "youtube_0003"),
            ("alembic_version_plex", "plex_0001"),
            ("alembic_version_overseerr", "overseerr_0002"),
        ):
            db.session.execute(text(f"DROP TABLE {table}"))
            db.session.execute(text("INSERT INTO alembic_version (version_num) VALUES (:r)"), {"r": revision})
        db.session.execute(text("INSERT INTO alembic_version (version_num) VALUES ('gone_0007')"))
        db.session.commit()
    restarted = _restart(app)
    try:
        assert _versions(restarted, "alembic_version") == {"0005_notifications"}  # the core's one head
        assert _versions(restarted, "alembic_version_cardtest") == {"c001_cardtest"}
        assert _versions(restarted, "alembic_version_youtube") == {"youtube_0003"}
        # A revision no installed plugin knows waits for its plugin, out of the core's way.
        assert _versions(restarted, "alembic_version_unclaimed") == {"gone_0007"}
        assert "cardtest_ticks" in _tables(restarted)
    finally:
        _dispose(restarted)


def test_a_revision_waiting_for_its_plugin_is_claimed_when_it_is_installed(app, tmp_path):
    """cardtest was installed once, then uninstalled before the upgrade to per-plugin version tables."""
    with app.app_context():
        db.session.execute(text("INSERT INTO alembic_version (version_num) VALUES ('c001_cardtest')"))
        db.session.commit()
    try:
        restarted = _restart(app)
        _dispose(restarted)
        assert _versions(app, "alembic_version_unclaimed") == {"c001_cardtest"}
        with InstalledPlugins(write_distributions(tmp_path / "site-again", ["cardtest"])):
            with app.app_context():  # its table, as the old install left it
                db.session.execute(text("CREATE TABLE cardtest_ticks (id INTEGER PRIMARY KEY, n INTEGER, source TEXT)"))
                db.session.commit()
            installed = _restart(app)
            _dispose(installed)
        assert _versions(app, "alembic_version_cardtest") == {"c001_cardtest"}
        assert _versions(app, "alembic_version_unclaimed") == set()
    finally:
        # The PostgreSQL database is reused by the next test without cardtest: leave no trace of it.
        with app.app_context():
            for table in ("cardtest_ticks", "alembic_version_cardtest", "alembic_version_unclaimed"):
                db.session.execute(text(f"DROP TABLE IF EXISTS {table}"))
            db.session.commit()


# ------------------------------------------------------------------ runtime switches
@pytest.mark.plugins("cardtest")
def test_a_plugin_disabled_at_start_and_enabled_at_run_time_serves_in_every_process(app, admin_user):
    import tests.plugins.cardtest as cardtest

    _save_state(app, "cardtest", False)
    web1 = _restart(app)
    web2 = _restart(app, PLUGIN_STATE_CHECK_SECONDS=0)  # a second web process
    try:
        one, two = sign_in(web1.test_client(), admin_user), sign_in(web2.test_client(), admin_user)
        for client in (one, two):
            assert client.get("/api/v1/cardtest/count").status_code == 404
            assert "/api/v1/cardtest/count" not in _openapi_paths(client)
            assert 'href="/cardtest/"' not in client.get("/").get_data(as_text=True)

        assert one.patch("/api/v1/admin/plugins/cardtest", json={"enabled": True}).get_json()["data"]["state"] == (
            "enabled"
        )
        for client in (one, two):
            assert client.get("/api/v1/cardtest/count").status_code == 200
            page = client.get("/").get_data(as_text=True)
            assert 'href="/cardtest/"' in page and 'id="card-cardtest"' in page
            assert "/api/v1/cardtest/count" in _openapi_paths(client)
        assert web2.extensions["medianest.plugins"].plugins["cardtest"].state == "enabled"  # no BuildError in nav

        # Its periodic task runs again, and its subscriptions receive.
        cardtest.received.clear()
        with web2.app_context():
            cardtest.tick.apply()
            publish("cardtest.tick", {"user_id": None, "n": 99})
        assert two.get("/api/v1/cardtest/count").get_json()["data"]["count"] == 1
        assert cardtest.received[-1] == {"user_id": None, "n": 99}

        # Switched off in the second process: the first one follows.
        web1.extensions["medianest.plugins"].check_interval = 0
        assert two.patch("/api/v1/admin/plugins/cardtest", json={"enabled": False}).status_code == 200
        assert one.get("/api/v1/cardtest/count").status_code == 404
        assert "/api/v1/cardtest/count" not in _openapi_paths(one)
        assert 'id="card-cardtest"' not in one.get("/").get_data(as_text=True)
        cardtest.received.clear()
        with web1.app_context():
            cardtest.tick.apply()  # beat still sends it: the task does nothing while its plugin is off
            publish("cardtest.tick", {"user_id": None, "n": 100})
        assert cardtest.received == []
        _save_state(app, "cardtest", True)
        assert one.get("/api/v1/cardtest/count").get_json()["data"]["count"] == 1
    finally:
        _dispose(web1, web2)


@pytest.mark.plugins("cardtest")
def test_the_default_check_interval_reaches_another_process_within_seconds(app, admin_client, admin_user):
    import time

    other = _restart(app)
    try:
        client = sign_in(other.test_client(), admin_user)
        assert client.get("/api/v1/cardtest/count").status_code == 200
        assert admin_client.patch("/api/v1/admin/plugins/cardtest", json={"enabled": False}).status_code == 200
        deadline = time.monotonic() + 5
        while client.get("/api/v1/cardtest/count").status_code != 404:
            assert time.monotonic() < deadline, "the second process never saw the switch"
            time.sleep(0.1)
    finally:
        _dispose(other)


# ------------------------------------------------------------------ faults
@pytest.mark.plugins("cardtest", "hookfailtest")
def test_a_fault_at_request_time_is_shared_and_an_admin_clears_it(app, admin_client, admin_user):
    other = _restart(app, PLUGIN_STATE_CHECK_SECONDS=0)
    try:
        assert admin_client.get("/").status_code == 200  # hookfailtest's dashboard_cards raises here
        client = sign_in(other.test_client(), admin_user)
        listed = {p["name"]: p for p in client.get("/api/v1/admin/plugins").get_json()["data"]}
        assert listed["hookfailtest"]["state"] == "failed"
        assert listed["hookfailtest"]["error"] == (
            "dashboard_cards raised RuntimeError: hookfailtest: dashboard_cards exploded"
        )
        assert listed["cardtest"]["state"] == "enabled"
        assert client.get("/api/v1/health").get_json()["data"]["failed_plugins"] == ["hookfailtest"]

        result = other.test_cli_runner().invoke(cli, ["plugins"])
        assert result.exit_code == 0, result.output
        assert "hookfailtest" in result.output and "failed" in result.output
        assert "error: dashboard_cards raised RuntimeError" in result.output

        # An admin enables it again, from either process: the fault is cleared everywhere.
        patched = client.patch("/api/v1/admin/plugins/hookfailtest", json={"enabled": True}).get_json()["data"]
        assert patched["state"] == "enabled" and patched["error"] is None
        first = app.extensions["medianest.plugins"]
        first.check_interval = 0
        with app.app_context():
            assert first.is_active("hookfailtest") and first.plugins["hookfailtest"].error is None
        with app.app_context():
            row = db.session.get(PluginState, "hookfailtest")
            assert row.error is None and row.failed_at is None and row.enabled
    finally:
        _dispose(other)


# ------------------------------------------------------------------ removing data
@pytest.mark.plugins("cardtest")
def test_plugins_remove_backs_up_then_drops_the_tables_and_mediannest_starts(app, admin_client, admin_user, runner):
    assert admin_client.post("/api/v1/cardtest/bump").status_code == 200
    backups = Path(app.config["MEDIANEST"].data_dir) / "backups"

    refused = runner.invoke(cli, ["plugins", "remove", "cardtest"], input="n\n")
    assert refused.exit_code == 1 and "Aborted" in refused.output
    assert "cardtest_ticks" in _tables(app) and not backups.exists()

    result = runner.invoke(cli, ["plugins", "remove", "cardtest"], input="y\n")
    assert result.exit_code == 0, result.output
    archive = Path(result.output.split("backup written: ", 1)[1].splitlines()[0])
    assert archive.parent == backups and archive.is_file()
    with tarfile.open(archive) as backup:
        assert "manifest.json" in backup.getnames()
    assert "c001_cardtest" in backup_revisions(archive)
    assert "cardtest_ticks" not in _tables(app)
    assert "alembic_version_cardtest" not in _tables(app)
    assert "dropped: alembic_version_cardtest, cardtest_ticks" in result.output

    restarted = _restart(app)
    try:
        client = sign_in(restarted.test_client(), admin_user)
        assert restarted.extensions["medianest.plugins"].plugins["cardtest"].state == "disabled"
        assert client.get("/api/v1/cardtest/count").status_code == 404
        assert client.get("/api/v1/youtube/downloads").status_code == 200
        # Still installed: its tables come back empty, to be enabled afresh.
        assert client.patch("/api/v1/admin/plugins/cardtest", json={"enabled": True}).status_code == 200
        assert client.get("/api/v1/cardtest/count").get_json()["data"]["count"] == 0
    finally:
        _dispose(restarted)


def backup_revisions(archive: Path) -> list[str]:
    import json

    with tarfile.open(archive) as backup:
        return json.loads(backup.extractfile("manifest.json").read())["database"]["revisions"]


def test_plugins_remove_refuses_what_it_cannot_remove(runner):
    result = runner.invoke(cli, ["plugins", "remove", "nope", "--yes"])
    assert result.exit_code == 2
    assert "no plugin named 'nope' is installed" in result.output
    result = runner.invoke(cli, ["plugins", "remove", "uptime_kuma", "--yes"])
    assert result.exit_code == 2
    assert "plugin uptime_kuma has no tables of its own" in result.output


# ------------------------------------------------------------------ real processes
@pytest.mark.slow
@pytest.mark.plugins("cardtest")
def test_medianest_run_starts_again_with_a_plugin_disabled_then_uninstalled(
    live_server_factory, installed_plugins, tmp_path
):
    """`medianest run` itself, twice more on the same instance folder: youtube and cardtest off, then cardtest gone."""
    from tests.support.apps import LiveServer
    from tests.support.services import free_port

    first = live_server_factory(plugins=installed_plugins, name="first")
    http = first.session()
    for _ in range(5):  # more than the plugin's once-a-second tick adds while the test looks
        assert http.post(first.url + "/api/v1/cardtest/bump", timeout=10).status_code == 200
    for name in ("youtube", "cardtest"):
        assert http.patch(f"{first.url}/api/v1/admin/plugins/{name}", json={"enabled": False}, timeout=10).ok
    first.stop()

    again = LiveServer(first.env, free_port(), tmp_path / "again.log")
    try:
        again.start()
        http = again.session()
        assert http.get(again.url + "/api/v1/youtube/downloads", timeout=10).status_code == 404
        assert http.get(again.url + "/api/v1/cardtest/count", timeout=10).status_code == 404
        assert http.get(again.url + "/api/v1/media/requests", timeout=10).status_code == 200
        assert http.patch(f"{again.url}/api/v1/admin/plugins/cardtest", json={"enabled": True}, timeout=10).ok
        # The rows written before it was switched off are still there (its tick may have added one since).
        assert http.get(again.url + "/api/v1/cardtest/count", timeout=10).json()["data"]["count"] >= 5
    finally:
        again.stop()

    uninstalled = dict(first.env, PYTHONPATH=str(Path(__file__).resolve().parent.parent))  # cardtest's site is gone
    gone = LiveServer(uninstalled, free_port(), tmp_path / "gone.log")
    try:
        gone.start()
        http = gone.session()
        assert http.get(gone.url + "/api/v1/cardtest/count", timeout=10).status_code == 404
        plugins = {p["name"] for p in http.get(gone.url + "/api/v1/admin/plugins", timeout=10).json()["data"]}
        assert "cardtest" not in plugins and "youtube" in plugins
        assert "Can't locate revision" not in gone.log()
    finally:
        gone.stop()
