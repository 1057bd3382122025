"""Access rules and rate limits, for plugins.

Every view carries one rule: ``public``, ``login_required`` or
``admin_required``; a plugin's view with none is served to signed-in users
only.  Named rate limits are declared with the ``rate_limits`` hook and
applied with ``@limiter.limit(lambda: rate_limit_value("name"))``.
"""

from medianest.access import admin_required, csrf_exempt, login_required, owned_or_404, public, rate_limit_exempt
from medianest.auth.plex import plex_token_for
from medianest.declarations import rate_limit_value
from medianest.extensions import limiter

__all__ = [
    "admin_required",
    "csrf_exempt",
    "limiter",
    "login_required",
    "owned_or_404",
    "plex_token_for",
    "public",
    "rate_limit_exempt",
    "rate_limit_value",
]
