"""The plugin contract stays honest: every hook is documented with its exact
signature in docs/hooks.md (generated from the hookspecs, linked from
docs/plugins.md) and has a test of its own."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from medianest.plugins import hookspecs

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.sqlite_only


def _hooks() -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(fn)
        for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(fn, "medianest_spec")
    }


def test_there_are_hooks():
    assert {
        "register_blueprints",
        "dashboard_cards",
        "health_checks",
        "service_settings",
        "periodic_tasks",
        "event_subscriptions",
        "nav_items",
        "startup",
    } <= set(_hooks())


def test_every_hookspec_has_a_docstring_with_returns_and_combination():
    for name, fn in inspect.getmembers(hookspecs, inspect.isfunction):
        if not hasattr(fn, "medianest_spec"):
            continue
        doc = inspect.getdoc(fn) or ""
        assert ":returns:" in doc or "Return values are ignored" in doc, name
        assert "concatenated" in doc or "ignored" in doc, name


def test_every_hook_is_documented_with_its_exact_signature():
    docs = (ROOT / "docs" / "hooks.md").read_text()
    sections = dict(re.findall(r"^## (\w+)\n\n```python\n@hookspec.*\ndef \w+\(([^)]*)\)", docs, flags=re.M))
    for name, signature in _hooks().items():
        assert name in sections, f"docs/hooks.md has no section for {name}"
        params = ", ".join(f"{param}: {info.annotation}" for param, info in signature.parameters.items())
        assert sections[name] == params, f"{name}: documented ({sections[name]}) vs hookspec ({params})"
    assert set(sections) <= set(_hooks()), f"documented hooks that don't exist: {set(sections) - set(_hooks())}"
    guide = (ROOT / "docs" / "plugins.md").read_text()
    assert "[hooks.md](hooks.md)" in guide and "[events.md](events.md)" in guide


def test_every_hook_has_a_test_of_its_own():
    names: set[str] = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_hook_"):
                names.add(node.name)
    for hook in _hooks():
        assert any(hook in name for name in names), f"no test named test_hook_...{hook}..."
