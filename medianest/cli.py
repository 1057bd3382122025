"""The ``medianest`` command: a Flask CLI group with the commands DESIGN.md pins.

``run``, ``worker``, ``beat``, ``db upgrade``, ``plugins``, ``rotate-key``,
``backup`` and ``restore``.  A wrong setting stops any of them with one line
naming it, never a traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from flask_migrate.cli import db as migrate_db

from medianest.settings import SettingsError, folder_problem


def _create_app():
    from medianest.app import create_app
    from medianest.settings import load_settings

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
    from medianest.services import service_definitions
    from medianest.settings import service_env_name

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
    from medianest.services import service_config
    from medianest.settings import service_env

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
    """Flask's group, keeping our own ``db`` group over the one Flask-Migrate registers."""

    def _load_plugin_commands(self) -> None:
        if self._loaded_plugin_commands:
            return
        super()._load_plugin_commands()
        self.add_command(db)


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


def migration_locations(app) -> list[str]:
    from pathlib import Path

    from medianest.app import PACKAGE

    host = app.extensions["medianest.plugins"]
    locations = [str(PACKAGE / "migrations" / "versions")]
    for _plugin, location in host.collect("migration_locations"):
        if Path(location).is_dir() and str(location) not in locations:
            locations.append(str(location))
    return locations


MIGRATION_LOCK = 0x6D6E_6D69  # PostgreSQL advisory lock id: two starters never migrate at once


def upgrade_database(app, revision: str = "heads") -> None:
    """Apply every migration branch, then make sure the local admin exists."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from medianest.auth.identity import ensure_local_admin
    from medianest.extensions import db

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as lock:
                lock.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK})
                try:
                    upgrade(revision=revision)
                finally:
                    lock.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK})
                    lock.commit()
        else:
            upgrade(revision=revision)
        ensure_local_admin(app)


@db.command("upgrade")
@click.argument("revision", default="heads")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Upgrade the database to the newest revision of every branch."""
    upgrade_database(current_app._get_current_object(), revision)
    click.echo("database upgraded")


# ---------------------------------------------------------------- processes
@cli.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def run(host: str, port: int) -> None:
    """Start MediaNest: the embedded server, or the web process with production settings."""
    app = current_app._get_current_object()
    settings = app.config["MEDIANEST"]
    _stop_unless_writable(app)
    upgrade_database(app)
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
                "wsgi:app",
            ],
        )
    from medianest import embedded

    click.echo(f"MediaNest is running on http://{host}:{port}")
    embedded.serve(app, host, port)


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
@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@with_appcontext
def plugins(as_json: bool) -> None:
    """List the loaded plugins with their versions, hooks and errors."""
    import json

    host = current_app.extensions["medianest.plugins"]
    rows = [info.to_public() for name, info in sorted(host.plugins.items()) if name != "core"]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(f"{row['name']:<16} {row['version'] or '-':<10} {row['state']:<9} {', '.join(row['hooks'])}")
        if row["error"]:
            click.echo(f"{'':<16} error: {row['error']}")


def main() -> None:
    """Console entry point. ``run`` in embedded mode serves with gevent, patched first."""
    if len(sys.argv) > 1 and sys.argv[1] == "run" and not os.environ.get("REDIS_URL"):
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
    from medianest.services import rotate_encryption

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
