"""MediaNest uses each library through what its documentation shows, never a ``_private`` name.

The check walks the syntax tree of ``medianest/`` and ``plugins/`` and reports:

* ``from library import _name`` and ``import library._module``;
* ``thing._name`` where no code of ours defines ``_name`` (our own private
  names are ours to use; one we never define belongs to a library);
* ``self._name`` in a class built on a library's class, where that class of
  ours does not define ``_name`` itself (pybreaker's ``self._lock``);
* ``getattr(thing, "_name")`` (and ``setattr``/``hasattr``) the same way.

A handful of underscore names are public by their library's documentation:
they are listed in :data:`DOCUMENTED` with where that is written.
"""

from __future__ import annotations

import ast
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OURS = {"medianest", "plugins", "tests"}

DOCUMENTED = {
    # Flask, "Notes On Proxies": the object behind current_app, for another thread.
    "_get_current_object",
    # collections.namedtuple and SQLAlchemy's Row: documented, underscored to avoid field names.
    "_fields",
    "_asdict",
    "_replace",
    "_mapping",
    # os._exit: the standard library's documented exit without clean-up (a forked child).
    "_exit",
}


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__") and name not in DOCUMENTED


def _ours(module: str | None, level: int = 0) -> bool:
    return level > 0 or (module or "").split(".")[0] in OURS


def _library_names(tree: ast.Module) -> set[str]:
    """Names this module binds to a library's module or object by importing it."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names if not _ours(a.name)}
        elif isinstance(node, ast.ImportFrom) and not _ours(node.module, node.level):
            names |= {a.asname or a.name for a in node.names}
    return names


def _defined(tree: ast.AST) -> set[str]:
    """Names our code defines: functions, classes, variables and attributes set on ``self``/``cls``."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store)
            and isinstance(node.value, ast.Name)
            and node.value.id in ("self", "cls")
        ):
            names.add(node.attr)
    return names


def _on_self(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id in ("self", "cls")


def private_uses(paths: list[Path]) -> list[str]:
    """Every use of a library's private name in the Python files under ``paths``."""
    files = sorted(f for p in paths for f in ([p] if p.is_file() else p.rglob("*.py")))
    trees = {f: ast.parse(f.read_text(), str(f)) for f in files}
    ours = set().union(*(_defined(t) for t in trees.values())) if trees else set()
    found = []
    for path, tree in trees.items():
        library = _library_names(tree)
        where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path

        def report(node: ast.AST, what: str, where: Path = where) -> None:
            found.append(f"{where}:{node.lineno}: {what}")

        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and not _ours(node.module, node.level):
                for alias in node.names:
                    if _private(alias.name):
                        report(node, f"from {node.module} import {alias.name}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if not _ours(alias.name) and any(_private(part) for part in alias.name.split(".")):
                        report(node, f"import {alias.name}")
            elif isinstance(node, ast.ClassDef):
                bases = {ast.unparse(b).split(".")[0] for b in node.bases}
                if bases & library:
                    own = _defined(node)
                    for inner in ast.walk(node):
                        if (
                            isinstance(inner, ast.Attribute)
                            and _on_self(inner.value)
                            and _private(inner.attr)
                            and inner.attr not in own
                        ):
                            report(inner, f"{ast.unparse(inner)} (a private name of {ast.unparse(node.bases[0])})")
            elif isinstance(node, ast.Attribute) and _private(node.attr) and not _on_self(node.value):
                if node.attr not in ours:
                    report(node, ast.unparse(node))
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("getattr", "setattr", "hasattr", "delattr")
                and len(node.args) > 1
                and isinstance(node.args[1], ast.Constant)
                and isinstance(node.args[1].value, str)
                and _private(node.args[1].value)
                and not _on_self(node.args[0])
                and node.args[1].value not in ours
            ):
                report(node, ast.unparse(node))
    return found


def test_no_private_name_of_a_library() -> None:
    found = private_uses([ROOT / "medianest", ROOT / "plugins"])
    assert found == [], "a library's private name is used:\n" + "\n".join(found)


def test_the_check_reports_a_planted_private_use(tmp_path: Path) -> None:
    planted = tmp_path / "planted.py"
    planted.write_text(
        textwrap.dedent(
            """
            import pybreaker
            from flask import g
            from flask_limiter import Limiter
            from flask_login.utils import _get_user

            limiter = Limiter()


            class Breaker(pybreaker.CircuitBreaker):
                def __init__(self):
                    self._mine = 1

                def call(self, func):
                    with self._lock:
                        return self._mine + func()


            class Cache:
                def __init__(self):
                    self._store = {}


            def before(app, cache, response):
                app.before_request_funcs[None].remove(limiter._check_request_limit)
                response._content = b""
                cache._store.clear()
                return getattr(g, "_login_user", None), getattr(limiter, "_storage_dead", False)
            """
        )
    )
    found = private_uses([planted])
    reported = "\n".join(found)
    assert "import _get_user" in reported
    assert "self._lock" in reported
    assert "limiter._check_request_limit" in reported
    assert "response._content" in reported
    assert "'_login_user'" in reported and "'_storage_dead'" in reported
    # Our own private names are ours to use: not reported.
    assert "_mine" not in reported and "_store" not in reported
    assert len(found) == 6, reported


if __name__ == "__main__":
    print("\n".join(private_uses([Path(p) for p in sys.argv[1:]])))
