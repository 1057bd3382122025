"""The author's kit: what a plugin's tests need, shipped with MediaNest.

MediaNest's pytest plugin (:mod:`medianest.testing.plugin`, registered as a
``pytest11`` entry point, so installing MediaNest is enough) provides the
fixtures — ``app`` on SQLite and PostgreSQL with migrations run, ``client``,
``user_client``, ``admin_client``, ``token_client``, ``socketio_client``,
``json_standin``; see ``docs/plugins.md``.  The helpers behind them are
importable from here for tests that need more than a fixture gives.
"""

from medianest.testing.apps import (
    ADMIN_PASSWORD,
    MediaNestClient,
    TokenClient,
    build_app,
    make_settings,
    make_user,
    sign_in,
    token_client,
    upgrade,
)
from medianest.testing.databases import PG_URL, PostgresDatabases, free_port, postgres_problem
from medianest.testing.sockets import AppSocketClient, RecordingClient
from medianest.testing.standin import JsonStandIn, SeenRequest
from medianest.testing.waiting import wait_for

__all__ = [
    "ADMIN_PASSWORD",
    "PG_URL",
    "AppSocketClient",
    "JsonStandIn",
    "MediaNestClient",
    "PostgresDatabases",
    "RecordingClient",
    "SeenRequest",
    "TokenClient",
    "build_app",
    "free_port",
    "make_settings",
    "make_user",
    "postgres_problem",
    "sign_in",
    "token_client",
    "upgrade",
    "wait_for",
]
