"""Sign-in with Plex: the PIN flow against plex.tv, and who may come in.

1. ``start_pin`` asks plex.tv for a strong PIN with this installation's
   ``X-Plex-Client-Identifier``; the PIN id stays in the server-side part of
   the session (the signed cookie), never in a URL or a form.
2. ``poll_pin`` reads the PIN: no ``authToken`` yet is ``waiting``, a 404 is
   ``expired``, a token means the person signed in at plex.tv.
3. ``/api/v2/user`` names the account; once a plugin names the Plex server
   (the ``sign_in_server`` hook: ``url``, ``token``), the account must reach that server
   (plex.tv ``/api/v2/resources``), and its owner becomes admin on first
   sign-in.  The account's token is stored encrypted (``plex_token_for``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from urllib.parse import quote, urlparse

from flask import current_app, session

from medianest.api import ApiError
from medianest.audit import record
from medianest.auth import household
from medianest.declarations import sign_in_server
from medianest.extensions import db
from medianest.http import ServiceClient, ServiceError, ServiceUnauthorized, json_of
from medianest.models import InstallationValue, User, utcnow
from medianest.plex_identifier import plex_client_identifier

log = logging.getLogger("medianest.auth.plex")

PRODUCT = "MediaNest"
SESSION_KEY = "plex_pin"
# The token of the invitation this browser's Plex sign-in was started from (``/invite/<token>``).
INVITE_KEY = "plex_invite"
AUTH_APP_URL = "https://app.plex.tv/auth"
PLEX_TV = "plex.tv"


def client_identifier() -> str:
    """One stable ``X-Plex-Client-Identifier`` per installation (plex.tv binds PINs to it).

    The same one the Plex plugin sends (``medianest.plex_identifier``): Plex
    lists MediaNest as one device.
    """
    return plex_client_identifier()


def _version() -> str:

    try:
        return version("medianest")
    except PackageNotFoundError:
        return "0"


def plex_headers(token: str | None = None) -> dict[str, str]:
    headers = {
        "X-Plex-Client-Identifier": client_identifier(),
        "X-Plex-Product": PRODUCT,
        "X-Plex-Version": _version(),
        "X-Plex-Device-Name": PRODUCT,
        "Accept": "application/json",
    }
    if token:
        headers["X-Plex-Token"] = token
    return headers


_clients: dict[tuple[str, str], ServiceClient] = {}


def _client(service: str, base: str) -> ServiceClient:
    # Made here rather than with ServiceClient.for_service, whose cache lock is
    # not re-entrant while it builds a client's breaker (a first call deadlocks).
    client = _clients.get((service, base))
    if client is None:
        client = _clients[(service, base)] = ServiceClient(
            service, base, connect_timeout=3, read_timeout=10, name=PLEX_TV if service == "plex_tv" else "Plex"
        )
    return client


def _plex_tv() -> ServiceClient:
    return _client("plex_tv", current_app.config["MEDIANEST"].plex_tv_url)


@dataclass
class PinState:
    status: str  # waiting, authorized, expired
    code: str | None = None
    auth_url: str | None = None
    expires_at: str | None = None
    user: User | None = None


def auth_url(code: str, forward_url: str | None = None) -> str:
    """The page at app.plex.tv where the person signs in and approves this PIN."""
    parts = [f"clientID={quote(client_identifier())}", f"code={quote(code)}", f"context[device][product]={PRODUCT}"]
    if forward_url:
        parts.append(f"forwardUrl={quote(forward_url, safe='')}")
    return AUTH_APP_URL + "#?" + "&".join(parts)


def start_pin(forward_url: str | None = None, invite_token: str | None = None) -> PinState:
    """Ask plex.tv for a strong PIN and remember its id in this browser's session.

    ``invite_token``: the sign-in comes from an invitation link, which lets the account in.
    """
    response = _plex_tv().request("POST", "/api/v2/pins", params={"strong": "true"}, headers=plex_headers())
    body = json_of(response, "plex_tv", PLEX_TV)
    if not isinstance(body, dict) or not body.get("id") or not body.get("code"):
        raise ApiError("SERVICE_BAD_ANSWER", "plex.tv did not return a PIN.", 502, {"service": "plex_tv"})
    lifetime = body.get("expiresIn")
    expires = utcnow() + timedelta(seconds=int(lifetime) if isinstance(lifetime, int | float) else 900)
    if invite_token:
        session[INVITE_KEY] = invite_token
    else:
        session.pop(INVITE_KEY, None)
    session[SESSION_KEY] = {
        "id": int(body["id"]),
        "code": str(body["code"]),
        "expires_at": expires.isoformat() + "Z",
        "forward_url": forward_url,
    }
    return PinState("waiting", str(body["code"]), auth_url(str(body["code"]), forward_url), expires.isoformat() + "Z")


def pending_pin() -> dict[str, Any] | None:
    pin = session.get(SESSION_KEY)
    return pin if isinstance(pin, dict) and pin.get("id") else None


def poll_pin() -> PinState:
    """Where this browser's PIN stands; signs the user in when plex.tv has a token for it.

    Raises ``PIN_NOT_STARTED`` without a PIN in the session, ``PLEX_NO_ACCESS``
    for an account that can't reach the configured server.
    """
    pin = pending_pin()
    if pin is None:
        raise ApiError("PIN_NOT_STARTED", "No Plex sign-in is in progress in this browser; start one first.")
    state = PinState("waiting", pin["code"], auth_url(pin["code"], pin.get("forward_url")), pin["expires_at"])
    response = _plex_tv().request(
        "GET", f"/api/v2/pins/{int(pin['id'])}", headers=plex_headers(), accept_statuses=(404,)
    )
    if response.status_code == 404:
        session.pop(SESSION_KEY, None)
        state.status = "expired"
        return state
    body = json_of(response, "plex_tv", PLEX_TV)
    token = body.get("authToken") if isinstance(body, dict) else None
    if not token:
        return state
    session.pop(SESSION_KEY, None)  # a PIN signs in once
    state.user = sign_in_with_plex_token(str(token), invite_token=session.pop(INVITE_KEY, None))
    state.status = "authorized"
    return state


# ---------------------------------------------------------------- who may come in
def _account(token: str) -> dict[str, Any]:
    body = json_of(_plex_tv().get("/api/v2/user", headers=plex_headers(token)), "plex_tv", PLEX_TV)
    if not isinstance(body, dict) or body.get("id") is None:
        raise ApiError("SERVICE_BAD_ANSWER", "plex.tv did not describe the account.", 502, {"service": "plex_tv"})
    return body


def _plex_server() -> dict[str, Any] | None:
    return sign_in_server()


def _misconfigured(config: dict[str, Any], setting: str, cause: str) -> ApiError:
    """Sign-in with Plex is blocked by this installation's Plex server settings, not by the person."""
    return ApiError(
        "PLEX_SERVER_MISCONFIGURED",
        f"Signing in with Plex is unavailable: MediaNest's Plex Media Server settings need fixing ({cause}). "
        "This is not a problem with your Plex account. An admin can sign in with a local account and correct "
        "or clear the Plex settings under Admin, Services.",
        503,
        {"service": str(config["service"]), "setting": setting},
    )


