"""``medianest backup`` and ``medianest restore``: one archive with everything to bring an installation back.

The archive is a ``.tar.gz`` holding:

``manifest.json``
    format version, MediaNest version, when, the database engine, the schema
    revisions, the id (not the value) of the key the stored service settings
    are encrypted with, and whether downloads are included.
``database/medianest.sqlite3`` or ``database/medianest.pgdump``
    a consistent copy taken while MediaNest runs: SQLite's online backup API,
    or ``pg_dump`` (custom format, one snapshot).
``instance/...``
    the instance folder (``MEDIANEST_DATA_DIR``): in embedded mode the
    generated secret key, and the embedded job queue; not the live database
    files, the downloads or earlier backups.
``<folder>/...``
    only with ``--include-downloads``: each folder a plugin declares with the
    ``backup_folders`` hook, under the name it declares (``downloads/`` for
    the download folder).

``medianest restore`` puts all of it back into the configured database and
folders (same engine only), refusing to replace a database that has data
unless given ``--force``, then applies newer migrations, so an archive from
an older MediaNest restores into a newer one.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

FORMAT = 1
SQLITE_MEMBER = "database/medianest.sqlite3"
PG_MEMBER = "database/medianest.pgdump"
# Instance files never copied: the live database (copied consistently instead),
# what belongs to the downloads, earlier backups, and state a process rebuilds.
_SKIP_IN_INSTANCE = {
    "medianest.db",
    "medianest.db-wal",
    "medianest.db-shm",
    "medianest.db-journal",
    "backups",
    "downloads",
}
_SKIP_PREFIXES = ("celerybeat-schedule",)


class BackupError(click.ClickException):
    """A backup or restore that cannot go on; the message says why and what to do."""

    def format_message(self) -> str:
        return self.message

    def show(self, file: Any = None) -> None:
        click.echo(f"medianest: {self.message}", err=True)


@dataclass
class Installation:
    """Where this installation keeps what a backup holds."""

    engine: str  # "sqlite" | "postgresql"
    url: str  # the SQLAlchemy URL
    data_dir: Path
    # The folders plugins declare (``backup_folders``): archive name -> where it is now.
    folders: dict[str, Path]

    @classmethod
    def of(cls, app: Flask) -> Installation:
        from medianest.declarations import backup_folders

        settings = app.config["MEDIANEST"]
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        engine = "sqlite" if url.startswith("sqlite") else "postgresql"
        data_dir = Path(settings.data_dir).resolve()
        with app.app_context():
            folders = {folder.name: path for folder, path in backup_folders(app)}
        return cls(engine, url, data_dir, folders)

    @property
    def sqlite_path(self) -> Path:
        database = make_url(self.url).database
        if not database:
            raise BackupError("DATABASE_URL names no SQLite file")
        return Path(database).resolve()


# ------------------------------------------------------------------ backup
@click.command("backup")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=True, path_type=Path),
    help="Archive file, or a folder to write it in.  [default: <data dir>/backups/]",
)
@click.option(
    "--include-downloads",
    is_flag=True,
    help="Also archive the folders plugins keep files in, such as downloads (can be large).",
)
@with_appcontext
def backup(output: Path | None, include_downloads: bool) -> None:
    """Write a consistent archive of the database and the instance data."""
    app = current_app._get_current_object()
    path = write_backup(app, output, include_downloads=include_downloads)
    size = path.stat().st_size
    click.echo(f"backup written: {path} ({_human(size)})")


def write_backup(app: Flask, output: Path | None = None, include_downloads: bool = False) -> Path:
    """Write the archive; returns its path.  The file appears whole or not at all."""
    where = Installation.of(app)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    target = _target_path(output, where.data_dir, stamp)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="medianest-backup-", dir=target.parent) as scratch:
        scratch_dir = Path(scratch)
        if where.engine == "sqlite":
            dump, member = scratch_dir / "medianest.sqlite3", SQLITE_MEMBER
            _sqlite_copy(where.sqlite_path, dump)
        else:
            dump, member = scratch_dir / "medianest.pgdump", PG_MEMBER
            _pg_dump(where.url, dump)
        manifest = {
            "format": FORMAT,
            "medianest_version": _version(),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "database": {"engine": where.engine, "member": member, "revisions": _revisions_in(dump, where.engine)},
            "key_id": app.extensions["medianest.keyring"].current_id,
            "includes_downloads": include_downloads,
            "folders": sorted(where.folders) if include_downloads else [],
        }
        partial = scratch_dir / "archive.tar.gz"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # password hashes, encrypted settings
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as archive:
            _add_bytes(archive, "manifest.json", json.dumps(manifest, indent=2).encode())
            archive.add(dump, arcname=member)
            skip = {target.resolve(), scratch_dir.resolve(), where.sqlite_path if where.engine == "sqlite" else None}
            _add_folder(archive, where.data_dir, "instance", skip, top_level_skip=_SKIP_IN_INSTANCE)
            for name, folder in where.folders.items() if include_downloads else ():
                if folder.is_dir():
                    _add_folder(archive, folder, name, skip)
        os.replace(partial, target)
    return target


def _target_path(output: Path | None, data_dir: Path, stamp: str) -> Path:
    name = f"medianest-{stamp}.tar.gz"
    if output is None:
        return data_dir / "backups" / name
    output = output.expanduser()
    if output.is_dir() or str(output).endswith(os.sep):
        return (output / name).resolve()
    return output.resolve()


def _sqlite_copy(source: Path, destination: Path) -> None:
    """SQLite's online backup: a consistent copy even while web and worker write."""
    if not source.exists():
        raise BackupError(f"the SQLite database {source} does not exist (start MediaNest once, or check DATABASE_URL)")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(destination)
    try:
        with dst:
            src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    finally:
        dst.close()
        src.close()


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection URI without the password, and the environment carrying it (not in ``ps``)."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return plain, env


