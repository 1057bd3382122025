"""The core's caches for plugins (medianest.plugins.cache): answers with a time limit, posters on disk."""

from __future__ import annotations

import logging
import os
import time

import pytest

from medianest.plugins.api import ApiError
from medianest.plugins.cache import Cache, PosterCache, poster_response, redis_client
from medianest.plugins.db import redis_client as db_redis_client
from medianest.testing.apps import build_app, dispose, make_settings

pytestmark = pytest.mark.sqlite_only


class Counter:
    """A ``compute`` that says how often it ran."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> dict:
        self.calls += 1
        return {"answer": self.calls, "items": [1, 2]}


def test_in_memory_a_value_is_kept_for_its_time_and_cleared_at_once(app):
    answers = Cache("cachetest")
    compute = Counter()
    with app.app_context():
        assert redis_client() is None  # embedded: the memory store
        assert answers.get("k") is None
        assert answers.get_or_compute("k", 60, compute) == {"answer": 1, "items": [1, 2]}
        assert answers.get_or_compute("k", 60, compute) == {"answer": 1, "items": [1, 2]}
        assert compute.calls == 1
        answers.get("k")["items"].append(3)  # a hit is a copy: changing it changes nothing kept
        assert answers.get("k") == {"answer": 1, "items": [1, 2]}

        answers.set("short", "soon gone", 0.05)
        assert answers.get("short") == "soon gone"
        time.sleep(0.1)
        assert answers.get("short") is None

        assert answers.get_or_compute("never", 0, compute) == {"answer": 2, "items": [1, 2]}
        assert answers.get("never") is None  # a ttl of 0 keeps nothing

        answers.set("none", None, 60)
        assert answers.get_or_compute("none", 60, compute) is None  # a kept None is a hit, not a miss

        Cache("othercache").set("k", "other", 60)
        answers.clear()
        assert answers.get("k") is None and answers.get("none") is None
        assert Cache("othercache").get("k") == "other"  # clearing one cache leaves the others


def test_two_apps_in_one_process_never_share_answers(app, tmp_path):
    other = build_app(make_settings(tmp_path / "other", None))
    with app.app_context():
        Cache("cachetest").set("k", "first app", 60)
    with other.app_context():
        assert Cache("cachetest").get("k") is None
    dispose(other)


@pytest.mark.redis
@pytest.mark.settings(redis_url="use-test-redis")
def test_with_redis_every_process_shares_the_cache_and_its_generation(app, tmp_path):
    answers = Cache("cachetest")
    with app.app_context():
        client = redis_client(answers.timeout)
        assert client is not None and client is db_redis_client(answers.timeout)  # the one pooled client
        answers.set("k", {"v": 1}, 60)
        assert client.get("medianest:cachetest:cache:0:k") == b'{"v": 1}'
        assert 0 < client.pttl("medianest:cachetest:cache:0:k") <= 60_000
        url = app.config["MEDIANEST"].redis_url
    # Another app on the same Redis stands for another process: it sees the value, and its clear counts here.
    other = build_app(make_settings(tmp_path / "other", None, url))
    with other.app_context():
        assert Cache("cachetest").get("k") == {"v": 1}
        Cache("cachetest").clear()
    dispose(other)
    with app.app_context():
        assert client.get("medianest:cachetest:generation") is None
        assert client.get("medianest:cachetest:cache:generation") == b"1"
        assert answers.get("k") is None
        answers.set("k", {"v": 2}, 60)
        assert client.get("medianest:cachetest:cache:1:k") == b'{"v": 2}'


@pytest.mark.settings(redis_url="redis://127.0.0.1:1/0")
def test_a_redis_that_is_down_means_no_caching_never_an_error(app, caplog):
    answers = Cache("cachetest")
    compute = Counter()
    with app.app_context(), caplog.at_level(logging.WARNING, logger="medianest.cache"):
        assert answers.get_or_compute("k", 60, compute) == {"answer": 1, "items": [1, 2]}
        assert answers.get_or_compute("k", 60, compute) == {"answer": 2, "items": [1, 2]}
        answers.set("k", "x", 60)
        assert answers.get("k") is None
        answers.clear()
    assert "the cachetest cache is unavailable: ConnectionError" in caplog.text


def test_a_poster_is_fetched_once_then_served_from_disk_and_pruned_when_unused(app, user_client):
    posters = PosterCache("cachetest-posters", ("image/png", "image/jpeg"))
    fetched: list[str] = []

    def fetch(body: bytes, kind: str):
        def run() -> tuple[bytes, str]:
            fetched.append(kind)
            return body, kind

        return run

    with app.app_context():
        file, kind = posters.poster("server", "/a.png", fetch=fetch(b"\x89PNG a", "image/png"))
        assert (file.read_bytes(), kind, file.suffix) == (b"\x89PNG a", "image/png", ".png")
        assert file.parent == app.config["MEDIANEST"].data_dir.resolve() / "cache" / "cachetest-posters"
        assert posters.poster("server", "/a.png", fetch=fetch(b"other", "image/png")) == (file, "image/png")
        assert fetched == ["image/png"]
        with pytest.raises(ApiError) as refused:
            posters.poster("server", "/b.gif", fetch=fetch(b"GIF89a", "image/gif"))
        assert refused.value.code == "SERVICE_BAD_ANSWER" and refused.value.status == 502
        other, _ = posters.poster("server", "/c.jpg", fetch=fetch(b"\xff\xd8 c", "image/jpeg"))
        assert sorted(p.name for p in posters.folder().iterdir()) == sorted([file.name, other.name])

        old = time.time() - 40 * 86400
        os.utime(file, (old, old))
        os.utime(other, (old, old))
        with app.test_request_context():
            response = poster_response(file, "image/png")  # serving one marks it used
            response.close()
        assert response.headers["Cache-Control"] == "private, max-age=86400"
        assert response.mimetype == "image/png"
        assert posters.prune() == 1
        assert [p.name for p in posters.folder().iterdir()] == [file.name]
