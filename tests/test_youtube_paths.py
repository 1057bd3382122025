"""No title a remote site chooses can put a file outside the user's folder."""

from __future__ import annotations

import pytest
from medianest_youtube.paths import MAX_NAME_BYTES, entry_file_stem, inside, playlist_folder, safe_name

from tests.test_youtube_support import feed_fixture, files_under, person_folder, run_job, yt_env_fixture  # noqa: F401


@pytest.mark.parametrize(
    "title",
    [
        "../../etc/passwd",
        "..",
        ".",
        "/",
        "a/b/c",
        "a\\b",
        "nul\x00byte",
        "\x00",
        "....//....//x",
        ".hidden",
        " ../ ",
        "x" * 1000,
        "é" * 400,
        "CON",
        "con.txt",
        'a:b*c?d"e<f>g|h',
        "line\nbreak\ttab",
        "",
    ],
)
def test_safe_name_is_one_harmless_component(title):
    name = safe_name(title)
    assert name and "/" not in name and "\\" not in name and "\x00" not in name
    assert not name.startswith(".") and name not in (".", "..")
    assert len(name.encode()) <= MAX_NAME_BYTES
    assert not any(ord(ch) < 32 for ch in name)
    assert name.split(".")[0].lower() not in ("con", "nul", "prn", "aux")


def test_long_multibyte_names_are_cut_on_a_character_boundary():
    name = safe_name("日本語のタイトル" * 40)
    assert len(name.encode()) <= MAX_NAME_BYTES
    name.encode().decode("utf-8")  # still valid UTF-8
    stem = entry_file_stem(7, "é" * 300, "id/../x")
    assert stem.startswith("07 - ") and stem.endswith("[id_.._x]") and len((stem + ".webm.part").encode()) < 255


def test_case_only_differences_reuse_one_folder(tmp_path):
    (tmp_path / "Holiday").mkdir()
    assert playlist_folder(tmp_path, "HOLIDAY") == "Holiday"
    assert playlist_folder(tmp_path, "Other") == "Other"


def test_inside(tmp_path):
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "link").symlink_to(tmp_path)
    assert inside(tmp_path / "user", tmp_path / "user" / "a" / "b")
    assert not inside(tmp_path / "user", tmp_path / "user" / ".." / "x")
    assert not inside(tmp_path / "user", tmp_path / "user" / "link" / "x")


@pytest.mark.sqlite_only
def test_hostile_titles_from_a_real_feed_stay_in_the_users_folder(app, user_client, alice, yt_env, feed, tmp_path):
    long_title = "Very long title " * 30
    feed.add_playlist(
        "evil",
        "../../../outside",
        [
            ("../../escape", 20_000),
            ("/etc/passwd", 20_000),
            (long_title, 20_000),
            ("Same", 20_000, "same-a"),
            ("same", 20_000, "same-b"),
        ],
    )
    feed.add_playlist("evil2", "../../../OUTSIDE", [("SAME", 20_000, "same-c")])
    ids = []
    for name in ("evil", "evil2"):
        response = user_client.post("/api/v1/youtube/downloads", json={"url": feed.url_for_playlist(name)})
        ids.append(response.get_json()["data"]["id"])
        run_job(app, ids[-1])
    user_dir = person_folder(yt_env, alice.name, alice.id)
    written = files_under(yt_env)
    assert len(written) == 6
    assert all(inside(user_dir, p) for p in written)
    assert files_under(tmp_path / "outside") == [] and not (yt_env.parent / "outside").exists()
    folders = {p.parent for p in written}
    assert len(folders) == 1  # "../../../outside" and "../../../OUTSIDE": one folder, differing only in case
    assert next(iter(folders)).parent == user_dir
    names = sorted(p.name for p in written)
    assert "01 - SAME [same-c].mp4" in names and "04 - Same [same-a].mp4" in names and "05 - same [same-b].mp4" in names
    assert all(len(n.encode()) < 255 for n in names)
    for download_id in ids:
        data = user_client.get(f"/api/v1/youtube/downloads/{download_id}").get_json()["data"]
        assert data["status"] == "completed" and data["failures"] == []
