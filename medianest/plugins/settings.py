"""Settings, for plugins: a service's stored settings and the few installation settings a plugin reads.

A service's settings are declared as a pydantic model given to the
``service_settings`` hook (``ServiceSettings(model=...)``; its fields made with
``setting``, addresses typed ``URL``, folders ``Folder``, secrets ``SecretStr``)
and read back decrypted with ``service_config(service)``
(``MEDIANEST_<SERVICE>_<FIELD>`` in the environment wins), or typed with
``read_settings(model, service_config(service))``.  The installation's own settings are read through
the functions below, never through ``current_app.config``.
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

from flask import current_app

from medianest.service_settings import MASK, keyring, save_service_config, service_config
from medianest.setting_models import URL, Folder, read_settings, setting, settings_problems
from medianest.settings import folder_problem, service_env
from medianest.status import stale_after

# The running MediaNest's version (``X-Plex-Version`` and the like).
MEDIANEST_VERSION = version("medianest")

__all__ = [
    "MASK",
    "MEDIANEST_VERSION",
    "URL",
    "Folder",
    "base_url",
    "data_dir",
    "folder_problem",
    "keyring",
    "read_settings",
    "redis_url",
    "save_service_config",
    "service_config",
    "service_env",
    "setting",
    "settings_problems",
    "stale_after",
]


def base_url() -> str | None:
    """The address people reach MediaNest at (``MEDIANEST_BASE_URL``), or ``None``."""
    return current_app.config["MEDIANEST"].base_url


def data_dir() -> Path:
    """The instance folder (``MEDIANEST_DATA_DIR``)."""
    return Path(current_app.config["MEDIANEST"].data_dir)


def redis_url() -> str | None:
    """Redis (``REDIS_URL``), or ``None`` in embedded mode."""
    return current_app.config["MEDIANEST"].redis_url