def _run_pg_tool(args: list[str], env: dict[str, str], what: str, **kwargs: Any) -> subprocess.CompletedProcess:
    tool = args[0]
    if shutil.which(tool) is None:
        raise BackupError(
            f"{tool} is not installed: install the PostgreSQL client tools (Debian: postgresql-client) to {what}"
        )
    result = subprocess.run(args, env=env, capture_output=True, check=False, **kwargs)  # noqa: S603
    if result.returncode != 0:
        detail = _last_line(result.stderr)
        if "server version mismatch" in detail:
            detail += f" ({tool} must be at least as new as the PostgreSQL server)"
        raise BackupError(f"{tool} failed, cannot {what}: {detail}")
    return result


def _pg_dump(url: str, destination: Path) -> None:
    uri, env = _libpq(url)
    _run_pg_tool(
        ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", str(destination), "--dbname", uri],
        env,
        "back up the database",
    )


def _revisions_in(dump: Path, engine: str) -> list[str]:
    """The schema revisions the copied database is at (read from the copy itself)."""
    # The core's ``alembic_version`` and each plugin's ``alembic_version_<plugin>``.
    tables = "SELECT {name} FROM {catalog} WHERE {name} LIKE 'alembic\\_version%' ESCAPE '\\'"
    if engine == "sqlite":
        con = sqlite3.connect(dump)
        try:
            names = [r[0] for r in con.execute(tables.format(name="name", catalog="sqlite_master"))]
            return sorted(r[0] for n in names for r in con.execute(f'SELECT version_num FROM "{n}"'))  # noqa: S608
        except sqlite3.OperationalError:
            return []
        finally:
            con.close()
    from medianest.extensions import db

    try:
        names = list(db.session.scalars(text(tables.format(name="tablename", catalog="pg_tables"))))
        return sorted(v for n in names for v in db.session.scalars(text(f'SELECT version_num FROM "{n}"')))  # noqa: S608
    except Exception:
        db.session.rollback()
        return []


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    info.mtime = int(datetime.now(UTC).timestamp())
    archive.addfile(info, io.BytesIO(data))


def _add_folder(
    archive: tarfile.TarFile, folder: Path, prefix: str, skip: set, top_level_skip: set[str] = frozenset()
) -> None:
    if not folder.is_dir():
        return
    for entry in sorted(folder.iterdir()):
        if (
            entry.name in top_level_skip
            or entry.name.startswith(_SKIP_PREFIXES)
            or entry.name.startswith(".medianest-")
        ):
            continue
        if entry.resolve() in skip or any(s is not None and s in entry.resolve().parents for s in skip):
            continue
        archive.add(
            entry, arcname=f"{prefix}/{entry.name}", filter=lambda info: _skip_filter(info, skip, folder, prefix)
        )


