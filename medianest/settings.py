"""The one typed settings object, read once at start-up.

Every field comes from an environment variable (``MEDIANEST_*``, plus the
conventional ``DATABASE_URL`` and ``REDIS_URL``) and also from ``NAME_FILE``,
whose content is read from that file (Docker secrets).  With nothing set the
embedded defaults apply: SQLite in the instance folder, no Redis.
"""

from __future__ import annotations

import ipaddress
import os
import tempfile
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


class SettingsError(ValueError):
    """A setting has a value MediaNest cannot run with; the message names it."""


class FileSecretsSource(PydanticBaseSettingsSource):
    """``NAME_FILE`` environment variables: the setting's value is the file's content."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        for env_name in _env_names(field, field_name):
            path = os.environ.get(f"{env_name}_FILE")
            if path:
                try:
                    return Path(path).read_text().strip(), field_name, False
                except OSError as exc:
                    raise SettingsError(f"{env_name}_FILE: cannot read {path}: {exc.strerror}") from exc
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for field_name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, field_name)
            if value is not None:
                values[key] = value
        return values


def _env_names(field: FieldInfo, field_name: str) -> list[str]:
    alias = field.validation_alias
    if alias is None:
        return [f"MEDIANEST_{field_name.upper()}"]
    if isinstance(alias, str):
        return [alias]
    return [str(choice) for choice in getattr(alias, "choices", [])]


class Settings(BaseSettings):
    """MediaNest's settings; see ``docs/configuration.md`` for each one."""

    model_config = SettingsConfigDict(env_prefix="MEDIANEST_", extra="ignore", populate_by_name=True)

    data_dir: Path = Field(default=Path("instance"))
    secret_key: str | None = None
    previous_secret_keys: str | None = None
    admin_password: str | None = None
    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    redis_url: str | None = Field(default=None, validation_alias="REDIS_URL")
    metrics_token: str | None = None
    base_url: str | None = None
    # plex.tv, for the PIN sign-in; tests point it at a local stand-in.
    plex_tv_url: str = "https://plex.tv"

    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"
    behind_proxy: bool = False
    # Peers whose X-Forwarded-* headers are believed (with behind_proxy):
    # addresses or networks, comma-separated.
    trusted_proxies: str = "127.0.0.1,::1"
    max_body_bytes: int = 1024 * 1024

    # Rate limits, in Flask-Limiter's notation.  Plugins declare their own
    # (``rate_limits`` hook), set with MEDIANEST_RATE_LIMIT_<NAME>.
    rate_limit_api: str = "100/minute"
    rate_limit_login: str = "5/minute"
    # Failed sign-ins to one account from any number of addresses (docs/configuration.md).
    rate_limit_login_account: str = "10 per 15 minutes"
    # Admins pass the limits plugins put on work (downloads, media requests): docs/configuration.md.
    rate_limit_exempt_admins: bool = True

    health_check_interval: float = 30.0
    # Seconds a dashboard card may take to render before it is shown as late.
    card_budget_seconds: float = Field(default=2.0, gt=0, le=60)
    # Outbound calls to external services; each can be overridden per service
    # with MEDIANEST_<SERVICE>_CONNECT_TIMEOUT / _READ_TIMEOUT (or the admin form).
    service_connect_timeout: float = Field(default=3.0, gt=0)
    service_read_timeout: float = Field(default=10.0, gt=0)
    breaker_fail_max: int = Field(default=5, ge=1)
    breaker_reset_seconds: float = Field(default=30.0, gt=0)
    status_history_hours: float = Field(default=48.0, ge=24)
    # Private addresses or networks (optionally :port) notification channels may reach,
    # e.g. a Gotify or ntfy server on the LAN; everything else private is refused.
    notify_allowed_private: str = ""
    embedded_worker: bool = True
    worker_concurrency: int = 2

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parsed = urlparse(value)
        if parsed.scheme.split("+")[0] not in ("postgresql", "postgres", "sqlite"):
            raise ValueError("DATABASE_URL must be a postgresql:// or sqlite:// URL")
        if parsed.scheme.startswith("postgres") and not parsed.hostname and "host=" not in parsed.query:
            raise ValueError("DATABASE_URL has no host")
        if value.startswith("postgres://"):
            value = "postgresql://" + value[len("postgres://") :]
        _check_database_url_parts(value)
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if urlparse(value).scheme not in ("redis", "rediss", "unix"):
            raise ValueError("REDIS_URL must be a redis:// URL")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_trusted_proxies(cls, value: str) -> str:
        parse_networks(value)
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, FileSecretsSource(settings_cls))

    @property
    def embedded(self) -> bool:
        """Embedded mode: no Redis, everything in one process."""
        return self.redis_url is None

    @property
    def proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """The networks whose ``X-Forwarded-*`` headers count; none unless ``behind_proxy``."""
        return parse_networks(self.trusted_proxies) if self.behind_proxy else ()

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            # psycopg2 is the driver (psycogreen makes it cooperate with gevent).
            if self.database_url.startswith("postgresql://"):
                return "postgresql+psycopg2://" + self.database_url[len("postgresql://") :]
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'medianest.db').resolve()}"


