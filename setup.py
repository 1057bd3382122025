"""The build of MediaNest's package: the package list, and the front-end libraries put inside it.

Everything else is declared in pyproject.toml.  Two things need code:

- The packages: every folder under ``medianest/`` and each built-in plugin is
  a package, the data folders (templates, migrations, static files) as
  namespace packages, which is how setuptools expects package data in
  sub-folders to be declared.  Walking the tree keeps the list complete when a
  template folder is added.
- The front-end libraries (htmx, the Socket.IO client, Swagger UI) come from the npm
  registry, pinned in package-lock.json.  The build copies them from
  ``node_modules/`` into ``medianest/static/vendor/`` (git-ignored), running
  ``npm ci`` first when ``node_modules/`` does not hold the pinned versions.
  The copy records those versions, so an sdist, which carries the copy and
  the npm files, builds its wheel without npm.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = Path(__file__).resolve().parent
LOCK = HERE / "package-lock.json"
NODE_MODULES = HERE / "node_modules"
VENDOR = HERE / "medianest" / "static" / "vendor"
VERSIONS = VENDOR / "versions.json"

# npm package -> (file in its folder, name under /static/vendor/).  The names
# are the ones medianest/app.py serves.
VENDOR_FILES = {
    "htmx.org": [("dist/htmx.min.js", "htmx.js"), ("LICENSE", "htmx.LICENSE")],
    "socket.io-client": [("dist/socket.io.min.js", "socket.io.js"), ("LICENSE", "socket.io.LICENSE")],
    "swagger-ui-dist": [
        ("swagger-ui-bundle.js", "swagger-ui.js"),
        ("swagger-ui.css", "swagger-ui.css"),
        ("LICENSE", "swagger-ui.LICENSE"),
        ("NOTICE", "swagger-ui.NOTICE"),
    ],
}

PACKAGE_DIRS = {
    "medianest": "medianest",
    "medianest_uptime_kuma": "plugins/uptime_kuma",
    "medianest_overseerr": "plugins/overseerr",
    "medianest_plex": "plugins/plex",
    "medianest_youtube": "plugins/youtube",
}


def find_packages() -> list[str]:
    # The vendor folder is filled by build_py and sdist below, after setuptools
    # has checked that every listed package's folder exists.
    VENDOR.mkdir(parents=True, exist_ok=True)
    packages = []
    for name, folder in PACKAGE_DIRS.items():
        root = HERE / folder
        packages.append(name)
        for path in sorted(root.rglob("*")):
            if path.is_dir() and path.name != "__pycache__":
                packages.append(".".join([name, *path.relative_to(root).parts]))
    return packages


def pinned_versions() -> dict[str, str]:
    lock = json.loads(LOCK.read_text())
    return {name: lock["packages"][f"node_modules/{name}"]["version"] for name in VENDOR_FILES}


def installed_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in VENDOR_FILES:
        manifest = NODE_MODULES / name / "package.json"
        versions[name] = json.loads(manifest.read_text()).get("version") if manifest.is_file() else None
    return versions


def copied_versions() -> dict[str, str] | None:
    files_present = all((VENDOR / target).is_file() for pairs in VENDOR_FILES.values() for _, target in pairs)
    if not (files_present and VERSIONS.is_file()):
        return None
    return json.loads(VERSIONS.read_text())


class VendorError(RuntimeError):
    pass


def vendor_front_end_libraries() -> None:
    """Put the pinned front-end libraries into medianest/static/vendor/."""
    if not LOCK.is_file():  # neither a checkout nor our sdist: use what is there
        if copied_versions() is None:
            raise VendorError("package-lock.json is missing and medianest/static/vendor/ is empty")
        return
    wanted = pinned_versions()
    if copied_versions() == wanted:
        return
    if installed_versions() != wanted:
        npm = shutil.which("npm")
        if npm is None:
            raise VendorError(
                "building MediaNest needs npm (Node.js) to fetch htmx, the Socket.IO client and Swagger UI: "
                "install Node.js with npm, then build again"
            )
        subprocess.run(  # noqa: S603 - npm from PATH, fixed arguments
            [npm, "ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=HERE,
            check=True,
        )
    VENDOR.mkdir(parents=True, exist_ok=True)
    for name, pairs in VENDOR_FILES.items():
        for source, target in pairs:
            shutil.copyfile(NODE_MODULES / name / source, VENDOR / target)
    VERSIONS.write_text(json.dumps(wanted, indent=2, sort_keys=True) + "\n")


class BuildPy(build_py):
    def run(self) -> None:
        vendor_front_end_libraries()
        super().run()


class SDist(sdist):
    def run(self) -> None:
        vendor_front_end_libraries()
        super().run()


setup(
    packages=find_packages(),
    package_dir={name: folder for name, folder in PACKAGE_DIRS.items() if name != folder},
    cmdclass={"build_py": BuildPy, "sdist": SDist},
)
