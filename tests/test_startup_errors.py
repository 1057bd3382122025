"""A wrong setting stops MediaNest with ONE line naming it, never a traceback.

Each test runs the real commands in a subprocess, the way the container does:
``docker/entrypoint.sh`` then ``medianest run|worker|beat|db upgrade``, and
gunicorn with its config file (what ``medianest run`` starts in production).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
MEDIANEST = [sys.executable, "-c", "from medianest.cli import main; main()"]
NOBODY = 65534

pytestmark = pytest.mark.sqlite_only


def run(
    args: list[str], env: dict[str, str], user: int | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    base = {
        k: v for k, v in os.environ.items() if not k.startswith("MEDIANEST_") and k not in ("DATABASE_URL", "REDIS_URL")
    }
    base["PYTHONPATH"] = str(ROOT)
    kwargs = {}
    if user is not None and os.geteuid() == 0:
        kwargs = {"user": user, "group": user, "extra_groups": []}
    return subprocess.run(
        args, env={**base, **env}, capture_output=True, text=True, timeout=timeout, cwd=str(ROOT), check=False, **kwargs
    )


def the_one_line(result: subprocess.CompletedProcess, ignore_info: bool = False) -> str:
    """The process failed, said one thing on stderr and printed no traceback."""
    assert result.returncode != 0, result
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    if ignore_info:  # gunicorn's own "[INFO] Starting gunicorn" banner comes before its config hook
        lines = [line for line in lines if "[INFO]" not in line]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("medianest: "), lines[0]
    return lines[0]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    return folder


# ------------------------------------------------------------------ secret key
@pytest.mark.parametrize(
    "command",
    [["run", "--host", "127.0.0.1", "--port", "1"], ["worker"], ["beat"], ["db", "upgrade"]],
    ids=["run", "worker", "beat", "db-upgrade"],
)
def test_production_without_a_secret_key_names_the_setting(command, data_dir):
    env = {"MEDIANEST_DATA_DIR": str(data_dir), "REDIS_URL": "redis://127.0.0.1:6379/15"}
    line = the_one_line(run(["sh", str(ENTRYPOINT), *MEDIANEST, *command], env))
    assert "MEDIANEST_SECRET_KEY" in line
    assert "REDIS_URL" in line  # says why it is required


def test_gunicorn_started_by_hand_checks_settings_before_booting_a_worker(data_dir):
    env = {"MEDIANEST_DATA_DIR": str(data_dir), "REDIS_URL": "redis://127.0.0.1:6379/15"}
    result = run(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            "python:medianest.gunicorn_conf",
            "--bind",
            "127.0.0.1:0",
            "wsgi:app",
        ],
        env,
    )
    assert "MEDIANEST_SECRET_KEY" in the_one_line(result, ignore_info=True)
    assert "Booting worker" not in result.stderr


def test_secret_key_file_that_cannot_be_read_names_the_file_setting(data_dir, tmp_path):
    env = {
        "MEDIANEST_DATA_DIR": str(data_dir),
        "REDIS_URL": "redis://127.0.0.1:6379/15",
        "MEDIANEST_SECRET_KEY_FILE": str(tmp_path / "missing-secret"),
    }
    line = the_one_line(run([*MEDIANEST, "db", "upgrade"], env))
    assert "MEDIANEST_SECRET_KEY_FILE" in line and "missing-secret" in line


# ------------------------------------------------------------------ database URL
@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "mysql://medianest@db/medianest",
        "postgresql://",
        "postgresql://medianest@postgres:port/medianest",
        "postgresql://medianest@postgres:99999/medianest",
        "sqlite:",
        "sqlite:////no/such/folder/medianest.db",
    ],
)
def test_malformed_database_url_names_the_setting(url, data_dir):
    env = {"MEDIANEST_DATA_DIR": str(data_dir), "DATABASE_URL": url}
    line = the_one_line(run(["sh", str(ENTRYPOINT), *MEDIANEST, "db", "upgrade"], env))
    assert "DATABASE_URL" in line


def test_malformed_database_url_from_a_docker_secret_names_the_setting(data_dir, tmp_path):
    secret = tmp_path / "database_url"
    secret.write_text("postgresql://medianest:pw@postgres:54x2/medianest\n")
    env = {"MEDIANEST_DATA_DIR": str(data_dir), "DATABASE_URL_FILE": str(secret)}
    line = the_one_line(run([*MEDIANEST, "db", "upgrade"], env))
    assert "DATABASE_URL" in line and "pw" not in line  # the password is not echoed


def test_a_database_that_does_not_answer_names_the_setting(data_dir):
    from tests.support.services import free_port

    url = f"postgresql://medianest:secret-pw@127.0.0.1:{free_port()}/medianest"
    for command in (["db", "upgrade"], ["run", "--host", "127.0.0.1", "--port", "1"]):
        line = the_one_line(run([*MEDIANEST, *command], {"MEDIANEST_DATA_DIR": str(data_dir), "DATABASE_URL": url}))
        assert "DATABASE_URL" in line and "cannot connect" in line and "secret-pw" not in line


# ------------------------------------------------------------------ folders
@pytest.fixture
def open_tmp(tmp_path: Path):
    """A folder another user can reach (pytest's own tmp folders are private to root)."""
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="medianest-startup-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _unwritable_folder(tmp_path: Path) -> Path:
    """A folder the test's process user cannot write: root-owned for nobody, or mode 0555 for us."""
    folder = tmp_path / "readonly-volume"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


def _runner_user() -> int | None:
    return NOBODY if os.geteuid() == 0 else None


def _data_dir_for_runner(tmp_path: Path) -> Path:
    folder = tmp_path / "writable-data"
    folder.mkdir()
    if os.geteuid() == 0:
        os.chown(folder, NOBODY, NOBODY)
    return folder


def test_unwritable_download_volume_names_the_setting(open_tmp):
    downloads = _unwritable_folder(open_tmp)
    env = {
        "MEDIANEST_DATA_DIR": str(_data_dir_for_runner(open_tmp)),
        "MEDIANEST_YOUTUBE_DOWNLOAD_ROOT": str(downloads),
    }
    result = run(["sh", str(ENTRYPOINT), *MEDIANEST, "run"], env, user=_runner_user())
    line = the_one_line(result)
    assert "MEDIANEST_YOUTUBE_DOWNLOAD_ROOT" in line and str(downloads) in line and "not writable" in line
    assert not any(downloads.iterdir())  # the probe left nothing behind


def test_download_folder_from_a_file_setting_is_checked_too(open_tmp):
    downloads = _unwritable_folder(open_tmp)
    setting = open_tmp / "download_root"
    setting.write_text(str(downloads))
    setting.chmod(0o644)
    env = {
        "MEDIANEST_DATA_DIR": str(_data_dir_for_runner(open_tmp)),
        "MEDIANEST_YOUTUBE_DOWNLOAD_ROOT_FILE": str(setting),
    }
    line = the_one_line(run(["sh", str(ENTRYPOINT), *MEDIANEST, "worker"], env, user=_runner_user()))
    assert "MEDIANEST_YOUTUBE_DOWNLOAD_ROOT" in line and str(downloads) in line


def test_unwritable_instance_folder_names_the_setting(open_tmp):
    data = _unwritable_folder(open_tmp)
    line = the_one_line(
        run(["sh", str(ENTRYPOINT), *MEDIANEST, "run"], {"MEDIANEST_DATA_DIR": str(data)}, user=_runner_user())
    )
    assert "MEDIANEST_DATA_DIR" in line and str(data) in line


def test_default_download_folder_lives_in_the_instance_folder_and_is_created(open_tmp):
    """With the folders writable the entry point hands over to the command (here: ``true``)."""
    data = _data_dir_for_runner(open_tmp)
    result = run(["sh", str(ENTRYPOINT), "true"], {"MEDIANEST_DATA_DIR": str(data)}, user=_runner_user())
    assert result.returncode == 0, result.stderr
    assert (data / "downloads").is_dir()
    assert [p.name for p in (data / "downloads").iterdir()] == []


# ------------------------------------------------------------------ folders, without the container's entry point
# The commands run as this test's own user (the interpreter is not reachable by
# another one), so the folder must refuse even root: immutable (chattr +i).
@pytest.fixture
def locked_folder(tmp_path: Path):
    folder = tmp_path / "locked-volume"
    folder.mkdir()
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(folder)], check=True)
    else:
        folder.chmod(0o555)
    yield folder
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


