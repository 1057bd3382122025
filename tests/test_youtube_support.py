"""Shared helpers for the youtube plugin's tests (not a test module itself)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.standins.media_feed import MediaFeedStandin


@pytest.fixture(name="feed")
def feed_fixture():
    standin = MediaFeedStandin()
    standin.start()
    yield standin
    standin.stop()


@pytest.fixture(name="yt_env")
def yt_env_fixture(monkeypatch, tmp_path) -> Path:
    """The youtube settings every test uses: the local host allowed, a private download root."""
    root = tmp_path / "downloads"
    for name, value in {
        "ALLOWED_HOSTS": "127.0.0.1,youtube.com,www.youtube.com,youtu.be",
        "ALLOWED_PRIVATE": "127.0.0.1",  # the media feed stand-in is on loopback
        "DOWNLOAD_ROOT": str(root),
        "SOCKET_TIMEOUT": "5",
        "RETRIES": "1",
        "RETRY_BACKOFF": "0.1",
        "MIN_FREE_GB": "0",
        "QUOTA_GB": "1",
    }.items():
        monkeypatch.setenv(f"MEDIANEST_YOUTUBE_{name}", value)
    return root


def row_of(app, download_id: int):
    from medianest_youtube.models import Download

    from medianest.extensions import db

    with app.app_context():
        row = db.session.get(Download, download_id)
        if row is not None:
            db.session.expunge(row)
        return row


def run_job(app, download_id: int) -> None:
    """Run the download the way the Celery task does, in this thread."""
    from medianest_youtube.job import DownloadJob

    task_id = row_of(app, download_id).task_id
    assert task_id, "the download was not given to a worker"
    with app.app_context():
        DownloadJob(download_id, task_id).run()


def run_job_in_thread(app, download_id: int) -> threading.Thread:
    thread = threading.Thread(target=run_job, args=(app, download_id), daemon=True)
    thread.start()
    return thread


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def person_folder(root: Path, display_name: str | None, user_id: int) -> Path:
    """Where a person's downloads go: their readable folder name, chosen on their first download."""
    from medianest_youtube.paths import readable_folder_name

    return root / readable_folder_name(display_name, user_id)
