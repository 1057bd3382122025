"""The compose stack's commands, run for real without a Docker engine.

The commands and environment come from ``docker-compose.yml`` itself (the
``migrate``, ``web``, ``worker`` and ``beat`` services), started through the
image's entry point (``docker/entrypoint.sh``) against the machine's
PostgreSQL and Redis.  Only what a container provides is translated: the
secrets become files in a temporary folder (``/run/secrets/<name>``), the
volumes temporary folders (``/data``, ``/downloads``), the ``redis`` and
``postgres`` host names the machine's servers, and the web port a free one on
127.0.0.1.  Then: sign in, submit a YouTube download of a local playlist, see
it complete; the worker's compose health check answers; beat schedules.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml

from tests.standins.media_feed import MediaFeedStandin
from tests.support.apps import ADMIN_PASSWORD
from tests.support.services import free_port

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # medianest and celery, as on the image's PATH
_DEFAULTED = re.compile(r"\$\{(\w+):-([^}]*)\}")


def interpolate(value: str) -> str:
    """Compose's ``${NAME:-default}`` with nothing set (the defaults), and ``$$`` -> ``$``."""
    return _DEFAULTED.sub(lambda m: os.environ.get(m[1], m[2]), value).replace("$$", "$")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


class Container:
    """One compose service's command, started through the image's entry point."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], folder: Path) -> None:
        self.name, self.command, self.env = name, command, env
        self.log_path = folder / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Container:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                ["sh", str(ROOT / "docker" / "entrypoint.sh"), *self.command],
                cwd=ROOT,  # the image's WORKDIR holds wsgi.py, as the repository root does
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def wait_for_log(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited: {self.log()[-3000:]}")
            time.sleep(0.2)
        raise AssertionError(f"{text!r} not in the {self.name} log: {self.log()[-3000:]}")

    def stop(self, timeout: float = 60) -> int | None:
        """``docker stop``: SIGTERM, then SIGKILL after the grace period."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
            return None


def container_env(service: dict, folder: Path, database_url: str, redis_url: str) -> dict[str, str]:
    secrets = folder / "secrets"
    secrets.mkdir(exist_ok=True)
    (secrets / "database_url").write_text(database_url + "\n")
    (secrets / "secret_key").write_text("compose-test-secret-key-0123456789abcdef\n")
    (secrets / "admin_password").write_text(ADMIN_PASSWORD + "\n")
    volumes = {"/data": str(folder / "data"), "/downloads": str(folder / "downloads")}
    env = {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": os.environ.get("HOME", "/root"),
        "PYTHONPATH": str(ROOT),
        "HOSTNAME": socket.gethostname(),
    }
    for name, value in (service.get("environment") or {}).items():
        value = interpolate(str(value))
        if value.startswith("/run/secrets/"):
            value = str(secrets / value.rsplit("/", 1)[1])
        value = volumes.get(value, value)
        if name == "REDIS_URL":
            value = redis_url
        env[name] = value
    env.update(
        {
            "MEDIANEST_LOG_FORMAT": "text",
            "MEDIANEST_HEALTH_CHECK_INTERVAL": "2",
            # the test's local playlist, not YouTube
            "MEDIANEST_YOUTUBE_ALLOWED_HOSTS": "127.0.0.1",
            "MEDIANEST_YOUTUBE_ALLOWED_PRIVATE": "127.0.0.1",  # the local stand-ins are on loopback
            "MEDIANEST_YOUTUBE_MIN_FREE_GB": "0",
            "MEDIANEST_METRICS_TOKEN": "compose-metrics",
        }
    )
    return env


def command_of(service: dict, port: int) -> list[str]:
    command = [interpolate(str(part)) for part in service["command"]]
    if "--host" in command:
        command[command.index("--host") + 1] = "127.0.0.1"
    if "--port" in command:
        command[command.index("--port") + 1] = str(port)
    return command


