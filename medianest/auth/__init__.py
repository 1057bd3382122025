"""Identity: sign-in (local and Plex), sessions, remember-me, API tokens."""

from medianest.auth import (
    identity,  # noqa: F401  (registers the Flask-Login loaders)
    invite_views,  # noqa: F401  (the invitation pages, on the same blueprint)
    sessions,
)
from medianest.auth.views import bp

bp.record_once(lambda state: sessions.init_app(state.app))

__all__ = ["bp"]
