"""Alembic environment: the app's engine, and the version table of the branch being migrated.

The core's revisions are recorded in ``alembic_version``; each plugin's branch
runs as an environment of its own with its own ``alembic_version_<plugin>``
(``medianest.database_upgrade.alembic_config`` sets the folders and the table), so a
disabled or uninstalled plugin's revisions never stand in the core's way.
"""

import logging

from alembic import context
from flask import current_app

log = logging.getLogger("alembic.env")
config = context.config
migrate_ext = current_app.extensions["migrate"]
target_db = migrate_ext.db
version_table = config.attributes.get("version_table", "alembic_version")


def run_migrations_offline() -> None:
    url = target_db.engine.url.render_as_string(hide_password=False)
    context.configure(
        url=url,
        target_metadata=target_db.metadata,
        literal_binds=True,
        render_as_batch=True,
        version_table=version_table,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    def skip_empty(context_, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            log.info("No changes in schema detected.")

    def not_a_version_table(name, type_, parent_names):
        # Every branch's version table, which no model describes: never "removed" by autogenerate.
        return not (type_ == "table" and name.startswith("alembic_version"))

    conf_args = dict(migrate_ext.configure_args)
    conf_args.setdefault("process_revision_directives", skip_empty)
    conf_args.setdefault("include_name", not_a_version_table)
    with target_db.engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=target_db.metadata, version_table=version_table, **conf_args
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
