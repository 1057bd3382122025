"""The typed settings object: environment, NAME_FILE, embedded defaults, one-line errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from medianest.settings import SettingsError, load_settings, service_env

pytestmark = pytest.mark.sqlite_only


def test_embedded_defaults(monkeypatch, tmp_path):
    for name in ("DATABASE_URL", "REDIS_URL", "MEDIANEST_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MEDIANEST_DATA_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.embedded
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path.resolve() / 'medianest.db'}"


def test_every_setting_also_reads_name_file(monkeypatch, tmp_path):
    (tmp_path / "pw").write_text("from-a-file\n")
    (tmp_path / "db").write_text("postgresql://u@db.example/medianest")
    monkeypatch.setenv("MEDIANEST_ADMIN_PASSWORD_FILE", str(tmp_path / "pw"))
    monkeypatch.setenv("DATABASE_URL_FILE", str(tmp_path / "db"))
    settings = load_settings()
    assert settings.admin_password == "from-a-file"
    assert settings.sqlalchemy_url == "postgresql+psycopg2://u@db.example/medianest"
    monkeypatch.setenv("MEDIANEST_PLEX_TOKEN_FILE", str(tmp_path / "pw"))
    assert service_env("plex", "token") == "from-a-file"


def test_unreadable_file_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("MEDIANEST_SECRET_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(SettingsError, match="MEDIANEST_SECRET_KEY_FILE"):
        load_settings()


@pytest.mark.parametrize("url", ["mysql://x@h/db", "not a url", "postgresql:///nohost"])
def test_bad_database_url_is_one_line(monkeypatch, url):
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(SettingsError) as excinfo:
        load_settings()
    assert "DATABASE_URL" in str(excinfo.value) and "\n" not in str(excinfo.value)


def test_command_stops_with_one_line_on_a_bad_setting(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "MEDIANEST_DATA_DIR": str(tmp_path),
        "DATABASE_URL": "mysql://x@h/db",
        "HOME": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-c", "from medianest.cli import main; main()", "plugins"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "DATABASE_URL" in result.stderr and "Traceback" not in result.stderr
