"""Loads plugins from the ``medianest.plugins`` entry points and calls their hooks the way pluggy does.

Built-in plugins are registered through the same entry-point group as any
third-party one.  Hooks are called through pluggy's own ``HookCaller``, so its
rules hold: the last registered implementation runs first, ``tryfirst`` and
``trylast`` move an implementation to the front or the back, wrappers
(``wrapper=True``, and the older ``hookwrapper=True``) surround the others and
see their result, and a ``firstresult`` hook stops at the first non-``None``.

Three things are added around pluggy:

- **Fault isolation.**  Each implementation is registered behind a guard: one
  that raises is logged, its plugin is marked failed and the call goes on with
  the others (the guard returns ``None``, which pluggy leaves out).
- **State.**  An installed plugin is enabled or disabled by an admin, or
  failed.  A plugin that is not active is left out of every call
  (``PluginManager.subset_hook_caller``).  The switch and a fault raised after
  start-up are kept in the database (``medianest.plugins.states``) and read
  back by every process at most every ``check_interval`` seconds, so web
  processes, workers and ``medianest plugins`` agree.  A plugin that failed to
  load, or was refused at start (a name already taken), stays off in this
  process until the next start.
- **Who returned what.**  ``call`` and ``collect`` pair every result with the
  plugin that returned it (a wrapper owns the items it added).
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
import time
import traceback
from collections.abc import Callable, Generator, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pluggy
from flask import Flask, has_app_context
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from medianest.plugins import hookspecs, states

log = logging.getLogger("medianest.plugins")

ENTRY_POINT_GROUP = "medianest.plugins"
PROJECT = "medianest"
CORE = "core"
# How often a process reads the plugins' states back from the database.
CHECK_INTERVAL = 1.0

# Per call: id(result) -> (result, plugin name), filled in by the guards.
_owners: ContextVar[dict[int, tuple[Any, str]] | None] = ContextVar("medianest_hook_owners", default=None)


@dataclass
class PluginInfo:
    """What the host knows about one installed plugin."""

    name: str
    version: str | None = None
    module: ModuleType | object | None = None
    hooks: list[str] = field(default_factory=list)
    enabled: bool = True  # an admin's choice, kept in the database
    fault: str | None = None  # a hook raised after start-up; kept in the database until an admin enables it again
    load_error: str | None = None  # failed to load or was refused at start, in this process
    requires: str | None = None  # the plugin API versions it asks for (``PLUGIN_API``)
    refused: bool = False  # it asks for a plugin API this MediaNest does not have

    @property
    def error(self) -> str | None:
        return self.load_error or self.fault

    @property
    def active(self) -> bool:
        return self.enabled and self.error is None and self.module is not None

    @property
    def state(self) -> str:
        if self.refused:
            return "refused"
        if self.error:
            return "failed"
        return "enabled" if self.enabled else "disabled"

    def to_public(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "requires": self.requires,
            "hooks": sorted(self.hooks),
            "enabled": self.enabled,
            "state": self.state,
            "error": self.error,
        }


class GuardedPlugin:
    """What pluggy registers for one plugin: its hook implementations, each behind a guard."""

    def __init__(self, plugin_name: str) -> None:
        self.plugin_name = plugin_name

    def __repr__(self) -> str:
        return f"<plugin {self.plugin_name}>"


class PluginHost:
    """One per app: the pluggy manager, every installed plugin's state, and the calls."""

    def __init__(self, check_interval: float = CHECK_INTERVAL) -> None:
        self.pm = pluggy.PluginManager(PROJECT)
        self._plugins: dict[str, PluginInfo] = {}  # by name, in load order
        self.check_interval = check_interval
        self._guarded: dict[str, object] = {}  # plugin name -> the object registered with pluggy
        self._firstresult: set[str] = set()
        self._static: dict[str, tuple[tuple[bool, ...], list[tuple[str, Any]]]] = {}
        self._starting = True
        self._checked_at = float("-inf")
        self._unsaved: dict[str, str] = {}  # faults not yet written to the database
        # Bumped whenever a plugin's state changes: the subset callers below are built once per state.
        self._generation = 0
        self._callers: dict[tuple[str, bool], tuple[int, pluggy.HookCaller]] = {}
        self.add_hookspecs(hookspecs)

    def add_hookspecs(self, module_or_class: object) -> None:
        """Add hook specifications (``pm.add_hookspecs``), remembering which are ``firstresult``."""
        self.pm.add_hookspecs(module_or_class)
        for name in dir(module_or_class):
            opts = self.pm.parse_hookspec_opts(module_or_class, name)
            if opts and opts.get("firstresult"):
                self._firstresult.add(name)

    @property
    def api_version(self) -> str:
        """The plugin API version this MediaNest offers (``PLUGIN_API_VERSION``)."""
        return hookspecs.PLUGIN_API_VERSION

    @property
    def plugins(self) -> dict[str, PluginInfo]:
        """Every installed plugin by name, with the states saved by any process (read at most every
        ``check_interval`` seconds)."""
        self.refresh()
        return self._plugins

    def init_app(self, app: Flask) -> None:
        """Read the saved states now, and save a fault when the app context it happened in ends."""
        app.teardown_appcontext(self._save_faults)
        with app.app_context():
            self.refresh(force=True)

    # -- loading -----------------------------------------------------------
    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> None:
        for ep in sorted(importlib.metadata.entry_points(group=group), key=lambda e: e.name):
            if ep.name in self._plugins:
                continue
            info = PluginInfo(name=ep.name, version=ep.dist.version if ep.dist else None)
            self._plugins[ep.name] = info
            try:
                module = ep.load()
            except Exception as exc:  # a plugin's import error must not stop the app
                self._refuse(info, f"failed to load: {exc.__class__.__name__}: {exc}", exc)
                continue
            problem = self._incompatible(info, module)
            if problem:
                info.refused = True
                self._refuse(info, problem)
                continue
            try:
                self._register(info, module)
            except Exception as exc:
                self._refuse(info, f"failed to load: {exc.__class__.__name__}: {exc}", exc)
        self.check_pending()

    def register(self, module: object, name: str, version: str | None = None) -> PluginInfo:
        """Register an already-imported plugin object (the core's own hooks, a test's plugin)."""
        info = PluginInfo(name=name, version=version)
        self._plugins[name] = info
        problem = self._incompatible(info, module)
        if problem:
            info.refused = True
            self._refuse(info, problem)
            return info
        self._register(info, module)
        return info

    @staticmethod
    def _incompatible(info: PluginInfo, plugin: object) -> str | None:
        """Why ``plugin`` cannot run on this plugin API (its ``PLUGIN_API`` range), or ``None``."""
        wanted = getattr(plugin, "PLUGIN_API", None)
        if wanted is None:
            return None
        info.requires = str(wanted)
        try:
            accepted = SpecifierSet(str(wanted))
        except InvalidSpecifier:
            return f"refused: PLUGIN_API {wanted!r} is not a version range (for example '>=1,<2')"
        if Version(hookspecs.PLUGIN_API_VERSION) not in accepted:
            return (
                f"refused: needs plugin API {wanted}, this MediaNest has {hookspecs.PLUGIN_API_VERSION} "
                "(install a version of the plugin made for it)"
            )
        return None

    def _register(self, info: PluginInfo, plugin: object) -> None:
        guarded = self._guard(info.name, plugin)
        self.pm.register(guarded, name=info.name)
        self._guarded[info.name] = guarded
        info.module = plugin
        info.hooks = sorted(caller.name for caller in self.pm.get_hookcallers(guarded) or [])
        self._generation += 1

    def _guard(self, name: str, plugin: object) -> object:
        """What pluggy registers for ``plugin``: the same hook implementations, each behind a guard.

        pluggy calls every implementation in one loop and stops at the first
        exception; a plugin's fault must not cost the others their turn.  So
        each implementation is registered as a function that catches its
        plugin's exception (same name, marker options and signature), and
        pluggy still decides the order and runs wrappers and ``firstresult``.
        """
        guarded = GuardedPlugin(name)
        for attr in dir(plugin):
            opts = self.pm.parse_hookimpl_opts(plugin, attr)
            if opts is None:
                continue
            function = getattr(plugin, attr)
            hook_name = opts.get("specname") or attr
            fault = functools.partial(self._hook_raised, name, hook_name)
            if opts.get("wrapper") or opts.get("hookwrapper"):
                wrapped = _guard_wrapper(function, name, fault)
            else:
                wrapped = _guard_call(function, name, fault)
            setattr(wrapped, f"{PROJECT}_impl", opts)
            setattr(guarded, attr, wrapped)
        return guarded

    def check_pending(self) -> None:
        """A hookimpl whose name matches no hookspec is an error, not a silent no-op."""
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            plugin_name = self.pm.get_name(exc.plugin) if exc.plugin else None
            info = self._plugins.get(plugin_name or "")
            if info is None:
                raise
            self._refuse(info, f"invalid hook: {exc}", exc)
            self.pm.unregister(name=info.name)
            self.check_pending()

    def started(self) -> None:
        """Start-up is over: from now on a hook that raises is a fault kept in the database."""
        self._starting = False

    # -- state -------------------------------------------------------------
    def _refuse(self, info: PluginInfo, message: str, exc: BaseException | None = None) -> None:
        info.load_error = message
        self._generation += 1
        log.error(
            "plugin %s disabled: %s",
            info.name,
            message,
            extra={"plugin": info.name, "trace": traceback.format_exc() if exc else None},
        )

    def fail(self, name: str, message: str, exc: BaseException | None = None) -> None:
        """Refuse a plugin in this process (a name it claims is taken); tried again at the next start."""
        info = self._plugins.get(name)
        if info is not None and info.load_error is None:
            self._refuse(info, message, exc)

    def _hook_raised(self, name: str, hook_name: str, exc: Exception) -> None:
        info = self._plugins.get(name)
        message = f"{hook_name} raised {exc.__class__.__name__}: {exc}"
        log.error(
            "plugin %s disabled: %s",
            name,
            message,
            extra={"plugin": name, "trace": "".join(traceback.format_exception(exc))},
        )
        if info is None or name == CORE:
            return
        if self._starting:
            info.load_error = info.load_error or message
        elif info.fault is None:
            info.fault = message
            self._unsaved[name] = message
        self._generation += 1

    def _save_faults(self, _exc: BaseException | None = None) -> None:
        if self._unsaved:
            faults, self._unsaved = self._unsaved, {}
            states.record_faults(faults)

    def set_enabled(self, name: str, enabled: bool) -> None:
        """This process's copy of an admin's switch (``medianest.admin.plugins`` saves it); enabling clears a fault."""
        info = self._plugins[name]
        info.enabled = enabled
        if enabled:
            info.fault = None
            self._unsaved.pop(name, None)
        self._generation += 1

    def refresh(self, force: bool = False) -> None:
        """Take over the states saved by other processes, at most every ``check_interval`` seconds."""
        now = time.monotonic()
        if not force and now - self._checked_at < self.check_interval:
            return
        self._checked_at = now
        if not has_app_context():
            return
        saved = states.read_states()
        if saved is None:
            return  # no table yet (before the first ``db upgrade``): every plugin starts enabled
        for name, info in self._plugins.items():
            if name == CORE:
                continue
            enabled, fault = saved.get(name, (True, None))
            if name in self._unsaved:
                fault = info.fault
            if (info.enabled, info.fault) != (enabled, fault):
                info.enabled, info.fault = enabled, fault
                self._generation += 1

    def is_active(self, name: str) -> bool:
        self.refresh()
        info = self._plugins.get(name)
        return info is None or info.active  # names the host does not know (the core) are always on

    def is_loaded(self, name: str) -> bool:
        """Loaded and not refused at start (enabled or not)."""
        info = self._plugins.get(name)
        return info is not None and info.module is not None and info.load_error is None

    def failed(self) -> list[PluginInfo]:
        self.refresh()
        return [p for p in self._plugins.values() if p.error]

    # -- calling -----------------------------------------------------------
    def call(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call one hook on the active plugins, as pluggy does; returns ``(plugin, result)`` pairs.

        Results come in pluggy's order (last registered first, ``tryfirst``
        before, ``trylast`` after) as the wrappers left them; ``None`` is left
        out.  A ``firstresult`` hook gives at most one pair.
        """
        self.refresh()
        return self._call(hook_name, False, kwargs)

    def call_installed(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """``call`` on every loaded plugin, enabled or not: for what start-up sets up once (routes, tasks, events)."""
        return self._call(hook_name, True, kwargs)

    def _caller(self, hook_name: str, installed: bool) -> pluggy.HookCaller:
        """pluggy's caller for the hook without the plugins left out (not active; or not loaded, for ``installed``)."""
        found = self._callers.get((hook_name, installed))
        if found is None or found[0] != self._generation:
            left_out = [
                self._guarded[name]
                for name, info in self._plugins.items()
                if name in self._guarded and not (self.is_loaded(name) if installed else info.active)
            ]
            caller = self.pm.subset_hook_caller(hook_name, remove_plugins=left_out)
            found = self._callers[(hook_name, installed)] = (self._generation, caller)
        return found[1]

    def _call(self, hook_name: str, installed: bool, kwargs: dict[str, Any]) -> list:
        caller = self._caller(hook_name, installed)
        owners: dict[int, tuple[Any, str]] = {}
        token = _owners.set(owners)
        try:
            outcome = caller(**kwargs)
        except Exception:  # what a wrapper let through: each plugin's own faults are caught by its guard
            log.exception("hook %s failed", hook_name)
            return []
        finally:
            _owners.reset(token)
        if hook_name in self._firstresult:
            outcome = [] if outcome is None else [outcome]
        return [(owners.get(id(result), (None, "?"))[1], result) for result in outcome]

    def collect(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Concatenate the lists each active plugin returned, keeping who returned each item."""
        return _flatten(self.call(hook_name, **kwargs))

    def collect_installed(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """``collect`` over every loaded plugin, enabled or not."""
        return _flatten(self.call_installed(hook_name, **kwargs))

    def in_load_order(self, pairs: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
        """``(plugin, item)`` pairs by when their plugin was loaded (the core first, then by entry-point name).

        For names claimed at start: the plugin loaded earlier keeps a name,
        whatever order pluggy calls the hooks in.
        """
        order = {name: index for index, name in enumerate(self._plugins)}
        return sorted(pairs, key=lambda pair: order.get(pair[0], len(order)))

    def collect_static(self, hook_name: str) -> list[tuple[str, Any]]:
        """``collect`` for a hook that takes no arguments, remembered until a plugin is switched on or off.

        For declarations (``service_settings``) that views read on every
        request: calling every plugin's hook each time cost a list call a
        twentieth of its time.  Callers must not change what they get.
        """
        self.refresh()
        found = self._static.get(hook_name)
        if found is None or found[0] != self._active_state():
            items = self.collect(hook_name)
            # After collecting: a hook that raised has just disabled its plugin.
            found = self._static[hook_name] = (self._active_state(), items)
        return found[1]

    def _active_state(self) -> tuple[bool, ...]:
        return tuple(info.active for info in self._plugins.values())


def _flatten(pairs: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    for name, result in pairs:
        if isinstance(result, Iterable) and not isinstance(result, (str, bytes, tuple)):
            items.extend((name, item) for item in result)
        else:
            items.append((name, result))
    return items


def _note_owner(result: Any, plugin: str) -> None:
    owners = _owners.get()
    if owners is not None and result is not None:
        owners[id(result)] = (result, plugin)


def _guard_call(function: Callable[..., Any], plugin: str, fault: Callable[[Exception], None]) -> Callable[..., Any]:
    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            result = function(*args, **kwargs)
        except Exception as exc:
            fault(exc)
            return None  # pluggy leaves None out: the call goes on with the others
        _note_owner(result, plugin)
        return result

    return guarded


def _guard_wrapper(
    function: Callable[..., Generator[Any, Any, Any]], plugin: str, fault: Callable[[Exception], None]
) -> Callable[..., Generator[Any, Any, Any]]:
    """A wrapper that breaks in its own code steps aside: the result passes through it unchanged.

    An exception thrown into it by the call (another plugin's wrapper let it
    through) is handed on to the wrapper, which may handle it, as pluggy does.
    """

    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        try:
            inner = function(*args, **kwargs)
            next(inner)
        except Exception as exc:
            fault(exc)
            return (yield)
        try:
            outcome = yield
        except BaseException as raised:
            try:
                inner.throw(raised)
            except StopIteration as stop:
                return stop.value
            inner.close()
            raise
        try:
            inner.send(outcome)
        except StopIteration as stop:
            _note_added(outcome, stop.value, plugin)
            return stop.value
        except Exception as exc:
            fault(exc)
            return outcome
        inner.close()
        fault(RuntimeError(f"wrapper {function.__name__} yielded twice"))
        return outcome

    return guarded


def _is_old_style(outcome: Any) -> bool:
    return isinstance(outcome, pluggy.Result)


def _note_added(before: Any, after: Any, plugin: str) -> None:
    """A wrapper owns what it added to the result."""
    if after is None or after is before or _is_old_style(before):
        return
    if isinstance(after, list) and isinstance(before, list):
        seen = {id(item) for item in before}
        for item in after:
            if id(item) not in seen:
                _note_owner(item, plugin)
    else:
        _note_owner(after, plugin)
