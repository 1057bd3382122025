"""The core never names a built-in plugin: what it needs from one, a plugin declares through the contract.

The scan reads the core's code (``medianest/`` without ``medianest/plugins/``,
the plugin surface and host) through its syntax tree, so docstrings and
comments may still use the plugins as examples.  Plex sign-in (plex.tv, Plex
accounts) is the core's own; the Plex *plugin* is named by the service key
``"plex"``, its package ``medianest_plex`` or its settings ``MEDIANEST_PLEX_*``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "medianest"
SURFACE = CORE / "plugins"

# Anywhere in a name or a string of code.
ALWAYS = re.compile(r"(?i)overseerr|uptime[_ ]?kuma|youtube")
# The Plex plugin, as opposed to Plex sign-in.
PLEX_PLUGIN = re.compile(r"^plex$|^plex\.(?!tv\b)|medianest_plex|(?i:MEDIANEST_PLEX_)(?!TV_)")


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _sign_in_methods(tree: ast.AST) -> set[int]:
    """Strings that say how someone signed in (``via="plex"``): Plex sign-in, the core's own."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "via":
            found.add(id(node.value))
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "via":
                    found.add(id(value))
    return found


def _core_modules(tree: ast.AST) -> set[int]:
    """Names imported from the core's own modules (``from medianest.auth import plex``)."""
    return {
        id(alias)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "medianest"
        for alias in node.names
    }


def _words(tree: ast.AST):
    """``(line, text)`` for every name and string the code uses (not docstrings, not comments)."""
    skip = _docstrings(tree) | _sign_in_methods(tree) | _core_modules(tree)
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield line, node.value
        elif isinstance(node, ast.Name):
            yield line, node.id
        elif isinstance(node, ast.Attribute):
            yield line, node.attr
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield line, node.name
        elif isinstance(node, ast.arg):
            yield line, node.arg
        elif isinstance(node, ast.keyword) and node.arg:
            yield line, node.arg
        elif isinstance(node, ast.alias):
            yield line, node.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield line, node.module


def plugin_mentions(source: str) -> list[tuple[int, str]]:
    """Where ``source`` names a built-in plugin in its code."""
    return [(line, text) for line, text in _words(ast.parse(source)) if ALWAYS.search(text) or PLEX_PLUGIN.search(text)]


def test_the_core_names_no_plugin():
    found = []
    for path in sorted(CORE.rglob("*.py")):
        if SURFACE in path.parents:
            continue
        for line, text in plugin_mentions(path.read_text()):
            found.append(f"{path.relative_to(CORE.parent)}:{line}: {text!r}")
    assert not found, "the core names a plugin; declare it through the plugin contract instead:\n" + "\n".join(found)


def test_the_scan_finds_a_planted_plugin_name():
    planted = '''
"""Docstrings may name YouTube and Overseerr; comments too."""
import medianest_plex  # the package
from medianest.service_settings import service_config

LIMIT = settings.rate_limit_youtube
CODES = {"MEDIA_REQUEST_REFUSED": 403}


def root():
    """The YouTube folder."""
    return service_config("youtube")["download_root"], service_config("plex"), env("MEDIANEST_PLEX_URL")


def uptime_kuma_card(): ...
'''
    found = {text for _line, text in plugin_mentions(planted)}
    assert found == {
        "medianest_plex",
        "rate_limit_youtube",
        "youtube",
        "plex",
        "MEDIANEST_PLEX_URL",
        "uptime_kuma_card",
    }


def test_plex_sign_in_is_not_a_plugin_name():
    fine = """
PLEX_TV = "plex.tv did not return a PIN."
service = "plex_tv"
setting = "MEDIANEST_PLEX_TV_URL"


def plex_token_for(user_id): ...


from medianest.auth import plex
start_session(user, via="plex")
record("user.created", {"via": "plex"})
"""
    assert plugin_mentions(fine) == []
