"""The author's kit: ``medianest plugin new`` and the fixtures of ``medianest.testing``.

Both are used as an outside author uses them: a pytest run of its own, in a
folder outside this project (so none of tests/conftest.py applies), with the
plugin registered through a ``*.dist-info`` entry point as ``pip install``
would register it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from medianest.cli import cli


def register(site: Path, distribution: str, name: str, module: str) -> Path:
    info = site / f"{distribution.replace('-', '_')}-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(f"[medianest.plugins]\n{name} = {module}\n")
    return site


def run_pytest(
    folder: Path, *paths: str, env: dict[str, str] | None = None, args: tuple = ()
) -> subprocess.CompletedProcess:
    # A run of its own: nothing of this run's pytest (xdist worker, current test) leaks into it.
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *args],
        cwd=folder,
        env={**environment, "PYTHONPATH": os.pathsep.join(paths)},
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_plugin_new_writes_a_package_whose_own_tests_pass(tmp_path):
    result = CliRunner().invoke(cli, ["plugin", "new", "Watch-Stats", "--directory", str(tmp_path)])
    assert result.exit_code == 0, result.output
    package = tmp_path / "medianest-watch-stats"
    assert f"wrote {package}" in result.output
    pyproject = (package / "pyproject.toml").read_text()
    assert '[project.entry-points."medianest.plugins"]\nwatch_stats = "medianest_watch_stats.plugin"' in pyproject
    assert (
        (package / "medianest_watch_stats/templates/watch_stats/page.html")
        .read_text()
        .startswith('{% extends "layout.html" %}')
    )
    assert (package / "medianest_watch_stats/templates/watch_stats/cards/summary.html").exists()
    plugin = (package / "medianest_watch_stats/plugin.py").read_text()
    assert [line for line in plugin.splitlines() if "import" in line and "medianest" in line] == [
        "from medianest.plugins import ("
    ]

    site = register(tmp_path / "site", "medianest-watch-stats", "watch_stats", "medianest_watch_stats.plugin")
    ran = run_pytest(package, str(package), str(site))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "10 passed" in ran.stdout and "skipped" not in ran.stdout, ran.stdout  # 5 tests x SQLite, PostgreSQL


def test_plugin_new_refuses_bad_names_and_existing_folders(tmp_path):
    runner = CliRunner()
    for name, reason in [
        ("9lives", "cannot name a plugin"),
        ("a b", "cannot name a plugin"),
        ("admin", "a name MediaNest keeps for itself"),
    ]:
        result = runner.invoke(cli, ["plugin", "new", name, "--directory", str(tmp_path)])
        assert result.exit_code != 0 and reason in result.output, result.output
    assert runner.invoke(cli, ["plugin", "new", "stats", "--directory", str(tmp_path)]).exit_code == 0
    again = runner.invoke(cli, ["plugin", "new", "stats", "--directory", str(tmp_path)])
    assert again.exit_code != 0 and "already exists" in again.output
    assert "Traceback" not in again.output


KIT_TESTS = """
import pytest
import requests

from medianest.plugins import notify


def test_app_on_each_database_with_migrations_run(app, medianest_backend):
    from sqlalchemy import inspect

    from medianest.plugins import db

    with app.app_context():
        assert str(db.engine.url).startswith("sqlite" if medianest_backend == "sqlite" else "postgresql")
        assert "users" in inspect(db.engine).get_table_names()


@pytest.mark.medianest_settings(health_check_interval=7)
def test_settings_marker(app):
    assert app.config["MEDIANEST"].health_check_interval == 7


def test_admin_client_sends_csrf_and_can_leave_it_out(admin_client, user):
    assert admin_client.patch(f"/api/v1/admin/users/{user.id}", json={"role": "admin"}).status_code == 200
    refused = admin_client.patch(f"/api/v1/admin/users/{user.id}", json={"role": "user"}, csrf=False)
    assert refused.status_code in (400, 403)


def test_user_and_token_clients(client, user_client, token_client, user):
    assert client.get("/api/v1/auth/session").status_code == 401
    assert user_client.get("/api/v1/auth/session").get_json()["data"]["id"] == user.id
    assert token_client.get("/api/v1/auth/session").get_json()["data"]["id"] == user.id
    assert token_client.get("/api/v1/admin/users").status_code == 403


def test_socketio_client_waits_for_an_event(app, user_client, socketio_client, user):
    browser = socketio_client(user_client)
    assert browser.connected
    with app.app_context():
        notify(user.id, "for the test")
    assert browser.wait_for("notification")["message"] == "for the test"
    with pytest.raises(TimeoutError, match="service.status not received"):
        browser.wait_for("service.status", timeout=0.3)


def test_json_standin(json_standin):
    json_standin.answer("POST", "/api/echo", lambda seen: {"got": seen.json}, status=201)
    answer = requests.post(json_standin.url + "/api/echo?x=1", json={"a": 1}, timeout=5)
    assert (answer.status_code, answer.json()) == (201, {"got": {"a": 1}})
    assert requests.get(json_standin.url + "/elsewhere", timeout=5).status_code == 404
    assert [(r.method, r.path, r.args) for r in json_standin.requests] == [
        ("POST", "/api/echo", {"x": "1"}), ("GET", "/elsewhere", {})
    ]


def test_runner(runner):
    result = runner.invoke(args=["plugins"])
    assert result.exit_code == 0, result.output
    assert "overseerr" in result.output
"""


@pytest.mark.slow
def test_medianest_testing_fixtures_work_outside_the_project(tmp_path):
    (tmp_path / "test_kit.py").write_text(textwrap.dedent(KIT_TESTS))
    ran = run_pytest(tmp_path, str(tmp_path))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "13 passed" in ran.stdout and "skipped" not in ran.stdout, ran.stdout  # 6 tests x 2 databases, 1 without


def test_an_unreachable_postgresql_is_skipped_with_the_reason(tmp_path):
    (tmp_path / "test_kit.py").write_text(textwrap.dedent(KIT_TESTS))
    ran = run_pytest(
        tmp_path,
        str(tmp_path),
        env={"MEDIANEST_TEST_PG": "postgresql://postgres@127.0.0.1:1/test"},
        args=("-k", "migrations_run"),
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "1 passed, 1 skipped" in ran.stdout, ran.stdout
    assert "PostgreSQL at 127.0.0.1:1 is not reachable (set MEDIANEST_TEST_PG to a server's URL)" in ran.stdout
