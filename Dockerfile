# syntax=docker/dockerfile:1
# MediaNest: one image for the web process, the Celery worker and beat; the
# command picks the role (see docker-compose.yml):
#   medianest run --host 0.0.0.0   (web: gunicorn + gevent when REDIS_URL is set)
#   medianest worker               (background jobs: downloads, status checks)
#   medianest beat                 (the periodic jobs' clock)
#   medianest db upgrade           (migrations, run once before the others)
# No secret is baked in: they come from the environment or Docker secrets (NAME_FILE).

ARG PYTHON_VERSION=3.11
ARG DEBIAN_RELEASE=trixie

# ---------------------------------------------------------------- front-end libraries
# htmx, the Socket.IO client and Swagger UI from the npm registry, as pinned in package-lock.json.
FROM node:22-${DEBIAN_RELEASE}-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --omit=dev --no-audit --no-fund --loglevel=error

# ---------------------------------------------------------------- the wheel
# Built as anywhere else (setup.py copies the front-end libraries from
# node_modules into the package); the image installs this wheel, not the source.
FROM python:${PYTHON_VERSION}-slim-${DEBIAN_RELEASE} AS wheel
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml setup.py MANIFEST.in README.md package.json package-lock.json ./
COPY medianest ./medianest
COPY plugins ./plugins
COPY --from=assets /build/node_modules ./node_modules
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /dist .

# ---------------------------------------------------------------- Python packages
FROM python:${PYTHON_VERSION}-slim-${DEBIAN_RELEASE} AS python
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
# --upgrade-deps: the image's own pip backtracks for minutes over celery's and Flask-Limiter's Redis extras.
RUN python -m venv --upgrade-deps /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# The dependencies first (from pyproject.toml), so a code change does not reinstall them.
COPY pyproject.toml /tmp/
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('/tmp/pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt
COPY --from=wheel /dist /dist
RUN pip install --no-cache-dir --no-deps /dist/*.whl \
    && pip check \
    && python -m compileall -q /opt/venv/lib

# ---------------------------------------------------------------- runtime
FROM python:${PYTHON_VERSION}-slim-${DEBIAN_RELEASE}

LABEL org.opencontainers.image.title="MediaNest" \
      org.opencontainers.image.description="A self-hosted portal for a Plex household" \
      org.opencontainers.image.licenses="MIT"

# ffmpeg merges and converts yt-dlp's downloads; postgresql-client brings pg_dump
# for `medianest backup`; tini reaps the worker's child processes and forwards signals.
# Versions come with the pinned Debian release; apt pins would break on its security updates.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg postgresql-client tini \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 1000 medianest \
    && useradd --system --uid 1000 --gid medianest --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin medianest \
    && mkdir -p /data /downloads \
    && chown medianest:medianest /data /downloads

COPY --from=python /opt/venv /opt/venv
COPY docker/entrypoint.sh /app/docker/entrypoint.sh

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MEDIANEST_DATA_DIR=/data \
    MEDIANEST_YOUTUBE_DOWNLOAD_ROOT=/downloads

WORKDIR /app
USER 1000:1000
EXPOSE 5000

# Liveness only (/healthz does no I/O); readiness is /api/v1/health.
HEALTHCHECK --interval=30s --timeout=5s --start-period=40s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5000/healthz', timeout=4)"]

ENTRYPOINT ["tini", "--", "/app/docker/entrypoint.sh"]
CMD ["medianest", "run", "--host", "0.0.0.0", "--port", "5000"]
