"""The ``medianest`` command: a Flask CLI group with the commands DESIGN.md pins.

``run``, ``worker``, ``beat``, ``db upgrade``, ``plugins`` (and ``plugins remove``), ``rotate-key``,
``backup`` and ``restore``.  A wrong setting stops any of them with one line
naming it, never a traceback.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
import socket
import sys
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit, urlunsplit

import click
from alembic import command as alembic_command
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from flask_migrate.cli import db as migrate_db
from sqlalchemy import inspect

from medianest.settings import SettingsError, folder_problem, load_settings, service_env, service_env_name

log = logging.getLogger("medianest.migrations")

# The commands import the app where they run: ``main`` must patch the standard
# library with gevent before anything of the app (sockets, ssl) is imported.


def _not_environment_chatter(record: logging.LogRecord) -> bool:
    """Alembic says which dialect it uses each time an environment opens, once for the core and
    once per plugin branch at every start; what it applies ("Running upgrade ...") still shows."""
    return not str(record.msg).startswith(("Context impl", "Will assume"))


logging.getLogger("alembic.runtime.migration").addFilter(_not_environment_chatter)


def _create_app():
    from medianest.app import create_app

    try:
        settings = load_settings()
        problem = folder_problem(Path(settings.data_dir))  # it holds the instance's key and, embedded, the database
        if problem:
            raise SettingsError(f"setting MEDIANEST_DATA_DIR: {problem}")
        _require_database_server(settings.sqlalchemy_url)
        return create_app({"settings": settings})
    except SettingsError as exc:
        click.echo(f"medianest: {exc}", err=True)
        sys.exit(2)


def _require_database_server(url: str) -> None:
    """A database server that does not answer stops every command with one line naming ``DATABASE_URL``.

    Checked before the app is built (which reads plugin states from the
    database and would first log its own complaint).  SQLite needs no server:
    its file is created in the instance folder.
    """
    if url.startswith("sqlite"):
        return
    from sqlalchemy import create_engine
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        engine.connect().close()
    except DBAPIError as exc:
        where = engine.url.render_as_string(hide_password=True)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else exc.__class__.__name__
        raise SettingsError(f"setting DATABASE_URL: cannot connect to {where} ({reason})") from None
    finally:
        engine.dispose()


def require_writable_folders(app) -> None:
    """Every service's folder setting must be writable, or the command stops with one line.

    ``medianest run`` and ``medianest worker`` check this before they start
    (the container's entrypoint checks the same before Python starts); the
    instance folder, where the YouTube downloads go without a folder setting,
    is checked by every command as the app is built.  A folder that does not
    exist yet is created.
    """
    from medianest.service_settings import service_definitions

    folders = []
    with app.app_context():
        for service, definition in service_definitions().items():
            wanted = [f.name for f in definition.fields if f.kind == "folder"]
            if wanted:
                values = _settings_or_environment(service, wanted)
                folders += [
                    (service_env_name(service, name), Path(str(values[name])).expanduser())
                    for name in wanted
                    if values.get(name)
                ]
    for setting, folder in folders:
        problem = folder_problem(folder)
        if problem:
            raise SettingsError(f"setting {setting}: {problem}")


def _settings_or_environment(service: str, names: list[str]) -> dict:
    """The stored settings overlaid by the environment; the environment alone before the first ``db upgrade``."""
    from sqlalchemy.exc import SQLAlchemyError

    from medianest.extensions import db
    from medianest.service_settings import service_config

    try:
        return service_config(service)
    except SQLAlchemyError:
        db.session.rollback()
        return {name: service_env(service, name) for name in names}


def _stop_unless_writable(app) -> None:
    try:
        require_writable_folders(app)
    except SettingsError as exc:
        click.echo(f"medianest: {exc}", err=True)
        sys.exit(2)


class MediaNestGroup(FlaskGroup):
    """Flask's group, keeping our own ``db`` group over the one Flask-Migrate registers.

    Our own commands are found before Flask's lookup, which first imports every
    installed extension's commands (Flask-Limiter's bring ``rich``): ``run`` and
    ``worker`` start without them, for the start-up and memory budgets
    (bench/household_budgets.py).  Any other name is looked up as Flask does.
    """

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name == "db":
            return db
        return click.Group.get_command(self, ctx, name) or super().get_command(ctx, name)


@click.group(cls=MediaNestGroup, create_app=_create_app, add_default_commands=False, add_version_option=False)
@click.version_option(package_name="medianest")
def cli() -> None:
    """MediaNest: one sign-in in front of everything a Plex household does around its media server."""


# ---------------------------------------------------------------- database
@click.group("db")
@with_appcontext
def db() -> None:
    """Database migrations (all branches: the core's and every plugin's)."""
    from flask import g

    g.directory = None
    g.x_arg = ()


for name, command in migrate_db.commands.items():
    if name != "upgrade":
        db.add_command(command, name)


@db.command("upgrade")
@click.argument("revision", default="heads")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Upgrade the database: the core to REVISION (default: newest), every installed plugin to its newest."""
    from medianest.database_upgrade import upgrade_database

    app = current_app._get_current_object()
    upgrade_database(app, revision)
    problems = app.extensions["medianest.migration_problems"]
    for problem in problems:
        click.echo(f"medianest: {problem}", err=True)
    click.echo("database upgraded" if not problems else "database upgraded, except the plugins named above")
    if problems:
        sys.exit(1)


