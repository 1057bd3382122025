"""The container files, checked without a Docker engine.

hadolint on the Dockerfile; docker-compose.yml against the Compose
Specification's JSON schema (the copy check-jsonschema ships); and what the
stack promises: health checks, start order, volumes, secrets as files, one
migrating service, every setting documented.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
APP_SERVICES = ("migrate", "web", "worker", "beat")

pytestmark = pytest.mark.sqlite_only


def _tool(name: str) -> str:
    path = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(path).exists():
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'")
    return path


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


# ------------------------------------------------------------------ Dockerfile
def test_hadolint_finds_nothing():
    result = subprocess.run(
        [_tool("hadolint"), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_would_complain_about_a_bad_dockerfile(tmp_path):
    """The check can fail: a root image with an unpinned latest tag is reported."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install ffmpeg\n")
    result = subprocess.run([_tool("hadolint"), "--no-color", str(bad)], capture_output=True, text=True, check=False)
    assert result.returncode != 0 and "DL3007" in result.stdout


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            rows.append((word.upper(), rest.strip()))
    return rows


def test_dockerfile_shape():
    rows = _instructions()
    stages = [rest for word, rest in rows if word == "FROM"]
    assert len(stages) >= 3, "node assets, Python build, runtime"
    assert any(s.startswith("node:") for s in stages) and any("slim" in s for s in stages)
    runtime = rows[max(i for i, (w, _) in enumerate(rows) if w == "FROM") :]
    user = [rest for word, rest in runtime if word == "USER"]
    assert user and user[-1].split(":")[0] not in ("0", "root")
    healthcheck = " ".join(rest for word, rest in runtime if word == "HEALTHCHECK")
    assert "/healthz" in healthcheck
    installs = " ".join(rest for word, rest in runtime if word == "RUN")
    assert "ffmpeg" in installs and "postgresql-client" in installs
    assert "yt-dlp" in (ROOT / "pyproject.toml").read_text()
    assert "npm ci" in " ".join(rest for word, rest in rows if word == "RUN")
    # No secret is baked in: no ENV/ARG sets a key, password or token.
    for word, rest in rows:
        if word in ("ENV", "ARG"):
            assert not re.search(r"(SECRET|PASSWORD|TOKEN|API_KEY)\w*=", rest), rest
    entry = [rest for word, rest in runtime if word == "ENTRYPOINT"][-1]
    assert "/app/docker/entrypoint.sh" in entry
    assert json.loads([rest for word, rest in runtime if word == "CMD"][-1])[:2] == ["medianest", "run"]


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for word, rest in _instructions():
        if word == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((word, rest))
    return stages


def test_the_image_installs_the_built_wheel_not_the_source_tree():
    """What runs in the container is the wheel every user installs: its templates, migrations and vendor files."""
    stages = _stages()
    runs = [" ".join(rest for word, rest in stage if word == "RUN") for stage in stages]
    builds = [i for i, run in enumerate(runs) if "pip wheel" in run or "-m build" in run]
    installs = [i for i, run in enumerate(runs) if re.search(r"pip install [^&]*\.whl", run)]
    assert builds and installs and builds[0] < installs[0], runs
    assert not any(re.search(r"pip install [^&]*(-e|--editable)\b", run) for run in runs)
    build_stage = stages[builds[0]]
    assert any(word == "COPY" and "node_modules" in rest for word, rest in build_stage), "the build gets npm's files"
    runtime_copies = [rest for word, rest in stages[-1] if word == "COPY"]
    for rest in runtime_copies:
        sources = rest.split()[:-1]
        assert not {"medianest", "plugins", "wsgi.py", "/app"} & {s.rstrip("/") for s in sources}, rest
        assert "node_modules" not in rest, rest


