"""The invitation link: ``/invite/<token>``, where an invited person makes their account.

They choose a local account (user name and a password of their own) or sign
in with Plex; either way the invitation is used up and they arrive signed in
on the dashboard.  A link that was used, expired or withdrawn gets a page that
says which, and what to do (sign in, or ask for a new one).
"""

from __future__ import annotations

from flask import redirect, render_template, request, session, url_for

from medianest.access import public
from medianest.api import ApiError
from medianest.auth import household
from medianest.auth import plex as plex_signin
from medianest.auth.sessions import start_session
from medianest.auth.views import bp, sign_in_limit


def _closed_page(error: ApiError):
    return render_template("auth/invite.html", invite=None, error=error), error.status


@bp.get("/invite/<token>")
@public
def invite_page(token: str):
    """The invitation: make a local account, or sign in with Plex."""
    try:
        invite = household.open_invite(token)
    except ApiError as exc:
        return _closed_page(exc)
    return render_template("auth/invite.html", invite=invite, token=token, form={})


@bp.post("/invite/<token>")
@sign_in_limit
@public
def invite_accept(token: str):
    """Make a local account with the invitation, and sign in."""
    form = {name: request.form.get(name, "") for name in ("username", "display_name")}
    try:
        user = household.accept_with_password(
            token,
            form["username"],
            request.form.get("password", ""),
            request.form.get("confirm", ""),
            form["display_name"],
        )
    except ApiError as exc:
        if exc.code in ("NOT_FOUND", "INVITE_USED", "INVITE_EXPIRED", "INVITE_REVOKED"):
            return _closed_page(exc)
        invite = household.open_invite(token)
        return render_template("auth/invite.html", invite=invite, token=token, form=form, error=exc), exc.status
    start_session(user, via="password")
    return redirect(url_for("dashboard.index"))


@bp.post("/invite/<token>/plex")
@sign_in_limit
@public
def invite_plex(token: str):
    """Sign in with Plex through the invitation: the Plex account that approves the PIN comes in."""
    try:
        household.open_invite(token)
        plex_signin.start_pin(forward_url=url_for("auth.plex_page", _external=True), invite_token=token)
    except ApiError as exc:
        if exc.code in ("NOT_FOUND", "INVITE_USED", "INVITE_EXPIRED", "INVITE_REVOKED"):
            return _closed_page(exc)
        invite = household.open_invite(token)
        return render_template("auth/invite.html", invite=invite, token=token, form={}, error=exc), exc.status
    session["plex_next"] = url_for("dashboard.index")
    return redirect(url_for("auth.plex_page"))
