"""Checking a service again as soon as an admin saves or clears its settings.

The periodic status job would notice the change only at its next run (every
``MEDIANEST_HEALTH_CHECK_INTERVAL`` seconds); until then the dashboard showed
the old state.  A save queues this job instead: the plugin that offers the
service runs its health checks at once, and the result is published as
``service.status`` even when the status itself stayed the same (the message
may be all that changed), so every open dashboard redraws.  The service's
circuit breaker is closed first: failures of the old settings say nothing
about the new ones.
"""

from __future__ import annotations

import logging

from celery import shared_task
from flask import current_app

from medianest.contributions import HealthCheck, HealthResult
from medianest.http import breaker_for, breaker_states
from medianest.status import record_one, run_one

log = logging.getLogger("medianest.status")


def service_owner(service: str) -> str | None:
    """The plugin whose ``service_settings`` declares ``service``."""
    host = current_app.extensions["medianest.plugins"]
    return next((plugin for plugin, d in host.collect_static("service_settings") if d.service == service), None)


def recheck(service: str) -> dict[str, HealthResult]:
    """Run the checks of the plugin that offers ``service`` now, record them and announce them."""
    owner = service_owner(service)
    if owner is None:
        return {}
    host = current_app.extensions["medianest.plugins"]
    results = {}
    for plugin, check in host.collect("health_checks"):
        if plugin != owner or not isinstance(check, HealthCheck):
            continue
        _close_breaker(check.name)
        results[check.name] = result = run_one(check)
        record_one(plugin, check, result, announce=True)
    return results


def _close_breaker(name: str) -> None:
    """New settings deserve a real try: calls paused by failures of the old ones resume."""
    state = breaker_states().get(name)
    if state and state["state"] != "closed":
        breaker_for(name, state["fail_max"], state["reset_seconds"]).close()


@shared_task(name="medianest.recheck_service", ignore_result=True)
def recheck_service(service: str) -> None:
    recheck(service)


def queue_recheck(service: str) -> None:
    """Ask the background jobs to check ``service`` now; a broker that is away only delays it to the next run."""
    try:
        recheck_service.delay(service)
    except Exception:
        log.warning("could not queue a check of %s after its settings changed", service, exc_info=True)
