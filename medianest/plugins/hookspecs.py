"""The whole plugin contract: every hook MediaNest calls, and how results combine.

A plugin implements any subset of these with ``@hookimpl``, naming only the
parameters it uses (pluggy passes an implementation just the arguments it
asks for, so parameters are only ever added here, never removed).  A misspelt
implementation is an error at start-up (``check_pending``).

Hooks are called by pluggy, with pluggy's rules: the implementation
registered last runs first (plugins are registered by entry-point name, the
core before them), ``@hookimpl(tryfirst=True)`` / ``trylast=True`` move an
implementation to the front / the back, ``wrapper=True`` (and the older
``hookwrapper=True``) implementations surround the others and see, and may
change, their result, and a ``firstresult`` hook stops at the first result
that is not ``None``.  Only active plugins are called (enabled by the admin,
not failed).

Each implementation runs behind a guard: one that raises is logged, its
plugin is marked failed (for every process, until an admin enables it again)
and the call goes on with the others.  "Concatenated" below means the host
joins the lists the active plugins returned, in pluggy's call order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

# The contract's version lives beside the result types (the admin page shows it too).
from medianest.contributions import PLUGIN_API_VERSION as PLUGIN_API_VERSION

if TYPE_CHECKING:
    from collections.abc import Callable

    from celery import Task
    from flask import Blueprint, Flask

    from medianest.contributions import DashboardCard, HealthCheck, MediaItem, NavItem, ServiceSettings
    from medianest.declarations import BackupFolder, ErrorCode, RateLimit, SignInServer
    from medianest.models import User

hookspec = pluggy.HookspecMarker("medianest")


@hookspec
def register_blueprints(app: Flask) -> list[Blueprint]:
    """Blueprints this plugin serves.

    :param app: the application being built (read its config; don't register
        blueprints on it yourself — the host does, after checking names).
    :returns: a list of :class:`flask.Blueprint`.  Pages live under
        ``/<prefix>/`` and JSON under ``/api/v1/<prefix>/``.  Every view
        should carry an access rule from :mod:`medianest.plugins.access`
        (``public``, ``login_required``, ``admin_required``); one without is
        served to signed-in users only.  JSON views use
        :func:`medianest.plugins.api.api_route` so they are validated and
        documented.

    Called once at start for every installed plugin, enabled or not: its
    routes exist from the start and answer 404 while the plugin is not
    active, so an admin can enable it at run time.  Results are
    concatenated.  A blueprint name or URL prefix already taken by the core
    or by a plugin loaded earlier is refused with both names; the later
    plugin is disabled.
    """


@hookspec
def dashboard_cards(user: User) -> list[DashboardCard]:
    """Cards to show this user on the dashboard.

    :param user: the signed-in :class:`medianest.models.User`; filter by
        ``user.is_admin`` for admin-only cards.
    :returns: a list of :class:`medianest.plugins.DashboardCard`.  The host
        renders each card's template inside a frame that re-fetches it when one
        of its ``refresh_events`` is published.  Card ids must be unique.

    Results are concatenated and sorted by ``order``.  Must not call external
    services: read what the periodic jobs stored.
    """


@hookspec
def health_checks() -> list[HealthCheck]:
    """Checks of the external services this plugin depends on.

    :returns: a list of :class:`medianest.plugins.HealthCheck` (name, callable,
        ``critical`` flag, timeout).  The periodic status job runs every check
        in parallel, each under its own timeout, records the result and
        publishes ``service.status`` when a status changes.  Never run inline
        on a page view.

    Results are concatenated; check names are unique across plugins.
    """


@hookspec
def service_settings() -> list[ServiceSettings]:
    """The admin forms for the external services this plugin talks to.

    :returns: a list of :class:`medianest.plugins.ServiceSettings`: the fields
        (which are secret), and ``test_connection(settings)`` run by the admin's
        "test connection" button.  Values are stored encrypted and read back
        with :func:`medianest.services.service_config`.

    Results are concatenated; service keys are unique across plugins.
    """


@hookspec
def periodic_tasks() -> list[tuple[str, float, Task]]:
    """Celery beat entries.

    :returns: a list of ``(name, seconds, task)``: a unique schedule name
        (prefixed with the plugin's name), the interval in seconds and a Celery
        task (``@shared_task`` with a name of ``<plugin>.<task>``).

    Called once at start for every installed plugin, enabled or not; a task
    whose plugin is not active when it comes due does nothing.  Results are
    concatenated; a name already used is refused with both plugins named.
    """


@hookspec
def event_subscriptions() -> list[tuple[str, Callable[[dict[str, Any]], None]]]:
    """React to events published on the bus.

    :returns: a list of ``(event name, handler)``.  ``handler(payload)`` runs in
        the publishing process (a web request or a Celery worker), with an app
        context; it must be quick — queue a task for slow work.  A handler that
        raises is logged; the event still reaches everyone else.  A handler
        whose plugin is not active is skipped.

    Called once at start for every installed plugin, enabled or not.  Results
    are concatenated.
    """


@hookspec
def published_events() -> list[str]:
    """The event names this plugin publishes.

    :returns: a list of dotted names (``youtube.download.progress``).  The bus
        refuses to publish a name nobody declared, and two plugins declaring
        the same name are refused at start with both names.

    Results are concatenated.
    """


@hookspec
def nav_items(user: User | None) -> list[NavItem]:
    """Links in the top bar.

    :param user: the signed-in user (``None`` when anonymous); return only
        what this user's role may open.
    :returns: a list of :class:`medianest.plugins.NavItem`.

    Results are concatenated and sorted by ``order``.
    """


@hookspec
def media_items(user: User) -> list[MediaItem]:
    """What this person asked for through this plugin, and what it became ("My media").

    :param user: whose things to list (the signed-in person, or the one an
        admin is looking at).
    :returns: a list of :class:`medianest.plugins.MediaItem`, newest first, at
        most the 200 newest.  Read the database only: no external calls.

    Results are concatenated and sorted newest first (``created_at``); the page
    filters them by ``state`` and pages them.
    """


@hookspec
def migration_locations() -> list[str]:
    """Folders of Alembic revisions for this plugin's own tables.

    :returns: a list of absolute paths.  Together they hold the plugin's own
        Alembic branch, labelled with the plugin's name, whose first revision
        has ``down_revision = None`` and names no core revision (no
        ``depends_on``): ``medianest db upgrade`` migrates the core first, then
        each installed plugin's branch, enabled or not, as an environment of
        its own with the version table ``alembic_version_<plugin>``.  A
        disabled or uninstalled plugin's tables stay; ``medianest plugins
        remove NAME`` backs up, then undoes the branch and drops that table.

    Results are concatenated.
    """


@hookspec
def error_codes() -> list[ErrorCode]:
    """The stable error codes this plugin answers with, each with its HTTP status.

    :returns: a list of :class:`~medianest.plugins.types.ErrorCode`.  Raising
        ``ApiError(code, message)`` with one of them answers with its status,
        and the OpenAPI document lists it.

    Called once at start for every installed plugin, enabled or not.  Results
    are concatenated.  A code already declared (by the core or an earlier
    plugin) with another status is refused and the later plugin disabled;
    the same code with the same status is allowed (two plugins may both say
    ``INVALID_URL``).
    """


@hookspec
def rate_limits() -> list[RateLimit]:
    """Named rate limits this plugin applies to its own routes.

    :returns: a list of :class:`~medianest.plugins.types.RateLimit`: a name,
        its default (``"5/hour"``, Flask-Limiter's notation) and what it
        limits.  The admin overrides it with ``MEDIANEST_RATE_LIMIT_<NAME>``
        (or ``..._FILE``); a value that is not a rate stops MediaNest at start
        with the setting's name.  A view reads the value with
        ``medianest.plugins.access.rate_limit_value(name)``.

    Called once at start for every installed plugin.  Results are
    concatenated; a name declared by two plugins is refused for the later one.
    """


@hookspec
def backup_folders() -> list[BackupFolder]:
    """Folders outside the database that ``medianest backup --include-downloads`` archives.

    :returns: a list of :class:`~medianest.plugins.types.BackupFolder`.  Each
        goes into the archive under its ``name`` and ``medianest restore``
        puts it back where ``path()`` says (unless ``--skip-downloads``).

    Called for every installed plugin, enabled or not (a disabled plugin's
    files are still worth keeping).  Results are concatenated.
    """


@hookspec(firstresult=True)
def sign_in_server() -> SignInServer | None:
    """The Plex Media Server whose users may sign in with Plex, or ``None``.

    :returns: a :class:`~medianest.plugins.types.SignInServer` (URL, token and
        the service it comes from) once the server is configured.  Plex sign-in
        then admits only accounts that reach this server, and the server's
        owner becomes an admin; without one, any Plex account may sign in.

    Called at each Plex sign-in, on every installed plugin, enabled or not
    (switching a plugin off must not open sign-in to every Plex account).
    Results are not concatenated: the first that is not ``None`` wins.  A
    plugin that raises here makes sign-in answer ``SERVICE_UNAVAILABLE``
    instead of letting anyone in.
    """


@hookspec
def startup(app: Flask) -> None:
    """One-time initialisation after every plugin is loaded and registered.

    :param app: the application; an app context is active.

    Called for every installed plugin, enabled or not, so that an admin can
    enable it at run time without a restart.  Return values are ignored.  A
    plugin that raises here is refused until the next start.
    """
