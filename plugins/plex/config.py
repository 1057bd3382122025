"""The plex plugin's settings: the admin's form, read back as one typed value."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from medianest.plugins import SettingField
from medianest.plugins.settings import service_config

SERVICE = "plex"
NAME = "Plex"  # in messages people read
DEFAULT_TEMPLATE = "{user} — {title}"
DEFAULT_CACHE_MINUTES = 10.0

FIELDS = (
    SettingField("url", "Server URL", kind="url", required=True, help="For example http://192.168.1.20:32400"),
    SettingField(
        "token",
        "Server token",
        secret=True,
        kind="password",
        help="The X-Plex-Token of an account that owns the server. "
        "An admin who signed in with Plex can fill it from that sign-in at /plex/settings.",
    ),
    SettingField(
        "download_library",
        "Library for downloads",
        help="Key or name of the library YouTube downloads land in. "
        "Empty: the library whose folders hold the download.",
    ),
    SettingField(
        "collection_template",
        "Collection name",
        default=DEFAULT_TEMPLATE,
        help="{user} is the person who downloaded, {title} the playlist title.",
    ),
    SettingField(
        "path_mapping",
        "Path mapping",
        help="When Plex sees the download folder under another path (containers): '/path/in/medianest=/path/in/plex'.",
    ),
    SettingField("cache_minutes", "Cache answers for (minutes)", kind="number", default="10"),
)


@dataclass(frozen=True)
class PlexConfig:
    url: str
    token: str
    download_library: str = ""
    collection_template: str = DEFAULT_TEMPLATE
    path_mapping: str = ""
    cache_seconds: float = DEFAULT_CACHE_MINUTES * 60

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


def _minutes(raw: object) -> float:
    try:
        value = float(str(raw))
    except ValueError:
        return DEFAULT_CACHE_MINUTES * 60
    return max(0.0, min(value, 24 * 60)) * 60


def plex_config() -> PlexConfig:
    values = service_config(SERVICE, [f.name for f in FIELDS])
    return PlexConfig(
        url=(values.get("url") or "").strip(),
        token=(values.get("token") or "").strip(),
        download_library=(values.get("download_library") or "").strip(),
        collection_template=(values.get("collection_template") or "").strip() or DEFAULT_TEMPLATE,
        path_mapping=(values.get("path_mapping") or "").strip(),
        cache_seconds=_minutes(values.get("cache_minutes") or DEFAULT_CACHE_MINUTES),
    )


def validate(values: dict[str, object]) -> dict[str, str]:
    """Field errors of a submitted form (shown beside the fields)."""
    from medianest.plugins.http import check_base_url

    errors: dict[str, str] = {}
    url = str(values.get("url") or "").strip()
    if url and (problem := check_base_url(url)):
        errors["url"] = problem
    template = str(values.get("collection_template") or "")
    if template:
        try:
            template.format(user="u", title="t")
        except (KeyError, IndexError, ValueError):
            errors["collection_template"] = "Use only {user} and {title} as placeholders."
    mapping = str(values.get("path_mapping") or "").strip()
    if mapping and ("=" not in mapping or not all(p.strip().startswith("/") for p in mapping.split("=", 1))):
        errors["path_mapping"] = "Write it as /path/in/medianest=/path/in/plex."
    raw = values.get("cache_minutes")
    if raw not in (None, ""):
        try:
            if float(str(raw)) < 0:
                raise ValueError
        except ValueError:
            errors["cache_minutes"] = "A number of minutes, 0 or more."
    return errors
