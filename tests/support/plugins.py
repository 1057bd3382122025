"""Installing the test plugins in ``tests/plugins`` through the entry-point group.

Each test plugin gets a real distribution (``*.dist-info`` with
``entry_points.txt``) in a folder put on ``sys.path`` — and on ``PYTHONPATH``
for servers the test starts — so the host finds it with
``importlib.metadata.entry_points`` exactly as it finds a pip-installed one.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

TEST_PLUGINS = {
    # entry-point name: (module, distribution name)
    "cardtest": ("tests.plugins.cardtest", "medianest-test-cardtest"),
    "brokentest": ("tests.plugins.brokentest", "medianest-test-brokentest"),
    "hookfailtest": ("tests.plugins.hookfailtest", "medianest-test-hookfailtest"),
    "clashtest": ("tests.plugins.clashtest", "medianest-test-clashtest"),
    "typotest": ("tests.plugins.typotest", "medianest-test-typotest"),
    "slowcard": ("tests.plugins.slowcard", "medianest-test-slowcard"),
    "futureapi": ("tests.plugins.futureapi", "medianest-test-futureapi"),
    "declaretest": ("tests.plugins.declaretest", "medianest-test-declaretest"),
    "codeclash": ("tests.plugins.codeclash", "medianest-test-codeclash"),
}

REPO = Path(__file__).resolve().parents[2]


def write_distributions(folder: Path, names: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        module, dist = TEST_PLUGINS[name]
        info = folder / f"{dist.replace('-', '_')}-0.1.0.dist-info"
        info.mkdir(exist_ok=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1.0\n")
        (info / "entry_points.txt").write_text(f"[medianest.plugins]\n{name} = {module}\n")
    return folder


class InstalledPlugins:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __enter__(self) -> InstalledPlugins:
        sys.path.insert(0, str(self.folder))
        importlib.invalidate_caches()
        return self

    def __exit__(self, *exc: object) -> None:
        if str(self.folder) in sys.path:
            sys.path.remove(str(self.folder))
        importlib.invalidate_caches()
        # Imported plugin modules stay in sys.modules: importing one again would
        # register its Celery tasks a second time.

    def env(self) -> dict[str, str]:
        """Environment for a subprocess that should see the same plugins."""
        path = os.pathsep.join([str(self.folder), str(REPO), os.environ.get("PYTHONPATH", "")])
        return {"PYTHONPATH": path.rstrip(os.pathsep)}