@pytest.mark.parametrize("command", [["run", "--port", "1"], ["worker"]], ids=["run", "worker"])
def test_without_the_entrypoint_an_unwritable_download_folder_names_the_setting(command, data_dir, locked_folder):
    env = {"MEDIANEST_DATA_DIR": str(data_dir), "MEDIANEST_YOUTUBE_DOWNLOAD_ROOT": str(locked_folder)}
    line = the_one_line(run([*MEDIANEST, *command], env))
    assert "MEDIANEST_YOUTUBE_DOWNLOAD_ROOT" in line and str(locked_folder) in line and "not writable" in line
    assert not any(locked_folder.iterdir())


def test_without_the_entrypoint_an_unwritable_instance_folder_names_the_setting(locked_folder):
    line = the_one_line(run([*MEDIANEST, "worker"], {"MEDIANEST_DATA_DIR": str(locked_folder)}))
    assert "MEDIANEST_DATA_DIR" in line and str(locked_folder) in line


STORE_DOWNLOAD_ROOT = """
import sys
from medianest.app import create_app
from medianest.database_upgrade import upgrade_database
from medianest.service_settings import save_service_config
app = create_app()
upgrade_database(app)
with app.app_context():
    save_service_config("youtube", {"download_root": sys.argv[1]}, set())
"""