def server_machine_identifier(config: dict[str, Any]) -> str:
    """The configured server's ``machineIdentifier``: from its ``/identity``, else from plex.tv's resource list."""
    url = str(config["url"]).rstrip("/")
    cache_key = "plex_machine_identifier:" + url
    cached = InstallationValue.get(cache_key)
    if cached:
        return cached
    machine = None
    try:
        service = str(config["service"])
        client = _client(service, url)
        body = json_of(client.get("/identity", headers=plex_headers(str(config["token"]))), service, "Plex")
        machine = (body.get("MediaContainer") or {}).get("machineIdentifier") if isinstance(body, dict) else None
    except ServiceError as exc:
        log.warning("Plex server /identity failed (%s); asking plex.tv", exc.message)
    if not machine:
        try:
            machine = _machine_from_resources(str(config["token"]), url)
        except ServiceUnauthorized:
            # plex.tv refusing the *server's* token: the settings are wrong, not the person signing in.
            raise _misconfigured(config, "token", "plex.tv does not accept the server token") from None
    if not machine:
        raise _misconfigured(config, "url", "no Plex server of that token answers at the server URL")
    db.session.merge(InstallationValue(key=cache_key, value=machine))
    db.session.commit()
    return machine


def _resources(token: str) -> list[dict[str, Any]]:
    body = json_of(
        _plex_tv().get("/api/v2/resources", params={"includeHttps": "1"}, headers=plex_headers(token)), "plex_tv"
    )
    return [r for r in body if isinstance(r, dict)] if isinstance(body, list) else []


