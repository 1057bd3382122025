"""The youtube service settings, read once per job or request from ``service_config("youtube")``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from medianest.plugins import EgressPolicy, ServiceSettings, SettingField, parse_allowed_network
from medianest.plugins.settings import data_dir as settings_data_dir
from medianest.plugins.settings import folder_problem, service_env

log = logging.getLogger("medianest.youtube")

SERVICE = "youtube"
# The named rate limit on new downloads: MEDIANEST_RATE_LIMIT_YOUTUBE.
RATE_LIMIT = "youtube"
# The pages a download may start from, and where YouTube serves them from: the media itself comes from
# *.googlevideo.com, and a consent page may come in between.
DEFAULT_HOSTS = (
    "youtube.com",
    "www.youtube.com",
    "m.youtube.com",
    "music.youtube.com",
    "youtu.be",
    "consent.youtube.com",
    "*.googlevideo.com",
)
GB = 1024**3


@dataclass(frozen=True)
class YoutubeConfig:
    download_root: Path
    allowed_hosts: tuple[str, ...]
    quota_gb: float  # per user; 0 means no quota
    max_concurrent: int
    socket_timeout: float
    retries: int  # extra attempts for network errors, per entry
    retry_backoff: float  # seconds before the first retry, doubled each time
    min_free_gb: float  # a job does not start when the disk has less free
    allowed_private: tuple[str, ...] = ()  # private addresses/networks (optionally :port) downloads may reach

    @property
    def egress_policy(self) -> EgressPolicy:
        """What a download's connections may reach: the allowed hosts, and only public addresses
        unless listed in ``allowed_private``."""
        return EgressPolicy(self.allowed_hosts, self.allowed_private)

    @property
    def quota_bytes(self) -> int | None:
        return int(self.quota_gb * GB) if self.quota_gb > 0 else None


def settings_form() -> ServiceSettings:
    return ServiceSettings(
        service=SERVICE,
        title="YouTube downloads",
        description="Where playlists are saved and how much each person may keep.",
        fields=(
            SettingField(
                "download_root",
                "Download folder",
                kind="folder",
                help="Default: <data dir>/downloads. One sub-folder per user.",
            ),
            SettingField(
                "allowed_hosts",
                "Allowed hosts",
                default=",".join(DEFAULT_HOSTS),
                help=(
                    "Comma-separated host names (host:port to pin a port, *.example.com for its sub-domains)."
                    " Every connection a download makes, after redirects and for embedded media and fragments"
                    " too, must go to one of them: YouTube's media comes from *.googlevideo.com."
                ),
            ),
            SettingField(
                "allowed_private",
                "Private addresses downloads may reach",
                help=(
                    "Comma-separated addresses or networks, optionally with :port (192.168.1.20:8080,"
                    " 10.0.0.0/8, [::1]:8096). Loopback, link-local and private addresses are refused"
                    " unless listed here, even for a host on the allowed list. Empty: none."
                ),
            ),
            SettingField("quota_gb", "Quota per user (GB)", kind="number", default="50", help="0 for no quota."),
            SettingField("max_concurrent", "Downloads at the same time", kind="number", default="2"),
            SettingField("socket_timeout", "Network timeout (seconds)", kind="number", default="20"),
            SettingField("retries", "Retries on network errors", kind="number", default="3"),
            SettingField("retry_backoff", "First retry after (seconds)", kind="number", default="2"),
            SettingField("min_free_gb", "Keep free on disk (GB)", kind="number", default="1"),
        ),
        validate=validate,
    )


def _number(values: dict, name: str, default: float, minimum: float = 0) -> float:
    raw = values.get(name)
    if raw in (None, ""):
        return default
    try:
        number = float(raw)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number") from None
    if number < minimum:
        raise ValueError(f"{name} must be at least {minimum:g}")
    return number


def validate(values: dict) -> dict[str, str]:
    errors = {}
    for name, minimum in (
        ("quota_gb", 0),
        ("max_concurrent", 1),
        ("socket_timeout", 0.1),
        ("retries", 0),
        ("retry_backoff", 0),
        ("min_free_gb", 0),
    ):
        try:
            _number(values, name, 0, minimum)
        except ValueError as exc:
            errors[name] = str(exc)
    for entry in split_list(values.get("allowed_private")):
        try:
            parse_allowed_network(entry)
        except ValueError as exc:
            errors["allowed_private"] = str(exc)
            break
    root = str(values.get("download_root") or "").strip()
    if root:
        folder = Path(root).expanduser()
        problem = folder_problem(folder) if folder.is_absolute() else "must be an absolute path"
        if problem:
            errors["download_root"] = problem
    return errors


def split_list(raw: str | None) -> tuple[str, ...]:
    return tuple(h.strip() for h in str(raw or "").replace("\n", ",").split(",") if h.strip())


def parse_hosts(raw: str | None) -> tuple[str, ...]:
    if not raw:
        return DEFAULT_HOSTS
    return tuple(h.lower().rstrip(".") for h in split_list(raw))


def parse_private(raw: str | None) -> tuple[str, ...]:
    """The entries that parse; one that does not opens nothing (the form refuses it; the environment may not)."""
    kept = []
    for entry in split_list(raw):
        try:
            parse_allowed_network(entry)
        except ValueError as exc:
            log.warning("youtube allowed_private: %s; ignored", exc)
            continue
        kept.append(entry)
    return tuple(kept)


def load() -> YoutubeConfig:
    """The settings: built once per process for the same stored values (resolving the folder costs a system call)."""
    from medianest.plugins.settings import service_config

    values = service_config(SERVICE)
    data_dir = str(settings_data_dir())
    return _built(data_dir, tuple(sorted((k, str(v)) for k, v in values.items())))


def download_root() -> Path:
    """The download folder, for backups: also when the settings table is not there yet (restore into an empty
    database), from the environment then."""
    try:
        return load().download_root
    except Exception:  # no tables yet: the environment still counts
        root = service_env(SERVICE, "download_root")
        return Path(root).expanduser().resolve() if root else settings_data_dir() / "downloads"


@lru_cache(maxsize=32)
def _built(data_dir: str, values: tuple[tuple[str, str], ...]) -> YoutubeConfig:
    return _build(dict(values), Path(data_dir))


def _build(values: dict, data_dir: Path) -> YoutubeConfig:
    root = values.get("download_root") or str(data_dir / "downloads")
    return YoutubeConfig(
        download_root=Path(root).expanduser().resolve(),
        allowed_hosts=parse_hosts(values.get("allowed_hosts")),
        quota_gb=_number(values, "quota_gb", 50),
        max_concurrent=max(1, int(_number(values, "max_concurrent", 2, 1))),
        socket_timeout=_number(values, "socket_timeout", 20, 0.1),
        retries=int(_number(values, "retries", 3)),
        retry_backoff=_number(values, "retry_backoff", 2),
        min_free_gb=_number(values, "min_free_gb", 1),
        allowed_private=parse_private(values.get("allowed_private")),
    )
