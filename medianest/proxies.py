"""Who may speak for the client: ``X-Forwarded-*`` counts only when a configured proxy sent it.

Behind a reverse proxy the peer of every request is the proxy, and the
client's address, scheme and host arrive in ``X-Forwarded-For/-Proto/-Host``.
Anyone who reaches the web port directly can send those headers too, and
would then choose the address the sign-in limit counts and the session
records.  werkzeug's ``ProxyFix`` believes the headers from every peer, and
gunicorn's ``forwarded_allow_ips`` covers only what gunicorn itself reads
(the scheme), not the address the application sees.  So the application
checks the peer itself: from an address in ``MEDIANEST_TRUSTED_PROXIES`` the
headers go through ``ProxyFix`` (one hop, as the proxy appends it); from any
other peer they are removed, so no later layer (Engine.IO's same-origin check
reads ``X-Forwarded-Host``) can mistake them for the proxy's.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable
from typing import Any

from werkzeug.middleware.proxy_fix import ProxyFix

FORWARDED_KEYS = (
    "HTTP_FORWARDED",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_PREFIX",
)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    """WSGI middleware: ``ProxyFix`` for requests from ``networks``, forwarded headers dropped for the rest."""

    def __init__(self, app: Any, networks: Iterable[Network]) -> None:
        self.app = app
        self.networks = tuple(networks)
        self.fixed = ProxyFix(app, x_for=1, x_proto=1, x_host=1)
        # A handful of peers (the proxy, a few clients) ask again and again.
        self.trusts = functools.lru_cache(maxsize=1024)(self._trusts)

    def _trusts(self, peer: str | None) -> bool:
        if not peer or not self.networks:
            return False
        try:
            address = ipaddress.ip_address(peer.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if self.trusts(environ.get("REMOTE_ADDR")):
            return self.fixed(environ, start_response)
        for key in FORWARDED_KEYS:
            environ.pop(key, None)
        return self.app(environ, start_response)