def test_everything_the_dockerfile_copies_is_in_the_build_context():
    ignore = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert ignore[0] == "*", ".dockerignore starts from nothing and lets in what the image needs"
    for word, rest in _instructions():
        if word == "COPY" and "--from" not in rest:
            for source in rest.split()[:-1]:
                assert (ROOT / source).exists(), source
                assert source.rstrip("/") in allowed, f"{source} is not let into the build context"
    assert os.access(ROOT / "docker" / "entrypoint.sh", os.X_OK)
    assert "docker/secrets/" in ignore


# ------------------------------------------------------------------ compose
def _compose_schema() -> dict:
    schema = resources.files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json")
    return json.loads(schema.read_text())


def test_compose_file_matches_the_compose_specification(compose):
    import jsonschema

    validator = jsonschema.Draft7Validator(_compose_schema())
    errors = sorted(validator.iter_errors(compose), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)


def test_the_schema_check_can_fail(compose):
    import jsonschema

    broken = json.loads(json.dumps(compose))
    broken["services"]["web"]["depends_on"]["migrate"]["condition"] = "service_finished"
    assert list(jsonschema.Draft7Validator(_compose_schema()).iter_errors(broken))


def test_compose_services_start_in_order_and_check_their_health(compose):
    services = compose["services"]
    assert {"postgres", "redis", *APP_SERVICES, "proxy"} <= set(services)
    for name in ("postgres", "redis", "web", "worker"):
        assert "test" in services[name]["healthcheck"], f"{name} has a health check"
    for name in ("web", "worker", "beat"):
        needs = services[name]["depends_on"]
        assert needs["migrate"]["condition"] == "service_completed_successfully"
        assert needs["postgres"]["condition"] == "service_healthy"
        assert needs["redis"]["condition"] == "service_healthy"
    assert services["migrate"]["command"] == ["medianest", "db", "upgrade"]
    assert services["migrate"]["restart"] == "no"
    migrating = [n for n, s in services.items() if "upgrade" in json.dumps(s.get("command", ""))]
    assert migrating == ["migrate"], "exactly one service migrates, so two starters never race"
    assert services["web"]["command"][:4] == ["medianest", "run", "--host", "0.0.0.0"]
    assert services["worker"]["command"][:2] == ["medianest", "worker"]
    assert services["beat"]["command"] == ["medianest", "beat"]
    assert services["proxy"]["profiles"] == ["proxy"]


def test_compose_keeps_state_in_named_volumes(compose):
    volumes = set(compose["volumes"])
    assert {"db", "redis", "data", "downloads"} <= volumes
    services = compose["services"]
    assert "db:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "redis:/data" in services["redis"]["volumes"]
    for name in ("web", "worker"):
        assert {"data:/data", "downloads:/downloads"} <= set(services[name]["volumes"])


def test_compose_passes_secrets_as_files(compose):
    assert all("file" in spec for spec in compose["secrets"].values())
    for name, service in compose["services"].items():
        env = service.get("environment") or {}
        for key, value in env.items():
            if re.search(r"SECRET|PASSWORD|TOKEN|API_KEY|DATABASE_URL", key) and not key.endswith("_FILE"):
                pytest.fail(f"{name}: {key} is set in the compose file; give it as {key}_FILE (a Docker secret)")
            if key.endswith("_FILE"):
                secret = Path(str(value)).name
                assert value == f"/run/secrets/{secret}" and secret in service["secrets"], (name, key)
    app_env = compose["services"]["web"]["environment"]
    assert {"DATABASE_URL_FILE", "MEDIANEST_SECRET_KEY_FILE"} <= set(app_env) and "REDIS_URL" in app_env


def test_worker_stops_without_losing_jobs(compose):
    worker = compose["services"]["worker"]
    assert worker["environment"]["REMAP_SIGTERM"] == "SIGQUIT"
    assert any(str(arg).startswith("worker_soft_shutdown_timeout=") for arg in worker["command"])
    web = compose["services"]["web"]

    def seconds(value: str) -> int:
        return int(value.rstrip("s"))

    from medianest import gunicorn_conf

    assert seconds(web["stop_grace_period"]) > gunicorn_conf.graceful_timeout


