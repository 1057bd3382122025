"""Admin pages and the ``/api/v1/admin`` JSON routes."""

from medianest.admin.views import bp

__all__ = ["bp"]
