"""Upgrading the database: the core's migrations, then each installed plugin's branch, under one lock."""

from __future__ import annotations

import logging
import os
import re
from contextlib import contextmanager
from pathlib import Path

from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from flask_migrate import Migrate
from sqlalchemy import Column, MetaData, String, Table, inspect, text

from medianest.auth.identity import ensure_local_admin
from medianest.extensions import db

log = logging.getLogger("medianest.migrations")

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
migrate = Migrate()

CORE_VERSION_TABLE = "alembic_version"
# Revisions found in the version table of an installation from before the
# per-plugin tables whose plugin is not installed: kept here until it is.
UNCLAIMED_VERSION_TABLE = "alembic_version_unclaimed"
MIGRATION_LOCK = 0x6D6E_6D69  # PostgreSQL advisory lock id: two starters never migrate at once


class MigrationProblem(Exception):
    """One plugin's migrations cannot run; MediaNest goes on without them."""


def version_table(plugin: str | None) -> str:
    """``alembic_version`` for the core, ``alembic_version_<plugin>`` for a plugin's branch."""
    if plugin is None:
        return CORE_VERSION_TABLE
    return "alembic_version_" + re.sub(r"[^a-z0-9_]", "_", plugin.lower())


def migration_locations(app) -> list[str]:
    """The core's own revisions: what ``medianest db`` commands other than ``upgrade`` work on."""
    return [str(MIGRATIONS / "versions")]


def attach_migrations(app) -> None:
    """Flask-Migrate on ``app``: what ``flask db`` and the helpers below work through.

    ``create_app`` attaches it under a command line; the web process, which
    never migrates, leaves Alembic, Mako and Pygments (11 MiB) unloaded.
    """
    if "migrate" not in app.extensions:
        migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True, compare_type=True)


@migrate.configure
def core_version_locations(config: AlembicConfig) -> AlembicConfig:
    """The core's revisions; ``medianest db upgrade`` runs each plugin's branch on its own."""
    config.set_main_option("version_locations", os.pathsep.join(migration_locations(None)))
    return config


def migration_branches(app) -> dict[str, list[str]]:
    """Each loaded plugin's migration folders, enabled or not (``migration_locations`` hook)."""
    host = app.extensions["medianest.plugins"]
    branches: dict[str, list[str]] = {}
    with app.app_context():
        found = host.in_load_order(host.collect_installed("migration_locations"))
    for plugin, location in found:
        if plugin != "core" and Path(location).is_dir() and str(location) not in branches.get(plugin, []):
            branches.setdefault(plugin, []).append(str(location))
    return branches


def alembic_config(app, plugin: str | None = None, locations: list[str] | None = None) -> AlembicConfig:
    """An Alembic environment: the core's, or one plugin's with its own version table.

    A plugin's branch is an environment of its own, so that its revisions
    missing (the plugin uninstalled) never stop the core's upgrade, and its
    tables can be dropped by undoing its branch alone.
    """
    attach_migrations(app)
    config = app.extensions["migrate"].migrate.get_config()
    if plugin is not None:
        config.set_main_option("version_locations", os.pathsep.join(locations or migration_branches(app)[plugin]))
    config.attributes["version_table"] = version_table(plugin)
    return config


def _revisions(config: AlembicConfig, plugin: str | None = None) -> set[str]:
    try:
        return {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}
    except Exception as exc:  # a revision naming one that is not in its folders (the core's, most often)
        reason = f"{exc.__class__.__name__}: {exc}"
        raise MigrationProblem(
            f"plugin {plugin}: its migrations cannot be read ({reason}); a plugin's revisions form a branch "
            "of their own and name no core revision (no depends_on): the core is always migrated first"
        ) from None


def known_revisions(app) -> set[str]:
    """Every revision this MediaNest and its installed plugins know (a plugin whose migrations are unreadable: none)."""
    known = _revisions(alembic_config(app))
    for plugin, folders in migration_branches(app).items():
        try:
            known |= _revisions(alembic_config(app, plugin, folders), plugin)
        except MigrationProblem:
            continue
    return known


