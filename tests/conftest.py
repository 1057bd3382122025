"""Fixtures in the shape of Flask's tutorial: ``app``, ``client``, ``runner``, plus
signed-in clients per role, real PostgreSQL and SQLite (every database test
runs on both), real Redis, live servers and a real headless Chromium.

Schemas are always built by running the migrations, never ``create_all``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from medianest.http import reset_clients
from tests.standins.base import VENDOR_CONTRACTS, missing_vendor_files
from tests.standins.plex import PlexTvStandin
from tests.support.apps import (
    ADMIN_PASSWORD,
    SECRET,
    LiveServer,
    MediaNestClient,
    Process,
    build_app,
    copy_sqlite,
    make_settings,
    sign_in,
    truncate_postgres,
    upgrade,
)
from tests.support.plugins import InstalledPlugins, write_distributions
from tests.support.services import (
    PG_BASE,
    REDIS_HOST,
    REDIS_PORT,
    PostgresDatabases,
    free_port,
    port_open,
    redis_database,
    service_missing,
)

CHROMIUM = os.environ.get("MEDIANEST_TEST_CHROMIUM", "/usr/bin/chromium")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "plugins(*names): install these test plugins (tests/plugins) for the test")
    config.addinivalue_line("markers", "settings(**values): override MediaNest settings for the test's app")
    config.addinivalue_line(
        "markers", "env(**values): environment variables set while the test's app is built and used"
    )
    config.addinivalue_line("markers", "sqlite_only: this test's subject does not depend on the database engine")
    config.addinivalue_line(
        "markers", "vendor_contracts: checks against the vendors' own API documents (read from MEDIANEST_CONTRACTS)"
    )


# ------------------------------------------------------------------ vendor contracts
# The vendors' OpenAPI documents are third-party files and not in the repository.
# Tests marked vendor_contracts read them; without the files those tests are
# deselected (not skipped one by one) and the summary says so in one line. CI
# always has the files, so there a missing file fails every one of those tests.
def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1")


def _vendor_files_missing(missing: list[Path]) -> str:
    names = ", ".join(str(path.relative_to(VENDOR_CONTRACTS)) for path in missing)
    return (
        f"{names} not found in {VENDOR_CONTRACTS}; "
        "set MEDIANEST_CONTRACTS to the folder holding the vendors' API documents to run it"
    )


def pytest_report_header(config: pytest.Config) -> str:
    missing = missing_vendor_files()
    state = "missing, layer off" if missing and not _in_ci() else ("MISSING" if missing else "present")
    return f"vendor contracts (MEDIANEST_CONTRACTS): {VENDOR_CONTRACTS} ({state})"


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    missing = missing_vendor_files()
    if missing and not _in_ci():
        line = f"vendor-contract layer did not run: {_vendor_files_missing(missing)}"
        terminalreporter.write_line(line, yellow=True, bold=True)


@pytest.fixture(autouse=True)
def _vendor_documents_present(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("vendor_contracts") is None:
        return
    missing = missing_vendor_files()
    if missing:  # only reached in CI: elsewhere these tests are deselected
        pytest.fail(f"CI must run the vendor-contract layer: {_vendor_files_missing(missing)}", pytrace=False)


# ------------------------------------------------------------------ services
@pytest.fixture(scope="session")
def pg_databases() -> Iterator[PostgresDatabases]:
    host_port = PG_BASE.split("@", 1)[-1].split("/", 1)[0]
    host, _, port = host_port.partition(":")
    if not port_open(host or "127.0.0.1", int(port or 5432)):
        service_missing(f"PostgreSQL at {host_port}")
    databases = PostgresDatabases()
    yield databases
    databases.drop_all()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    if not port_open(REDIS_HOST, REDIS_PORT):
        service_missing(f"Redis at {REDIS_HOST}:{REDIS_PORT}")
    with redis_database() as url:
        yield url


@pytest.fixture
def clean_redis(redis_url: str) -> str:
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    return redis_url


# ------------------------------------------------------------------ databases
@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One migrated database per engine, reused (copied or truncated) by each test."""
    return {"root": tmp_path_factory.mktemp("templates")}


