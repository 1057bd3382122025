"""``medianest plugin new NAME``: write a new plugin's package, ready to install and test.

The files come from ``medianest/scaffold_files`` (``*.tmpl``, with
``${name}``, ``${package}``, ``${distribution}`` and ``${title}`` filled in;
``__package__`` and ``__name__`` in a path become the package and the plugin's
name).  What is written: a ``pyproject.toml`` with the ``medianest.plugins``
entry point, the plugin module (a page in MediaNest's layout, a nav link, a
JSON route, a dashboard card refreshed live by a periodic task's event), and a
test file that uses ``medianest.testing`` and passes as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

import click

FILES = Path(__file__).resolve().parent / "scaffold_files"
_NAME = re.compile(r"[a-z][a-z0-9_]{1,39}")
# Names the core keeps for its own pages and API (a plugin's URL prefix is its name).
RESERVED = {"api", "auth", "admin", "dashboard", "static", "setup", "healthz", "metrics", "core", "medianest", "health"}


class ScaffoldError(ValueError):
    """A name or folder ``plugin new`` cannot use; the message says why."""


@dataclass(frozen=True)
class PluginNames:
    name: str  # entry-point name, blueprint, URL prefix, settings key, event prefix
    package: str
    distribution: str
    title: str

    @classmethod
    def of(cls, raw: str) -> PluginNames:
        name = raw.strip().lower().replace("-", "_")
        if not _NAME.fullmatch(name):
            raise ScaffoldError(
                f"{raw!r} cannot name a plugin: use 2 to 40 lower-case letters, digits, '-' or '_', "
                "starting with a letter (for example watchstats)"
            )
        if name in RESERVED:
            raise ScaffoldError(f"{raw!r} is a name MediaNest keeps for itself; choose another")
        title = " ".join(part.capitalize() for part in name.split("_"))
        return cls(name, f"medianest_{name}", f"medianest-{name.replace('_', '-')}", title)


def write_plugin(raw_name: str, parent: Path) -> Path:
    """Write the plugin's package into ``parent/<distribution>``; that folder."""
    names = PluginNames.of(raw_name)
    target = parent / names.distribution
    if target.exists():
        raise ScaffoldError(f"{target} already exists; choose another name or folder")
    values = {
        "name": names.name,
        "package": names.package,
        "distribution": names.distribution,
        "title": names.title,
    }
    for source in sorted(FILES.rglob("*.tmpl")):
        relative = source.relative_to(FILES).with_suffix("")  # drop .tmpl
        parts = [p.replace("__package__", names.package).replace("__name__", names.name) for p in relative.parts]
        destination = target.joinpath(*parts)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(Template(source.read_text(encoding="utf-8")).substitute(values), encoding="utf-8")
    return target


@click.group("plugin")
def plugin_command() -> None:
    """Write plugins: ``medianest plugin new NAME``."""


@plugin_command.command("new")
@click.argument("name")
@click.option(
    "--directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Where to write the plugin's folder.",
)
def new_plugin(name: str, directory: Path) -> None:
    """Write a new plugin package NAME (medianest-NAME/) whose tests pass as written."""
    try:
        target = write_plugin(name, directory)
    except ScaffoldError as exc:
        raise click.ClickException(str(exc)) from None
    names = PluginNames.of(name)
    click.echo(f"wrote {target}")
    click.echo(f"  plugin {names.name!r}: package {names.package}, distribution {names.distribution}")
    click.echo("next:")
    click.echo(f"  cd {target} && pip install -e '.[test]' && pytest")