def _machine_from_resources(server_token: str, url: str) -> str | None:
    servers = [r for r in _resources(server_token) if "server" in str(r.get("provides", "")) and r.get("owned")]
    target = urlparse(url)
    for server in servers:
        for conn in server.get("connections") or []:
            uri = urlparse(str(conn.get("uri", "")))
            if (uri.hostname, uri.port) == (target.hostname, target.port):
                return server.get("clientIdentifier")
    return servers[0].get("clientIdentifier") if len(servers) == 1 else None


def server_access(token: str) -> str | None:
    """``"owner"``, ``"shared"`` or ``None`` for the configured server; ``"open"`` when none is configured."""
    config = _plex_server()
    if config is None:
        return "open"
    machine = server_machine_identifier(config)
    for resource in _resources(token):
        if resource.get("clientIdentifier") == machine:
            return "owner" if resource.get("owned") else "shared"
    return None


def sign_in_with_plex_token(token: str, invite_token: str | None = None) -> User:
    """Create or update the MediaNest user of this Plex account (not yet signed in: the caller starts the session).

    With ``invite_token`` (a sign-in started from an invitation link) the
    invitation is what lets the account in: the server's library shares are
    not asked, and the invitation is used up.
    """
    account = _account(token)
    if invite_token:
        household.open_invite(invite_token)  # still open? (used up below, once the account exists)
        access = "invited"
    else:
        access = server_access(token)
    if access is None:
        raise ApiError(
            "PLEX_NO_ACCESS",
            f"The Plex account {account.get('username') or account.get('email')} has no access to this household's "
            "Plex server. Ask the server's owner to share a library with you, then sign in again.",
        )
    plex_id = str(account["id"])
    user = db.session.scalar(db.select(User).where(User.plex_id == plex_id))
    created = user is None
    if created:
        user = User(username=_free_username(account), plex_id=plex_id, role="user", status="active")
        db.session.add(user)
    if user.status != "active":
        raise ApiError("ACCOUNT_SUSPENDED", "This account is suspended.")
    user.display_name = (
        str(account.get("title") or account.get("friendlyName") or account.get("username") or "")[:255] or None
    )
    user.email = str(account["email"])[:255] if account.get("email") else None
    user.plex_username = str(account["username"])[:255] if account.get("username") else None
    user.plex_thumb = str(account["thumb"])[:1024] if account.get("thumb") else None
    if created and access == "owner":
        user.role = "admin"
    db.session.flush()
    if invite_token:
        household.accept_with_plex(invite_token, user, created)
    user.plex_token = _keyring().encrypt(token, user.plex_token_purpose)
    db.session.commit()
    if created:
        record("user.created", f"user:{user.id}", {"via": "plex", "role": user.role}, actor=user)
    return user


def _free_username(account: dict[str, Any]) -> str:
    base = str(account.get("username") or account.get("title") or f"plex-{account['id']}")[:200]
    name = base
    if name.lower() == "admin" or db.session.scalar(db.select(User.id).where(User.username == name)):
        name = f"{base}-plex-{account['id']}"
    return name


def _keyring():
    return current_app.extensions["medianest.keyring"]


def plex_token_for(user_id: int) -> str | None:
    """The decrypted plex.tv token of a user who signed in with Plex (``None`` otherwise)."""
    user = db.session.get(User, user_id)
    if user is None or not user.plex_token:
        return None
    return _keyring().decrypt(user.plex_token, user.plex_token_purpose)