def _database_for(backend: str, request: pytest.FixtureRequest, tmp_path: Path, plugins: list[str]) -> str:
    templates = request.getfixturevalue("migrated_templates")
    key = (backend, tuple(sorted(plugins)))
    if backend == "sqlite":
        if key not in templates:
            folder = templates["root"] / ("sqlite-" + "-".join(key[1]) if key[1] else "sqlite")
            app = build_app(make_settings(folder, None))
            upgrade(app)
            _dispose(app)
            templates[key] = folder / "medianest.db"
        return copy_sqlite(templates[key], tmp_path / "data")
    pg: PostgresDatabases = request.getfixturevalue("pg_databases")
    if key not in templates:
        url = pg.create()
        app = build_app(make_settings(tmp_path / "pg-migrate", url))
        upgrade(app)
        _dispose(app)
        templates[key] = url
        return url
    url = templates[key]
    app = build_app(make_settings(tmp_path / "pg-truncate", url))
    truncate_postgres(app)
    upgrade(app)  # re-creates the local admin after the truncate
    _dispose(app)
    return url


def _dispose(app) -> None:
    from medianest.extensions import db

    with app.app_context():
        db.engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_backend(request: pytest.FixtureRequest) -> str:
    return request.param


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # An engine-independent test runs once, on SQLite: its PostgreSQL twin is deselected, not skipped.
    # Without the vendors' documents (and outside CI) the vendor-contract layer is deselected too.
    vendor_layer_off = bool(missing_vendor_files()) and not _in_ci()
    keep, drop = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if item.get_closest_marker("sqlite_only") and params.get("db_backend") == "postgresql":
            drop.append(item)
        elif vendor_layer_off and item.get_closest_marker("vendor_contracts"):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
def installed_plugins(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[InstalledPlugins | None]:
    marker = request.node.get_closest_marker("plugins")
    if marker is None:
        yield None
        return
    folder = write_distributions(tmp_path / "site", list(marker.args))
    with InstalledPlugins(folder) as installed:
        yield installed


@pytest.fixture
def app(request: pytest.FixtureRequest, db_backend: str, tmp_path: Path, installed_plugins, monkeypatch):
    from medianest.api.budget import reset_all

    env = request.node.get_closest_marker("env")
    for name, value in (env.kwargs if env else {}).items():
        monkeypatch.setenv(name, value)

    marker = request.node.get_closest_marker("plugins")
    plugins = list(marker.args) if marker else []
    overrides = (
        dict(request.node.get_closest_marker("settings").kwargs) if request.node.get_closest_marker("settings") else {}
    )
    redis = marked_redis = overrides.pop("redis_url", None)
    if redis == "use-test-redis":
        redis = request.getfixturevalue("clean_redis")
    url = _database_for(db_backend, request, tmp_path, plugins)
    data_dir = tmp_path / "data"
    application = build_app(make_settings(data_dir, url if db_backend == "postgresql" else url, redis, **overrides))
    application.test_client_class = MediaNestClient
    with contextlib.suppress(Exception):  # a test that points Redis at nothing on purpose
        reset_all(application)
    application.config["TEST_DB_BACKEND"] = db_backend
    if marked_redis == "use-test-redis":
        _limits_counted_in_redis(application)
    yield application
    _dispose(application)


def _limits_counted_in_redis(application) -> None:
    """Wait, if need be, until the rate limiter counts in Redis again.

    Flask-Limiter's one instance outlives the app: after a test that took
    Redis away, it keeps counting in memory until its next check of Redis,
    up to 32 seconds later (by design: production has one app per process).
    Requests to a limited route make it check; the anonymous API calls used
    here count against nobody a test signs in as.
    """
    state = application.extensions["medianest.limiter_state"]
    deadline = time.monotonic() + 40
    probe = application.test_client()
    while state()["storage"] != "redis":
        if time.monotonic() > deadline:
            raise AssertionError("the rate limiter still counts in memory 40 s after Redis came back")
        probe.get("/api/v1/notifications")  # 401: a limited route, counted for no one signed in
        time.sleep(0.5)


@pytest.fixture
def plex_tv():
    """plex.tv's stand-in (PINs, the account, its servers)."""
    with PlexTvStandin() as standin:
        yield standin


@pytest.fixture
def plex_app(plex_tv, app):
    """``app`` signing in through the plex.tv stand-in."""
    app.config["MEDIANEST"] = app.config["MEDIANEST"].model_copy(update={"plex_tv_url": plex_tv.url})
    reset_clients()
    yield app
    reset_clients()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# ------------------------------------------------------------------ people
def _make_user(app, username: str, role: str = "user", **fields):
    from medianest.extensions import db
    from medianest.models import User

    with app.app_context():
        user = User(username=username, display_name=username.title(), role=role, **fields)
        db.session.add(user)
        db.session.commit()
        db.session.refresh(user)
        db.session.expunge(user)
        return user


@pytest.fixture
def admin_user(app):
    from medianest.extensions import db
    from medianest.models import User

    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.username == "admin"))
        db.session.expunge(user)
        return user


