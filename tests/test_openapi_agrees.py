"""The OpenAPI document says what the code does: paging, the file route's media types, the download body."""

from __future__ import annotations

import jsonschema
import pytest
from werkzeug.http import parse_options_header

from tests.test_youtube_support import feed_fixture, run_job, yt_env_fixture  # noqa: F401

API = "/api/v1/youtube/downloads"
pytestmark = [pytest.mark.sqlite_only]  # what the document says does not depend on the database engine


def _operation(spec: dict, path: str, method: str) -> dict:
    return spec["paths"][path][method]


def _media_type_listed(content_type: str, listed: list[str]) -> bool:
    """``content_type`` matches one of ``listed`` (OpenAPI media type ranges: ``video/*``, ``*/*``)."""
    kind, _ = parse_options_header(content_type)
    major, _, minor = kind.partition("/")
    for entry in listed:
        want_major, _, want_minor = entry.partition("/")
        if want_major in ("*", major) and want_minor in ("*", minor):
            return True
    return False


def test_page_with_before_is_refused_as_the_document_says(app, user_client, yt_env):
    spec = user_client.get("/api/v1/openapi.json").get_json()
    cursor_lists = [
        (path, ops["get"])
        for path, ops in spec["paths"].items()
        if "get" in ops and {"page", "before"} <= {p["name"] for p in ops["get"].get("parameters", [])}
    ]
    assert [path for path, _ in cursor_lists if path == API] == [API]
    for path, operation in cursor_lists:
        params = {p["name"]: p for p in operation["parameters"]}
        assert "before" in params["page"].get("description", ""), path
        assert "page" in params["before"].get("description", ""), path
        assert "400" in operation["responses"], path

    refused = user_client.get(f"{API}?page=2&before=5")
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "VALIDATION_ERROR"
    assert user_client.get(f"{API}?page=1&before=5").status_code == 200  # page 1 is the default: allowed


def test_the_file_route_documents_the_media_types_it_sends(app, user_client, yt_env, feed):
    feed.add_playlist("doc", "Doc", [("Clip", 30_000)])
    download_id = user_client.post(API, json={"url": feed.url_for_playlist("doc"), "format": "best"}).get_json()[
        "data"
    ]["id"]
    run_job(app, download_id)

    spec = user_client.get("/api/v1/openapi.json").get_json()
    operation = _operation(spec, API + "/{download_id}/files/{n}", "get")
    whole = user_client.get(f"{API}/{download_id}/files/0")
    assert whole.status_code == 200 and whole.data == feed.content_of("doc-1")
    assert whole.mimetype == "video/mp4"
    assert _media_type_listed(whole.content_type, list(operation["responses"]["200"]["content"]))

    part = user_client.get(f"{API}/{download_id}/files/0", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206
    assert "206" in operation["responses"]
    assert _media_type_listed(part.content_type, list(operation["responses"]["206"]["content"]))


def test_an_empty_url_is_refused_by_the_documented_schema_and_the_code(app, user_client, yt_env):
    spec = user_client.get("/api/v1/openapi.json").get_json()
    body_ref = _operation(spec, API, "post")["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = {**spec["components"]["schemas"][body_ref.rsplit("/", 1)[-1]], "components": spec["components"]}
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({"url": "https://youtu.be/x", "format": "best"})

    for url in ("", "   "):
        answer = user_client.post(API, json={"url": url, "format": "best"})
        assert answer.status_code == 400
        assert answer.get_json()["error"]["code"] == "VALIDATION_ERROR"
        assert answer.get_json()["error"]["details"]["fields"][0]["field"] == "url"
    assert not validator.is_valid({"url": "", "format": "best"})  # the document refuses it too

    page = user_client.post("/youtube/", data={"url": "", "format": "best"})
    assert page.status_code == 400
    assert "Paste the address of a video or playlist." in page.get_data(as_text=True)