def _version_rows(connection, table: str) -> list[str]:
    if not inspect(connection).has_table(table):
        return []
    return [row[0] for row in connection.execute(text(f"SELECT version_num FROM {table}"))]  # noqa: S608


def version_table_of(table: str) -> Table:
    return Table(table, MetaData(), Column("version_num", String(32), primary_key=True))


def _move_versions(connection, revisions: list[str], source: str, target: str) -> None:
    if not revisions:
        return
    destination = version_table_of(target)
    destination.create(connection, checkfirst=True)
    origin = version_table_of(source)
    for revision in revisions:
        connection.execute(destination.insert().values(version_num=revision))
        connection.execute(origin.delete().where(origin.c.version_num == revision))
    log.info("schema revisions %s moved from %s to %s", ", ".join(revisions), source, target)


def adopt_plugin_versions(app, branches: dict[str, set[str]]) -> None:
    """Give each plugin's revisions their own version table.

    Before per-plugin version tables, every branch's head sat in
    ``alembic_version``: a revision there that the core does not know moves
    to its plugin's table, or, its plugin not installed, to
    ``alembic_version_unclaimed`` until the plugin is installed again.
    """
    core = _revisions(alembic_config(app))
    with db.engine.begin() as connection:
        for source in (CORE_VERSION_TABLE, UNCLAIMED_VERSION_TABLE):
            foreign = [r for r in _version_rows(connection, source) if r not in core]
            for plugin, revisions in branches.items():
                mine = [r for r in foreign if r in revisions]
                _move_versions(connection, mine, source, version_table(plugin))
                foreign = [r for r in foreign if r not in mine]
            if source == CORE_VERSION_TABLE:
                _move_versions(connection, foreign, source, UNCLAIMED_VERSION_TABLE)


@contextmanager
def migration_lock(app):
    """Two starters (web, worker, a command) never migrate at once: a PostgreSQL advisory lock."""
    if db.engine.dialect.name != "postgresql":
        yield
        return
    with db.engine.connect() as lock:
        lock.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK})
        try:
            yield
        finally:
            lock.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK})
            lock.commit()


def migrate_every_branch(app, revision: str = "heads") -> list[str]:
    """Apply the core's migrations (to ``revision``), then every installed plugin's, under the migration lock.

    Returns one line per plugin whose migrations could not run: that plugin
    is refused in this process, the line is logged, and MediaNest goes on
    without it.
    """
    host = app.extensions["medianest.plugins"]
    problems: list[str] = []
    with app.app_context(), migration_lock(app):
        branches: dict[str, set[str]] = {}
        locations = migration_branches(app)
        for plugin, folders in locations.items():
            try:
                branches[plugin] = _revisions(alembic_config(app, plugin, folders), plugin)
            except MigrationProblem as exc:
                log.error("%s", exc)
                problems.append(str(exc))
                host.fail(plugin, str(exc))
        adopt_plugin_versions(app, branches)
        alembic_command.upgrade(alembic_config(app), revision)
        for plugin in branches:
            try:
                alembic_command.upgrade(alembic_config(app, plugin, locations[plugin]), "heads")
            except Exception as exc:  # one plugin's broken migration must not stop MediaNest
                message = f"plugin {plugin}: its migrations failed: {exc.__class__.__name__}: {exc}"
                log.exception("%s", message)
                problems.append(message)
                host.fail(plugin, message)
        host.refresh(force=True)
    return problems


def upgrade_database(app, revision: str = "heads", base_url: str | None = None) -> bool:
    """Apply every migration branch, then make sure the local admin exists; True when it has a password.

    Without a password the admin's one-time setup link is printed, at
    ``base_url`` unless ``MEDIANEST_BASE_URL`` says where MediaNest is reached.
    """
    with app.app_context():
        app.extensions["medianest.migration_problems"] = migrate_every_branch(app, revision)
        admin = ensure_local_admin(app, base_url)
        return admin is not None and admin.password_hash is not None