# ---------------------------------------------------------------- processes
@cli.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def run(host: str, port: int) -> None:
    """Start MediaNest: the embedded server, or the web process with production settings."""
    from medianest.database_upgrade import upgrade_database

    app = current_app._get_current_object()
    settings = app.config["MEDIANEST"]
    _stop_unless_writable(app)
    _stop_unless_free(host, port)
    if not settings.embedded:
        _stop_unless_redis_answers(settings.redis_url)
    url = (settings.base_url or local_url(host, port)).rstrip("/")
    if upgrade_database(app, base_url=url):
        click.echo(f"MediaNest: the admin password is already set; sign in at {url}/auth/login")
    if not settings.embedded:
        from medianest.extensions import db

        db.engine.dispose()  # no connection may cross into gunicorn's process
        os.execvp(  # noqa: S606 - gunicorn replaces this process, with our own interpreter and arguments
            sys.executable,
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                "python:medianest.gunicorn_conf",
                "--bind",
                f"{host}:{port}",
                "medianest.wsgi:app",
            ],
        )
    from medianest import embedded

    click.echo(f"MediaNest is running on {local_url(host, port)} (Ctrl-C stops it)")
    embedded.serve(app, host, port)


def local_url(host: str, port: int) -> str:
    """Where a browser on this machine reaches a server listening on ``host``: every address means loopback."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return f"http://{host}:{port}"
    if address.is_unspecified:
        address = ipaddress.ip_address("::1" if address.version == 6 else "127.0.0.1")
    return f"http://[{address}]:{port}" if address.version == 6 else f"http://{address}:{port}"


def _stop_unless_free(host: str, port: int) -> None:
    """A port that cannot be listened on stops ``run`` with one line before anything else starts.

    The probe sets SO_REUSEADDR as gevent's server and gunicorn do, so a port
    left in TIME_WAIT by the previous run counts as free, a listening one not.
    """
    if not 0 < port < 65536:
        _stop(f"cannot listen on port {port}: choose a port from 1 to 65535 with --port")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        _stop(f"cannot listen on {host}:{port}: {exc.strerror} (check --host)")
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                _stop(
                    f"port {port} on {host} is already in use (is MediaNest already running?): "
                    f"stop that program or choose another port with --port (./scripts/start: PORT={port + 1})"
                )
            if exc.errno == errno.EACCES:
                _stop(f"port {port} on {host} needs root: choose a port of 1024 or above with --port")
            _stop(f"cannot listen on {host}:{port}: {exc.strerror} (check --host and --port)")


def _stop_unless_redis_answers(url: str) -> None:
    """Production mode needs Redis (jobs, rate limits, Socket.IO): one line instead of a web process that fails."""
    from redis.exceptions import RedisError

    from medianest.redis_connection import redis_client

    try:
        redis_client(timeout=3.0).ping()
    except RedisError as exc:
        parts = urlsplit(url)
        if parts.password:
            parts = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@"))
        _stop(f"setting REDIS_URL: cannot connect to {urlunsplit(parts)} ({exc})")


def _stop(message: str) -> NoReturn:
    click.echo(f"medianest: {message}", err=True)
    sys.exit(2)


@cli.command("worker", context_settings={"ignore_unknown_options": True})
@click.option("--pool", default="prefork", show_default=True, help="prefork for downloads, gevent for I/O-bound checks")
@click.option("--concurrency", "-c", default=2, show_default=True, type=int)
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
@with_appcontext
def worker(pool: str, concurrency: int, celery_args: tuple[str, ...]) -> None:
    """Run a Celery worker for background jobs."""
    _stop_unless_writable(current_app._get_current_object())
    celery = current_app.extensions["celery"]
    celery.worker_main(["worker", "--loglevel=INFO", f"--pool={pool}", f"--concurrency={concurrency}", *celery_args])


@cli.command("beat", context_settings={"ignore_unknown_options": True})
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
@with_appcontext
def beat(celery_args: tuple[str, ...]) -> None:
    """Run the Celery beat scheduler (the plugins' periodic tasks)."""
    celery = current_app.extensions["celery"]
    celery.start(["beat", "--loglevel=INFO", *celery_args])


# ---------------------------------------------------------------- plugins
@cli.group("plugins", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
@with_appcontext
def plugins(ctx: click.Context, as_json: bool) -> None:
    """List the installed plugins with their versions, hooks, states and errors."""
    if ctx.invoked_subcommand is not None:
        return
    import json

    host = current_app.extensions["medianest.plugins"]
    host.refresh(force=True)
    rows = [info.to_public() for name, info in sorted(host.plugins.items()) if name != "core"]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(f"plugin API {host.api_version}")
    for row in rows:
        click.echo(f"{row['name']:<16} {row['version'] or '-':<10} {row['state']:<9} {', '.join(row['hooks'])}")
        if row["error"]:
            click.echo(f"{'':<16} error: {row['error']}")


@plugins.command("remove")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def plugins_remove(name: str, yes: bool) -> None:
    """Drop an installed plugin's tables and data, after writing a backup; the plugin is left disabled."""
    app = current_app._get_current_object()
    try:
        lines = remove_plugin_data(app, name, confirm=None if yes else _confirm_removal)
    except PluginRemovalError as exc:
        click.echo(f"medianest: {exc}", err=True)
        sys.exit(2)
    for line in lines:
        click.echo(line)


class PluginRemovalError(Exception):
    """A plugin whose data cannot be removed; the message says why."""


def _confirm_removal(name: str) -> None:
    click.confirm(f"Drop every table of plugin {name} and all that is in them (a backup is written first)?", abort=True)


def remove_plugin_data(app, name: str, confirm=None) -> list[str]:
    """Back up, disable the plugin, undo its migrations to base and drop its version table.

    Its revisions know its tables, so the plugin must still be installed.
    Returns what was done, line by line.
    """
    from medianest.backup import write_backup
    from medianest.database_upgrade import (
        alembic_config,
        migration_branches,
        migration_lock,
        version_table,
        version_table_of,
    )
    from medianest.extensions import db
    from medianest.models import PluginState

    host = app.extensions["medianest.plugins"]
    if name == "core" or name not in host.plugins:
        raise PluginRemovalError(
            f"no plugin named {name!r} is installed: install it again to remove its data "
            "(its migrations know which tables are its own)"
        )
    branches = migration_branches(app)
    if name not in branches:
        raise PluginRemovalError(f"plugin {name} has no tables of its own (no migration_locations)")
    config = alembic_config(app, name, branches[name])
    table = version_table(name)
    if confirm is not None:
        confirm(name)
    with app.app_context():
        done = [f"backup written: {write_backup(app)}"]
        row = db.session.get(PluginState, name) or PluginState(name=name)
        row.enabled = False  # before its tables go: every process stops serving it
        db.session.add(row)
        db.session.commit()
        host.set_enabled(name, False)
        before = set(inspect(db.engine).get_table_names())
        with migration_lock(app):
            alembic_command.downgrade(config, "base")
            version_table_of(table).drop(db.engine, checkfirst=True)
        dropped = sorted(before - set(inspect(db.engine).get_table_names()))
    done.append(f"dropped: {', '.join(dropped)}")
    done.append(
        f"plugin {name} is disabled: uninstall its package, or enable it again to start afresh "
        "(its tables are created again, empty, at the next start)"
    )
    return done


def gevent_wanted(argv: list[str]) -> bool:
    """Whether this command runs on gevent, which must patch the standard library before anything else.

    ``run`` in embedded mode serves with gevent; ``worker --pool gevent`` runs
    its tasks on it (Celery patches only when it is started as ``celery``).
    """
    if len(argv) < 2:
        return False
    if argv[1] == "run":
        return not os.environ.get("REDIS_URL")
    if argv[1] == "worker":
        args = argv[2:]
        for i, arg in enumerate(args):
            if arg in ("--pool=gevent", "-Pgevent") or (arg in ("--pool", "-P") and args[i + 1 : i + 2] == ["gevent"]):
                return True
    return False


def main() -> None:
    """Console entry point; a command that runs on gevent is patched first."""
    if gevent_wanted(sys.argv):
        from gevent import monkey

        monkey.patch_all()
    cli.main(prog_name="medianest")


# ---------------------------------------------------------------- keys
@cli.command("rotate-key")
@click.option("--dry-run", is_flag=True, help="Count what would be re-encrypted, change nothing.")
@with_appcontext
def rotate_key(dry_run: bool) -> None:
    """Re-encrypt every stored secret under the current MEDIANEST_SECRET_KEY.

    Put the old secret in MEDIANEST_PREVIOUS_SECRET_KEYS (comma-separated) and the
    new one in MEDIANEST_SECRET_KEY, restart, then run this; running processes
    keep reading both until every value carries the new key id.
    """
    from medianest.keyring import DecryptionError
    from medianest.service_settings import rotate_encryption

    try:
        counts = rotate_encryption(dry_run=dry_run)
    except DecryptionError as exc:
        click.echo(f"medianest: {exc}", err=True)
        sys.exit(1)
    verb = "would re-encrypt" if dry_run else "re-encrypted"
    click.echo(
        f"{verb} {counts['service_settings']} service setting(s) and {counts['plex_tokens']} Plex token(s); "
        f"{counts['current']} value(s) already used the current key"
    )


from medianest.backup import backup, restore  # noqa: E402  (the commands live beside their helpers)

cli.add_command(backup)
cli.add_command(restore)

# ``medianest plugin new NAME``: the author's kit (medianest/scaffold.py).
from medianest.scaffold import plugin_command  # noqa: E402

cli.add_command(plugin_command)

from medianest.users_command import users  # noqa: E402  (the household's accounts)

cli.add_command(users)
