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
    from medianest.events import Event
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

    For example::

        bp = Blueprint("jellyfin", __name__, template_folder="templates")


        @bp.get("/api/v1/jellyfin/libraries")
        @api_route(summary="Jellyfin libraries", tags=["jellyfin"])
        @login_required
        def libraries():
            return ok([...])


        @hookimpl
        def register_blueprints(app):
            return [bp]
    """


@hookspec
def dashboard_cards(user: User) -> list[DashboardCard]:
    """Cards to show this user on the dashboard.

    :param user: the signed-in :class:`medianest.plugins.db.User`; filter by
        ``user.is_admin`` for admin-only cards.
    :returns: a list of :class:`medianest.plugins.DashboardCard`.  The host
        renders each card's template inside a frame that re-fetches it when one
        of its ``refresh_events`` is published.  Card ids must be unique.

    Results are concatenated and sorted by ``order``.  Must not call external
    services: read what the periodic jobs stored.

    In the browser each event is an htmx trigger on ``<body>`` whose
    ``event.detail.payload`` is the event's payload (for an ``hx-trigger``
    filter such as ``[detail.payload.user_id == 3]``).

    How a card is loaded, and its time budget:

    - The dashboard page never renders a card. It sends each card's frame (its
      title, "Loading…"), and the frame fetches the card from
      ``/dashboard/cards/<id>`` once the page has loaded (htmx ``load``), then
      again on each of ``refresh_events`` and after a reconnect. One slow card
      holds nobody but itself.
    - Rendering a card (calling ``context`` and the template) has a budget,
      ``MEDIANEST_CARD_BUDGET_SECONDS`` (2 s by default). A card that takes
      longer is answered as **late**: its frame says so, offers "Try again
      now", and asks again by itself after 15 s or on its next event. Under
      gevent, which serves MediaNest in both running modes, the render is
      interrupted at the deadline wherever it waits (a network call, a query,
      a sleep) and its connections are given back; a card that computes for
      seconds without waiting is not interrupted, it only makes its own
      request slow. The overrun is logged as ``card <id> took longer than …``
      by ``medianest.dashboard``.
    - Without JavaScript the browser is sent to ``/?cards=inline``, where every
      card is rendered into the page, each within its own budget, and a late
      card links to its own page (``/dashboard/cards/<id>`` without
      ``HX-Request`` answers a whole page).
    - So: keep ``dashboard_cards(user)`` itself cheap (it runs for the page and
      for every card request, and has no budget), put the work in ``context``,
      and let a health check or a periodic task call the service and store what
      the card shows. ``tests/plugins/slowcard`` is a card that calls a hung
      service, and ``tests/test_card_budget.py`` what the dashboard does with
      it.

    For example::

        @hookimpl
        def dashboard_cards(user):
            return [
                DashboardCard(
                    id="jellyfin",
                    title="Jellyfin",
                    template="jellyfin/cards/status.html",
                    context=lambda: {"libraries": stored_libraries()},
                    refresh_events=("service.status",),
                    order=40,
                )
            ]
    """


@hookspec
def health_checks() -> list[HealthCheck]:
    """Checks of the external services this plugin depends on.

    :returns: a list of :class:`medianest.plugins.HealthCheck`,
        ``HealthCheck(name, check, critical=False, display_name=None,
        timeout=15)``.  The periodic status job runs every check
        in parallel, each under its own timeout, records the ``HealthResult`` and
        publishes ``service.status`` when a status changes.  Never run inline
        on a page view.

    Results are concatenated; check names are unique across plugins.

    ``critical=True`` makes ``/api/v1/health`` answer 503 while the check fails.

    For example::

        @hookimpl
        def health_checks():
            return [HealthCheck(name="jellyfin", check=lambda: HealthResult("online", details={"version": "10.9"}))]
    """


@hookspec
def service_settings() -> list[ServiceSettings]:
    """The admin forms for the external services this plugin talks to.

    :returns: a list of :class:`medianest.plugins.ServiceSettings`,
        ``ServiceSettings(service, title, model=..., test_connection=None,
        description="")``: the settings as a pydantic model, and
        ``test_connection(settings)`` run by the admin's "test connection"
        button.  Values are stored encrypted and read back with
        :func:`medianest.plugins.settings.service_config`.

    Results are concatenated; service keys are unique across plugins.

    The admin's form is read off the model: each field made with
    ``medianest.plugins.settings.setting(label, default, help=...)`` (or
    pydantic's ``Field(title=..., description=...)``), its type giving the
    input: ``URL`` (http:// or https:// and a host), ``Folder``, ``SecretStr``
    (stored encrypted, only a mask sent to the browser), ``int`` or ``float``
    (with pydantic's bounds, ``ge=0``), ``bool``, a ``Literal`` of choices,
    ``str``.  A field without a default is required.  What the admin submits
    is validated through the model, an empty value counting as left out;
    pydantic's errors are answered as ``VALIDATION_ERROR`` with one plain
    message per field (a ``field_validator`` raising ``ValueError("...")``
    is shown as its message).  ``validate(values)``, optional, checks across
    fields once the model passed.

    ``description`` is text or a zero-argument function returning it, called
    only when the admin page is drawn. The hook runs whenever any service's
    settings are read (once per request that reads them), so it must not query
    the database or call out.  ``test_connection(settings)`` gets the
    decrypted values and returns a ``ConnectionResult(ok, message)``. Every
    field can also come from the environment as ``MEDIANEST_<SERVICE>_<FIELD>``
    (or ``..._FILE``).

    A stored secret only ever goes to the saved URL: when the admin tests a
    ``url`` field that differs from the saved one, the test gets no stored
    secret, and each secret field must be typed again, else the answer is
    ``SECRET_REQUIRED`` naming the fields. Mark a secret that the service sends
    to MediaNest (a webhook's) ``setting(..., inbound=True)``: it is withheld
    from such a test but not asked for.

    A ``Folder`` is a folder on the server that MediaNest's processes write
    to: the admin page refuses one they cannot write in, and ``medianest
    run`` and ``medianest worker`` create every folder setting that has a
    value and stop with one line naming it (``medianest: setting
    MEDIANEST_<SERVICE>_<FIELD>: the folder ... is not writable by user ...``)
    when they cannot write there.

    A form may still be given field by field, ``fields=(SettingField(...),
    ...)`` with a ``kind`` of ``text``, ``url``, ``password``, ``number``,
    ``bool``, ``choice`` (with ``choices``) or ``folder``: the core makes the
    model from them.

    For example::

        class JellyfinSettings(BaseModel):
            url: URL = setting("URL", help="For example http://jellyfin:8096")
            api_key: SecretStr = setting("API key")
            timeout: float = setting("Timeout (seconds)", 10, gt=0, le=120)


        @hookimpl
        def service_settings():
            return [
                ServiceSettings(
                    service="jellyfin",
                    title="Jellyfin",
                    model=JellyfinSettings,
                    test_connection=check_jellyfin,
                )
            ]
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

    Tasks take ids (never ORM objects), run inside the app context and are safe
    to run twice.

    For example::

        @shared_task(name="jellyfin.sync")
        def sync(): ...


        @hookimpl
        def periodic_tasks():
            return [("jellyfin.sync", 300, sync)]
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

    Every event MediaNest and its built-in plugins publish, with its payload, is
    in ``docs/events.md``.

    For example::

        @hookimpl
        def event_subscriptions():
            return [("youtube.download.completed", lambda payload: scan_folder.delay(payload["folder"]))]
    """


@hookspec
def published_events() -> list[Event | str]:
    """The events this plugin publishes.

    :returns: a list of :class:`~medianest.plugins.events.Event`: a dotted
        name (``youtube.download.progress``), a payload model, an audience
        and a description.  A bare name is accepted as an event whose payload
        is not checked.  The bus refuses to publish a name nobody declared
        and validates the payload against its model, and two plugins
        declaring the same name are refused at start with both names.

    Results are concatenated.

    How to declare them is in ``docs/plugins.md`` (*Events*); the reference of
    every built-in event is ``docs/events.md``.

    For example::

        @hookimpl
        def published_events():
            return [Event("jellyfin.library.updated", LibraryUpdated, audience="everyone")]
    """


@hookspec
def nav_items(user: User | None) -> list[NavItem]:
    """Links in the top bar.

    :param user: the signed-in user (``None`` when anonymous); return only
        what this user's role may open.
    :returns: a list of :class:`medianest.plugins.NavItem`,
        ``NavItem(label, url, order=100)``.

    Results are concatenated and sorted by ``order``.

    For example::

        @hookimpl
        def nav_items(user):
            return [NavItem("Jellyfin", "/jellyfin/", order=40)] if user is not None else []
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

    The page is "My media" (``/me/media``, ``GET /api/v1/me/media``).  Each
    item has ``source`` (the product, "Overseerr"), ``id``, ``title``,
    ``state`` (``in_progress``, ``ready`` or ``failed``: the page's filters),
    ``status`` (the words shown), ``created_at``, and optionally ``progress``
    (0-100), ``link`` (its page in MediaNest), ``poster``, ``plex_url`` and
    ``plex_title`` (the Plex item or collection it became), ``detail``, and
    ``refresh_events`` (the page re-fetches when one is published).  An admin
    may look at anyone's, so use ``user``, never ``current_user``.

    For example::

        @hookimpl
        def media_items(user):
            return [
                MediaItem(
                    source="Jellyfin",
                    id=f"job-{j.id}",
                    title=j.title,
                    state="ready",
                    status="Added",
                    created_at=j.created_at,
                    link=f"/jellyfin/{j.id}",
                )
                for j in jobs_of(user.id)
            ]
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

    The first revision also says ``branch_labels = ("<plugin>",)`` and
    ``depends_on = None``.  A plugin whose revisions cannot be read or fail is
    named in one line and refused; MediaNest starts without it.

    Installations from before per-plugin version tables had every branch's head
    in ``alembic_version``; the first upgrade moves each into its plugin's table
    (a revision of a plugin that is not installed waits in
    ``alembic_version_unclaimed`` until it is). A revision written for that
    layout with ``depends_on = "0001_core"`` must drop it.

    For example::

        @hookimpl
        def migration_locations():
            return [str(Path(__file__).parent / "migrations")]
    """


@hookspec
def error_codes() -> list[ErrorCode]:
    """The stable error codes this plugin answers with, each with its HTTP status.

    :returns: a list of :class:`~medianest.plugins.types.ErrorCode`,
        ``ErrorCode(code, status, description="")``.  Raising
        ``ApiError(code, message)`` with one of them answers with its status,
        and the OpenAPI document lists it.

    Called once at start for every installed plugin, enabled or not.  Results
    are concatenated.  A code already declared (by the core or an earlier
    plugin) with another status is refused and the later plugin disabled;
    the same code with the same status is allowed (two plugins may both say
    ``INVALID_URL``).

    How to raise them is in ``docs/plugins.md`` (*Error codes*).
    """


@hookspec
def rate_limits() -> list[RateLimit]:
    """Named rate limits this plugin applies to its own routes.

    :returns: a list of :class:`~medianest.plugins.types.RateLimit`,
        ``RateLimit(name, default, description="")``: a name,
        its default (``"5/hour"``, Flask-Limiter's notation) and what it
        limits.  The admin overrides it with ``MEDIANEST_RATE_LIMIT_<NAME>``
        (or ``..._FILE``); a value that is not a rate stops MediaNest at start
        with the setting's name.  A view reads the value with
        ``medianest.plugins.access.rate_limit_value(name)``.

    Called once at start for every installed plugin.  Results are
    concatenated; a name declared by two plugins is refused for the later one.

    How to apply them to a view is in ``docs/plugins.md`` (*Named rate
    limits*).
    """


@hookspec
def backup_folders() -> list[BackupFolder]:
    """Folders outside the database that ``medianest backup --include-downloads`` archives.

    :returns: a list of :class:`~medianest.plugins.types.BackupFolder`,
        ``BackupFolder(name, path, description="")``.  Each
        goes into the archive under its ``name`` and ``medianest restore``
        puts it back where ``path()`` (called in an app context) says (unless ``--skip-downloads``).

    Called for every installed plugin, enabled or not (a disabled plugin's
    files are still worth keeping).  Results are concatenated.  A ``path()``
    that raises leaves that folder out of the archive and refuses its plugin;
    the database and the other folders are still archived.

    The name must stay the same between versions of the plugin (the YouTube
    plugin's is ``downloads``).

    For example::

        @hookimpl
        def backup_folders():
            return [BackupFolder("jellyfin-art", lambda: data_dir() / "jellyfin-art", "downloaded artwork")]
    """


@hookspec(firstresult=True)
def sign_in_server() -> SignInServer | None:
    """The Plex Media Server whose users may sign in with Plex, or ``None``.

    :returns: a :class:`~medianest.plugins.types.SignInServer` (URL, token and
        the service it comes from) once the server is configured.  Plex sign-in
        then admits only accounts that reach this server, and the server's
        owner becomes an admin at first sign-in; without one, any Plex
        account may sign in.  Plex sign-in asks plex.tv's resource list which
        servers an account reaches.  The Plex plugin answers with its ``url``
        and ``token`` settings.

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

    For example::

        @hookimpl
        def startup(app):
            app.logger.info("jellyfin plugin ready")
    """
