"""/api/docs in a real Chromium: Swagger UI served by MediaNest, "try it" answering real calls."""

from __future__ import annotations

import pytest

from tests.conftest import browser_sign_in

pytestmark = [pytest.mark.browser]


def operation(page, method: str, path: str):
    block = page.locator(f".opblock-{method}", has=page.locator(f".opblock-summary-path[data-path='{path}']"))
    block.locator(".opblock-summary-control").click()
    return block


def execute(block):
    block.locator("button.try-out__btn").click()
    block.locator("button.execute").click()
    status = block.locator(".live-responses-table .response .response-col_status").first
    status.wait_for()
    return status.inner_text().strip(), block.locator(".live-responses-table tbody")


def test_try_it_answers_with_the_session_and_csrf_token(live_server_factory, page):
    server = live_server_factory()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(server.url) else None)
    browser_sign_in(page, server)
    page.goto(server.url + "/api/docs")
    page.locator("#api-explorer .swagger-ui .info .title").wait_for()
    assert "MediaNest" in page.locator("#api-explorer .info .title").inner_text()
    # The page is the explorer, not the whole document spelled out.
    assert page.evaluate("document.documentElement.scrollHeight") < 15_000

    status, body = execute(operation(page, "get", "/api/v1/auth/session"))
    assert status == "200"
    assert '"role": "admin"' in body.inner_text()

    # A state-changing call: the page's CSRF token goes along, so the server takes it.
    create = operation(page, "post", "/api/v1/auth/tokens")
    create.locator("button.try-out__btn").click()
    create.locator("textarea.body-param__text").fill('{"name": "made in the explorer"}')
    create.locator("button.execute").click()
    status = create.locator(".live-responses-table .response .response-col_status").first
    status.wait_for()
    assert status.inner_text().strip() == "201", create.locator(".live-responses-table").inner_text()
    assert "made in the explorer" in create.locator(".live-responses-table tbody").inner_text()

    http = server.session()
    names = [t["name"] for t in http.get(server.url + "/api/v1/auth/tokens", timeout=10).json()["data"]]
    assert "made in the explorer" in names
    assert problems == [] and outside == []


def test_try_it_with_an_api_token_and_no_session(live_server_factory, page):
    server = live_server_factory()
    http = server.session()
    made = http.post(server.url + "/api/v1/auth/tokens", json={"name": "explorer"}, timeout=10)
    secret = made.json()["data"]["token"]
    page.goto(server.url + "/api/docs")
    page.locator("#api-explorer .swagger-ui .info .title").wait_for()
    page.locator("button.authorize").first.click()
    dialog = page.locator(".dialog-ux .modal-ux")
    bearer = dialog.locator(".auth-container", has=page.locator("h4", has_text="bearerAuth"))
    bearer.locator("input").fill(secret)
    bearer.locator("button.authorize").click()
    dialog.locator("button.btn-done").first.click()

    status, body = execute(operation(page, "get", "/api/v1/auth/session"))
    assert status == "200"
    assert '"role": "admin"' in body.inner_text()


def test_without_javascript_the_page_lists_every_operation(live_server_factory, browser):
    server = live_server_factory()
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(server.url + "/api/docs")
        listed = page.locator(".api-operations li")
        assert listed.count() > 20
        assert "GET /api/v1/auth/session" in page.locator(".api-operations").inner_text()
    finally:
        context.close()
