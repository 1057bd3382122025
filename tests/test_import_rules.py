"""Plugins reach the core only through ``medianest.plugins``: import-linter's contracts, run as CI runs them."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
CONTRACTS = ("plugins-use-the-surface", "plugins-are-independent")


def _config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _contract(config: dict, contract_id: str) -> dict:
    return next(c for c in config["tool"]["importlinter"]["contracts"] if c["id"] == contract_id)


def _lint(*args: str, cwd: Path = ROOT, pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(pythonpath), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    command = [str(LINT_IMPORTS), "--no-cache", "--no-logo", *args]
    for contract_id in CONTRACTS:
        command += ["--contract", contract_id]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_the_built_in_plugins_import_only_the_surface():
    result = _lint()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Plugins import only medianest.plugins KEPT" in result.stdout
    assert "Plugins do not import each other KEPT" in result.stdout


def test_every_built_in_plugin_is_under_the_contract():
    config = _config()
    packages = {target.split(".")[0] for target in config["project"]["entry-points"]["medianest.plugins"].values()}
    surface = _contract(config, "plugins-use-the-surface")
    assert packages == set(surface["source_modules"])
    assert packages == set(_contract(config, "plugins-are-independent")["modules"])
    for package in packages:
        assert f"{package}.** -> medianest.plugins.**" in surface["ignore_imports"], package


def _write_planted(folder: Path) -> None:
    package = folder / "medianest_planted"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "plugin.py").write_text(
        "from medianest.plugins import hookimpl\n"
        "from medianest.plugins.db import db\n"
        "from medianest.service_settings import service_config  # the planted bad import\n"
        "import medianest_youtube  # another plugin\n"
    )


def _config_with_planted(folder: Path) -> Path:
    """The project's own contracts, with one more plugin under them."""
    config = _config()["tool"]["importlinter"]
    config["root_packages"] = [*config["root_packages"], "medianest_planted"]
    surface = _contract({"tool": {"importlinter": config}}, "plugins-use-the-surface")
    surface["source_modules"] = [*surface["source_modules"], "medianest_planted"]
    surface["ignore_imports"] = [
        *surface["ignore_imports"],
        *(
            f"{src} -> {dst}"
            for src in ("medianest_planted", "medianest_planted.**")
            for dst in ("medianest.plugins", "medianest.plugins.**")
        ),
    ]
    independent = _contract({"tool": {"importlinter": config}}, "plugins-are-independent")
    independent["modules"] = [*independent["modules"], "medianest_planted"]
    path = folder / "importlinter.toml"
    path.write_text(_toml({"tool": {"importlinter": config}}))
    return path


def _toml(data: dict) -> str:
    """Just enough TOML for the import-linter section (strings, booleans, lists, tables of contracts)."""
    lines = ["[tool.importlinter]"]
    section = data["tool"]["importlinter"]
    for key, value in section.items():
        if key != "contracts":
            lines.append(f"{key} = {_value(value)}")
    for contract in section["contracts"]:
        lines += ["", "[[tool.importlinter.contracts]]"]
        lines += [f"{key} = {_value(value)}" for key, value in contract.items()]
    return "\n".join(lines) + "\n"


def _value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def test_a_planted_bad_import_breaks_the_contract(tmp_path):
    _write_planted(tmp_path / "site")
    result = _lint(str(_config_with_planted(tmp_path)), cwd=ROOT, pythonpath=tmp_path / "site")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Plugins import only medianest.plugins BROKEN" in result.stdout
    assert "medianest_planted.plugin -> medianest.service_settings" in result.stdout
    assert "medianest.plugins.db" not in result.stdout  # the surface is allowed
    assert "Plugins do not import each other BROKEN" in result.stdout
    assert "medianest_planted.plugin -> medianest_youtube" in result.stdout
