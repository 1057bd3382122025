"""A card's time is bounded: a card whose service hangs for 30 s holds neither the dashboard nor the other cards."""

from __future__ import annotations

import re
import threading
import time

import pytest
import requests

from tests.conftest import browser_sign_in

BUDGET = 0.5  # MEDIANEST_CARD_BUDGET_SECONDS for the live servers here
HX = {"HX-Request": "true"}


def _card(html: str, card_id: str) -> str:
    """The ``<section>`` of one card in a page or fragment."""
    match = re.search(rf'<section id="card-{re.escape(card_id)}".*?</section>', html, flags=re.S)
    assert match, f"no card {card_id} in {html[:2000]}"
    return match.group(0)


def _timed_get(http: requests.Session, url: str, **kwargs) -> tuple[requests.Response, float]:
    started = time.perf_counter()
    response = http.get(url, timeout=60, **kwargs)
    return response, time.perf_counter() - started


@pytest.fixture
def slow_server(live_server_factory, installed_plugins):
    return live_server_factory(
        plugins=installed_plugins, env={"MEDIANEST_CARD_BUDGET_SECONDS": str(BUDGET), "SLOWCARD_SECONDS": "30"}
    )


@pytest.mark.plugins("slowcard")
def test_a_hung_card_holds_neither_the_page_nor_the_other_cards(slow_server):
    http = slow_server.session()
    page, took = _timed_get(http, slow_server.url + "/")
    assert page.status_code == 200
    assert took < 0.5, f"the dashboard took {took:.2f} s"
    slow = _card(page.text, "slowcard")
    assert 'data-card-state="pending"' in slow and 'hx-trigger="load, service.status from:body' in slow
    assert "finally" not in page.text  # the page did not render the card
    for other in ("slowcard-quick", "services"):
        assert 'data-card-state="pending"' in _card(page.text, other)

    # The slow card's own request answers "late" at its budget; the server is not held meanwhile.
    answers: dict[str, tuple[requests.Response, float]] = {}
    beside = requests.Session()
    beside.cookies.update(http.cookies)
    late = threading.Thread(
        target=lambda: answers.update(
            slow=_timed_get(beside, slow_server.url + "/dashboard/cards/slowcard", headers=HX)
        )
    )
    late.start()
    time.sleep(0.1)
    quick, quick_took = _timed_get(http, slow_server.url + "/dashboard/cards/slowcard-quick", headers=HX)
    again, again_took = _timed_get(http, slow_server.url + "/")
    late.join(30)
    response, late_took = answers["slow"]

    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert BUDGET <= late_took < BUDGET + 1.0, f"the late card answered after {late_took:.2f} s"
    card = _card(response.text, "slowcard")
    assert 'data-card-state="late"' in card and "took longer than 0.5 s" in card
    assert 'hx-trigger="load delay:15s, service.status from:body, socket.reconnected from:body"' in card
    assert "Try again now" in card and "finally" not in card

    assert quick.status_code == 200 and quick_took < 0.5
    assert 'data-card-state="ready"' in quick.text and 'data-answer="at once"' in quick.text
    assert again.status_code == 200 and again_took < 0.5, f"the page took {again_took:.2f} s beside the slow card"
    assert "card slowcard took longer than" in slow_server.log()


@pytest.mark.plugins("slowcard")
def test_without_javascript_the_cards_are_rendered_within_one_budget(slow_server):
    http = slow_server.session()
    page, took = _timed_get(http, slow_server.url + "/?cards=inline")
    assert page.status_code == 200
    assert BUDGET <= took < BUDGET + 1.0, f"the page with the cards in it took {took:.2f} s"
    assert 'data-card-state="late"' in _card(page.text, "slowcard")
    assert 'data-answer="at once"' in _card(page.text, "slowcard-quick")  # the card after the slow one too
    assert 'data-card-state="ready"' in _card(page.text, "services")
    assert 'http-equiv="refresh"' not in page.text

    # A card's own page (the link a late card or a frame offers without JavaScript).
    own, own_took = _timed_get(http, slow_server.url + "/dashboard/cards/slowcard")
    assert own.status_code == 200 and own_took < BUDGET + 1.0
    assert "<title>Slow card" in own.text and 'data-card-state="late"' in own.text


@pytest.mark.browser
@pytest.mark.plugins("slowcard")
def test_in_the_browser_the_slow_card_shows_as_late(slow_server, page):
    browser_sign_in(page, slow_server)
    page.locator("#card-slowcard-quick .quick-answer").wait_for(timeout=5_000)
    page.locator("#card-services[data-card-state='ready']").wait_for(timeout=5_000)  # the others load meanwhile
    page.locator("#card-slowcard[data-card-state='late']").wait_for(timeout=(BUDGET + 3) * 1000)
    assert "took longer than" in page.locator("#card-slowcard").inner_text()
    # "Try again now" asks at once, and the card comes back late again: the page is still usable.
    page.locator("#card-slowcard a", has_text="Try again now").click()
    page.locator("#card-slowcard[data-card-state='late']").wait_for(timeout=(BUDGET + 3) * 1000)
    assert page.locator("#card-slowcard-quick .quick-answer").inner_text() == "at once"


@pytest.mark.browser
@pytest.mark.plugins("slowcard")
def test_without_javascript_the_browser_is_sent_to_the_rendered_cards(slow_server, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        browser_sign_in(page, slow_server)
        page.wait_for_url(slow_server.url + "/?cards=inline")
        assert page.locator("#card-slowcard-quick .quick-answer").inner_text() == "at once"
        assert page.locator("#card-slowcard").get_attribute("data-card-state") == "late"
        page.locator("#card-slowcard a", has_text="Try again now").click()
        page.wait_for_url(slow_server.url + "/dashboard/cards/slowcard")
        assert page.locator("#card-slowcard").get_attribute("data-card-state") == "late"
    finally:
        context.close()


@pytest.mark.plugins("cardtest")
def test_the_page_sends_frames_and_each_card_loads_itself(admin_client):
    page = admin_client.get("/").get_data(as_text=True)
    frame = _card(page, "cardtest")
    assert 'data-card-state="pending"' in frame and 'aria-busy="true"' in frame
    assert 'hx-get="/dashboard/cards/cardtest"' in frame
    assert 'hx-trigger="load, cardtest.tick from:body, socket.reconnected from:body"' in frame
    assert "cardtest-count" not in page
    assert '<noscript><meta http-equiv="refresh" content="0; url=/?cards=inline"></noscript>' in page

    fragment = admin_client.get("/dashboard/cards/cardtest", headers=HX)
    text = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in text
    assert text.startswith('<section id="card-cardtest"') and 'data-card-state="ready"' in text
    assert 'hx-trigger="cardtest.tick from:body, socket.reconnected from:body"' in text

    own = admin_client.get("/dashboard/cards/cardtest").get_data(as_text=True)  # without JavaScript
    assert "<html" in own and 'data-card-state="ready"' in _card(own, "cardtest") and 'href="/"' in own

    inline = admin_client.get("/?cards=inline").get_data(as_text=True)
    assert 'data-count="0"' in _card(inline, "cardtest") and 'data-card-state="ready"' in _card(inline, "services")
    assert "http-equiv" not in inline