def parse_networks(value: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """``"127.0.0.1, 10.0.0.0/8"`` -> networks; a bare address is a network of one."""
    networks = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item))
        except ValueError:
            raise ValueError(
                f"{item!r} is not an IP address or network (e.g. 172.18.0.2 or 172.18.0.0/16, host bits zero)"
            ) from None
    return tuple(networks)


def _check_database_url_parts(value: str) -> None:
    """What SQLAlchemy or the driver would otherwise reject later with a traceback."""

    try:
        port = urlparse(value).port
    except ValueError:
        raise ValueError("the port is not a number from 1 to 65535") from None
    if port == 0:
        raise ValueError("the port is not a number from 1 to 65535")
    try:
        url = make_url(value)
    except ArgumentError:
        raise ValueError("cannot be parsed as a database URL") from None
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise ValueError("names no SQLite file (sqlite:////path/to/medianest.db)")
        if not Path(url.database).parent.is_dir():
            raise ValueError(f"the folder of the SQLite file {url.database} does not exist")


def _setting_name(loc: tuple) -> str:
    """The environment variable an error location stands for (``database_url`` -> ``DATABASE_URL``)."""
    key = str(loc[0]) if loc else ""
    field = Settings.model_fields.get(key)
    if field is not None:
        return _env_names(field, key)[0]
    return ".".join(str(p) for p in loc) or "settings"


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning pydantic's report into one line per bad setting."""

    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = _setting_name(err["loc"])
            lines.append(f"setting {name}: {err['msg'].removeprefix('Value error, ')}")
        raise SettingsError("; ".join(lines)) from None


def service_env_name(service: str, field: str) -> str:
    return f"MEDIANEST_{service.upper()}_{field.upper()}"


def environment_value(name: str) -> str | None:
    """``NAME`` from the environment, or the contents of the file ``NAME_FILE`` names (Docker secrets)."""
    if name in os.environ:
        return os.environ[name]
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise SettingsError(f"{name}_FILE: cannot read {path}: {exc.strerror}") from exc
    return None


def service_env(service: str, field: str) -> str | None:
    """A service's setting from ``MEDIANEST_<SERVICE>_<FIELD>`` or its ``_FILE`` twin."""
    return environment_value(service_env_name(service, field))


def folder_problem(folder: Path) -> str | None:
    """Why MediaNest cannot write in ``folder`` (created if missing), or ``None`` when it can."""

    who = f"user {os.getuid()}:{os.getgid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return f"cannot create the folder {folder} ({who})"
    try:
        tempfile.NamedTemporaryFile(dir=folder, prefix=".medianest-write-test-").close()  # written, then removed
    except OSError:
        return f"the folder {folder} is not writable by {who} (chown it or choose another folder)"
    return None
