"""The OpenAPI 3.1 document: valid, complete, plugin routes included, served as a page too."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

pytestmark = [pytest.mark.plugins("cardtest"), pytest.mark.sqlite_only]


def test_document_is_valid_openapi_31(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"] == "3.1.0"
    validate(spec)


def test_every_api_route_is_documented_including_plugins(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = rule.rule.replace("<", "{").replace(">", "}")
        path = __import__("re").sub(r"\{(?:\w+:)?(\w+)\}", r"{\1}", path)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, (path, method)
    echo = spec["paths"]["/api/v1/cardtest/echo"]["post"]
    body_ref = echo["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = spec["components"]["schemas"][body_ref.rsplit("/", 1)[-1]]
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"name", "count"}
    assert echo["security"] == [{"bearerAuth": []}, {"cookieAuth": []}]
    assert spec["paths"]["/api/v1/health"]["get"]["security"] == []
    items = spec["paths"]["/api/v1/cardtest/items"]["get"]
    assert {p["name"] for p in items["parameters"]} == {"page", "per_page"}


def test_docs_page_renders_every_operation(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/v1/cardtest/echo" in html and "/api/v1/auth/login" in html
