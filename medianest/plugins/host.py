"""Loads plugins from the ``medianest.plugins`` entry points and calls their hooks.

Built-in plugins are registered through the same entry-point group as any
third-party one.  A plugin that fails to import, or raises in a hook, is
logged, marked failed and skipped from then on; the rest of the app keeps
working and ``/api/v1/health`` and ``medianest plugins`` name it.
"""

from __future__ import annotations

import importlib.metadata
import logging
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pluggy

from medianest.plugins import hookspecs

log = logging.getLogger("medianest.plugins")

ENTRY_POINT_GROUP = "medianest.plugins"
PROJECT = "medianest"


@dataclass
class PluginInfo:
    """What the host knows about one installed plugin."""

    name: str
    version: str | None = None
    module: ModuleType | object | None = None
    hooks: list[str] = field(default_factory=list)
    enabled: bool = True  # an admin's choice, kept in the database
    error: str | None = None  # why it failed to load or was disabled by a fault

    @property
    def active(self) -> bool:
        return self.enabled and self.error is None and self.module is not None

    @property
    def state(self) -> str:
        if self.error:
            return "failed"
        return "enabled" if self.enabled else "disabled"

    def to_public(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "hooks": sorted(self.hooks),
            "enabled": self.enabled,
            "state": self.state,
            "error": self.error,
        }


class PluginHost:
    """One per app: the pluggy manager plus load errors and admin switches."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self._static: dict[str, tuple[tuple[bool, ...], list[tuple[str, Any]]]] = {}

    # -- loading -----------------------------------------------------------
    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> None:
        for ep in sorted(importlib.metadata.entry_points(group=group), key=lambda e: e.name):
            if ep.name in self.plugins:
                continue
            info = PluginInfo(name=ep.name, version=ep.dist.version if ep.dist else None)
            self.plugins[ep.name] = info
            try:
                module = ep.load()
                self.pm.register(module, name=ep.name)
            except Exception as exc:  # a plugin's import error must not stop the app
                self._fail(info, f"failed to load: {exc.__class__.__name__}: {exc}", exc)
                continue
            info.module = module
            info.hooks = [impl_name for impl_name in self._hook_names(module)]
        self.check_pending()

    def register(self, module: object, name: str, version: str | None = None) -> PluginInfo:
        """Register an already-imported plugin object (used for the core's own hooks)."""
        info = PluginInfo(name=name, version=version, module=module)
        self.pm.register(module, name=name)
        info.hooks = self._hook_names(module)
        self.plugins[name] = info
        return info

    def check_pending(self) -> None:
        """A hookimpl whose name matches no hookspec is an error, not a silent no-op."""
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            plugin_name = self.pm.get_name(exc.plugin) if exc.plugin else None
            info = self.plugins.get(plugin_name or "")
            if info is None:
                raise
            self._fail(info, f"invalid hook: {exc}", exc)
            self.check_pending()

    def _hook_names(self, module: object) -> list[str]:
        return sorted(caller.name for caller in self.pm.get_hookcallers(module) or [])

    # -- state -------------------------------------------------------------
    def _fail(self, info: PluginInfo, message: str, exc: BaseException | None = None) -> None:
        info.error = message
        log.error(
            "plugin %s disabled: %s",
            info.name,
            message,
            extra={"plugin": info.name, "trace": traceback.format_exc() if exc else None},
        )
        module = info.module or self.pm.get_plugin(info.name)
        if module is not None and self.pm.is_registered(module):
            self.pm.unregister(module)

    def fail(self, name: str, message: str, exc: BaseException | None = None) -> None:
        """Disable a plugin because of a fault (not persisted: it is tried again at the next start)."""
        info = self.plugins.get(name)
        if info is not None and info.error is None:
            self._fail(info, message, exc)

    def set_enabled(self, name: str, enabled: bool) -> None:
        self.plugins[name].enabled = enabled

    def is_active(self, name: str) -> bool:
        info = self.plugins.get(name)
        return info is None or info.active  # names the host does not know (the core) are always on

    def failed(self) -> list[PluginInfo]:
        return [p for p in self.plugins.values() if p.error]

    # -- calling -----------------------------------------------------------
    def call(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call one hook on each active plugin separately; returns ``(plugin, result)`` pairs.

        An implementation that raises disables its plugin and is skipped.
        Implementations are called in registration order (the core first,
        then the plugins by entry-point name).
        """
        caller = getattr(self.pm.hook, hook_name)
        results: list[tuple[str, Any]] = []
        for impl in caller.get_hookimpls():
            name = impl.plugin_name
            if not self.is_active(name):
                continue
            args = {arg: kwargs[arg] for arg in impl.argnames if arg in kwargs}
            try:
                result = impl.function(**args)
            except Exception as exc:
                self._fail(self.plugins[name], f"{hook_name} raised {exc.__class__.__name__}: {exc}", exc)
                continue
            if result is not None:
                results.append((name, result))
        return results

    def collect_static(self, hook_name: str) -> list[tuple[str, Any]]:
        """``collect`` for a hook that takes no arguments, remembered until a plugin is switched on or off.

        For declarations (``service_settings``) that views read on every
        request: calling every plugin's hook each time cost a list call a
        twentieth of its time.  Callers must not change what they get.
        """
        found = self._static.get(hook_name)
        if found is None or found[0] != self._active_state():
            items = self.collect(hook_name)
            # After collecting: a hook that raised has just disabled its plugin.
            found = self._static[hook_name] = (self._active_state(), items)
        return found[1]

    def _active_state(self) -> tuple[bool, ...]:
        return tuple(info.active for info in self.plugins.values())

    def collect(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Concatenate the lists each plugin returned, keeping who returned each item."""
        items: list[tuple[str, Any]] = []
        for name, result in self.call(hook_name, **kwargs):
            if isinstance(result, Iterable) and not isinstance(result, (str, bytes, tuple)):
                items.extend((name, item) for item in result)
            else:
                items.append((name, result))
        return items
