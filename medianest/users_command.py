"""``medianest users add|list|set-role``: the household's accounts from the command line.

For the first admin of a new installation, a recovery when nobody can sign in,
or a script.  The same rules as the admin pages: a password is checked for
strength, user names are unique whatever their case, and the last active
admin can't be demoted.  Each change is in the audit log, made by
``medianest users``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass

import click
from flask.cli import with_appcontext

# Like the other commands in medianest.cli, this module imports the app's modules only when a command
# runs: ``medianest run`` monkey-patches with gevent after importing the CLI and before anything that
# loads ssl (requests, through the admin and HTTP layers), and must stay first.
ROLES = ("admin", "user")


@dataclass(frozen=True)
class CommandLine:
    """The actor the audit log names for a change made here (no signed-in person)."""

    id: None = None
    username: str = "medianest users"


def _fail(message: str) -> None:
    click.echo(f"medianest: {message}", err=True)
    sys.exit(1)


@click.group("users")
def users() -> None:
    """People who can sign in: add a local account, list everyone, change a role."""


@users.command("add")
@click.argument("username")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    envvar="MEDIANEST_NEW_USER_PASSWORD",
    help="Asked for when left out (or read from MEDIANEST_NEW_USER_PASSWORD).",
)
@click.option("--name", "display_name", help="The name the household sees.")
@click.option("--email")
@click.option("--role", type=click.Choice(ROLES), default="user", show_default=True)
@with_appcontext
def add(username: str, password: str, display_name: str | None, email: str | None, role: str) -> None:
    """Create a local account with its own password."""
    from medianest.api import ApiError
    from medianest.auth import household
    from medianest.extensions import db

    try:
        user = household.create_local_user(
            CommandLine(), username, password, display_name, role, email, via="command line"
        )
    except ApiError as exc:
        db.session.rollback()
        _fail(exc.message)
    db.session.commit()
    click.echo(f"added {user.username} ({user.role}); they sign in with that user name and password")


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@with_appcontext
def list_users(as_json: bool) -> None:
    """Everyone who can sign in, with role, status, how they sign in and when they last did."""
    from medianest.extensions import db
    from medianest.models import User

    rows = [u.to_public() for u in db.session.scalars(db.select(User).order_by(User.username))]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(f"{'USER':<24} {'NAME':<24} {'ROLE':<6} {'STATUS':<10} {'SIGNS IN':<9} LAST SIGN-IN")
    for row in rows:
        last = (row["last_login_at"] or "never").replace("T", " ")[:16]
        via = "local" if row["is_local"] else "Plex"
        click.echo(f"{row['username']:<24} {row['name']:<24} {row['role']:<6} {row['status']:<10} {via:<9} {last}")


@users.command("set-role")
@click.argument("username")
@click.argument("role", type=click.Choice(ROLES))
@with_appcontext
def set_role(username: str, role: str) -> None:
    """Make someone an admin or a user; they are signed out everywhere."""
    from medianest.admin.users import change_user
    from medianest.api import ApiError
    from medianest.extensions import db
    from medianest.models import User

    user = db.session.scalar(db.select(User).where(User.username == username))
    if user is None:
        _fail(f"No user is called {username!r} (see: medianest users list).")
    try:
        changed = change_user(CommandLine(), user.id, role=role)
    except ApiError as exc:
        _fail(exc.message)
    click.echo(f"{changed.username} is now {changed.role}")