def _skip_filter(info: tarfile.TarInfo, skip: set, folder: Path, prefix: str) -> tarfile.TarInfo | None:
    real = (folder / info.name[len(prefix) + 1 :]).resolve()
    if real in skip or not (info.isfile() or info.isdir() or info.issym()):
        return None
    return info


# ------------------------------------------------------------------ restore
@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that already holds data.")
@click.option("--skip-downloads", is_flag=True, help="Leave the download folder alone even if the archive has it.")
@with_appcontext
def restore(archive: Path, force: bool, skip_downloads: bool) -> None:
    """Bring back a backup made by `medianest backup` (stop web and worker first)."""
    app = current_app._get_current_object()
    summary = restore_backup(app, archive, force=force, restore_downloads=not skip_downloads)
    for line in summary:
        click.echo(line)


def restore_backup(app: Flask, archive_path: Path, force: bool = False, restore_downloads: bool = True) -> list[str]:
    """Restore the archive into this installation; returns what was done, line by line."""
    from medianest.database_upgrade import upgrade_database
    from medianest.extensions import db

    where = Installation.of(app)
    try:
        archive = tarfile.open(archive_path, mode="r:*")
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(f"{archive_path} is not a MediaNest backup: {exc}") from None
    with archive, tempfile.TemporaryDirectory(prefix="medianest-restore-") as scratch:
        manifest = _read_manifest(archive, archive_path)
        engine = manifest["database"]["engine"]
        if engine != where.engine:
            raise BackupError(
                f"{archive_path} holds a {engine} database and this installation uses {where.engine}: "
                "restore into the same kind of database (set DATABASE_URL accordingly)"
            )
        _check_revisions(app, manifest["database"].get("revisions") or [])
        rows = _rows_present(app)
        if rows and not force:
            raise BackupError(f"the database already holds data ({rows}); pass --force to replace it with the backup")
        member = manifest["database"]["member"]
        dump = Path(scratch) / Path(member).name
        _extract_member(archive, member, dump)

        db.session.remove()
        db.engine.dispose()  # no pooled connection may hold a lock on what is replaced
        if engine == "sqlite":
            _sqlite_restore(dump, where.sqlite_path)
        else:
            _pg_restore(dump, where.url)
        db.engine.dispose()

        done = [f"database restored from {archive_path.name} ({manifest.get('created_at', '?')})"]
        count = _extract_tree(archive, "instance", where.data_dir)
        done.append(f"instance data restored: {count} file(s) into {where.data_dir}")
        if manifest.get("includes_downloads"):
            if restore_downloads:
                # Archives written before folders were declared hold only "downloads".
                for name in manifest.get("folders", ["downloads"]):
                    if name not in where.folders:
                        done.append(f"{name} in the archive was left out: no installed plugin keeps that folder")
                        continue
                    count = _extract_tree(archive, name, where.folders[name])
                    done.append(f"{name} restored: {count} file(s) into {where.folders[name]}")
            else:
                done.append("downloads in the archive were left out (--skip-downloads)")

    upgrade_database(app)
    done.append("database schema is up to date")
    warning = _key_warning(app, manifest, where)
    if warning:
        done.append(warning)
    return done


def _read_manifest(archive: tarfile.TarFile, archive_path: Path) -> dict[str, Any]:
    try:
        handle = archive.extractfile("manifest.json")
        manifest = json.loads(handle.read()) if handle else None
    except (KeyError, ValueError, tarfile.TarError):
        manifest = None
    if not isinstance(manifest, dict) or "database" not in manifest:
        raise BackupError(f"{archive_path} is not a MediaNest backup (no manifest.json)")
    if manifest.get("format") != FORMAT:
        raise BackupError(
            f"{archive_path} has backup format {manifest.get('format')!r}; this MediaNest reads format {FORMAT}"
        )
    return manifest


def _check_revisions(app: Flask, revisions: list[str]) -> None:
    """An archive from a newer MediaNest (unknown schema revisions) would not start: refuse it up front."""
    from medianest.database_upgrade import known_revisions

    with app.app_context():
        known = known_revisions(app)
    unknown = [r for r in revisions if r not in known]
    if unknown:
        raise BackupError(
            f"the backup's database is at revision(s) {', '.join(unknown)}, which this MediaNest does not know: "
            "install the MediaNest version (and plugins) that made the backup, or a newer one"
        )


