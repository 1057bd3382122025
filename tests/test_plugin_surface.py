"""The plugin contract's version, and what a plugin declares instead of the core knowing it."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from medianest.cli import cli
from medianest.extensions import db
from medianest.json_answers import ERROR_CODES
from medianest.models import ServiceSetting
from medianest.plugins import PLUGIN_API_VERSION, BackupFolder, SettingField, hookimpl
from medianest.service_settings import MASK
from medianest.settings import SettingsError
from tests.support.apps import build_app, make_settings


def _host(app):
    return app.extensions["medianest.plugins"]


# ------------------------------------------------------------------ contract version
@pytest.mark.plugins("futureapi", "declaretest")
def test_a_plugin_for_another_plugin_api_is_refused_with_one_line(app, runner, admin_client):
    refused = _host(app).plugins["futureapi"]
    assert refused.state == "refused" and not refused.active
    assert refused.error == (
        f"refused: needs plugin API >=2,<3, this MediaNest has {PLUGIN_API_VERSION} "
        "(install a version of the plugin made for it)"
    )
    assert "\n" not in refused.error
    assert "From the future" not in admin_client.get("/").get_data(as_text=True)
    accepted = _host(app).plugins["declaretest"]
    assert accepted.state == "enabled" and accepted.requires == ">=1,<2"

    result = runner.invoke(cli, ["plugins"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"plugin API {PLUGIN_API_VERSION}"
    row = next(line for line in lines if line.startswith("futureapi"))
    assert row.split()[2] == "refused"
    assert f"error: {refused.error}" in result.output
    listed = {p["name"]: p for p in admin_client.get("/api/v1/admin/plugins").get_json()["data"]}
    assert listed["futureapi"]["state"] == "refused"
    page = admin_client.get("/admin/plugins").get_data(as_text=True)
    assert f"Plugin API {PLUGIN_API_VERSION}" in page
    assert 'badge-refused">refused' in page and "needs plugin API &gt;=2,&lt;3" in page


def test_the_built_in_plugins_require_this_plugin_api(app):
    for name in ("overseerr", "plex", "uptime_kuma", "youtube"):
        info = _host(app).plugins[name]
        assert info.requires == ">=1,<2" and info.state == "enabled", (name, info.error)


# ------------------------------------------------------------------ error codes
@pytest.mark.plugins("declaretest")
def test_hook_error_codes_a_declared_code_answers_with_its_status(app, user_client):
    answer = user_client.get("/api/v1/declaretest/teapot")
    assert answer.status_code == 418
    assert answer.get_json()["error"]["code"] == "DECLARETEST_TEAPOT"
    document = user_client.get("/api/v1/openapi.json").get_json()
    enum = document["components"]["schemas"]["ErrorEnvelope"]["properties"]["error"]["properties"]["code"]["enum"]
    assert "DECLARETEST_TEAPOT" in enum and "QUOTA_EXCEEDED" in enum  # a built-in plugin's, declared the same way


@pytest.mark.plugins("codeclash")
def test_a_core_code_with_another_status_is_refused(app, client):
    info = _host(app).plugins["codeclash"]
    assert info.state == "failed"
    assert info.error == "error code NOT_FOUND is already declared with HTTP status 404"
    assert ERROR_CODES["NOT_FOUND"] == 404
    assert client.get("/api/v1/no-such-thing").status_code == 404


def test_the_built_in_codes_keep_their_statuses(app):
    expected = {
        "MEDIA_USER_UNMATCHED": 403,
        "MEDIA_REQUEST_REFUSED": 403,
        "MEDIA_ALREADY_REQUESTED": 409,
        "INVALID_URL": 400,
        "HOST_NOT_ALLOWED": 400,
        "QUOTA_EXCEEDED": 403,
        "INSUFFICIENT_STORAGE": 507,
    }
    assert {code: ERROR_CODES[code] for code in expected} == expected


# ------------------------------------------------------------------ rate limits
@pytest.mark.plugins("declaretest")
def test_hook_rate_limits_a_named_limit_has_its_default(app, user_client):
    assert app.extensions["medianest.rate_limits"]["declaretest_brew"] == "3/hour"
    statuses = [user_client.post("/api/v1/declaretest/brew", json={}).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


@pytest.mark.plugins("declaretest")
@pytest.mark.env(MEDIANEST_RATE_LIMIT_DECLARETEST_BREW="1/hour")
def test_a_named_rate_limit_follows_its_setting(app, user_client):
    statuses = [user_client.post("/api/v1/declaretest/brew", json={}).status_code for _ in range(2)]
    assert statuses == [200, 429]


def test_the_built_in_rate_limits_keep_their_settings(app, monkeypatch, tmp_path):
    assert app.extensions["medianest.rate_limits"] == {"media_requests": "20/hour", "youtube": "5/hour"}
    secret = tmp_path / "limit"
    secret.write_text("7/hour\n")
    monkeypatch.setenv("MEDIANEST_RATE_LIMIT_YOUTUBE", "9 per 2 hours")
    monkeypatch.setenv("MEDIANEST_RATE_LIMIT_MEDIA_REQUESTS_FILE", str(secret))
    other = build_app(make_settings(tmp_path / "other", None))
    assert other.extensions["medianest.rate_limits"] == {"media_requests": "7/hour", "youtube": "9 per 2 hours"}


@pytest.mark.plugins("declaretest")
def test_a_rate_limit_setting_that_is_no_rate_stops_the_start(app, monkeypatch, tmp_path):
    monkeypatch.setenv("MEDIANEST_RATE_LIMIT_DECLARETEST_BREW", "plenty")
    with pytest.raises(SettingsError) as refused:
        build_app(make_settings(tmp_path / "other", None))
    assert str(refused.value) == (
        "setting MEDIANEST_RATE_LIMIT_DECLARETEST_BREW: 'plenty' is not a rate limit "
        "(for example 5/hour or 10 per 15 minutes)"
    )


# ------------------------------------------------------------------ backup folders
@pytest.mark.plugins("declaretest")
def test_hook_backup_folders_a_declared_folder_is_backed_up_and_restored(app, runner, tmp_path):
    folder = Path(app.config["MEDIANEST"].data_dir) / "declaretest-files"
    folder.mkdir(parents=True)
    (folder / "kept.txt").write_text("the plugin's file")
    archive = tmp_path / "backup.tar.gz"
    result = runner.invoke(cli, ["backup", "--include-downloads", "-o", str(archive)])
    assert result.exit_code == 0, result.output
    with tarfile.open(archive) as opened:
        assert "declaretest-files/kept.txt" in opened.getnames()
    (folder / "kept.txt").unlink()
    result = runner.invoke(cli, ["restore", "--force", str(archive)])
    assert result.exit_code == 0, result.output
    assert (folder / "kept.txt").read_text() == "the plugin's file"
    assert "declaretest-files restored: 1 file(s)" in result.output


class _LostFolderPlugin:
    """A plugin whose backup folder cannot say where it is."""

    @hookimpl
    def backup_folders(self):
        def nowhere():
            raise OSError("the share is not mounted")

        return [BackupFolder("lost", nowhere, "a folder on a share that is gone")]


def test_a_backup_folder_that_raises_is_left_out_and_its_plugin_refused(app, runner, tmp_path, caplog):
    host = app.extensions["medianest.plugins"]
    host.register(_LostFolderPlugin(), name="lostfolder")
    archive = tmp_path / "backup.tar.gz"
    result = runner.invoke(cli, ["backup", "--include-downloads", "-o", str(archive)])
    assert result.exit_code == 0, result.output
    with tarfile.open(archive) as opened:
        names = opened.getnames()
    assert "manifest.json" in names and any(n.startswith("database") for n in names), names
    assert not any(n.startswith("lost") for n in names)
    refused = {p.name: p.error for p in host.failed()}
    assert refused["lostfolder"] == "backup folder 'lost': path() raised OSError: the share is not mounted"
    assert "plugin lostfolder disabled" in caplog.text


# ------------------------------------------------------------------ access and secrets
@pytest.mark.plugins("declaretest")
def test_a_view_without_an_access_rule_is_for_signed_in_people(app, client, user_client):
    anonymous = client.get("/declaretest/forgotten")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert client.get("/declaretest/forgotten", headers={"Accept": "application/json"}).status_code == 401
    signed_in = user_client.get("/declaretest/forgotten")
    assert signed_in.status_code == 200 and signed_in.get_data(as_text=True) == "the forgotten page"


def test_a_password_field_is_secret_unless_it_says_otherwise():
    assert SettingField("password", "Password", kind="password").secret is True
    assert SettingField("pin", "PIN", kind="password", secret=False).secret is False
    assert SettingField("url", "URL", kind="url").secret is False
    assert SettingField("key", "Key", secret=True).secret is True


@pytest.mark.plugins("declaretest")
def test_a_password_field_is_masked_and_stored_encrypted(app, admin_client):
    saved = admin_client.put(
        "/api/v1/admin/services/declaretest", json={"values": {"url": "http://tea.example", "password": "earl-grey"}}
    )
    assert saved.status_code == 200, saved.get_json()
    listed = {s["service"]: s for s in admin_client.get("/api/v1/admin/services").get_json()["data"]}
    fields = {f["name"]: f for f in listed["declaretest"]["fields"]}
    assert fields["password"]["value"] == MASK
    assert "earl-grey" not in admin_client.get("/admin/services").get_data(as_text=True)
    with app.app_context():
        row = db.session.get(ServiceSetting, ("declaretest", "password"))
        assert row is not None and "earl-grey" not in row.ciphertext


# ------------------------------------------------------------------ documented
SURFACE_MODULES = ("", ".db", ".api", ".access", ".http", ".events", ".settings", ".cache")


@pytest.mark.parametrize("suffix", SURFACE_MODULES)
def test_every_public_name_is_in_the_reference(suffix):
    import importlib
    import re

    text = (Path(__file__).resolve().parents[1] / "docs" / "plugins.md").read_text()
    reference = text[text.index("## Reference: the public surface") :]
    module = importlib.import_module(f"medianest.plugins{suffix}")
    heading = f"### `medianest.plugins{suffix}`"
    assert heading in reference, heading
    section = reference[reference.index(heading) :].split("\n### ", 1)[0]
    missing = [name for name in module.__all__ if not re.search(rf"`{re.escape(name)}[`(.]", section)]
    assert not missing, f"document these in docs/plugins.md, {heading}: {missing}"
