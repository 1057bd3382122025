"""The encrypted settings store: nothing in plain text, masks round-trip, environment seeding, key rotation."""

from __future__ import annotations

import re
import types

import pytest
from sqlalchemy import text

from medianest.auth.plex import plex_token_for
from medianest.cli import cli
from medianest.extensions import db
from medianest.models import ServiceSetting, User
from medianest.plugins import hookimpl
from medianest.plugins.types import ConnectionResult, ServiceSettings, SettingField
from medianest.service_settings import MASK, service_config
from medianest.settings import Settings

API_KEY = "sk-live-0123456789abcdefSECRET"
PLEX_TOKEN = "plex-token-AbCdEf0123456789"


def _settings_plugin(calls: list | None = None):
    """A throwaway plugin offering one service's settings form."""

    def test_connection(values):
        if calls is not None:
            calls.append(dict(values))
        if values.get("api_key") == API_KEY:
            return ConnectionResult(True, "Reached Vault 1.2", {"version": "1.2"})
        return ConnectionResult(False, "The key was refused")

    module = types.SimpleNamespace()

    @hookimpl
    def service_settings():
        return [
            ServiceSettings(
                service="vault",
                title="Vault",
                fields=(
                    SettingField("url", "URL", kind="url", required=True),
                    SettingField("api_key", "API key", secret=True, required=True),
                    SettingField("slug", "Slug"),
                ),
                test_connection=test_connection,
            )
        ]

    module.service_settings = service_settings
    return module


@pytest.fixture
def vault(app):
    calls: list = []
    app.extensions["medianest.plugins"].register(_settings_plugin(calls), name="vaulttest")
    return calls


def _raw_rows(app) -> str:
    """Every row of every table, as text, read past the ORM."""

    with app.app_context():
        dump = []
        tables = [t.name for t in db.metadata.sorted_tables]
        for table in tables:
            for row in db.session.execute(text(f'SELECT * FROM "{table}"')):
                dump.append(" ".join(str(v) for v in row))
        return "\n".join(dump)


def test_nothing_secret_is_stored_in_plain_text(app, vault, admin_client, monkeypatch):

    answer = admin_client.put(
        "/api/v1/admin/services/vault", json={"values": {"url": "http://vault.local:8200", "api_key": API_KEY}}
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)

    # A Plex sign-in stores the account's token (through the real path, with plex.tv stood in).
    from tests.standins.plex import PlexTvStandin

    with PlexTvStandin() as plex_tv:
        app.config["MEDIANEST"] = app.config["MEDIANEST"].model_copy(update={"plex_tv_url": plex_tv.url})
        account = plex_tv.add_account("gus", "gus@example.org", token=PLEX_TOKEN)
        client = app.test_client()
        code = client.post("/api/v1/auth/plex/pin").get_json()["data"]["code"]
        plex_tv.claim_pin(code, account)
        assert client.get("/api/v1/auth/plex/pin").get_json()["data"]["status"] == "authorized"
    token = admin_client.post("/api/v1/auth/tokens", json={"name": "script"}).get_json()["data"]["token"]

    dump = _raw_rows(app)
    for secret in (API_KEY, PLEX_TOKEN, token):
        assert secret not in dump
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.username == "gus"))
        assert plex_token_for(user.id) == PLEX_TOKEN

        assert service_config("vault")["api_key"] == API_KEY

    # And the audit log says the key changed without saying what to.
    audit = admin_client.get("/api/v1/admin/audit?action=service.updated").get_json()["data"]
    assert audit[0]["details"]["fields"]["api_key"] == "changed"
    assert audit[0]["details"]["fields"]["url"] == "http://vault.local:8200"


def test_secrets_go_out_masked_and_a_mask_coming_back_keeps_them(app, vault, admin_client):

    admin_client.put("/api/v1/admin/services/vault", json={"values": {"url": "http://vault.local", "api_key": API_KEY}})
    listed = admin_client.get("/api/v1/admin/services").get_json()["data"]
    fields = {f["name"]: f for f in next(s for s in listed if s["service"] == "vault")["fields"]}
    assert fields["api_key"]["value"] == MASK and fields["api_key"]["is_set"]
    assert API_KEY not in admin_client.get("/admin/services").get_data(as_text=True)

    # Save the form as the browser shows it: the mask comes back, the key stays.
    answer = admin_client.put(
        "/api/v1/admin/services/vault", json={"values": {"url": "http://vault2.local", "api_key": MASK}}
    )
    assert answer.status_code == 200
    with app.app_context():
        assert service_config("vault") == {"url": "http://vault2.local", "api_key": API_KEY}

    # The page form does the same.
    page = admin_client.post("/admin/services/vault", data={"url": "http://vault3.local", "api_key": MASK, "slug": ""})
    assert page.status_code == 302
    with app.app_context():
        assert service_config("vault")["api_key"] == API_KEY
        assert service_config("vault")["url"] == "http://vault3.local"


