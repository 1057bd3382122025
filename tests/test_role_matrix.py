"""Every route the app and its plugins register, as anonymous, a user, another user and an admin.

The expected answer comes from the view's declared access rule
(``medianest.access.view_access``); a route without one fails.  New routes,
the core's or a plugin's, are covered by being in the URL map.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from werkzeug.routing import Rule

from medianest.access import view_access
from medianest.api.budget import reset_all
from medianest.extensions import db
from medianest.models import ApiToken, Invite, User, utcnow

# Flask's own static-file views carry no rule: they serve files from the package, to anyone.
STATIC_ENDPOINTS = re.compile(r"(^|\.)static$")
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# A rule's variable, ``<name>`` or ``<converter:name>`` or ``<converter(arguments):name>`` (Werkzeug's syntax).
ARGUMENT = re.compile(r"<(?:(?P<converter>\w+)(?:\(.*?\))?:)?(?P<name>\w+)>")


def _rules(app) -> list[tuple[Rule, str]]:
    rules = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if STATIC_ENDPOINTS.search(rule.endpoint):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            rules.append((rule, method))
    return rules


def _url(rule: Rule, ids: dict[str, int], converters: dict) -> str:
    values = {}
    for argument in ARGUMENT.finditer(rule.rule):
        name = argument["name"]
        converter = converters[argument["converter"] or "default"]
        if re.fullmatch(converter.regex, "999999") and not re.fullmatch(converter.regex, "nothing-here"):
            values[name] = ids.get(name, ids["default"])  # a numeric id, whatever the converter is called
        elif converter.__class__.__name__ == "PathConverter":
            values[name] = "nothing/here"
        else:
            values[name] = ids.get(name, "nothing-here")
    url = rule.rule
    for name, value in values.items():
        url = re.sub(r"<(?:[^:<>]+:)?" + re.escape(name) + r">", str(value), url)
    return url


def _call(client, method: str, url: str):
    kwargs = {}
    if method in UNSAFE and url.startswith("/api/"):
        kwargs["json"] = {}
    return client.open(url, method=method, **kwargs)


def _is_denied_anonymous(response) -> bool:
    if response.status_code == 401:
        return True
    location = response.headers.get("Location", "")
    # The access rule's redirect names the page to come back to (sign-out's own redirect does not).
    return response.status_code in (302, 303) and "/auth/login" in location and "next=" in location


def _people(app):
    """Fresh signed-in clients (a route may have signed someone out)."""
    from tests.support.apps import sign_in

    with app.app_context():
        users = {u.username: u for u in db.session.scalars(db.select(User))}
        for u in users.values():
            db.session.expunge(u)
    return {
        "anonymous": app.test_client(),
        "user": sign_in(app.test_client(), users["alice"]),
        "other": sign_in(app.test_client(), users["bob"]),
        "admin": sign_in(app.test_client(), users["admin"]),
    }


@pytest.mark.sqlite_only
def test_every_route_declares_an_access_rule(app):
    missing = [
        f"{method} {rule.rule} ({rule.endpoint})"
        for rule, method in _rules(app)
        if view_access(app.view_functions[rule.endpoint]) not in ("public", "user", "admin")
    ]
    assert missing == [], "routes without public/login_required/admin_required"


def test_role_matrix(app, alice, bob):

    # Rows to point the routes at: alice's token (bob must not reach it), and a victim
    # user for admin routes that change or delete users, so the matrix's own people survive.
    with app.app_context():
        victim = User(username="victim", role="user", status="active")
        db.session.add(victim)
        db.session.flush()
        token = ApiToken(user_id=alice.id, name="alice's", token_hash="0" * 64, prefix="mn_xxxx")
        db.session.add(token)
        invite = Invite(token_hash="1" * 64, role="user", expires_at=utcnow() + timedelta(days=7))
        db.session.add(invite)
        db.session.commit()
        ids = {"default": 999_999, "user_id": victim.id, "token_id": token.id, "invite_id": invite.id}

    failures: list[str] = []
    for rule, method in _rules(app):
        rule_kind = view_access(app.view_functions[rule.endpoint])
        if rule_kind is None:
            failures.append(f"{method} {rule.rule}: no access rule")
            continue
        url = _url(rule, ids, app.url_map.converters)
        if rule.endpoint == "admin.plugins_toggle" or rule.endpoint == "admin.api_plugin_patch":
            url = url.replace("nothing-here", "no-such-plugin")  # never switch a real plugin off here
        people = _people(app)
        for who in ("anonymous", "user", "other", "admin"):
            reset_all(app)  # the matrix is about access, not about the budget
            response = _call(people[who], method, url)
            status = response.status_code
            where = f"{method} {url} as {who} ({rule_kind}) -> {status}"
            if status == 500:
                failures.append(where + ": server error")
            elif rule_kind == "public":
                continue
            elif who == "anonymous":
                if not _is_denied_anonymous(response):
                    failures.append(where + ": anonymous must be sent to sign in")
            elif rule_kind == "admin" and who != "admin":
                if status != 403:
                    failures.append(where + ": only admins may")
            elif status == 401 or _is_denied_anonymous(response) or (rule_kind == "admin" and status == 403):
                failures.append(where + ": refused a person the rule allows")
            if rule.endpoint == "auth.api_tokens_revoke" and who == "other" and status != 404:
                failures.append(where + ": bob reached alice's token")
    assert not failures, "\n".join(failures)


def test_owner_scoped_token_rows(app, user_client, other_client, admin_client):
    created = user_client.post("/api/v1/auth/tokens", json={"name": "mine"}).get_json()["data"]
    assert all(t["id"] != created["id"] for t in other_client.get("/api/v1/auth/tokens").get_json()["data"])
    assert other_client.delete(f"/api/v1/auth/tokens/{created['id']}").status_code == 404
    assert user_client.delete(f"/api/v1/auth/tokens/{created['id']}").status_code == 200


# The household's routes (people, invitations, clearing a service) and who may call each.
HOUSEHOLD_ROUTES = {
    ("POST", "/api/v1/admin/users"): "admin",
    ("GET", "/api/v1/admin/invites"): "admin",
    ("POST", "/api/v1/admin/invites"): "admin",
    ("DELETE", "/api/v1/admin/invites/<int:invite_id>"): "admin",
    ("DELETE", "/api/v1/admin/services/<name>"): "admin",
    ("POST", "/admin/users/new"): "admin",
    ("POST", "/admin/invites"): "admin",
    ("POST", "/admin/invites/<int:invite_id>/revoke"): "admin",
    ("POST", "/admin/services/<name>/clear"): "admin",
    ("GET", "/invite/<token>"): "public",
    ("POST", "/invite/<token>"): "public",
    ("POST", "/invite/<token>/plex"): "public",
}


@pytest.mark.sqlite_only
def test_the_household_routes_are_in_the_matrix_with_their_rules(app):
    walked = {(method, rule.rule): view_access(app.view_functions[rule.endpoint]) for rule, method in _rules(app)}
    assert {key: walked.get(key) for key in HOUSEHOLD_ROUTES} == HOUSEHOLD_ROUTES