def test_the_compose_commands_serve_sign_in_and_finish_a_download(compose, pg_databases, clean_redis, tmp_path):
    services = compose["services"]
    assert services["migrate"]["command"] == ["medianest", "db", "upgrade"]
    assert services["web"]["command"][:2] == ["medianest", "run"]
    assert services["worker"]["command"][:2] == ["medianest", "worker"]
    assert services["beat"]["command"] == ["medianest", "beat"]

    feed = MediaFeedStandin()
    feed.start()
    feed.add_playlist("compose", "Compose Playlist", [("First", 60_000), ("Second", 80_000)])
    port = free_port()
    database_url = pg_databases.create()
    running: list[Container] = []

    def container(name: str) -> Container:
        service = services[name]
        return Container(
            name, command_of(service, port), container_env(service, tmp_path, database_url, clean_redis), tmp_path
        )

    try:
        # the one-shot migrate service: exits 0 before anything else starts
        migrate = container("migrate").start()
        assert migrate.wait(timeout=120) == 0, migrate.log()[-3000:]
        assert "database upgraded" in migrate.log()

        web = container("web")
        worker = container("worker")
        beat = container("beat")
        for item in (web, worker, beat):
            running.append(item.start())
        base = f"http://127.0.0.1:{port}"
        web.wait_for_log("Booting worker", timeout=60)  # gunicorn, with the config file's single gevent worker
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(requests.RequestException):
                if requests.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, web.log()[-3000:]
            time.sleep(0.3)
        assert web.log().count("Booting worker") == 1
        worker.wait_for_log("ready", timeout=90)

        # the worker's compose health check (celery inspect ping over the broker) answers
        health = services["worker"]["healthcheck"]["test"]
        assert health[0] == "CMD-SHELL"
        ping = subprocess.run(["sh", "-c", interpolate(health[1])], env=worker.env, capture_output=True, timeout=60)
        assert ping.returncode == 0, ping.stderr.decode()[-2000:]

        http = requests.Session()
        login = http.post(
            base + "/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}, timeout=10
        )
        assert login.status_code == 200, login.text
        http.headers["X-CSRFToken"] = login.json()["data"]["csrf_token"]

        made = http.post(
            base + "/api/v1/youtube/downloads",
            json={"url": feed.url_for_playlist("compose"), "format": "best"},
            timeout=15,
        )
        assert made.status_code == 201, made.text
        download_id = made.json()["data"]["id"]
        deadline = time.monotonic() + 120
        while True:
            state = http.get(f"{base}/api/v1/youtube/downloads/{download_id}", timeout=10).json()["data"]
            if state["status"] in ("completed", "failed", "cancelled"):
                break
            assert time.monotonic() < deadline, (state, worker.log()[-3000:])
            time.sleep(0.5)
        assert state["status"] == "completed", (state.get("error"), state.get("failures"), worker.log()[-4000:])
        files = sorted(p for p in (tmp_path / "downloads").rglob("*.mp4"))
        assert [p.name.split(" [")[1] for p in files] == ["compose-1].mp4", "compose-2].mp4"], files
        assert [f["name"] for f in state["files"]] == [p.name for p in files]

        # beat hands the periodic health checks to the worker
        beat.wait_for_log("Sending due task medianest.health-checks", timeout=30)
        status = http.get(base + "/api/v1/dashboard/status", timeout=10)
        assert status.status_code == 200

        # the worker's finished tasks show on the web process's /metrics (counted once the task has
        # returned, which is just after the download shows as completed)
        counted = 'medianest_tasks_total{state="SUCCESS",task="youtube.download"} 1.0'
        deadline = time.monotonic() + 15
        while True:
            scrape = requests.get(base + "/metrics", headers={"Authorization": "Bearer compose-metrics"}, timeout=10)
            assert scrape.status_code == 200
            if counted in scrape.text or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert counted in scrape.text, scrape.text[-3000:]
        assert 'medianest_task_queue_length{queue="celery"}' in scrape.text

        # docker stop: each stops by itself within its grace period
        for item in (beat, worker, web):
            assert item.stop(timeout=60) is not None, f"{item.name} needed SIGKILL"
        assert "Traceback" not in web.log() + worker.log() + beat.log()
    finally:
        for item in running:
            item.stop(timeout=20)
        feed.stop()
