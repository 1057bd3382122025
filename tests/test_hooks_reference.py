"""The hook reference: docs/hooks.md is generated from the hook specifications and kept current."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from medianest.hook_docs import hooks, inline, main, render, render_doc
from medianest.plugins import hookspecs

DOC = Path(__file__).resolve().parent.parent / "docs" / "hooks.md"
pytestmark = pytest.mark.sqlite_only


def test_docs_hooks_md_is_what_the_hookspecs_declare(tmp_path, capsys):
    assert DOC.read_text(encoding="utf-8") == render(hooks()), (
        "docs/hooks.md is stale: run python -m medianest.hook_docs --write docs/hooks.md"
    )
    assert main(["--check", str(DOC)]) == 0


def test_the_check_fails_on_a_stale_or_missing_file(tmp_path, capsys):
    stale = tmp_path / "hooks.md"
    stale.write_text(DOC.read_text(encoding="utf-8").replace("def startup(app: Flask)", "def startup(app)"))
    assert main(["--check", str(stale)]) == 1
    assert f"{stale} is stale: run python -m medianest.hook_docs --write {stale}" in capsys.readouterr().err
    assert main(["--check", str(tmp_path / "missing.md")]) == 1
    assert main(["--write", str(stale)]) == 0
    assert main(["--check", str(stale)]) == 0


def test_every_hook_is_listed_with_its_typed_signature_and_flags():
    text = DOC.read_text(encoding="utf-8")
    specs = {name: fn for name, fn in vars(hookspecs).items() if hasattr(fn, "medianest_spec")}
    assert [hook.name for hook in hooks()] == list(specs)
    for name, fn in specs.items():
        signature = inspect.signature(fn)
        params = ", ".join(f"{p}: {a.annotation}" for p, a in signature.parameters.items())
        assert f"\ndef {name}({params}) -> {signature.return_annotation}: ...\n" in text, name
        assert f"\n## {name}\n" in text, name
        assert f"(#{name})" in text, name
    assert "@hookspec(firstresult=True)\ndef sign_in_server() -> SignInServer | None: ..." in text
    assert "| [`sign_in_server()`](#sign_in_server) | `SignInServer \\| None` | yes | no |" in text
    assert "| [`dashboard_cards(user)`](#dashboard_cards) | `list[DashboardCard]` | no | no |" in text
    assert "| `Blueprint` | `from flask import Blueprint` |" in text
    assert "| `SignInServer` | `from medianest.plugins import SignInServer` |" in text
    assert "| `User` | `from medianest.plugins.db import User` |" in text


def test_docstrings_become_markdown_with_parameters_results_and_examples():
    text = DOC.read_text(encoding="utf-8")
    assert "- **`user`** (`User`): the signed-in `medianest.plugins.db.User`;" in text
    assert "- **Returns** (`list[BackupFolder]`): a list of `BackupFolder`," in text
    assert ":class:" not in text and ":param" not in text and ":returns:" not in text
    assert not re.search(r"(?<!`)``(?!`)", text), "reST literals left in docs/hooks.md"
    # The module's docstring introduces the reference: pluggy's call order, the guard.
    assert "the implementation\nregistered last runs first" in text
    assert "The contract's version is `1." in text
    assert "For example:\n\n```python\n@hookimpl\ndef startup(app):\n" in text


def test_render_doc_handles_fields_lists_and_literal_blocks():
    doc = inspect.cleandoc(
        """Summary with ``code`` and :func:`~a.b.thing`.

        :param app: the
            application.
        :returns: a list of :class:`a.B`.

        - one item
          running ``on
          two lines``
        - two

        Like this::

            x = 1

            y = 2

        After.
        """
    )
    assert render_doc(doc) == [
        "Summary with `code` and `thing`.",
        "",
        "- **`app`**: the application.",
        "- **Returns**: a list of `a.B`.",
        "",
        "- one item\n  running `on\n  two lines`\n- two",
        "",
        "Like this:",
        "",
        "```python",
        "x = 1\n\ny = 2",
        "```",
        "",
        "After.",
        "",
    ]
    assert inline(":class:`~medianest.plugins.types.ErrorCode`") == "`ErrorCode`"