def test_environment_values_win_and_are_shown_as_such(app, vault, admin_client, monkeypatch):
    monkeypatch.setenv("MEDIANEST_VAULT_URL", "http://from-env:8200")
    key_file = app.instance_path + "/vault_key"
    with open(key_file, "w") as handle:
        handle.write(API_KEY + "\n")
    monkeypatch.setenv("MEDIANEST_VAULT_API_KEY_FILE", key_file)

    listed = admin_client.get("/api/v1/admin/services").get_json()["data"]
    fields = {f["name"]: f for f in next(s for s in listed if s["service"] == "vault")["fields"]}
    assert fields["url"]["from_env"] and fields["url"]["value"] == "http://from-env:8200"
    assert fields["api_key"]["from_env"] and fields["api_key"]["value"] != API_KEY
    page = admin_client.get("/admin/services").get_data(as_text=True)
    assert "Set by the environment (MEDIANEST_VAULT_URL)" in page

    refused = admin_client.put("/api/v1/admin/services/vault", json={"values": {"url": "http://elsewhere"}})
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "SET_BY_ENVIRONMENT"
    # The connection test runs with the environment's values.
    assert admin_client.post("/api/v1/admin/services/vault/test", json={}).get_json()["data"]["ok"] is True
    assert vault[-1]["url"] == "http://from-env:8200"


def test_bad_values_are_refused_with_field_messages(app, vault, admin_client):
    for url, message in (("ftp://vault.local", "http"), ("http://", "host"), ("vault.local", "http")):
        answer = admin_client.put("/api/v1/admin/services/vault", json={"values": {"url": url, "api_key": "k"}})
        assert answer.status_code == 400
        error = answer.get_json()["error"]
        assert error["code"] == "VALIDATION_ERROR" and message in error["message"]
        assert error["details"]["fields"][0]["field"] == "url"
    unknown = admin_client.put("/api/v1/admin/services/vault", json={"values": {"colour": "red"}})
    assert unknown.status_code == 400
    missing = admin_client.put("/api/v1/admin/services/nope", json={"values": {}})
    assert missing.status_code == 404


def test_connection_test_uses_unsaved_values_and_refuses_bad_urls(app, vault, admin_client):
    admin_client.put("/api/v1/admin/services/vault", json={"values": {"url": "http://vault.local", "api_key": "wrong"}})
    answer = admin_client.post("/api/v1/admin/services/vault/test", json={}).get_json()["data"]
    assert answer == {"ok": False, "message": "The key was refused", "details": {}}
    answer = admin_client.post("/api/v1/admin/services/vault/test", json={"values": {"api_key": API_KEY}}).get_json()[
        "data"
    ]
    assert answer["ok"] is True and answer["message"] == "Reached Vault 1.2"
    bad = admin_client.post("/api/v1/admin/services/vault/test", json={"values": {"url": "file:///etc/passwd"}})
    assert bad.get_json()["data"]["ok"] is False and "http" in bad.get_json()["data"]["message"]
    assert len(vault) == 2  # the bad URL never reached the plugin
    # From the page, htmx gets just the answer.
    fragment = admin_client.post(
        "/admin/services/vault/test", data={"api_key": API_KEY}, headers={"HX-Request": "true"}
    )
    assert "Connected: Reached Vault 1.2" in fragment.get_data(as_text=True)


def test_rotate_key_keeps_everything_readable(app, vault, admin_client, runner, tmp_path):
    from tests.support.apps import ADMIN_PASSWORD, SECRET, build_app

    admin_client.put("/api/v1/admin/services/vault", json={"values": {"url": "http://vault.local", "api_key": API_KEY}})
    with app.app_context():
        ring = app.extensions["medianest.keyring"]
        gus = User(username="gus", plex_id="77")
        db.session.add(gus)
        db.session.flush()
        gus.plex_token = ring.encrypt(PLEX_TOKEN, f"users.plex_token.{gus.id}")
        db.session.commit()
        old_ids = {row.ciphertext.split(".")[1] for row in db.session.scalars(db.select(ServiceSetting))}

    def app_with(secret: str, previous: str | None):
        settings = Settings(
            data_dir=tmp_path / "data",
            database_url=app.config["SQLALCHEMY_DATABASE_URI"].replace("postgresql+psycopg2://", "postgresql://"),
            secret_key=secret,
            previous_secret_keys=previous,
            admin_password=ADMIN_PASSWORD,
            log_format="text",
        )
        rotated = build_app(settings)
        rotated.extensions["medianest.plugins"].register(_settings_plugin(), name="vaulttest")
        return rotated

    new_secret = "a-brand-new-secret-0123456789abcdef"
    # Without the old secret, the new key can't read the old values: the command says so and changes nothing.
    lost = app_with(new_secret, None)
    result = lost.test_cli_runner().invoke(cli, ["rotate-key"])
    assert result.exit_code == 1 and "MEDIANEST_PREVIOUS_SECRET_KEYS" in result.output

    rotating = app_with(new_secret, SECRET)
    result = rotating.test_cli_runner().invoke(cli, ["rotate-key"])
    assert result.exit_code == 0, result.output
    # the two vault fields, plus any setting a built-in plugin stored for itself
    assert re.search(r"re-encrypted ([2-9]|\d\d+) service setting\(s\) and 1 Plex token\(s\)", result.output), (
        result.output
    )

    # Now the new secret alone reads everything, and no value carries an old key id.
    after = app_with(new_secret, None)
    with after.app_context():
        assert service_config("vault")["api_key"] == API_KEY
        gus_id = db.session.scalar(db.select(User.id).where(User.username == "gus"))
        assert plex_token_for(gus_id) == PLEX_TOKEN
        new_ids = {row.ciphertext.split(".")[1] for row in db.session.scalars(db.select(ServiceSetting))}
        assert new_ids.isdisjoint(old_ids) and len(new_ids) == 1
    again = after.test_cli_runner().invoke(cli, ["rotate-key"])
    assert "re-encrypted 0 service setting(s) and 0 Plex token(s)" in again.output
    for each in (lost, rotating, after):
        with each.app_context():
            db.engine.dispose()