@pytest.fixture
def alice(app):
    return _make_user(app, "alice", plex_id="1001")


@pytest.fixture
def bob(app):
    return _make_user(app, "bob", plex_id="1002")


@pytest.fixture
def admin_client(app, admin_user):
    return sign_in(app.test_client(), admin_user)


@pytest.fixture
def user_client(app, alice):
    return sign_in(app.test_client(), alice)


@pytest.fixture
def other_client(app, bob):
    return sign_in(app.test_client(), bob)


# ------------------------------------------------------------------ live servers
@pytest.fixture
def live_server_factory(request: pytest.FixtureRequest, tmp_path: Path):
    """Start ``medianest run`` (and workers) in subprocesses; everything is stopped afterwards."""
    started: list = []

    def make(
        backend: str = "sqlite",
        redis: bool = False,
        env: dict[str, str] | None = None,
        plugins: InstalledPlugins | None = None,
        name: str = "server",
    ) -> LiveServer:
        data_dir = tmp_path / f"{name}-data"
        server_env = {
            "MEDIANEST_DATA_DIR": str(data_dir),
            "MEDIANEST_SECRET_KEY": SECRET,
            "MEDIANEST_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "MEDIANEST_LOG_FORMAT": "text",
            "MEDIANEST_HEALTH_CHECK_INTERVAL": "2",
        }
        if backend == "postgresql":
            server_env["DATABASE_URL"] = request.getfixturevalue("pg_databases").create()
        if redis:
            server_env["REDIS_URL"] = request.getfixturevalue("clean_redis")
        if plugins is not None:
            server_env.update(plugins.env())
        else:
            server_env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
        server_env.update(env or {})
        server = LiveServer(server_env, free_port(), tmp_path / f"{name}.log")
        started.append(server)
        return server.start()

    def process(args: list[str], server: LiveServer, name: str) -> Process:
        proc = Process(args, dict(server.env), tmp_path / f"{name}.log")
        started.append(proc)
        return proc.start()

    make.process = process  # type: ignore[attr-defined]
    yield make
    for item in reversed(started):
        item.stop()


# ------------------------------------------------------------------ browser
@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        service_missing(f"Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()


def browser_sign_in(page, server: LiveServer, username: str = "admin", password: str = ADMIN_PASSWORD) -> None:
    page.goto(server.url + "/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("#local-login button[type=submit]")
    # The dashboard; without JavaScript its <noscript> refresh may already have moved on to
    # the server-rendered cards (/?cards=inline) by the time the wait begins.
    page.wait_for_url(lambda url: url in (server.url + "/", server.url + "/?cards=inline"))


__all__ = ["ADMIN_PASSWORD", "browser_sign_in", "shutil"]


def wait_js(page, expression: str, timeout: float = 15.0) -> None:
    """Poll a JavaScript expression until it is truthy (the pages' CSP forbids eval,
    which Playwright's ``wait_for_function`` with an expression relies on)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if page.evaluate(f"() => Boolean({expression})"):
            return
        page.wait_for_timeout(150)
    raise AssertionError(f"still false after {timeout} s: {expression}")
