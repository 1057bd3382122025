"""MediaNest: one sign-in in front of everything a Plex household does around its media server."""

__version__ = "0.1.0"


def create_app(config=None):
    """Build the application (see :mod:`medianest.app`)."""
    from medianest.app import create_app as _create_app

    return _create_app(config)


__all__ = ["__version__", "create_app"]
