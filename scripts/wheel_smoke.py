"""The wheel smoke test: MediaNest as a user installs it, far from the checkout.

Builds the sdist and, from it, the wheel (``python -m build``), checks the
wheel carries what MediaNest needs at run time, installs it into a new
virtualenv in a temporary folder, and from an empty folder there:

- starts ``medianest run`` on SQLite (``MEDIANEST_DATA_DIR`` in the temporary
  folder), chooses the admin password through the one-time link it prints,
  signs in, and opens the dashboard, each built-in plugin's card and pages,
  and the static files (the front-end libraries included);
- runs ``medianest plugins`` and ``medianest db upgrade``;
- starts the production web process (gunicorn, ``REDIS_URL`` set, Redis at
  127.0.0.1:6379) and opens the sign-in page through it.

Run it as ``scripts/wheel-smoke``; it exits non-zero on failure, and its last
line says which.  Everything it starts listens on 127.0.0.1.  The temporary
folder is removed after a pass and kept (with its logs) after a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import traceback
import zipfile
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = ("overseerr", "plex", "uptime_kuma", "youtube")
CARDS = ("overseerr", "plex", "uptime-kuma", "youtube-downloads")
PAGES = (
    "/",
    "/plex/settings",
    "/media/",
    "/media/requests",
    "/youtube/",
    "/media/admin/webhook",
    "/auth/tokens",
    "/api/docs",
)
STATIC = {
    "/static/vendor/htmx.js": "htmx",
    "/static/vendor/socket.io.js": "io",
    "/static/vendor/swagger-ui.js": "SwaggerUIBundle",
    "/static/vendor/swagger-ui.css": ".swagger-ui",
    "/static/css/app.css": "{",
    "/static/js/api-docs.js": "SwaggerUIBundle",
    "/static/js/bridge.js": "htmx",
}
IN_WHEEL = [
    "medianest/wsgi.py",
    "medianest/gunicorn_conf.py",
    "medianest/static/vendor/htmx.js",
    "medianest/static/vendor/socket.io.js",
    "medianest/static/vendor/swagger-ui.js",
    "medianest/static/vendor/swagger-ui.css",
    "medianest/static/vendor/swagger-ui.LICENSE",
    "medianest/static/vendor/swagger-ui.NOTICE",
    "medianest/static/js/api-docs.js",
    "medianest/static/css/app.css",
    "medianest/templates/layout.html",
    "medianest/templates/auth/setup.html",
    "medianest/migrations/env.py",
    "medianest/migrations/alembic.ini",
    "medianest/migrations/script.py.mako",
    "medianest/migrations/versions/0001_core_tables.py",
    "medianest_overseerr/migrations/overseerr_0001_media_requests.py",
    "medianest_plex/migrations/plex_0001_tables.py",
    "medianest_youtube/migrations/youtube_0001_downloads.py",
    "medianest_overseerr/templates/overseerr/requests.html",
    "medianest_plex/templates/plex/libraries.html",
    "medianest_uptime_kuma/templates/uptime_kuma/cards/monitors.html",
    "medianest_youtube/templates/youtube/index.html",
    # The author's kit: the pytest plugin and what `medianest plugin new` writes from.
    "medianest/testing/plugin.py",
    "medianest/scaffold_files/pyproject.toml.tmpl",
    "medianest/scaffold_files/__package__/templates/__name__/page.html.tmpl",
]
PASSWORD = "wheel smoke admin password"  # noqa: S105 - the throw-away instance's admin
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class SmokeFailure(Exception):
    pass


def check(condition: object, message: str) -> None:
    if not condition:
        raise SmokeFailure(message)


STARTED = time.monotonic()


def step(message: str) -> None:
    print(f"wheel smoke [{time.monotonic() - STARTED:5.1f} s]: {message}", flush=True)


def run(args: list[str], log: Path, **kwargs) -> subprocess.CompletedProcess:
    """A command whose output goes to ``log``; a failure names the command and the log."""
    with log.open("a") as out:
        out.write(f"$ {' '.join(map(str, args))}\n")
        out.flush()
        result = subprocess.run(args, stdout=out, stderr=subprocess.STDOUT, text=True, check=False, **kwargs)  # noqa: S603
    check(result.returncode == 0, f"{Path(args[0]).name} {' '.join(map(str, args[1:3]))} failed (see {log})")
    return result


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ---------------------------------------------------------------- build and install
def build(work: Path) -> Path:
    dist = work / "dist"
    log = work / "build.log"
    run([sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)], log)
    warnings = [line for line in log.read_text().splitlines() if re.search(r"\bwarning\b", line, re.IGNORECASE)]
    warnings = [line for line in warnings if "byte-compiling is disabled" not in line]  # PYTHONDONTWRITEBYTECODE
    check(not warnings, f"the build printed warnings: {warnings[0] if warnings else ''} (see {log})")
    sdists, wheels = list(dist.glob("*.tar.gz")), list(dist.glob("*.whl"))
    check(len(sdists) == 1 and len(wheels) == 1, f"expected one sdist and one wheel in {dist}")
    with tarfile.open(sdists[0]) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    for name in (
        "package.json",
        "package-lock.json",
        "setup.py",
        "medianest/static/vendor/htmx.js",
        "medianest/static/vendor/swagger-ui.js",
    ):
        check(name in names, f"the sdist lacks {name}")
    with zipfile.ZipFile(wheels[0]) as wheel:
        names = set(wheel.namelist())
    missing = [name for name in IN_WHEEL if name not in names]
    check(not missing, f"the wheel lacks {', '.join(missing)}")
    check(not any(name.startswith(("wsgi.py", "tests/")) for name in names), "the wheel carries checkout-only files")
    check(not any(name.endswith(".pyc") for name in names), "the wheel carries byte code")
    return wheels[0]


def install(work: Path, wheel: Path) -> Path:
    venv = work / "venv"
    log = work / "install.log"
    python = os.environ.get("PYTHON", shutil.which("python3") or sys.executable)
    # --upgrade-deps, as the README says: the pip a Python ships may be old, and an old resolver
    # backtracks for minutes over celery's and Flask-Limiter's Redis requirements.
    run([python, "-m", "venv", "--upgrade-deps", str(venv)], log)
    # --no-compile: byte-compiling every dependency (yt-dlp alone has ~1800 modules) is most of an install.
    run([str(venv / "bin" / "python"), "-m", "pip", "install", "--no-compile", str(wheel)], log)
    return venv / "bin"


def user_env(work: Path, bin_dir: Path) -> dict[str, str]:
    """A user's environment: nothing of the checkout, the new virtualenv first on PATH."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MEDIANEST_", "PYTHON", "VIRTUAL_ENV", "FLASK_"))
        and k not in ("DATABASE_URL", "REDIS_URL")
    }
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["MEDIANEST_DATA_DIR"] = str(work / "data")
    return env