def test_a_download_folder_chosen_on_the_admin_page_is_checked_too(data_dir, locked_folder):
    env = {"MEDIANEST_DATA_DIR": str(data_dir)}
    stored = run([sys.executable, "-c", STORE_DOWNLOAD_ROOT, str(locked_folder)], env)
    assert stored.returncode == 0, stored.stderr
    line = the_one_line(run([*MEDIANEST, "worker"], env))
    assert "MEDIANEST_YOUTUBE_DOWNLOAD_ROOT" in line and str(locked_folder) in line and "not writable" in line


# ------------------------------------------------------------------ the port
@pytest.fixture
def busy_port():
    """A port something else already listens on."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    yield listener.getsockname()[1]
    listener.close()


@pytest.mark.parametrize("mode", ["embedded", "production"])
def test_a_port_in_use_names_the_port_and_the_fix(mode, busy_port, data_dir):
    env = {"MEDIANEST_DATA_DIR": str(data_dir)}
    if mode == "production":
        env |= {
            "REDIS_URL": "redis://127.0.0.1:6379/15",
            "MEDIANEST_SECRET_KEY": "startup-test-secret-0123456789abcdef",
        }
    line = the_one_line(run([*MEDIANEST, "run", "--host", "127.0.0.1", "--port", str(busy_port)], env))
    assert f"port {busy_port} on 127.0.0.1 is already in use" in line
    assert "--port" in line and f"PORT={busy_port + 1}" in line


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--port", "70000"], "choose a port from 1 to 65535"),
        (["--host", "no-such-host.invalid"], "cannot listen on no-such-host.invalid"),
        (["--host", "192.0.2.1"], "cannot listen on 192.0.2.1"),  # an address this machine does not have
    ],
    ids=["port-out-of-range", "unknown-host", "foreign-address"],
)
def test_an_address_that_cannot_be_listened_on_names_it(args, expected, data_dir):
    line = the_one_line(run([*MEDIANEST, "run", *args], {"MEDIANEST_DATA_DIR": str(data_dir)}))
    assert expected in line


def test_production_with_redis_not_answering_names_the_setting(data_dir):
    from tests.support.services import free_port

    env = {
        "MEDIANEST_DATA_DIR": str(data_dir),
        "REDIS_URL": f"redis://:redis-secret@127.0.0.1:{free_port()}/0",
        "MEDIANEST_SECRET_KEY": "startup-test-secret-0123456789abcdef",
    }
    line = the_one_line(run([*MEDIANEST, "run", "--port", str(free_port())], env))
    assert "setting REDIS_URL: cannot connect to redis://:***@127.0.0.1:" in line
    assert "redis-secret" not in line


# ------------------------------------------------------------------ what a start prints
def wait_for_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def start_until_listening(env: dict[str, str], port: int) -> list[str]:
    """``medianest run`` on ``port``: the lines it printed until it listens, then stopped with Ctrl-C."""
    base = {
        k: v for k, v in os.environ.items() if not k.startswith("MEDIANEST_") and k not in ("DATABASE_URL", "REDIS_URL")
    }
    base["PYTHONPATH"] = str(ROOT)
    proc = subprocess.Popen(
        [*MEDIANEST, "run", "--host", "127.0.0.1", "--port", str(port)],
        env={**base, **env},
        cwd=str(ROOT),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if "MediaNest is running on" in line:
                break
        else:
            raise AssertionError("\n".join(lines))
        wait_for_port(port)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return lines


def test_the_setup_link_names_the_port_it_listens_on_and_a_second_start_is_short(data_dir):
    from tests.support.services import free_port

    env = {"MEDIANEST_DATA_DIR": str(data_dir), "MEDIANEST_LOG_LEVEL": "info"}
    port = free_port()
    first = start_until_listening(env, port)
    links = [line for line in first if line.startswith("MediaNest: choose the admin password at ")]
    assert links and links[0].split(" at ")[1].startswith(f"http://127.0.0.1:{port}/setup/"), first
    assert first[-1] == f"MediaNest is running on http://127.0.0.1:{port} (Ctrl-C stops it)"

    port = free_port()
    second = start_until_listening(env, port)
    assert len(second) <= 15, second
    assert any(
        line.startswith(f"MediaNest: choose the admin password at http://127.0.0.1:{port}/setup/") for line in second
    )
    assert "Traceback" not in "\n".join(first + second)


def test_the_setup_link_uses_the_base_url_when_set(data_dir):
    from tests.support.services import free_port

    env = {"MEDIANEST_DATA_DIR": str(data_dir), "MEDIANEST_BASE_URL": "https://media.example.org/"}
    lines = start_until_listening(env, free_port())
    assert any(
        line.startswith("MediaNest: choose the admin password at https://media.example.org/setup/") for line in lines
    )


def test_a_start_with_the_admin_password_set_says_so_with_the_sign_in_address(data_dir):
    from tests.support.services import free_port

    port = free_port()
    env = {"MEDIANEST_DATA_DIR": str(data_dir), "MEDIANEST_ADMIN_PASSWORD": "a long enough admin password"}
    lines = start_until_listening(env, port)
    assert f"MediaNest: the admin password is already set; sign in at http://127.0.0.1:{port}/auth/login" in lines
    assert not any("choose the admin password" in line for line in lines)


# ------------------------------------------------------------------ scripts/start on a machine that lacks something
def older_python() -> str:
    """A real interpreter older than 3.11 from this machine (pyenv's, or the system's)."""
    import glob
    import shutil

    candidates = [shutil.which(name) for name in ("python3.10", "python3.9", "python3.8", "python2")]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/*/bin/python")), reverse=True)
    for path in filter(None, candidates):
        probe = subprocess.run(
            [path, "-c", "import sys; print(sys.version_info < (3, 11))"], capture_output=True, text=True, check=False
        )
        if probe.stdout.strip() == "True":
            return path
    pytest.fail("no Python older than 3.11 on this machine to try scripts/start with (pyenv install 3.10)")


@pytest.fixture
def fresh_copy(tmp_path: Path) -> Path:
    """The files scripts/start reads before it sets anything up, as in a fresh clone (no .venv)."""
    import shutil

    copy = tmp_path / "checkout"
    (copy / "scripts").mkdir(parents=True)
    for name in ("start", "setup"):
        shutil.copy2(ROOT / "scripts" / name, copy / "scripts" / name)
    for name in ("pyproject.toml", "setup.py", "package.json", "package-lock.json"):
        shutil.copy2(ROOT / name, copy / name)
    return copy


def test_start_with_an_old_python_says_which_is_needed_before_making_anything(fresh_copy):
    python = older_python()
    env = {"PYTHON": python, "PATH": os.environ["PATH"]}
    result = subprocess.run(
        [str(fresh_copy / "scripts" / "start")], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    line = the_one_line(result)
    assert "Python 3.11 or newer is needed" in line and "PYTHON=" in line
    assert not (fresh_copy / ".venv").exists()


def test_start_without_npm_says_what_to_install_before_making_anything(fresh_copy, tmp_path):
    import shutil

    bin_dir = tmp_path / "bin"  # the commands the scripts use, without npm
    bin_dir.mkdir()
    for tool in ("bash", "env", "dirname", "cat", "sha256sum", "cut"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    env = {"PATH": str(bin_dir), "PYTHON": sys.executable}
    result = subprocess.run(
        [str(fresh_copy / "scripts" / "start")], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    line = the_one_line(result)
    assert "npm is needed" in line and "Node.js" in line
    assert not (fresh_copy / ".venv").exists()


def test_start_with_an_unwritable_data_folder_names_the_setting(locked_folder):
    """Through the real scripts/start of this checkout (set up already: it starts at once)."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("MEDIANEST_") and k not in ("DATABASE_URL", "REDIS_URL")
    }
    env["MEDIANEST_DATA_DIR"] = str(locked_folder)
    result = subprocess.run(
        [str(ROOT / "scripts" / "start")], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode != 0 and "Traceback" not in result.stdout + result.stderr
    line = [line for line in result.stderr.splitlines() if line.strip()][-1]
    assert line.startswith("medianest: setting MEDIANEST_DATA_DIR") and str(locked_folder) in line
