"""API tokens and accounts: suspension, signing out a script, deleting a person, a database that blinks."""

from __future__ import annotations

import contextlib
from pathlib import Path
from urllib.parse import urlparse

from tests.conftest import ADMIN_PASSWORD
from tests.support.services import PG_BASE
from tests.test_youtube_support import feed_fixture, files_under, person_folder, run_job, yt_env_fixture  # noqa: F401

SESSION = "/api/v1/auth/session"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _new_token(client, name: str = "script") -> str:
    answer = client.post("/api/v1/auth/tokens", json={"name": name})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["data"]["token"]


def _as_script(app, token: str):
    """A script's call: no cookies, only the token."""
    return app.test_client().get(SESSION, headers=_bearer(token))


def test_a_suspension_revokes_tokens_and_reactivation_brings_none_back(app, admin_client, user_client, alice):
    token = _new_token(user_client)
    assert _as_script(app, token).status_code == 200

    assert admin_client.patch(f"/api/v1/admin/users/{alice.id}", json={"status": "suspended"}).status_code == 200
    suspended = _as_script(app, token)
    assert suspended.status_code == 401 and suspended.get_json()["error"]["code"] == "INVALID_TOKEN"

    assert admin_client.patch(f"/api/v1/admin/users/{alice.id}", json={"status": "active"}).status_code == 200
    after = _as_script(app, token)
    assert after.status_code == 401
    assert after.get_json()["error"] == {
        "code": "INVALID_TOKEN",
        "message": "This API token has been revoked.",
        "details": after.get_json()["error"]["details"],
    }
    assert user_client.get(SESSION).status_code == 401  # the session ended with the suspension, as before
    # The revocation is on record and visible to its owner as revoked.
    audit = admin_client.get("/api/v1/admin/audit?action=user.updated").get_json()["data"][-1]
    assert audit["details"]["tokens_revoked"] == 1
    # A new token made after reactivation works.
    fresh = app.test_client()
    assert fresh.post("/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}).status_code == 200
    assert _as_script(app, _new_token(fresh)).status_code == 200


def test_signing_out_with_a_token_revokes_that_token_only(app):
    browser = app.test_client()
    signed_in = browser.post("/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert signed_in.status_code == 200
    first, second = _new_token(browser, "first"), _new_token(browser, "second")

    answer = app.test_client().post("/api/v1/auth/logout", headers=_bearer(first))
    assert answer.status_code == 200
    assert answer.get_json()["data"] == {"signed_out": True, "token_revoked": True}

    assert _as_script(app, first).status_code == 401
    assert _as_script(app, second).status_code == 200
    assert browser.get(SESSION).status_code == 200  # the browser stays signed in
    listed = {t["name"]: t for t in browser.get("/api/v1/auth/tokens").get_json()["data"]}
    assert set(listed) == {"second"}
    # The browser's own sign-out still ends the browser's session.
    assert browser.post("/api/v1/auth/logout").get_json()["data"] == {"signed_out": True, "token_revoked": False}
    assert browser.get(SESSION).status_code == 401
    assert _as_script(app, second).status_code == 200


def test_deleting_a_user_removes_their_downloaded_files(
    app, admin_client, user_client, other_client, alice, bob, yt_env, feed
):
    feed.add_playlist("a", "Alice's", [("One", 20_000)])
    feed.add_playlist("b", "Bob's", [("Two", 20_000)])
    mine = user_client.post("/api/v1/youtube/downloads", json={"url": feed.url_for_playlist("a"), "format": "best"})
    his = other_client.post("/api/v1/youtube/downloads", json={"url": feed.url_for_playlist("b"), "format": "best"})
    run_job(app, mine.get_json()["data"]["id"])
    run_job(app, his.get_json()["data"]["id"])
    alice_dir, bob_dir = person_folder(yt_env, "Alice", alice.id), person_folder(yt_env, "Bob", bob.id)
    assert len(files_under(alice_dir)) == 1 and len(files_under(bob_dir)) == 1

    assert admin_client.delete(f"/api/v1/admin/users/{alice.id}").status_code == 200

    assert not alice_dir.exists()
    assert len(files_under(bob_dir)) == 1  # nobody else's
    from medianest_youtube.models import Download, UserFolder

    from medianest.extensions import db

    with app.app_context():
        assert {row.user_id for row in db.session.scalars(db.select(Download))} == {bob.id}
        # the folder's name goes too: a later account with alice's id starts afresh
        assert db.session.scalars(db.select(UserFolder.user_id)).all() == [bob.id]


# ------------------------------------------------------------------ the database blinks
@contextlib.contextmanager
def _database_gone(app):
    """The database stops answering for a moment: SQLite's file moves away, PostgreSQL refuses connections."""
    from medianest.extensions import db

    url = app.config["MEDIANEST"].sqlalchemy_url
    with app.app_context():
        db.engine.dispose()
    if url.startswith("sqlite"):
        path = Path(urlparse(url).path)
        aside = path.with_suffix(".aside")
        path.rename(aside)
        try:
            yield
        finally:
            with app.app_context():
                db.engine.dispose()
            path.unlink(missing_ok=True)  # the empty file a connection made meanwhile
            aside.rename(path)
        return
    import psycopg2

    name = urlparse(url).path.lstrip("/")
    admin = psycopg2.connect(PG_BASE)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
        yield
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        admin.close()
        with app.app_context():
            db.engine.dispose()


def test_a_database_blip_answers_503_not_401_to_a_valid_token(app, alice):
    from medianest.auth.tokens import create_token
    from medianest.extensions import db
    from medianest.models import User

    with app.app_context():
        _row, token = create_token(db.session.get(User, alice.id), "script")

    with _database_gone(app):
        answer = _as_script(app, token)
        assert answer.status_code == 503, answer.get_json()
        error = answer.get_json()["error"]
        assert error["code"] == "SERVICE_UNAVAILABLE" and error["details"]["service"] == "database"
        assert int(answer.headers["Retry-After"]) > 0
        assert "Traceback" not in answer.get_data(as_text=True)

    back = _as_script(app, token)
    assert back.status_code == 200 and back.get_json()["data"]["username"] == "alice"
    # A wrong token is still a wrong token.
    assert _as_script(app, "mn_not-a-token").status_code == 401