def test_web_port_can_be_kept_off_the_network_and_trusts_only_caddy(compose):
    """With the proxy profile the web port can be published on loopback only, and
    X-Forwarded-* counts only from Caddy's fixed address."""
    import ipaddress

    web, proxy = compose["services"]["web"], compose["services"]["proxy"]
    assert web["ports"] == ["${MEDIANEST_PUBLISH_ADDR:-0.0.0.0}:${MEDIANEST_PORT:-5000}:5000"]
    env_example = (ROOT / ".env.example").read_text()
    assert re.search(r"^#MEDIANEST_PUBLISH_ADDR=0\.0\.0\.0$", env_example, re.MULTILINE)
    guide = (ROOT / "docs" / "install-compose.md").read_text()
    proxy_steps = guide.split("## 3. HTTPS with the proxy profile", 1)[1].split("\n## ", 1)[0]
    assert "MEDIANEST_PUBLISH_ADDR=127.0.0.1" in proxy_steps and "MEDIANEST_BEHIND_PROXY=true" in proxy_steps
    caddy_address = proxy["networks"]["edge"]["ipv4_address"]
    subnet = compose["networks"]["edge"]["ipam"]["config"][0]["subnet"]
    assert ipaddress.ip_address(caddy_address) in ipaddress.ip_network(subnet)
    assert set(web["networks"]) == {"default", "edge"}
    trusted = web["environment"]["MEDIANEST_TRUSTED_PROXIES"]
    assert trusted == f"${{MEDIANEST_TRUSTED_PROXIES:-{caddy_address}}}"
    # web keeps every other setting the app services share.
    assert web["environment"]["REDIS_URL"] == compose["services"]["worker"]["environment"]["REDIS_URL"]


def test_proxy_passes_websocket_and_forwarded_headers():
    caddyfile = (ROOT / "docker" / "Caddyfile").read_text()
    assert "reverse_proxy web:5000" in caddyfile
    assert "{$MEDIANEST_DOMAIN" in caddyfile  # a site address: Caddy serves it over HTTPS
    assert "flush_interval -1" in caddyfile


def test_gunicorn_settings_suit_socketio():
    from medianest import gunicorn_conf

    assert gunicorn_conf.worker_class == "gevent"
    assert gunicorn_conf.workers == 1
    assert gunicorn_conf.graceful_timeout < gunicorn_conf.timeout
    assert callable(gunicorn_conf.post_fork) and callable(gunicorn_conf.on_starting)


# ------------------------------------------------------------------ every setting documented
def _documented_settings(app) -> set[str]:
    from medianest.settings import Settings, _env_names

    names = {_env_names(field, name)[0] for name, field in Settings.model_fields.items()}
    host = app.extensions["medianest.plugins"]
    with app.app_context():
        for _plugin, definition in host.collect("service_settings"):
            for field in definition.fields:
                names.add(f"MEDIANEST_{definition.service.upper()}_{field.name.upper()}")
        names.update(limit.setting for _plugin, limit in host.collect("rate_limits"))
    return names


@pytest.mark.parametrize("document", [".env.example", "docs/configuration.md"])
def test_every_setting_is_documented(app, document):
    text = (ROOT / document).read_text()
    missing = sorted(name for name in _documented_settings(app) if not re.search(rf"\b{name}\b", text))
    assert not missing, f"add these settings, with their defaults, to {document}: {', '.join(missing)}"


def test_env_example_shows_the_defaults(app):
    from medianest.settings import Settings, _env_names

    text = (ROOT / ".env.example").read_text()
    for name, field in Settings.model_fields.items():
        env = _env_names(field, name)[0]
        default = field.default
        if default is None or isinstance(default, Path):
            continue
        shown = {True: "true", False: "false"}.get(default, str(default))
        values = re.findall(rf"^#?{env}=(.*)$", text, re.MULTILINE)
        assert values, env
        assert any(v == shown or (isinstance(default, float) and v == f"{default:g}") for v in values), (env, values)
