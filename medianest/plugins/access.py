"""Access rules and rate limits, for plugins.

Every view carries one rule: ``public``, ``login_required`` or
``admin_required``; a plugin's view with none is served to signed-in users
only.  Named rate limits are declared with the ``rate_limits`` hook and
applied with ``@limiter.limit(lambda: rate_limit_value("name"))``; limits on
work pass admins with ``exempt_when=admin_exempt_from_limits``, and a 429
names the wait ``limit_wait(limit)``, the number in ``Retry-After``.
"""

from medianest.access import (
    admin_exempt_from_limits,
    admin_required,
    csrf_exempt,
    limit_wait,
    login_required,
    owned_or_404,
    public,
    rate_limit_exempt,
    seconds_until,
)
from medianest.auth.plex import plex_token_for
from medianest.declarations import rate_limit_value
from medianest.extensions import limiter

__all__ = [
    "admin_exempt_from_limits",
    "admin_required",
    "csrf_exempt",
    "limit_wait",
    "limiter",
    "login_required",
    "owned_or_404",
    "plex_token_for",
    "public",
    "rate_limit_exempt",
    "rate_limit_value",
    "seconds_until",
]
