"""MediaNest's pytest plugin (entry point ``pytest11``): fixtures for testing a plugin.

Installed with MediaNest, it is active in every pytest run of an environment
that has MediaNest; a project's own ``conftest.py`` fixtures of the same name
take precedence.  Fixtures:

- ``app``: MediaNest in testing mode on a migrated database, once on SQLite and
  once on PostgreSQL (``medianest_backend`` is the parameter); every installed
  plugin's migrations ran, its own included.  Settings for one test:
  ``@pytest.mark.medianest_settings(health_check_interval=5)``.
- ``client`` (anonymous), ``runner`` (``runner.invoke(args=["plugins"])`` runs
  the ``medianest`` command against the app),
  ``user`` / ``admin_user`` (a person and the local admin),
  ``user_client`` / ``admin_client`` (signed in; CSRF tokens sent for you),
  ``token_client`` (the person's personal API token, no cookie).
- ``socketio_client``: a factory, ``socketio_client(user_client)`` connects as
  that client's user; ``.wait_for("event", predicate, timeout)`` returns the
  payload.
- ``json_standin``: a started :class:`~medianest.testing.JsonStandIn`.

PostgreSQL is the server at ``MEDIANEST_TEST_PG`` (default
``postgresql://postgres@127.0.0.1:5432/test``); each run creates throw-away
databases there and drops them at the end.  When it cannot be reached the
PostgreSQL half of the tests is skipped, saying why.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from medianest.testing.databases import PostgresDatabases, postgres_problem


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "medianest_settings(**values): MediaNest settings for this test's app")


@pytest.fixture(scope="session")
def medianest_pg() -> Iterator[PostgresDatabases]:
    """Throw-away databases on the PostgreSQL server (skips the test when there is none)."""
    problem = postgres_problem()
    if problem:
        pytest.skip(problem)
    databases = PostgresDatabases()
    yield databases
    databases.drop_all()


@pytest.fixture(scope="session")
def medianest_migrated(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One migrated database per engine, copied (SQLite) or emptied (PostgreSQL) for each test."""
    return {"root": tmp_path_factory.mktemp("medianest-migrated")}


@pytest.fixture(params=["sqlite", "postgresql"])
def medianest_backend(request: pytest.FixtureRequest) -> str:
    return request.param


def _database(backend: str, request: pytest.FixtureRequest, work: Path) -> str:
    from medianest.testing.apps import build_app, copy_sqlite, dispose, make_settings, truncate_postgres, upgrade

    migrated = request.getfixturevalue("medianest_migrated")
    if backend == "sqlite":
        if "sqlite" not in migrated:
            folder = migrated["root"] / "sqlite"
            app = build_app(make_settings(folder, None))
            upgrade(app)
            dispose(app)
            migrated["sqlite"] = folder / "medianest.db"
        return copy_sqlite(migrated["sqlite"], work / "data")
    pg: PostgresDatabases = request.getfixturevalue("medianest_pg")
    fresh = "postgresql" not in migrated
    if fresh:
        migrated["postgresql"] = pg.create()
    app = build_app(make_settings(work / "pg-migrate", migrated["postgresql"]))
    if not fresh:
        truncate_postgres(app)
    upgrade(app)  # on a truncated database: re-creates the local admin
    dispose(app)
    return migrated["postgresql"]


@pytest.fixture
def app(request: pytest.FixtureRequest, medianest_backend: str, tmp_path: Path):
    """MediaNest (testing mode) on a migrated SQLite or PostgreSQL database."""
    from medianest.testing.apps import MediaNestClient, MediaNestCliRunner, build_app, dispose, make_settings

    marker = request.node.get_closest_marker("medianest_settings")
    overrides = dict(marker.kwargs) if marker else {}
    url = _database(medianest_backend, request, tmp_path)
    application = build_app(make_settings(tmp_path / "data", url, **overrides))
    application.test_client_class = MediaNestClient
    application.test_cli_runner_class = MediaNestCliRunner
    yield application
    dispose(application)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def user(app):
    """A person with the ``user`` role (``alice``)."""
    from medianest.testing.apps import make_user

    return make_user(app, "alice")


@pytest.fixture
def admin_user(app):
    """The local admin."""
    from medianest.testing.apps import local_admin

    return local_admin(app)


@pytest.fixture
def user_client(app, user):
    from medianest.testing.apps import sign_in

    return sign_in(app.test_client(), user)


@pytest.fixture
def admin_client(app, admin_user):
    from medianest.testing.apps import sign_in

    return sign_in(app.test_client(), admin_user)


@pytest.fixture
def token_client(app, user):
    """The person's personal API token in ``Authorization: Bearer``; no session cookie."""
    from medianest.testing.apps import token_client as make

    return make(app, user)


@pytest.fixture
def socketio_client(app):
    """A factory: ``socketio_client(user_client)`` is a Socket.IO connection as that client's user."""
    from medianest.testing.sockets import AppSocketClient

    opened: list[AppSocketClient] = []

    def connect(flask_client=None) -> AppSocketClient:
        sock = AppSocketClient(app, flask_client)
        opened.append(sock)
        return sock

    yield connect
    for sock in opened:
        sock.close()


@pytest.fixture
def json_standin():
    """A local HTTP server answering canned JSON (``json_standin.answer("GET", "/path", {...})``)."""
    from medianest.testing.standin import JsonStandIn

    with JsonStandIn() as standin:
        yield standin
