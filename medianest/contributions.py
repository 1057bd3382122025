"""The values plugins hand to the core through their hooks."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from medianest.setting_models import form_fields, model_of

Status = Literal["online", "degraded", "offline", "unconfigured"]

# The version of this contract (hooks, result types and the documented
# submodules of ``medianest.plugins``).  A plugin may require a range of it
# with a module attribute ``PLUGIN_API = ">=1,<2"`` on its entry-point object;
# one that asks for a version this MediaNest does not have is refused at
# start.  The minor number grows when something is added, the major one when
# something a plugin may use changes or goes away.
PLUGIN_API_VERSION = "1.0"


@dataclass(frozen=True)
class DashboardCard:
    """A card on the dashboard.

    ``template`` is a Jinja fragment (``<plugin>/cards/<name>.html``) rendered with
    ``context()`` (or the mapping given) inside the core's card frame.  The card
    re-fetches itself from ``/dashboard/cards/<id>`` whenever one of
    ``refresh_events`` reaches the browser.
    """

    id: str
    title: str
    template: str
    context: Callable[[], Mapping[str, Any]] | Mapping[str, Any] = field(default_factory=dict)
    refresh_events: tuple[str, ...] = ()
    order: int = 100
    wide: bool = False

    def render_context(self) -> Mapping[str, Any]:
        return self.context() if callable(self.context) else self.context


@dataclass
class HealthResult:
    """What one health check saw."""

    status: Status
    response_ms: float | None = None
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HealthCheck:
    """A service check run by the periodic status job, never inline on a page view.

    ``check()`` returns a :class:`HealthResult` (or raises: that counts as
    ``offline`` with the exception's message).  ``critical`` checks make
    ``/api/v1/health`` answer 503 while they fail.
    """

    name: str
    check: Callable[[], HealthResult]
    critical: bool = False
    display_name: str | None = None
    timeout: float = 15.0


@dataclass(frozen=True)
class SettingField:
    """One field of a service's settings form.

    ``secret`` fields are stored encrypted and never sent back to the browser
    (a mask goes out instead).  A ``kind="password"`` field is secret unless
    it says ``secret=False``.
    """

    name: str
    label: str
    secret: bool = None  # type: ignore[assignment]  # None: secret when kind is "password"
    required: bool = False
    # "folder": a folder on the server that MediaNest's processes write to;
    # ``medianest run`` and ``medianest worker`` refuse to start when it is not writable.
    kind: Literal["url", "text", "password", "number", "bool", "choice", "folder"] = "text"
    help: str = ""
    default: str | None = None
    choices: tuple[str, ...] = ()
    # A secret the service sends to MediaNest (a webhook's), never one MediaNest
    # sends out: a connection test against a new URL does not ask for it again.
    inbound: bool = False

    def __post_init__(self) -> None:
        if self.secret is None:
            object.__setattr__(self, "secret", self.kind == "password")


@dataclass
class ConnectionResult:
    """The answer of ``test_connection``: shown to the admin as it is."""

    ok: bool
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ServiceSettings:
    """The admin form for one external service.

    ``service`` is the settings key (``MEDIANEST_<SERVICE>_<FIELD>`` in the
    environment).  ``model`` is the settings as a pydantic model
    (``medianest.plugins.settings``): the form's ``fields`` are read off it,
    and what the admin submits is validated through it.  A form given as
    ``fields`` alone gets a model made from them (URLs, numbers and choices
    checked).  ``test_connection(settings)`` receives the decrypted values as
    a dict and returns a :class:`ConnectionResult`; it must be cheap.
    ``description`` is text, or a function returning it when the admin page is
    drawn (the hook itself runs whenever a service's settings are read, so it
    must not query anything).
    """

    service: str
    title: str
    fields: tuple[SettingField, ...] = ()
    test_connection: Callable[[dict[str, Any]], ConnectionResult] | None = None
    description: str | Callable[[], str] = ""
    # Checks across fields, after the model passed: field -> message.
    validate: Callable[[dict[str, Any]], dict[str, str]] | None = None
    model: type[BaseModel] | None = None

    def __post_init__(self) -> None:
        if self.model is not None and not self.fields:
            object.__setattr__(self, "fields", tuple(SettingField(**f) for f in form_fields(self.model)))
        if self.model is None:
            object.__setattr__(self, "model", model_of(self.service, self.fields))


@dataclass(frozen=True)
class NavItem:
    """A link in the top bar."""

    label: str
    url: str
    order: int = 100
    icon: str | None = None


@dataclass(frozen=True)
class MediaItem:
    """One thing a person asked for, and what it became: a line on their "My media" page.

    ``state`` is ``in_progress``, ``ready`` or ``failed`` (the page's filters);
    ``status`` is the words shown ("Approved", "Downloading 40 %").  ``progress``
    is 0-100 while something runs.  ``link`` opens it in MediaNest; ``plex_url``
    and ``plex_title`` name the Plex item or collection it became; ``poster``
    is an image URL MediaNest serves or proxies.  ``refresh_events`` are the
    events that change it (the page re-fetches on them).
    """

    source: str  # the product it came through, as people know it: "Overseerr", "YouTube"
    id: str  # unique within the source
    title: str
    state: str
    status: str
    created_at: datetime
    progress: float | None = None
    link: str | None = None
    poster: str | None = None
    plex_url: str | None = None
    plex_title: str | None = None
    detail: str | None = None
    refresh_events: tuple[str, ...] = ()

    STATES = ("in_progress", "ready", "failed")
