"""One X-Plex-Client-Identifier per installation: the sign-in and the Plex plugin send the same one."""

from __future__ import annotations

import pytest

from medianest.database_upgrade import attach_migrations
from tests.conftest import ADMIN_PASSWORD
from tests.standins.plex import PlexServerStandin, PlexTvStandin
from tests.support.apps import build_app, make_settings

TOKEN = "server-token-for-identifier-tests"


def _identifiers(standin) -> set[str | None]:
    return {r.headers.get("X-Plex-Client-Identifier") for r in standin.requests}


def test_sign_in_and_plugin_send_one_identifier(app, monkeypatch):
    from medianest.http import reset_clients

    with PlexTvStandin() as plex_tv, PlexServerStandin(token=TOKEN) as server:
        server.add_library("Movies", "movie", locations=["/media/movies"])
        app.config["MEDIANEST"] = app.config["MEDIANEST"].model_copy(update={"plex_tv_url": plex_tv.url})
        reset_clients()
        # The plugin calls the server first (its identifier used to be made here), then someone signs in.
        monkeypatch.setenv("MEDIANEST_PLEX_URL", server.url)
        monkeypatch.setenv("MEDIANEST_PLEX_TOKEN", TOKEN)
        admin = app.test_client()
        assert (
            admin.post("/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}).status_code == 200
        )
        libraries = admin.get("/api/v1/plex/libraries")
        assert libraries.status_code == 200, libraries.get_data(as_text=True)

        monkeypatch.delenv("MEDIANEST_PLEX_URL")  # sign-in open to any Plex account, for the test's brevity
        monkeypatch.delenv("MEDIANEST_PLEX_TOKEN")
        account = plex_tv.add_account("dora", "dora@example.org")
        browser = app.test_client()
        code = browser.post("/api/v1/auth/plex/pin").get_json()["data"]["code"]
        plex_tv.claim_pin(code, account)
        assert browser.get("/api/v1/auth/plex/pin").get_json()["data"]["status"] == "authorized"
    reset_clients()

    from_server, from_plex_tv = _identifiers(server), _identifiers(plex_tv)
    assert len(from_server) == 1 and None not in from_server
    assert from_plex_tv == from_server  # one device, whoever calls
    from medianest.extensions import db
    from medianest.models import InstallationValue

    with app.app_context():
        stored = {row.key: row.value for row in db.session.scalars(db.select(InstallationValue))}
    assert stored["plex_client_identifier"] == from_server.pop()
    assert "plex_client_id" not in stored


def _app_at(db_backend: str, request, tmp_path):
    url = request.getfixturevalue("pg_databases").create() if db_backend == "postgresql" else None
    app = build_app(make_settings(tmp_path / "data", url))
    attach_migrations(app)  # Flask-Migrate's own upgrade() and downgrade() below
    return app


@pytest.mark.parametrize(
    ("before", "kept"),
    [
        ({"plex_client_identifier": "signin-id", "plex_client_id": "plugin-id"}, "signin-id"),
        ({"plex_client_id": "plugin-id"}, "plugin-id"),
        ({"plex_client_identifier": "signin-id"}, "signin-id"),
    ],
)
def test_the_migration_keeps_one_identifier(db_backend, request, tmp_path, before, kept):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from medianest.extensions import db
    from medianest.plugins import plex_client_identifier

    app = _app_at(db_backend, request, tmp_path)
    with app.app_context():
        upgrade(revision="0002_identity")
        for key, value in before.items():
            db.session.execute(
                text("INSERT INTO installation_values (key, value) VALUES (:k, :v)"), {"k": key, "v": value}
            )
        db.session.commit()
        upgrade(revision="heads")
        rows = dict(db.session.execute(text("SELECT key, value FROM installation_values")).all())
        assert {k: v for k, v in rows.items() if k.startswith("plex_client")} == {"plex_client_identifier": kept}
        with app.test_request_context():
            assert plex_client_identifier() == kept
        # Going back gives the older plugin the same identifier under its own key.
        downgrade(revision="0002_identity")
        rows = dict(db.session.execute(text("SELECT key, value FROM installation_values")).all())
        assert rows["plex_client_id"] == rows["plex_client_identifier"] == kept
        db.session.remove()
        db.engine.dispose()
