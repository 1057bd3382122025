"""MediaNest's overseerr plugin: its hook implementations."""

from medianest.plugins import hookimpl  # noqa: F401
