"""People's download folders: a readable name chosen once, and the numbered folders of before kept."""

from __future__ import annotations

from pathlib import Path

from medianest_youtube.paths import readable_folder_name

from tests.test_youtube_support import feed_fixture, person_folder, run_job, yt_env_fixture  # noqa: F401

API = "/api/v1/youtube/downloads"


def test_a_readable_name_is_lower_case_ascii_with_a_stable_suffix():
    name = readable_folder_name("Zoë Ångström", 7)
    assert name.startswith("zoe-angstrom-") and len(name) == len("zoe-angstrom-") + 5
    assert readable_folder_name("Zoë Ångström", 7) == name  # the same however often it is worked out
    assert readable_folder_name("zoe angstrom", 8) != name  # two people of one name: two folders
    assert readable_folder_name("../..", 1).startswith("user-")
    assert readable_folder_name(None, 1).startswith("user-")
    assert readable_folder_name("東京", 2).startswith("user-")


def test_the_folder_keeps_its_name_when_its_owner_is_renamed(app, user_client, alice, yt_env, feed):
    from medianest.extensions import db
    from medianest.models import User

    feed.add_playlist("one", "First", [("Clip", 10_000)])
    feed.add_playlist("two", "Second", [("Clip", 10_000)])
    first = user_client.post(API, json={"url": feed.url_for_playlist("one")}).get_json()["data"]["id"]
    run_job(app, first)
    with app.app_context():
        db.session.get(User, alice.id).display_name = "Alice Liddell"
        db.session.commit()
    second = user_client.post(API, json={"url": feed.url_for_playlist("two")}).get_json()["data"]["id"]
    run_job(app, second)
    folder = person_folder(yt_env, "Alice", alice.id)
    assert folder.name.startswith("alice-")
    assert sorted(p.name for p in folder.iterdir()) == ["First", "Second"]
    assert user_client.get(f"{API}/{second}").get_json()["data"]["folder"] == str(folder / "Second")


def test_the_migration_keeps_the_numbered_folders_of_existing_downloads(app, alice, bob, yt_env, feed):
    """After the upgrade an old download's files are still found where they are; newcomers get readable names."""
    from alembic import command
    from sqlalchemy import text

    from medianest.database_upgrade import alembic_config, migration_branches
    from medianest.extensions import db
    from tests.support.apps import sign_in

    old = yt_env / str(alice.id) / "Old Mix"
    old.mkdir(parents=True)
    (old / "01 - Old [o-1].mp4").write_bytes(b"old bytes")
    with app.app_context():
        youtube = alembic_config(app, "youtube", migration_branches(app)["youtube"])
        command.downgrade(youtube, "youtube_0002")
        db.session.execute(
            text(
                "INSERT INTO youtube_downloads (user_id, url, format, status, folder, files, percent, attempts,"
                " cancel_requested, created_at) VALUES (:user, 'https://youtu.be/o', 'best', 'completed',"
                " 'Old Mix', :files, 100, 1, false, CURRENT_TIMESTAMP)"
            ),
            {"user": alice.id, "files": '[{"name": "01 - Old [o-1].mp4", "size": 9}]'},
        )
        db.session.commit()
        command.upgrade(youtube, "heads")
        recorded = db.session.execute(text("SELECT user_id, name FROM youtube_user_folders")).all()
    assert [tuple(r) for r in recorded] == [(alice.id, str(alice.id))]

    alice_client = sign_in(app.test_client(), alice)
    listed = alice_client.get(API).get_json()["data"]
    assert listed[0]["folder"] == str(old)
    assert alice_client.get(f"{API}/{listed[0]['id']}/files/0").data == b"old bytes"

    # alice's next download goes beside the old one; bob, new here, gets a readable folder
    feed.add_playlist("new", "New Mix", [("Clip", 10_000)])
    for client in (alice_client, sign_in(app.test_client(), bob)):
        download_id = client.post(API, json={"url": feed.url_for_playlist("new")}).get_json()["data"]["id"]
        run_job(app, download_id)
    assert (yt_env / str(alice.id) / "New Mix").is_dir()
    assert (person_folder(yt_env, "Bob", bob.id) / "New Mix").is_dir()
    assert sorted(p.name for p in Path(yt_env).iterdir()) == sorted(
        [str(alice.id), person_folder(yt_env, "Bob", bob.id).name]
    )
