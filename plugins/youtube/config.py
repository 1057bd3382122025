"""The youtube service settings, read once per job or request from ``service_config("youtube")``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, field_validator

from medianest.plugins import EgressPolicy, ServiceSettings, parse_allowed_network
from medianest.plugins.settings import Folder, read_settings, service_env, setting
from medianest.plugins.settings import data_dir as settings_data_dir

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
LISTS_AND_FOLDER = {"download_root", "allowed_hosts", "allowed_private"}


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


class YoutubeSettings(BaseModel):
    """The settings form (what the admin types is validated through it)."""

    download_root: Folder = setting(
        "Download folder", None, help="Default: <data dir>/downloads. One sub-folder per user."
    )
    allowed_hosts: str = setting(
        "Allowed hosts",
        ",".join(DEFAULT_HOSTS),
        help=(
            "Comma-separated host names (host:port to pin a port, *.example.com for its sub-domains)."
            " Every connection a download makes, after redirects and for embedded media and fragments"
            " too, must go to one of them: YouTube's media comes from *.googlevideo.com."
        ),
    )
    allowed_private: str = setting(
        "Private addresses downloads may reach",
        "",
        help=(
            "Comma-separated addresses or networks, optionally with :port (192.168.1.20:8080,"
            " 10.0.0.0/8, [::1]:8096). Loopback, link-local and private addresses are refused"
            " unless listed here, even for a host on the allowed list. Empty: none."
        ),
    )
    quota_gb: float = setting("Quota per user (GB)", 50, ge=0, help="0 for no quota.")
    max_concurrent: float = setting("Downloads at the same time", 2, ge=1)
    socket_timeout: float = setting("Network timeout (seconds)", 20, ge=0.1)
    retries: float = setting("Retries on network errors", 3, ge=0)
    retry_backoff: float = setting("First retry after (seconds)", 2, ge=0)
    min_free_gb: float = setting("Keep free on disk (GB)", 1, ge=0)

    @field_validator("allowed_private")
    @classmethod
    def _networks(cls, raw: str) -> str:
        for entry in split_list(raw):
            parse_allowed_network(entry)  # its ValueError names the entry and what to write instead
        return raw


def settings_form() -> ServiceSettings:
    return ServiceSettings(
        service=SERVICE,
        title="YouTube downloads",
        description="Where playlists are saved and how much each person may keep.",
        model=YoutubeSettings,
    )


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
    # The folder is not probed on every read; the lists keep their good entries (parse_private).
    numbers = read_settings(YoutubeSettings, {k: v for k, v in values.items() if k not in LISTS_AND_FOLDER})
    return YoutubeConfig(
        download_root=Path(root).expanduser().resolve(),
        allowed_hosts=parse_hosts(values.get("allowed_hosts")),
        quota_gb=numbers.quota_gb,
        max_concurrent=int(numbers.max_concurrent),
        socket_timeout=numbers.socket_timeout,
        retries=int(numbers.retries),
        retry_backoff=numbers.retry_backoff,
        min_free_gb=numbers.min_free_gb,
        allowed_private=parse_private(values.get("allowed_private")),
    )
