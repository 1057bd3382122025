"""Identity: sign-in, sessions, API tokens."""

from medianest.auth import identity  # noqa: F401  (registers the Flask-Login loaders)
from medianest.auth.views import bp

__all__ = ["bp"]
