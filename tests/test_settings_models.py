"""A service's settings as a pydantic model: the form read off it, the admin's values checked through it."""

from __future__ import annotations

import types
from typing import Literal

import pytest
from pydantic import BaseModel, SecretStr, field_validator

from medianest.plugins import ServiceSettings, SettingField, hookimpl
from medianest.plugins.settings import URL, Folder, read_settings, setting, settings_problems

API_KEY = "jf-0123456789abcdefSECRET"


class JellyfinSettings(BaseModel):
    url: URL = setting("Server URL", help="For example http://jellyfin:8096")
    api_key: SecretStr = setting("API key")
    timeout: float = setting("Timeout (seconds)", 10, gt=0, le=120)
    workers: int = setting("Workers", 2, ge=1)
    order: Literal["newest", "oldest"] = setting("Order", "newest")
    library: str = setting("Library", "", help="Empty: every library.")
    trash: Folder = setting("Trash folder", None)
    hook_secret: SecretStr = setting("Webhook secret", None, inbound=True)

    @field_validator("library")
    @classmethod
    def _no_slash(cls, library: str) -> str:
        if "/" in library:
            raise ValueError("A library's name has no slash.")
        return library


def _plugin():
    module = types.SimpleNamespace()

    @hookimpl
    def service_settings():
        return [ServiceSettings(service="jellyfin", title="Jellyfin", model=JellyfinSettings)]

    module.service_settings = service_settings
    return module


@pytest.fixture
def jellyfin(app):
    app.extensions["medianest.plugins"].register(_plugin(), name="jellyfintest")


def test_the_form_is_read_off_the_model():
    fields = {f.name: f for f in ServiceSettings(service="jellyfin", title="Jellyfin", model=JellyfinSettings).fields}
    assert list(fields) == ["url", "api_key", "timeout", "workers", "order", "library", "trash", "hook_secret"]
    assert (fields["url"].kind, fields["url"].label, fields["url"].required) == ("url", "Server URL", True)
    assert fields["url"].help == "For example http://jellyfin:8096"
    assert fields["api_key"].secret and fields["api_key"].kind == "password" and fields["api_key"].required
    assert (fields["timeout"].kind, fields["timeout"].default, fields["timeout"].required) == ("number", "10", False)
    assert fields["order"].kind == "choice" and fields["order"].choices == ("newest", "oldest")
    assert fields["trash"].kind == "folder" and fields["trash"].default is None
    assert fields["hook_secret"].secret and fields["hook_secret"].inbound
    assert not fields["library"].secret and fields["library"].default is None


def test_pydantic_errors_become_one_plain_message_per_field(tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    problems = settings_problems(
        JellyfinSettings,
        {
            "url": "jellyfin.local",
            "timeout": "500",
            "workers": "1.5",
            "order": "random",
            "library": "a/b",
            "trash": str(blocked / "trash"),
        },
    )
    assert problems.pop("trash").startswith(f"cannot create the folder {blocked / 'trash'} (user ")
    assert problems == {
        "url": "The URL must start with http:// or https://.",
        "api_key": "Required.",
        "timeout": "Enter a number, more than 0 and at most 120.",
        "workers": "Enter a whole number, 1 or more.",
        "order": "Choose one of: newest, oldest.",
        "library": "A library's name has no slash.",
    }
    # Empty values count as left out: the defaults apply.
    assert settings_problems(JellyfinSettings, {"url": "http://j", "api_key": "k", "timeout": "", "trash": ""}) == {}


def test_read_settings_types_the_values_and_skips_what_the_model_refuses():
    read = read_settings(JellyfinSettings, {"url": "http://j:8096", "api_key": "k", "timeout": "abc", "workers": "4"})
    assert read.timeout == 10 and read.workers == 4 and read.api_key.get_secret_value() == "k"


def test_the_admin_api_answers_the_models_verdict(app, jellyfin, admin_client):
    url = "/api/v1/admin/services/jellyfin"
    refused = admin_client.put(url, json={"values": {"url": "http://", "api_key": API_KEY, "workers": "zero"}})
    assert refused.status_code == 400
    error = refused.get_json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"]["fields"] == [
        {"field": "url", "message": "The URL has no host name."},
        {"field": "workers", "message": "Enter a whole number, 1 or more."},
    ]
    assert "Server URL: The URL has no host name." in error["message"] and "Workers: Enter" in error["message"]
    assert "validation error" not in error["message"].lower() and "input should" not in error["message"].lower()

    saved = admin_client.put(url, json={"values": {"url": "http://jellyfin:8096", "api_key": API_KEY, "workers": "3"}})
    assert saved.status_code == 200, saved.get_json()
    described = {f["name"]: f for f in saved.get_json()["data"]["fields"]}
    assert described["api_key"]["value"] != API_KEY and described["api_key"]["secret"]
    assert described["workers"]["value"] == "3" and described["timeout"]["value"] == "10"

    unknown = admin_client.put(url, json={"values": {"colour": "red"}})
    assert unknown.get_json()["error"]["details"]["fields"] == [{"field": "colour", "message": "Unknown field."}]


def test_a_form_given_field_by_field_is_checked_through_a_model_made_from_it():
    definition = ServiceSettings(
        service="vault",
        title="Vault",
        fields=(
            SettingField("url", "URL", kind="url", required=True),
            SettingField("port", "Port", kind="number"),
            SettingField("mode", "Mode", kind="choice", choices=("a", "b")),
        ),
    )
    assert definition.model is not None
    assert settings_problems(definition.model, {"url": "ftp://vault", "port": "x", "mode": "c"}) == {
        "url": "The URL must start with http:// or https://.",
        "port": "Enter a number.",
        "mode": "Choose one of: a, b.",
    }
    assert settings_problems(definition.model, {}) == {}  # the form's own required check is the core's
