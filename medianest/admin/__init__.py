"""Admin pages and the ``/api/v1/admin`` JSON routes."""

from medianest.admin import household_views  # noqa: F401  (adding people: its routes join the blueprint)
from medianest.admin.views import bp

__all__ = ["bp"]