# ---------------------------------------------------------------- the running server
class Server:
    def __init__(self, args: list[str], env: dict[str, str], cwd: Path, log: Path) -> None:
        self.log = log
        self.out = log.open("w")
        self.proc = subprocess.Popen(  # noqa: S603
            args, env=env, cwd=cwd, stdout=self.out, stderr=subprocess.STDOUT, start_new_session=True
        )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, pattern: str, timeout: float = 90) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.text())
            if found:
                return found
            check(self.proc.poll() is None, f"the server exited with {self.proc.returncode} (see {self.log})")
            time.sleep(0.2)
        raise SmokeFailure(f"the server did not print {pattern!r} within {timeout:.0f} s (see {self.log})")

    def wait_until_answering(self, url: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            check(self.proc.poll() is None, f"the server exited with {self.proc.returncode} (see {self.log})")
            try:
                if requests.get(url, timeout=5).status_code == 200:
                    return
            except requests.RequestException:  # not listening yet, or its worker still booting
                pass
            time.sleep(0.2)
        raise SmokeFailure(f"{url} did not answer within {timeout:.0f} s (see {self.log})")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.out.close()


def csrf_token(response: requests.Response) -> str:
    found = CSRF.search(response.text)
    check(found, f"no CSRF token in the form at {response.url}")
    return found[1]


def get(session: requests.Session, url: str) -> requests.Response:
    response = session.get(url, timeout=30)
    check(response.status_code == 200, f"GET {url} answered {response.status_code}")
    return response


def choose_password_and_sign_in(base: str, setup_link: str) -> requests.Session:
    setup = requests.Session()
    form = get(setup, setup_link)
    chosen = setup.post(
        setup_link, data={"csrf_token": csrf_token(form), "password": PASSWORD, "confirm": PASSWORD}, timeout=30
    )
    check(chosen.status_code == 200 and chosen.url.rstrip("/") == base, f"the setup form answered {chosen.status_code}")
    check(setup.get(setup_link, timeout=30).status_code == 410, "the setup link still works after it was used")

    session = requests.Session()
    page = get(session, f"{base}/auth/login")
    signed_in = session.post(
        f"{base}/auth/login",
        data={"csrf_token": csrf_token(page), "username": "admin", "password": PASSWORD, "next": ""},
        timeout=30,
    )
    check(signed_in.status_code == 200 and signed_in.url.rstrip("/") == base, "signing in as admin failed")
    return session


def embedded(work: Path, bin_dir: Path, env: dict[str, str], empty: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = Server(
        [str(bin_dir / "medianest"), "run", "--host", "127.0.0.1", "--port", str(port)], env, empty, work / "run.log"
    )
    try:
        link = server.wait_for(r"MediaNest: choose the admin password at (\S+)")[1]
        check(link.startswith(f"{base}/setup/"), f"the setup link {link} does not name the port {port}")
        server.wait_until_answering(f"{base}/healthz")
        step(f"medianest run answers at {base}; choosing the admin password through the printed link")
        session = choose_password_and_sign_in(base, link)
        dashboard = get(session, f"{base}/").text
        for card in CARDS:
            check(f'id="card-{card}"' in dashboard, f"the dashboard lacks the {card} card")
            get(session, f"{base}/dashboard/cards/{card}")
        for page in PAGES:
            get(session, f"{base}{page}")
        # Plex's library page says the server is not configured yet: a 503 page, not an error.
        libraries = session.get(f"{base}/plex/", timeout=30)
        check(libraries.status_code == 503 and "<html" in libraries.text.lower(), f"/plex/: {libraries.status_code}")
        for path, expected in STATIC.items():
            response = get(session, f"{base}{path}")
            check(expected in response.text and len(response.content) > 100, f"{path} is not the expected file")
        monitors = session.get(f"{base}/api/v1/uptime/monitors", timeout=30)
        check(monitors.status_code == 200 and monitors.json()["success"], "GET /api/v1/uptime/monitors failed")
        step(f"signed in; dashboard, {len(CARDS)} cards, {len(PAGES)} pages and the static files answer 200")
    finally:
        server.stop()


def commands(work: Path, bin_dir: Path, env: dict[str, str], empty: Path) -> None:
    log = work / "commands.log"
    run([str(bin_dir / "medianest"), "plugins"], log, env=env, cwd=empty)
    rows = [line.split() for line in log.read_text().splitlines() if line and line[0].isalpha()]
    loaded = {row[0]: row for row in rows if row[0] in PLUGINS}
    check(set(loaded) == set(PLUGINS), f"medianest plugins lists {sorted(loaded)} (see {log})")
    check("error:" not in log.read_text(), f"medianest plugins reports an error (see {log})")
    run([str(bin_dir / "medianest"), "db", "upgrade"], log, env=env, cwd=empty)
    check("database upgraded" in log.read_text(), f"medianest db upgrade did not say it upgraded (see {log})")
    step("medianest plugins lists the four built-ins; medianest db upgrade succeeds")


def production(work: Path, bin_dir: Path, env: dict[str, str], empty: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **env,
        "REDIS_URL": os.environ.get("MEDIANEST_SMOKE_REDIS_URL", "redis://127.0.0.1:6379/13"),
        "MEDIANEST_SECRET_KEY": "wheel-smoke-secret-key-0123456789abcdef",
        "MEDIANEST_ADMIN_PASSWORD": PASSWORD,
    }
    server = Server(
        [str(bin_dir / "medianest"), "run", "--host", "127.0.0.1", "--port", str(port)], env, empty, work / "web.log"
    )
    try:
        server.wait_until_answering(f"{base}/healthz", timeout=90)
        page = requests.get(f"{base}/auth/login", timeout=30)
        check(
            page.status_code == 200 and "csrf_token" in page.text, f"the web process's sign-in page: {page.status_code}"
        )
        check("Booting worker" in server.text(), "the web process is not gunicorn")
        step("the production web process (gunicorn, medianest.wsgi:app) serves from an empty folder")
    finally:
        server.stop()


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="medianest-wheel-smoke-"))
    try:
        step(f"building the sdist and the wheel from it (work folder {work})")
        wheel = build(work)
        step(f"{wheel.name} carries the templates, migrations, static files and medianest.wsgi; installing it")
        bin_dir = install(work, wheel)
        empty = work / "empty"
        empty.mkdir()
        env = user_env(work, bin_dir)
        where = subprocess.run(  # noqa: S603
            [str(bin_dir / "python"), "-c", "import medianest; print(medianest.__file__)"],
            env=env,
            cwd=empty,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        check(where.startswith(str(work / "venv")), f"medianest is imported from {where}, not from the new virtualenv")
        embedded(work, bin_dir, env, empty)
        commands(work, bin_dir, env, empty)
        production(work, bin_dir, env, empty)
    except SmokeFailure as exc:
        print(
            f"wheel smoke test FAILED after {time.monotonic() - STARTED:.0f} s: {exc} (work folder {work})", flush=True
        )
        return 1
    except Exception as exc:  # anything unforeseen still ends with the closing line
        traceback.print_exc()
        print(f"wheel smoke test FAILED after {time.monotonic() - STARTED:.0f} s: {exc!r} (work folder {work})")
        return 1
    shutil.rmtree(work, ignore_errors=True)
    print(f"wheel smoke test passed in {time.monotonic() - STARTED:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
