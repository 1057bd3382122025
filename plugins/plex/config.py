"""The plex plugin's settings: the admin's form, read back as one typed value."""

from __future__ import annotations

import posixpath

from pydantic import BaseModel, ConfigDict, field_validator

from medianest.plugins.settings import URL, read_settings, service_config, setting

SERVICE = "plex"
NAME = "Plex"  # in messages people read
DEFAULT_TEMPLATE = "{user} — {title}"
DEFAULT_CACHE_MINUTES = 10.0


class PlexConfig(BaseModel):
    """The settings form, and the values as the plugin reads them."""

    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    url: URL = setting("Server URL", "", required=True, help="For example http://192.168.1.20:32400")
    token: str = setting(
        "Server token",
        "",
        kind="password",
        help="The X-Plex-Token of an account that owns the server. "
        "An admin who signed in with Plex can fill it from that sign-in at /plex/settings.",
    )
    download_library: str = setting(
        "Library for downloads",
        "",
        help="Key or name of the library YouTube downloads land in. "
        "Empty: the library whose folders hold the download.",
    )
    collection_template: str = setting(
        "Collection name",
        DEFAULT_TEMPLATE,
        help="{user} is the person who downloaded, {title} the playlist title.",
    )
    path_mapping: str = setting(
        "Path mapping",
        "",
        help="When Plex sees the download folder under another path (containers): '/path/in/medianest=/path/in/plex'.",
    )
    cache_minutes: float = setting("Cache answers for (minutes)", DEFAULT_CACHE_MINUTES, ge=0)

    @field_validator("collection_template")
    @classmethod
    def _placeholders(cls, template: str) -> str:
        try:
            template.format(user="u", title="t")
        except (KeyError, IndexError, ValueError):
            raise ValueError("Use only {user} and {title} as placeholders.") from None
        return template

    @field_validator("path_mapping")
    @classmethod
    def _mapping(cls, mapping: str) -> str:
        if mapping and ("=" not in mapping or not all(p.strip().startswith("/") for p in mapping.split("=", 1))):
            raise ValueError("Write it as /path/in/medianest=/path/in/plex.")
        return mapping

    @property
    def cache_seconds(self) -> float:
        return min(self.cache_minutes, 24 * 60) * 60

    @property
    def configured(self) -> bool:
        return bool(self.url and self.token)

    def plex_path(self, local: str) -> str:
        """A MediaNest path as Plex sees it (the path mapping applied)."""
        path = posixpath.normpath(local)
        source, sep, target = self.path_mapping.partition("=")
        source, target = source.strip(), target.strip()
        if not sep or not source or not target:
            return path
        source = posixpath.normpath(source)
        if path == source or path.startswith(source.rstrip("/") + "/"):
            return posixpath.normpath(target.rstrip("/") + "/" + path[len(source) :].lstrip("/"))
        return path


def plex_config() -> PlexConfig:
    return read_settings(PlexConfig, service_config(SERVICE))
