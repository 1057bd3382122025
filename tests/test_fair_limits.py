"""Limits count accepted work only, spare admins unless told otherwise, and a 429 keeps the form."""

from __future__ import annotations

import re

import pytest

from tests.test_youtube_support import yt_env_fixture  # noqa: F401

API = "/api/v1/youtube/downloads"
HTMX = {"HX-Request": "true"}


@pytest.mark.sqlite_only
@pytest.mark.env(MEDIANEST_RATE_LIMIT_YOUTUBE="2/hour")
def test_refused_submissions_cost_nothing_and_the_third_accepted_one_is_refused(app, user_client, yt_env):
    for bad in ("not a url", "http://10.0.0.1/x", "ftp://youtube.com/x"):  # refused: not counted
        assert user_client.post(API, json={"url": bad}).status_code == 400
        assert user_client.post("/youtube/", data={"url": bad, "format": "best"}).status_code == 400
    assert user_client.post(API, json={"url": "https://youtu.be/a"}).status_code == 201
    assert user_client.post(API, json={"url": "https://youtu.be/a"}).status_code == 409  # duplicate: not counted
    assert user_client.post("/youtube/", data={"url": "https://youtu.be/b", "format": "best"}).status_code == 303
    refused = user_client.post(API, json={"url": "https://youtu.be/c"})
    assert refused.status_code == 429
    for _ in range(3):  # refusals past the limit do not push the window on either
        assert user_client.post(API, json={"url": "https://youtu.be/c"}).status_code == 429


@pytest.mark.sqlite_only
@pytest.mark.env(MEDIANEST_RATE_LIMIT_YOUTUBE="1/hour")
def test_a_429_on_the_form_keeps_what_was_typed_and_names_the_real_wait(app, user_client, yt_env):
    assert user_client.post("/youtube/", data={"url": "https://youtu.be/a", "format": "best"}).status_code == 303
    typed = "https://www.youtube.com/playlist?list=PLkeep"
    for headers, whole_page in ((HTMX, False), ({}, True)):
        answer = user_client.post("/youtube/", data={"url": typed, "format": "720p"}, headers=headers)
        assert answer.status_code == 429
        page = answer.get_data(as_text=True)
        wait = int(answer.headers["Retry-After"])
        assert 3500 < wait <= 3601
        assert f"Try again in {wait} s" in page and "about 1 hours" not in page
        assert f'value="{typed}"' in page and re.search(r'<option value="720p"\s+selected', page)
        assert ("<html" in page) is whole_page  # htmx gets the form alone, swapped in place
        assert 'data-code="RATE_LIMITED"' in page


@pytest.mark.sqlite_only
@pytest.mark.env(MEDIANEST_RATE_LIMIT_YOUTUBE="1/hour", MEDIANEST_RATE_LIMIT_MEDIA_REQUESTS="1/hour")
def test_admins_are_exempt_by_default(app, admin_client, yt_env):
    for n in range(3):
        assert admin_client.post(API, json={"url": f"https://youtu.be/{n}"}).status_code == 201


@pytest.mark.sqlite_only
@pytest.mark.env(MEDIANEST_RATE_LIMIT_YOUTUBE="1/hour")
@pytest.mark.settings(rate_limit_exempt_admins=False)
def test_admins_count_when_the_setting_says_so(app, admin_client, yt_env):
    assert admin_client.post(API, json={"url": "https://youtu.be/a"}).status_code == 201
    refused = admin_client.post(API, json={"url": "https://youtu.be/b"})
    assert refused.status_code == 429
    wait = int(refused.headers["Retry-After"])
    assert f"Try again in {wait} s" in refused.get_json()["error"]["message"]
