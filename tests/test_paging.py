"""Offset and keyset paging of the lists ordered newest first (downloads, audit log)."""

from __future__ import annotations

import pytest

from tests.test_youtube_support import yt_env_fixture  # noqa: F401


def _seed_downloads(app, user_id: int, n: int) -> list[int]:
    from medianest_youtube.models import Download

    from medianest.extensions import db

    with app.app_context():
        rows = [
            Download(user_id=user_id, url=f"https://www.youtube.com/watch?v=v{i:04d}", status="completed")
            for i in range(n)
        ]
        db.session.add_all(rows)
        db.session.commit()
        return sorted((r.id for r in rows), reverse=True)


def test_walking_downloads_by_cursor_gives_every_row_once(app, user_client, alice, bob, yt_env):
    mine = _seed_downloads(app, alice.id, 23)
    _seed_downloads(app, bob.id, 5)  # not alice's: never in her pages

    seen, before, pages = [], None, 0
    while True:
        query = "per_page=10" + (f"&before={before}" if before else "")
        answer = user_client.get(f"/api/v1/youtube/downloads?{query}").get_json()
        seen += [d["id"] for d in answer["data"]]
        paging = answer["meta"]["pagination"]
        pages += 1
        if before is None:  # the first page is an offset page: it has the total, and the cursor to go on
            assert paging["total"] == 23 and paging["total_exact"] is True
        before = paging["next_before"]
        if before is None:
            break
        assert pages < 10
    assert seen == mine and pages == 3
    assert {d["user_id"] for d in user_client.get("/api/v1/youtube/downloads?per_page=100").get_json()["data"]} == {
        alice.id
    }


def test_a_cursor_page_says_whether_more_follow(app, user_client, alice, yt_env):
    ids = _seed_downloads(app, alice.id, 6)
    last = user_client.get(f"/api/v1/youtube/downloads?per_page=3&before={ids[2]}").get_json()
    assert [d["id"] for d in last["data"]] == ids[3:]
    assert last["meta"]["pagination"] == {"per_page": 3, "before": ids[2], "has_more": False, "next_before": None}
    full_last_offset_page = user_client.get("/api/v1/youtube/downloads?per_page=3&page=2").get_json()
    assert full_last_offset_page["meta"]["pagination"]["next_before"] is None  # nothing after it


@pytest.mark.parametrize(
    "query",
    ["before=5&page=2", "before=0", "before=-3", "before=abc", "before=99999999999"],
)
def test_bad_cursors_are_400(app, user_client, query):
    answer = user_client.get(f"/api/v1/youtube/downloads?{query}")
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "VALIDATION_ERROR"


def test_audit_log_by_cursor(app, admin_client, alice):
    from medianest.extensions import db
    from medianest.models import AuditEvent

    with app.app_context():
        db.session.add_all([AuditEvent(action="test.event", target=f"t{i}") for i in range(7)])
        db.session.commit()
    first = admin_client.get("/api/v1/admin/audit?per_page=4&action=test.event").get_json()
    assert [e["target"] for e in first["data"]] == ["t6", "t5", "t4", "t3"]
    cursor = first["meta"]["pagination"]["next_before"]
    rest = admin_client.get(f"/api/v1/admin/audit?per_page=4&action=test.event&before={cursor}").get_json()
    assert [e["target"] for e in rest["data"]] == ["t2", "t1", "t0"]
    assert rest["meta"]["pagination"]["has_more"] is False


def test_a_reused_list_statement_pages_like_a_fresh_one_and_is_built_once(app, alice, bob, yt_env):
    """``paginate(..., params=)``: the same rows and meta as the statement with its values bound, every mode."""
    from medianest_youtube import downloads

    from medianest import paging
    from medianest.extensions import db
    from medianest.models import User
    from medianest.paging import paginate

    mine = _seed_downloads(app, alice.id, 12)
    _seed_downloads(app, bob.id, 4)
    key = downloads.TABLE.c.id
    with app.test_request_context("/api/v1/youtube/downloads"):
        user = db.session.get(User, alice.id)
        stmt, params = downloads.list_statement(user, rows=True)
        cases = [(1, 5, None), (2, 5, None), (3, 5, None), (9, 5, None), (1, 5, mine[4]), (1, 5, mine[-1])]
        for page, per_page, before in cases:
            reused = paginate(stmt, page, per_page, before, key, params)
            fresh = paginate(stmt.params(params), page, per_page, before, key)
            assert [tuple(r) for r in reused[0]] == [tuple(r) for r in fresh[0]], (page, before)
            assert reused[1] == fresh[1], (page, before)
        assert [r.id for r in paginate(stmt, 1, 100, None, key, params)[0]] == mine  # alice's only, newest first
        built = dict(paging._PAGES)
        again, _ = downloads.list_statement(user, rows=True)
        assert again is stmt  # one statement per shape ...
        paginate(again, 2, 5, None, key, params)
        assert paging._PAGES == built  # ... whose page statements were built once
