"""The core's import layers (``[tool.importlinter]`` in pyproject.toml), checked by import-linter.

The contracts are also run against a throwaway package laid out like the
core, once clean and once with a planted upward import or cycle, to show
that they would catch one.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(config: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(  # noqa: S603 - our own tool, our own arguments
        [str(LINT_IMPORTS), "--no-cache", str(config)], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_core_keeps_its_layers_and_has_no_cycle():
    result = lint_imports(ROOT / "pyproject.toml", ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"The core's layers point down KEPT", result.stdout)
    assert re.search(r"The core's modules import each other without a cycle KEPT", result.stdout)


def _core_contracts(root: str) -> str:
    """Our core contracts, pointed at the package ``root`` instead of medianest."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    lines = ["[tool.importlinter]", f'root_packages = ["{root}"]']
    for contract in config["contracts"]:
        if contract["id"] not in ("core-layers", "core-acyclic"):
            continue
        lines.append("\n[[tool.importlinter.contracts]]")
        for key, value in contract.items():
            if key in ("containers", "ancestors"):
                value = [root]
            if isinstance(value, list):
                lines.append(f"{key} = [" + ", ".join(f'"{v}"' for v in value) + "]")
            else:
                lines.append(f'{key} = "{value}"')
    return "\n".join(lines) + "\n"


def _layer_modules() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = next(c for c in config["contracts"] if c["id"] == "core-layers")["layers"]
    return [name.strip() for layer in layers for name in re.split(r"[|:]", layer)]


@pytest.fixture
def planted(tmp_path: Path):
    """A package shaped like the core: a module per layer name, each importing the one below."""
    package = tmp_path / "planted"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name in _layer_modules():
        (package / f"{name}.py").write_text("")
    (package / "app.py").write_text("import planted.plugins\n")
    (package / "models.py").write_text("import planted.extensions\n")
    (package / "http.py").write_text("import planted.json_answers\n")
    config = tmp_path / "contracts.toml"
    config.write_text(_core_contracts("planted"))
    return package, config


def test_the_contracts_pass_on_a_package_that_keeps_them(planted):
    package, config = planted
    result = lint_imports(config, package.parent)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_upward_import_breaks_the_layers(planted):
    package, config = planted
    (package / "extensions.py").write_text("def f():\n    import planted.auth\n")  # inside a function counts too
    result = lint_imports(config, package.parent)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "The core's layers point down BROKEN" in result.stdout
    assert "planted.extensions -> planted.auth" in result.stdout


def test_a_cycle_between_core_services_breaks_the_acyclic_contract(planted):
    package, config = planted
    (package / "json_answers.py").write_text("import planted.http\n")  # http imports json_answers already
    result = lint_imports(config, package.parent)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "The core's modules import each other without a cycle BROKEN" in result.stdout
    assert "The core's layers point down KEPT" in result.stdout


def test_building_the_app_opens_no_connection(tmp_path, monkeypatch):
    """create_app only assembles: the database, Redis and the services are reached when first used.

    Python's sockets refuse to connect, and the database is on a port where
    nothing listens (libpq opens its own sockets): building the app still works.
    """
    import socket

    from tests.support.apps import build_app, make_settings

    attempts = []

    def refuse(self, address):
        attempts.append(address)
        raise OSError(f"create_app connected to {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    settings = make_settings(
        tmp_path / "data", "postgresql://medianest@127.0.0.1:9/nothing-listens", "redis://127.0.0.1:6379/0"
    )
    app = build_app(settings)
    assert app.extensions["medianest.plugins"].plugins  # the plugins are loaded too
    assert attempts == []
