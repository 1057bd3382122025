"""The events catalogue: every event declared with a typed payload, validated on publish, documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from medianest.event_docs import built_in_events, main, render
from medianest.events import Event, EventPayload, InvalidEventPayload, NotificationPayload, UntypedPayload, publish
from medianest.testing.sockets import AppSocketClient

DOC = Path(__file__).resolve().parent.parent / "docs" / "events.md"


def test_docs_events_md_is_what_the_code_declares(tmp_path):
    assert DOC.read_text(encoding="utf-8") == render(built_in_events()), (
        "docs/events.md is stale: run python -m medianest.event_docs --write docs/events.md"
    )
    assert main(["--check", str(DOC)]) == 0
    stale = tmp_path / "events.md"
    stale.write_text(DOC.read_text(encoding="utf-8").replace("youtube.download.progress", "youtube.progress"))
    assert main(["--check", str(stale)]) == 1


def test_the_reference_names_owners_fields_types_and_audiences():
    text = DOC.read_text(encoding="utf-8")
    assert (
        "| [`media.request.created`](#mediarequestcreated) | overseerr | the user named by `user_id` and the admins"
        in text
    )
    assert '| `media_type` | `"movie"` or `"tv"` | yes | a film (`movie`) or a series (`tv`) |' in text
    assert "| [`service.status`](#servicestatus) | core | every signed-in user |" in text


def test_every_built_in_event_has_a_documented_typed_payload():
    events = built_in_events()
    names = [event.name for _, event in events]
    assert len(names) == len(set(names))
    assert {"service.status", "notification", "user.deleted", "plex.collection.ready"} <= set(names)
    for owner, event in events:
        assert event.payload is not UntypedPayload, f"{event.name} ({owner}) has no payload model"
        for field, info in event.payload.model_fields.items():
            assert info.description, f"{event.name}: field {field} has no description"


@pytest.mark.sqlite_only
def test_the_app_declares_the_same_events_with_their_owners(app):
    types = app.extensions["medianest.event_types"]
    for owner, event in built_in_events():
        assert types[event.name] == event
        assert app.extensions["medianest.events"][event.name] == owner


@pytest.mark.sqlite_only
def test_an_invalid_payload_raises_in_testing_naming_the_event_owner_and_field(app):
    good = {"user_id": 1, "request_id": 3, "title": "Arrival", "media_type": "movie", "status": "pending"}
    with app.app_context():
        with pytest.raises(InvalidEventPayload) as raised:
            publish("media.request.created", {**good, "request_id": "three"})
        assert "'media.request.created' (declared by 'overseerr')" in str(raised.value)
        assert "request_id" in str(raised.value)
        with pytest.raises(InvalidEventPayload, match="media_type"):
            publish("media.request.created", {**good, "media_type": "book"})
        with pytest.raises(InvalidEventPayload, match="surprise: Extra inputs are not permitted"):
            publish("media.request.created", {**good, "surprise": 1})
        with pytest.raises(InvalidEventPayload, match="user_id: Field required"):
            publish("notification", {"level": "info", "message": "hello"})
        with pytest.raises(InvalidEventPayload, match="payload: Input should be a valid dictionary"):
            publish("notification", ["not", "a", "dict"])  # type: ignore[arg-type]


@pytest.mark.sqlite_only
def test_an_invalid_payload_is_logged_and_dropped_in_production(app, caplog):
    seen: list[dict] = []
    app.extensions["medianest.subscriptions"].setdefault("notification", []).append(("core", seen.append))
    app.testing = False
    try:
        with app.app_context():
            publish("notification", {"user_id": None, "level": "loud", "message": "hello"})
            assert seen == []
            publish("notification", {"user_id": None, "level": "info", "message": "hello"})
    finally:
        app.testing = True
    assert seen == [{"user_id": None, "level": "info", "message": "hello"}]
    assert "event 'notification' (declared by 'core'): invalid payload: level:" in caplog.text
    assert "the event was dropped" in caplog.text


@pytest.mark.sqlite_only
def test_a_payload_model_is_published_to_the_rooms_its_audience_names(app, user_client, other_client, alice):
    alice_browser = AppSocketClient(app, user_client)
    bob_browser = AppSocketClient(app, other_client)
    try:
        with app.app_context():
            publish("notification", NotificationPayload(user_id=alice.id, level="success", message="for Alice"))
            publish(
                "service.status",
                {"user_id": None, "service": "plex", "status": "offline", "response_ms": None}
                | {"checked_at": None, "error": "down"},
            )
        assert alice_browser.wait_for("notification") == {
            "user_id": alice.id,
            "level": "success",
            "message": "for Alice",
        }
        assert bob_browser.wait_for("service.status")["error"] == "down"
        assert alice_browser.wait_for("service.status")["status"] == "offline"
        assert bob_browser.received("notification") == []
    finally:
        alice_browser.close()
        bob_browser.close()


def test_an_event_declaration_is_checked_when_made():
    with pytest.raises(TypeError, match="subclass of EventPayload"):
        Event("cardtest.thing", dict)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="audience must be one of everyone, user, owner_and_admins"):
        Event("cardtest.thing", EventPayload, audience="neighbours")  # type: ignore[arg-type]
