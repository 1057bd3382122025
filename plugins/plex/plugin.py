"""MediaNest's plex plugin: its hook implementations."""

from medianest.plugins import hookimpl  # noqa: F401
