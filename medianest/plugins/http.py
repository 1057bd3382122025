"""Calling an external service, for plugins: the core's HTTP client and the answers it raises.

``ServiceClient.for_service(name, base_url, ...)`` gives a pooled client with
timeouts, retries for idempotent calls and a circuit breaker per service;
``json_of(response, name)`` reads a JSON answer or raises
``ServiceBadAnswer``.  ``remember`` / ``last_good`` keep the last good answer
so a page never waits on a service that is down.  The egress names guard
connections a plugin opens itself (downloads) against an allow-list.
"""

from medianest.egress import EgressPolicy, EgressProxy, EgressRefused, parse_allowed_network
from medianest.http import (
    CircuitOpen,
    ServiceBadAnswer,
    ServiceBreaker,
    ServiceClient,
    ServiceError,
    ServiceTimeout,
    ServiceUnauthorized,
    ServiceUnreachable,
    check_base_url,
    client_options,
    json_of,
)
from medianest.service_cache import CachedAnswer, last_good, remember

__all__ = [
    "CachedAnswer",
    "CircuitOpen",
    "EgressPolicy",
    "EgressProxy",
    "EgressRefused",
    "ServiceBadAnswer",
    "ServiceBreaker",
    "ServiceClient",
    "ServiceError",
    "ServiceTimeout",
    "ServiceUnauthorized",
    "ServiceUnreachable",
    "check_base_url",
    "client_options",
    "json_of",
    "last_good",
    "parse_allowed_network",
    "remember",
]