def _rows_present(app: Flask) -> str:
    """``""`` for an empty database, else a short description of what is there."""
    from medianest.extensions import db

    tables = [t for t in inspect(db.engine).get_table_names() if not t.startswith("alembic_version")]
    counts = []
    with db.engine.connect() as connection:
        for table in sorted(tables):
            quoted = db.engine.dialect.identifier_preparer.quote(table)
            count = connection.execute(text(f"SELECT COUNT(*) FROM {quoted}")).scalar_one()  # noqa: S608
            if count:
                counts.append(f"{count} in {table}")
    return ", ".join(counts[:4]) + (", ..." if len(counts) > 4 else "")


def _extract_member(archive: tarfile.TarFile, member: str, destination: Path) -> None:
    try:
        source = archive.extractfile(member)
    except KeyError:
        source = None
    if source is None:
        raise BackupError(f"the archive has no {member}: it is damaged or incomplete")
    with source, open(destination, "wb") as out:
        shutil.copyfileobj(source, out)


def _sqlite_restore(dump: Path, target: Path) -> None:
    """Copy the archived database into the live file with the backup API (WAL-safe, atomic for readers)."""
    check = sqlite3.connect(dump)
    try:
        if check.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise BackupError("the archived SQLite database fails its integrity check")
    finally:
        check.close()
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(dump)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)
    except sqlite3.OperationalError as exc:
        raise BackupError(f"cannot write {target}: {exc} (stop MediaNest's web and worker first)") from None
    finally:
        dst.close()
        src.close()


_DROP_EVERYTHING = """
SET lock_timeout = '15s';
DO $$
DECLARE item record;
BEGIN
  FOR item IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP
    EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', item.tablename);
  END LOOP;
  FOR item IN SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = current_schema() LOOP
    EXECUTE format('DROP SEQUENCE IF EXISTS %I CASCADE', item.sequence_name);
  END LOOP;
  FOR item IN SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
              WHERE n.nspname = current_schema() AND t.typtype = 'e' LOOP
    EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', item.typname);
  END LOOP;
END $$;
"""


def _pg_restore(dump: Path, url: str) -> None:
    """Replace the schema's contents with the dump in ONE transaction: on any error nothing changes."""
    uri, env = _libpq(url)
    script = _run_pg_tool(
        ["pg_restore", "--no-owner", "--no-privileges", "--file", "-", str(dump)], env, "read the backup"
    )
    sql = _DROP_EVERYTHING.encode() + script.stdout
    _run_pg_tool(
        ["psql", "--no-psqlrc", "--quiet", "--set", "ON_ERROR_STOP=1", "--single-transaction", "--dbname", uri],
        env,
        "restore the database (stop MediaNest's web and worker first if it timed out on a lock)",
        input=sql,
    )


def _extract_tree(archive: tarfile.TarFile, prefix: str, destination: Path) -> int:
    """Extract ``prefix/...`` into ``destination``; names that would leave it are refused (tarfile's data filter)."""
    members = []
    for member in archive.getmembers():
        if member.name == prefix or not member.name.startswith(prefix + "/"):
            continue
        member = member.replace(name=member.name[len(prefix) + 1 :], deep=False)
        members.append(member)
    destination.mkdir(parents=True, exist_ok=True)
    try:
        archive.extractall(destination, members=members, filter="data")
    except tarfile.FilterError as exc:
        raise BackupError(f"the archive has an unsafe entry and was not restored further: {exc}") from None
    return sum(1 for m in members if m.isfile())


def _key_warning(app: Flask, manifest: dict[str, Any], where: Installation) -> str | None:
    """Stored service settings stay readable only with the key they were encrypted with."""
    key_id = manifest.get("key_id")
    if not key_id:
        return None
    settings = app.config["MEDIANEST"]
    if settings.secret_key is None:
        from medianest.keyring import Keyring, instance_secret

        ring = Keyring(instance_secret(where.data_dir))  # the generated key just restored
    else:
        ring = app.extensions["medianest.keyring"]
    if key_id in ring.keys:
        return None
    return (
        f"warning: the stored service settings were encrypted with key {key_id}, which this installation does not "
        "have: set MEDIANEST_SECRET_KEY to the secret in use when the backup was made (or add it to "
        "MEDIANEST_PREVIOUS_SECRET_KEYS), or enter the services' settings again"
    )


# ------------------------------------------------------------------ helpers
def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("medianest")
    except PackageNotFoundError:
        return "unknown"


def _last_line(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def _human(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
