"""The production setup the benchmarks measure, started from this checkout.

``medianest run`` with ``DATABASE_URL`` (a fresh PostgreSQL database on this
machine's server) and ``REDIS_URL`` (a Redis database index of our own), so
the web process is gunicorn + gevent with ``medianest/gunicorn_conf.py``;
optionally ``medianest worker``.  Also: a bare Flask app served by gunicorn
with the same configuration file, the baseline of the throughput ratio.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.apps import ADMIN_PASSWORD, SECRET  # noqa: E402
from tests.support.services import PostgresDatabases, free_port, redis_database  # noqa: E402

GENEROUS = "1000000/minute"

BARE_APP = """
from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/api/v1/bare")
def bare():
    return jsonify({"success": True, "data": [{"id": 1, "title": "bare"}], "meta": {}})
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def rss_kib(pid: int) -> int:
    """Resident memory of one process and all its descendants (KiB)."""
    total = 0
    for candidate in [pid, *descendants(pid)]:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{candidate}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (entry / "stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class Proc:
    def __init__(self, args: list[str], env: dict[str, str], log: Path, cwd: Path = ROOT) -> None:
        self.log = log
        with open(log, "ab") as out:
            self.popen = subprocess.Popen(
                args, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.text():
            if self.popen.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{text!r} not seen: {self.text()[-2000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)


def wait_http(url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


@dataclass
class Stack:
    work: Path
    env: dict[str, str]
    url: str
    web: Proc
    database_url: str
    redis_url: str
    worker: Proc | None = None
    procs: list[Proc] = field(default_factory=list)

    def session(self) -> requests.Session:
        http = requests.Session()
        response = http.post(
            self.url + "/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}, timeout=10
        )
        response.raise_for_status()
        http.headers["X-CSRFToken"] = response.json()["data"]["csrf_token"]
        return http

    def token(self) -> str:
        made = self.session().post(self.url + "/api/v1/auth/tokens", json={"name": "bench"}, timeout=10)
        made.raise_for_status()
        return made.json()["data"]["token"]

    def start_worker(self, *extra: str, pool: str = "prefork", concurrency: int = 2) -> Proc:
        args = [
            sys.executable,
            "-c",
            "from medianest.cli import main; main()",
            "worker",
            "--pool",
            pool,
            "-c",
            str(concurrency),
            *extra,
        ]
        self.worker = Proc(args, self.env, self.work / "worker.log")
        self.procs.append(self.worker)
        self.worker.wait_for("ready")
        return self.worker

    def baseline_server(self, module: str, source: str, **env: str) -> int:
        """``source`` saved as ``<module>.py`` and served by gunicorn with MediaNest's configuration file; its port."""
        (self.work / f"{module}.py").write_text(source)
        port = free_port()
        args = [sys.executable, "-m", "gunicorn", "--config", "python:medianest.gunicorn_conf"]
        args += ["--bind", f"127.0.0.1:{port}", f"{module}:app"]
        env = {**self.env, **env, "PYTHONPATH": f"{self.work}{os.pathsep}{ROOT}"}
        self.procs.append(Proc(args, env, self.work / f"{module}.log", cwd=self.work))
        return port

    def bare(self) -> str:
        """The bare Flask endpoint under gunicorn with MediaNest's configuration file; returns its URL."""
        port = self.baseline_server("bare_app", BARE_APP)
        url = f"http://127.0.0.1:{port}/api/v1/bare"
        wait_http(url)
        return url


@contextlib.contextmanager
def production_stack(**env_overrides: str) -> Iterator[Stack]:
    work = Path(tempfile.mkdtemp(prefix="medianest-bench-"))
    databases = PostgresDatabases()
    procs: list[Proc] = []
    try:
        with redis_database() as redis_url:
            database_url = databases.create()
            env = {
                **os.environ,
                "MEDIANEST_DATA_DIR": str(work / "data"),
                "MEDIANEST_SECRET_KEY": SECRET,
                "MEDIANEST_ADMIN_PASSWORD": ADMIN_PASSWORD,
                "MEDIANEST_LOG_FORMAT": "text",
                "MEDIANEST_LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
                "DATABASE_URL": database_url,
                "REDIS_URL": redis_url,
                "PYTHONPATH": str(ROOT),
                "MEDIANEST_RATE_LIMIT_API": GENEROUS,
                "MEDIANEST_RATE_LIMIT_LOGIN": "1000/minute",
                **env_overrides,
            }
            port = free_port()
            web = Proc(
                [sys.executable, "-c", "from medianest.cli import main; main()", "run", "--port", str(port)],
                env,
                work / "web.log",
            )
            procs.append(web)
            url = f"http://127.0.0.1:{port}"
            wait_http(url + "/healthz")
            stack = Stack(work, env, url, web, database_url, redis_url, procs=procs)
            yield stack
    finally:
        for proc in reversed(procs):
            proc.stop()
        databases.drop_all()
        shutil.rmtree(work, ignore_errors=True)
