"""The application factory: a table of contents of what MediaNest is made of."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click
import socketio as socketio_server
from flask import Blueprint, Flask, abort, current_app, request, send_from_directory
from flask_login import current_user
from limits.storage import MemoryStorage
from sqlalchemy import event

from medianest import (
    admin,
    auth,
    core_hooks,
    correlation,
    dashboard,
    declarations,
    errors,
    health,
    metrics,
    my_media,
    request_checks,
    security,
    webapp,
)
from medianest.access import public, signed_in_by_default
from medianest.api import openapi
from medianest.api.converters import IdConverter
from medianest.api.json_provider import OrjsonProvider
from medianest.auth import identity
from medianest.auth.sessions import CookieSessions
from medianest.celery_app import build_beat_schedule, celery_init_app
from medianest.configuration import configure_settings
from medianest.contributions import NavItem
from medianest.extensions import csrf, db, htmx, limiter, socketio
from medianest.logs import configure_logging as configure
from medianest.notifications import channel_views
from medianest.notifications import views as notifications
from medianest.plugins.host import CHECK_INTERVAL, PluginHost
from medianest.proxies import TrustedProxies
from medianest.realtime import allowed_origins, bind_handlers
from medianest.settings import Settings, load_settings

log = logging.getLogger("medianest.app")

PACKAGE = Path(__file__).resolve().parent
# Blueprint names and URL prefixes the core keeps for itself.
CORE_PREFIXES = {
    *("", "api", "auth", "admin", "dashboard", "static", "setup", "healthz", "metrics", "socket.io", "me"),
    *("manifest.webmanifest", "sw.js", "offline"),  # the installable web app (medianest.webapp)
}
CORE_API_PREFIXES = {"auth", "admin", "dashboard", "health", "openapi.json", "me", "notifications"}


def create_app(config: dict[str, Any] | None = None) -> Flask:
    config = dict(config or {})
    settings: Settings = config.pop("settings", None) or load_settings()
    app = Flask(
        "medianest",
        template_folder=str(PACKAGE / "templates"),
        static_folder=str(PACKAGE / "static"),
        instance_path=str(Path(settings.data_dir).resolve()),
    )
    configure_settings(app, settings, config)
    app.json = OrjsonProvider(app)
    configure_logging(app)
    configure_extensions(app)
    configure_plugins(app)
    register_core_blueprints(app)
    register_plugin_blueprints(app)
    configure_events(app)
    configure_background(app)
    configure_requests(app)
    run_startup_hooks(app)
    return app


def configure_logging(app: Flask) -> None:

    settings = app.config["MEDIANEST"]
    if not app.config.get("TESTING"):
        configure(settings.log_level, settings.log_format)


def configure_extensions(app: Flask) -> None:

    db.init_app(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        _sqlite_pragmas(app)
    if click.get_current_context(silent=True) is not None:
        # A command line (flask db, medianest, celery): Flask-Migrate's commands find it on the
        # app.  The web process never migrates, and leaves Alembic out of its memory budget.
        from medianest.database_upgrade import attach_migrations

        attach_migrations(app)
    identity.init_app(app)
    app.session_interface = CookieSessions()
    csrf.init_app(app)
    htmx.init_app(app)
    configure_rate_limits(app)
    configure_socketio(app)


def _sqlite_pragmas(app: Flask) -> None:

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


def configure_rate_limits(app: Flask) -> None:

    settings = app.config["MEDIANEST"]
    app.config.setdefault("RATELIMIT_STORAGE_URI", settings.redis_url or "memory://")
    app.config.setdefault("RATELIMIT_STRATEGY", "fixed-window")
    # The key prefix names the strategy: switching strategies on a live Redis
    # would otherwise meet keys of the other type (WRONGTYPE) until they expire.
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "medianest-fw")
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 0.5, "socket_timeout": 0.5})
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    # Flask-Limiter writes its wait rounded down, and would replace the 429 handler's
    # Retry-After with it: its own goes under another name, and Retry-After is the
    # handler's (medianest/errors.py), rounded up, the same number as the message.
    app.config.setdefault("RATELIMIT_HEADER_RETRY_AFTER", "X-RateLimit-Retry-After")
    limiter.init_app(app)

    def limiter_state() -> dict[str, Any]:
        # Flask-Limiter answers from its in-memory fallback while Redis is unreachable.
        fallback = settings.redis_url is not None and isinstance(limiter.limiter.storage, MemoryStorage)
        return {
            "status": "degraded" if fallback else "up",
            "storage": "memory" if (settings.redis_url is None or fallback) else "redis",
            "note": "Redis unreachable: limits are counted per process in memory" if fallback else None,
        }

    app.extensions["medianest.limiter_state"] = limiter_state


def configure_socketio(app: Flask) -> None:

    settings = app.config["MEDIANEST"]
    try:
        from gevent import monkey

        async_mode = "gevent" if monkey.is_module_patched("socket") else "threading"
    except ImportError:
        async_mode = "threading"
    # Given explicitly: the extension keeps its options between init_app calls, and
    # would keep the message queue of an earlier app (another test, another mode).
    manager = socketio_server.RedisManager(settings.redis_url, channel="flask-socketio") if settings.redis_url else None
    socketio.init_app(
        app,
        client_manager=manager,
        async_mode=async_mode,
        cors_allowed_origins=allowed_origins(settings.base_url),
        manage_session=False,
        logger=False,
        engineio_logger=False,
        ping_interval=25,
    )
    bind_handlers()


def configure_plugins(app: Flask) -> None:

    host = PluginHost(check_interval=app.config.get("PLUGIN_STATE_CHECK_SECONDS", CHECK_INTERVAL))
    host.register(core_hooks, name="core")
    host.load_entry_points()
    app.extensions["medianest.plugins"] = host
    host.init_app(app)  # the admins' switches and the faults saved by any process
    declarations.init_app(app)  # error codes and rate limits the plugins declare


def register_core_blueprints(app: Flask) -> None:

    app.url_map.converters["int"] = IdConverter  # before any rule: plugins' routes get it too

    core = (
        health.bp,
        metrics.bp,
        auth.bp,
        dashboard.bp,
        admin.bp,
        notifications.bp,
        channel_views.bp,
        my_media.bp,
        webapp.bp,
        openapi.bp,
    )
    for bp in (*core, _vendor_assets_blueprint()):
        app.register_blueprint(bp)
    app.extensions["medianest.blueprint_owners"] = {name: "core" for name in app.blueprints}


def _prefix_of(rule: str) -> str:
    parts = [p for p in rule.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        return "api/v1/" + (parts[2] if len(parts) > 2 else "")
    return parts[0] if parts else ""


def register_plugin_blueprints(app: Flask) -> None:
    """Register every installed plugin's blueprints, refusing names and prefixes already taken.

    Disabled plugins' too: an admin may enable one at run time, in any
    process.  A request to a plugin that is not active answers 404.
    """
    host = app.extensions["medianest.plugins"]
    owners: dict[str, str] = app.extensions["medianest.blueprint_owners"]
    prefix_owner: dict[str, str] = {p: "core" for p in CORE_PREFIXES}
    prefix_owner.update({f"api/v1/{p}": "core" for p in CORE_API_PREFIXES})
    with app.app_context():
        results = host.in_load_order(host.collect_installed("register_blueprints", app=app))
    for plugin_name, bp in results:
        if not host.is_loaded(plugin_name):
            continue
        if not isinstance(bp, Blueprint):
            host.fail(plugin_name, f"register_blueprints returned {type(bp).__name__}, not a Blueprint")
            continue
        if bp.name in owners:
            host.fail(plugin_name, f"blueprint name {bp.name!r} is already used by {owners[bp.name]!r}")
            continue
        # Register into a scratch app first to learn the URL rules this blueprint adds.
        scratch = Flask("scratch")
        scratch.register_blueprint(bp)
        prefixes = {_prefix_of(r.rule) for r in scratch.url_map.iter_rules() if r.endpoint != "static"}
        clash = next(
            ((p, prefix_owner[p]) for p in sorted(prefixes) if p in prefix_owner and prefix_owner[p] != plugin_name),
            None,
        )
        if clash:
            host.fail(plugin_name, f"URL prefix /{clash[0]} is already used by {clash[1]!r}")
            continue
        app.register_blueprint(bp)
        signed_in_by_default(app, bp.name)
        owners[bp.name] = plugin_name
        for p in prefixes:
            prefix_owner[p] = plugin_name

    @app.before_request
    def _plugin_switched_off() -> None:
        owner = owners.get(request.blueprint or "")
        if owner and owner != "core" and not host.is_active(owner):
            abort(404)


def _vendor_assets_blueprint() -> Blueprint:
    """Front-end libraries from the npm registry, copied into ``static/vendor/`` by the package build."""

    files = {"htmx.js", "socket.io.js", "swagger-ui.js", "swagger-ui.css"}
    bp = Blueprint("vendor", __name__)

    @bp.get("/static/vendor/<name>")
    @public
    def vendor(name: str):
        """htmx, the Socket.IO client or Swagger UI, as pinned in package-lock.json."""

        if name not in files:
            abort(404)
        return send_from_directory(current_app.config["MEDIANEST_ASSETS_DIR"], name, max_age=86400)

    return bp


def configure_events(app: Flask) -> None:
    from medianest.events import declared as as_event

    host = app.extensions["medianest.plugins"]
    declared: dict[str, str] = {}
    types: dict = {}
    # Every installed plugin's: one enabled at run time publishes and receives
    # at once; the bus skips the handlers of a plugin that is not active.
    with app.app_context():
        for plugin_name, item in host.in_load_order(host.collect_installed("published_events")):
            try:
                event = as_event(item)
            except (TypeError, ValueError) as exc:
                host.fail(plugin_name, f"published_events: {exc}")
                continue
            name = event.name
            if name in declared and declared[name] != plugin_name:
                host.fail(plugin_name, f"event {name!r} is already published by {declared[name]!r}")
                continue
            if isinstance(item, str):
                log.warning("plugin %s declares event %r without a payload model (declare an Event)", plugin_name, name)
            declared[name] = plugin_name
            types[name] = event
        subscriptions: dict[str, list] = {}
        for plugin_name, (event_name, handler) in host.collect_installed("event_subscriptions"):
            subscriptions.setdefault(event_name, []).append((plugin_name, handler))
    app.extensions["medianest.events"] = declared
    app.extensions["medianest.event_types"] = types
    app.extensions["medianest.subscriptions"] = subscriptions


def configure_background(app: Flask) -> None:

    celery = celery_init_app(app)
    with app.app_context():
        celery.conf.beat_schedule = build_beat_schedule(app)


def configure_requests(app: Flask) -> None:

    # Outermost, around Socket.IO too: X-Forwarded-* only from MEDIANEST_TRUSTED_PROXIES.
    app.wsgi_app = TrustedProxies(app.wsgi_app, app.config["MEDIANEST"].proxy_networks)  # type: ignore[method-assign]
    correlation.init_app(app)
    metrics.init_app(app)
    request_checks.init_app(app)  # before the CSRF check, which reads the form
    security.init_app(app)
    errors.init_app(app)

    @app.context_processor
    def _layout_context() -> dict[str, Any]:

        host = app.extensions["medianest.plugins"]
        user = current_user if current_user.is_authenticated else None
        items: list[NavItem] = [item for _, item in host.collect("nav_items", user=user)]
        return {"nav_items": sorted(items, key=lambda i: (i.order, i.label))}


def run_startup_hooks(app: Flask) -> None:
    """Every installed plugin starts, enabled or not, so that enabling one at run time needs no restart."""
    host = app.extensions["medianest.plugins"]
    with app.app_context():
        host.call_installed("startup", app=app)
    host.started()
