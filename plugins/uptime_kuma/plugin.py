"""MediaNest's uptime_kuma plugin: its hook implementations."""

from medianest.plugins import hookimpl  # noqa: F401
