"""Household members: local accounts an admin creates, invitation links, roles, and password strength."""

from __future__ import annotations

from datetime import timedelta

import pytest

from medianest.auth.password_strength import password_problem
from medianest.cli import cli
from medianest.extensions import db
from medianest.models import InstallationValue, Invite, User, utcnow

GOOD = "Tulip-Radio-Velvet-91"


def _invite(admin_client, **body):
    answer = admin_client.post("/api/v1/admin/invites", json=body)
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return answer.get_json()["data"]


def _token(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[1]


# ---------------------------------------------------------------- passwords
@pytest.mark.sqlite_only
@pytest.mark.parametrize("password", ["aaaaaaaaaaaa", "password1234", "qwertyuiopas", "admin-admin-admin"])
def test_guessable_passwords_are_refused_with_zxcvbns_advice(app, admin_client, password):
    answer = admin_client.post("/api/v1/admin/users", json={"username": "carol", "password": password})
    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert error["code"] == "WEAK_PASSWORD"
    assert "too easy to guess" in error["message"]
    assert error["details"]["fields"][0]["field"] == "password"


@pytest.mark.sqlite_only
def test_the_advice_names_what_is_wrong():

    assert 'Repeats like "aaa"' in password_problem("aaaaaaaaaaaa")
    assert "at least 12" in password_problem("Xy7!")
    assert password_problem(GOOD) is None
    # zxcvbn judges at most 72 characters; a longer password is judged by them, never a server error.
    assert password_problem("Tulip-Radio-Velvet-91 " * 10) is None
    assert password_problem("a" * 500) is not None
    assert "at most 1024" in password_problem("Tulip-Radio-Velvet-91" * 60)
    # The account's own words make a password weaker.
    assert password_problem("carolcarol1989", ["carol"]) is not None


def test_setup_link_refuses_a_weak_password_and_explains_itself_once_used(app):

    with app.app_context():
        admin = db.session.scalar(db.select(User).where(User.username == "admin"))
        admin.password_hash = None
        db.session.merge(InstallationValue(key="admin_setup_token", value="the-setup-token"))
        db.session.commit()
    wrong = app.test_client().get("/setup/not-the-token")
    assert wrong.status_code == 404 and "not valid" in wrong.get_data(as_text=True)
    client = app.test_client()
    weak = client.post("/setup/the-setup-token", data={"password": "aaaaaaaaaaaa", "confirm": "aaaaaaaaaaaa"})
    assert weak.status_code == 400
    assert "too easy to guess" in weak.get_data(as_text=True)
    done = client.post("/setup/the-setup-token", data={"password": GOOD, "confirm": GOOD})
    assert done.status_code == 302
    again = app.test_client().get("/setup/the-setup-token")
    assert again.status_code == 410
    page = again.get_data(as_text=True)
    assert "already used" in page and "/auth/login" in page and "Nothing here" not in page


def test_password_change_refuses_a_weak_password(app, admin_client):
    assert admin_client.post("/api/v1/admin/users", json={"username": "gil", "password": GOOD}).status_code == 201
    gil = app.test_client()
    assert gil.post("/api/v1/auth/login", json={"username": "gil", "password": GOOD}).status_code == 200
    answer = gil.post(
        "/auth/password",
        data={"current_password": GOOD, "new_password": "aaaaaaaaaaaa", "confirm": "aaaaaaaaaaaa"},
    )
    assert answer.status_code == 400
    assert "too easy to guess" in answer.get_data(as_text=True)
    changed = gil.post(
        "/auth/password",
        data={"current_password": GOOD, "new_password": "Harbor-Pencil-Orbit-42", "confirm": "Harbor-Pencil-Orbit-42"},
    )
    assert changed.status_code == 302


# ---------------------------------------------------------------- local accounts
def test_admin_creates_a_local_account_that_signs_in_and_is_audited(app, admin_client):
    answer = admin_client.post(
        "/api/v1/admin/users",
        json={"username": "carol", "password": GOOD, "display_name": "Carol", "role": "user"},
    )
    assert answer.status_code == 201, answer.get_data(as_text=True)
    carol = answer.get_json()["data"]
    assert carol["is_local"] and carol["role"] == "user" and carol["name"] == "Carol"
    assert carol["last_login_at"] is None

    again = admin_client.post("/api/v1/admin/users", json={"username": "CAROL", "password": GOOD})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "USERNAME_TAKEN"
    bad = admin_client.post("/api/v1/admin/users", json={"username": "no spaces please", "password": GOOD})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "VALIDATION_ERROR"

    person = app.test_client()
    signed = person.post("/api/v1/auth/login", json={"username": "carol", "password": GOOD})
    assert signed.status_code == 200
    listed = admin_client.get("/api/v1/admin/users", query_string={"q": "carol"}).get_json()["data"]
    assert listed[0]["last_login_at"] is not None
    audit = admin_client.get("/api/v1/admin/audit", query_string={"action": "user.created"}).get_json()["data"]
    assert audit[0]["target"] == f"user:{carol['id']}" and audit[0]["actor"] == "admin"
    assert GOOD not in str(audit)


def test_the_users_page_adds_an_account_and_keeps_the_form_on_a_weak_password(app, admin_client):
    weak = admin_client.post(
        "/admin/users/new",
        data={"username": "dan", "display_name": "Dan", "password": "aaaaaaaaaaaa", "confirm": "aaaaaaaaaaaa"},
        headers={"HX-Request": "true"},
    )
    page = weak.get_data(as_text=True)
    assert 'data-code="WEAK_PASSWORD"' in page and 'value="dan"' in page
    done = admin_client.post(
        "/admin/users/new",
        data={"username": "dan", "display_name": "Dan", "password": GOOD, "confirm": GOOD, "role": "user"},
        headers={"HX-Request": "true"},
    )
    assert done.status_code == 200
    assert "Dan can now sign in as dan" in done.get_data(as_text=True)


# ---------------------------------------------------------------- invitations
def test_an_invitation_makes_one_account_with_its_role_then_says_it_was_used(app, admin_client):
    invite = _invite(admin_client, role="user", note="Grandma")
    assert invite["state"] == "pending" and invite["url"].endswith("/invite/" + invite["token"])
    token = _token(invite["url"])

    visitor = app.test_client()
    page = visitor.get(f"/invite/{token}")
    assert page.status_code == 200 and "Grandma" in page.get_data(as_text=True)
    weak = visitor.post(
        f"/invite/{token}", data={"username": "grandma", "password": "aaaaaaaaaaaa", "confirm": "aaaaaaaaaaaa"}
    )
    assert weak.status_code == 400 and "too easy to guess" in weak.get_data(as_text=True)
    # A refused form leaves the invitation open.
    done = visitor.post(f"/invite/{token}", data={"username": "grandma", "password": GOOD, "confirm": GOOD})
    assert done.status_code == 302 and done.headers["Location"].endswith("/")
    me = visitor.get("/api/v1/auth/session").get_json()["data"]
    assert me["username"] == "grandma" and me["role"] == "user" and me["name"] == "Grandma"

    used = app.test_client().get(f"/invite/{token}")
    assert used.status_code == 410
    text = used.get_data(as_text=True)
    assert "already used" in text and "sign in" in text and "Nothing here" not in text
    second = app.test_client().post(f"/invite/{token}", data={"username": "eve", "password": GOOD, "confirm": GOOD})
    assert second.status_code == 410

    listed = admin_client.get("/api/v1/admin/invites", query_string={"include_closed": "true"}).get_json()["data"]
    assert [i["state"] for i in listed if i["id"] == invite["id"]] == ["used"]
    assert admin_client.get("/api/v1/admin/invites").get_json()["data"] == []
    assert admin_client.delete(f"/api/v1/admin/invites/{invite['id']}").status_code == 409


def test_an_admin_invitation_makes_an_admin(app, admin_client):
    invite = _invite(admin_client, role="admin")
    visitor = app.test_client()
    visitor.post(f"/invite/{_token(invite['url'])}", data={"username": "helper", "password": GOOD, "confirm": GOOD})
    assert visitor.get("/api/v1/auth/session").get_json()["data"]["role"] == "admin"


def test_revoked_and_expired_invitations_say_so(app, admin_client):

    revoked = _invite(admin_client)
    answer = admin_client.delete(f"/api/v1/admin/invites/{revoked['id']}")
    assert answer.status_code == 200 and answer.get_json()["data"]["state"] == "revoked"
    page = app.test_client().get(f"/invite/{_token(revoked['url'])}")
    assert page.status_code == 410 and "withdrawn" in page.get_data(as_text=True)

    expired = _invite(admin_client, expires_in_days=1)
    with app.app_context():
        row = db.session.get(Invite, expired["id"])
        row.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    page = app.test_client().get(f"/invite/{_token(expired['url'])}")
    assert page.status_code == 410 and "expired" in page.get_data(as_text=True)

    assert app.test_client().get("/invite/made-up-token").status_code == 404
    assert admin_client.delete("/api/v1/admin/invites/999999").status_code == 404
    too_long = admin_client.post("/api/v1/admin/invites", json={"expires_in_days": 365})
    assert too_long.status_code == 400


def test_invitations_default_to_seven_days_and_store_only_a_hash(app, admin_client):

    invite = _invite(admin_client)
    with app.app_context():
        row = db.session.get(Invite, invite["id"])
        assert invite["token"] not in row.token_hash
        lifetime = row.expires_at - row.created_at
        assert timedelta(days=6, hours=23) < lifetime <= timedelta(days=7)


def test_the_users_page_makes_and_withdraws_an_invitation(app, admin_client):
    made = admin_client.post("/admin/invites", data={"note": "Uncle Bo", "role": "user", "days": "3"})
    page = made.get_data(as_text=True)
    assert made.status_code == 200 and 'id="new-invite-url"' in page and "/invite/" in page

    with app.app_context():
        invite_id = db.session.scalar(db.select(Invite.id).where(Invite.note == "Uncle Bo"))
    listed = admin_client.get("/admin/users").get_data(as_text=True)
    assert f'data-invite="{invite_id}"' in listed and "Uncle Bo" in listed
    assert 'hx-confirm="Withdraw this invitation?' in listed
    admin_client.post(f"/admin/invites/{invite_id}/revoke")
    assert f'data-invite="{invite_id}"' not in admin_client.get("/admin/users").get_data(as_text=True)


def test_people_who_are_not_admins_cannot_invite_or_add(app, user_client):
    assert user_client.post("/api/v1/admin/invites", json={}).status_code == 403
    assert user_client.post("/api/v1/admin/users", json={"username": "x1", "password": GOOD}).status_code == 403
    assert user_client.get("/api/v1/admin/invites").status_code == 403


# ---------------------------------------------------------------- command line
def test_users_commands_add_list_and_set_role(app, runner):

    def invoke(*args: str):
        return runner.invoke(cli, list(args))

    weak = invoke("users", "add", "frank", "--password", "aaaaaaaaaaaa")
    assert weak.exit_code != 0 and "too easy to guess" in weak.output
    added = invoke("users", "add", "frank", "--password", GOOD, "--name", "Frank")
    assert added.exit_code == 0, added.output
    assert "frank" in added.output
    listed = invoke("users", "list")
    assert listed.exit_code == 0
    line = next(row for row in listed.output.splitlines() if row.startswith("frank"))
    assert "user" in line and "local" in line and "never" in line
    promoted = invoke("users", "set-role", "frank", "admin")
    assert promoted.exit_code == 0, promoted.output
    assert "admin" in invoke("users", "list", "--json").output
    missing = invoke("users", "set-role", "nobody", "admin")
    assert missing.exit_code != 0 and "No user" in missing.output
