"""``medianest backup`` / ``medianest restore``: round trips on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import os
import sys
import tarfile
from pathlib import Path

import pytest

from medianest.cli import cli
from medianest.extensions import db
from medianest.models import User
from medianest.service_settings import save_service_config, service_config


def invoke(runner, *args: str):
    return runner.invoke(cli, list(args), catch_exceptions=False)


def _usernames(app) -> set[str]:

    with app.app_context():
        names = set(db.session.scalars(db.select(User.username)))
        db.session.remove()
        return names


def _add_user(app, username: str) -> None:

    with app.app_context():
        db.session.add(User(username=username, display_name=username.title(), role="user"))
        db.session.commit()
        db.session.remove()


def _remove_user(app, username: str) -> None:

    with app.app_context():
        db.session.execute(db.delete(User).where(User.username == username))
        db.session.commit()
        db.session.remove()


def _store_service_secret(app, value: str) -> None:

    with app.app_context():
        save_service_config("overseerr", {"api_key": value}, {"api_key"})
        db.session.commit()
        db.session.remove()


def _service_secret(app) -> str | None:

    with app.app_context():
        value = service_config("overseerr").get("api_key")
        db.session.remove()
        return value


def _members(path: Path) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(path) as archive:
        return {m.name: m for m in archive.getmembers()}


def _manifest(path: Path) -> dict:
    with tarfile.open(path) as archive:
        return json.loads(archive.extractfile("manifest.json").read())


def test_round_trip_brings_rows_and_secrets_back(app, runner, alice, tmp_path):
    _store_service_secret(app, "overseerr-key-before-backup")
    archive = tmp_path / "backups" / "nightly.tar.gz"

    result = invoke(runner, "backup", "--output", str(archive))
    assert result.exit_code == 0, result.output
    assert "backup written" in result.output
    assert archive.stat().st_mode & 0o777 == 0o600  # password hashes and encrypted settings inside

    engine = app.config["TEST_DB_BACKEND"]
    members = _members(archive)
    manifest = _manifest(archive)
    assert manifest["database"]["engine"] == engine
    assert manifest["database"]["member"] in members
    assert manifest["database"]["revisions"], "the schema revisions are recorded"
    assert manifest["key_id"] == app.extensions["medianest.keyring"].current_id
    assert not any(name.startswith("downloads/") for name in members)
    assert "instance/medianest.db" not in members  # the live file is copied consistently, not as is

    # Life goes on after the backup: alice leaves, carol arrives, the key changes.
    _remove_user(app, "alice")
    _add_user(app, "carol")
    _store_service_secret(app, "changed-after-backup")

    refused = invoke(runner, "restore", str(archive))
    assert refused.exit_code != 0
    assert "--force" in refused.output and "already holds data" in refused.output
    assert "carol" in _usernames(app)  # nothing was touched

    restored = invoke(runner, "restore", "--force", str(archive))
    assert restored.exit_code == 0, restored.output
    names = _usernames(app)
    assert {"admin", "alice"} <= names and "carol" not in names
    assert _service_secret(app) == "overseerr-key-before-backup"
    assert "warning" not in restored.output  # same key: the stored settings decrypt


def test_restore_into_an_empty_database_needs_no_force(app, runner, alice, tmp_path, request):
    from tests.support.apps import build_app, make_settings

    archive = tmp_path / "medianest.tar.gz"
    assert invoke(runner, "backup", "-o", str(archive)).exit_code == 0

    # A new installation: empty database, empty instance folder, same engine.
    if app.config["TEST_DB_BACKEND"] == "sqlite":
        url = None
    else:
        url = request.getfixturevalue("pg_databases").create()
    fresh = build_app(make_settings(tmp_path / "fresh-data", url))
    result = invoke(fresh.test_cli_runner(), "restore", str(archive))
    assert result.exit_code == 0, result.output
    assert "schema is up to date" in result.output
    assert {"admin", "alice"} <= _usernames(fresh)

    with fresh.app_context():
        db.engine.dispose()


@pytest.mark.sqlite_only
def test_downloads_only_when_asked(app, runner, tmp_path):
    root = Path(app.config["MEDIANEST"].data_dir) / "downloads" / "2"
    root.mkdir(parents=True)
    (root / "01 - Clip [a].mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(64))

    plain = tmp_path / "plain.tar.gz"
    full = tmp_path / "full.tar.gz"
    assert invoke(runner, "backup", "-o", str(plain)).exit_code == 0
    assert invoke(runner, "backup", "--include-downloads", "-o", str(full)).exit_code == 0
    assert not any(n.startswith("downloads/") for n in _members(plain))
    assert "downloads/2/01 - Clip [a].mp4" in _members(full)
    assert _manifest(full)["includes_downloads"] is True

    original = (root / "01 - Clip [a].mp4").read_bytes()
    (root / "01 - Clip [a].mp4").unlink()
    assert invoke(runner, "restore", "--force", "--skip-downloads", str(full)).exit_code == 0
    assert not (root / "01 - Clip [a].mp4").exists()
    assert invoke(runner, "restore", "--force", str(full)).exit_code == 0
    assert (root / "01 - Clip [a].mp4").read_bytes() == original


@pytest.mark.sqlite_only
def test_default_output_is_in_the_instance_folder_and_never_archives_itself(app, runner):
    first = invoke(runner, "backup")
    assert first.exit_code == 0, first.output
    second = invoke(runner, "backup")
    assert second.exit_code == 0
    folder = Path(app.config["MEDIANEST"].data_dir) / "backups"
    archives = sorted(folder.glob("medianest-*.tar.gz"))
    assert archives, first.output
    assert not any(n.startswith("instance/backups") for n in _members(archives[-1]))


def _archive_with(tmp_path: Path, manifest: dict | None, extra: dict[str, bytes] | None = None) -> Path:
    path = tmp_path / "crafted.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        items = dict(extra or {})
        if manifest is not None:
            items["manifest.json"] = json.dumps(manifest).encode()
        for name, data in items.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (None, "not a MediaNest backup"),
        ({"format": 99, "database": {}}, "format 99"),
        ({"format": 1, "database": {"engine": "postgresql", "member": "database/medianest.pgdump"}}, "same kind"),
        (
            {"format": 1, "database": {"engine": "sqlite", "member": "x", "revisions": ["9999_from_the_future"]}},
            "9999_from_the_future",
        ),
    ],
    ids=["no-manifest", "unknown-format", "other-engine", "newer-schema"],
)
def test_archives_it_cannot_restore_are_refused_before_anything_changes(
    app, runner, alice, tmp_path, manifest, message
):
    path = _archive_with(tmp_path, manifest, {"instance/secret_key": b"other"})
    result = invoke(runner, "restore", "--force", str(path))
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert "alice" in _usernames(app)


@pytest.mark.sqlite_only
def test_a_file_that_is_not_an_archive_is_refused(runner, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not a backup")
    result = invoke(runner, "restore", str(path))
    assert result.exit_code != 0 and "not a MediaNest backup" in result.output


@pytest.mark.sqlite_only
def test_entries_leaving_the_instance_folder_are_refused(app, runner, tmp_path):
    good = tmp_path / "good.tar.gz"
    assert invoke(runner, "backup", "-o", str(good)).exit_code == 0
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(good) as source, tarfile.open(evil, "w:gz") as target:
        for member in source.getmembers():
            target.addfile(member, source.extractfile(member) if member.isfile() else None)
        info = tarfile.TarInfo("instance/../../escaped.txt")
        info.size = 4
        target.addfile(info, io.BytesIO(b"evil"))
    result = invoke(runner, "restore", "--force", str(evil))
    assert result.exit_code != 0 and "unsafe entry" in result.output
    assert not (Path(app.config["MEDIANEST"].data_dir).parent.parent / "escaped.txt").exists()


@pytest.mark.sqlite_only
def test_a_different_secret_key_is_reported_after_restore(app, runner, tmp_path):
    from tests.support.apps import build_app, make_settings

    archive = tmp_path / "b.tar.gz"
    _store_service_secret(app, "k")
    assert invoke(runner, "backup", "-o", str(archive)).exit_code == 0
    other = build_app(
        make_settings(tmp_path / "other", None).model_copy(update={"secret_key": "a-different-secret-0123456789"})
    )
    result = invoke(other.test_cli_runner(), "restore", str(archive))
    assert result.exit_code == 0, result.output
    assert "MEDIANEST_PREVIOUS_SECRET_KEYS" in result.output


def test_the_real_command_round_trips(app, tmp_path):
    """``medianest backup`` and ``restore`` as the container runs them, in a subprocess."""
    import subprocess

    from tests.support.apps import ADMIN_PASSWORD, SECRET

    settings = app.config["MEDIANEST"]
    env = {
        **os.environ,
        "MEDIANEST_DATA_DIR": str(settings.data_dir),
        "MEDIANEST_SECRET_KEY": SECRET,
        "MEDIANEST_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "MEDIANEST_LOG_FORMAT": "text",
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"].replace("postgresql+psycopg2://", "postgresql://"),
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
    }
    command = [sys.executable, "-c", "from medianest.cli import main; main()"]
    archive = tmp_path / "cli.tar.gz"
    made = subprocess.run(
        [*command, "backup", "-o", str(archive)], env=env, capture_output=True, text=True, timeout=120
    )
    assert made.returncode == 0, made.stderr
    _add_user(app, "dave")
    back = subprocess.run(
        [*command, "restore", "--force", str(archive)], env=env, capture_output=True, text=True, timeout=120
    )
    assert back.returncode == 0, back.stderr
    assert "dave" not in _usernames(app)
