"""yt-dlp (as a library) reads and downloads the media-feed stand-in offline."""

from __future__ import annotations

import gc
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

yt_dlp = pytest.importorskip("yt_dlp")
from yt_dlp.utils import DownloadError  # noqa: E402

from tests.standins.media_feed import MediaFeedStandin  # noqa: E402

OUTTMPL = "%(playlist_index)02d-%(title)s [%(id)s].%(ext)s"


class Interrupted(Exception):
    """Raised from a progress hook to cut a download short."""


def ydl_opts(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    opts: dict[str, Any] = {
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "cachedir": False,
        "socket_timeout": 5,
        "paths": {"home": str(tmp_path)},
        "outtmpl": OUTTMPL,
    }
    opts.update(extra)
    return opts


@pytest.fixture
def feed() -> Iterator[MediaFeedStandin]:
    standin = MediaFeedStandin()
    standin.start()
    yield standin
    standin.stop()


def test_flat_extraction_reads_title_and_entries(feed: MediaFeedStandin) -> None:
    feed.add_playlist("demo", "MediaNest test feed", [("Clip one", 1000), ("Clip two", 2000), ("Clip three", 3000)])
    with yt_dlp.YoutubeDL({"quiet": True, "no_warnings": True, "extract_flat": True, "cachedir": False}) as ydl:
        info = ydl.extract_info(feed.url_for_playlist("demo"), download=False)
    assert info["_type"] == "playlist"
    assert info["title"] == "MediaNest test feed"
    assert info["description"] == "MediaNest yt-dlp fixture"
    assert info["extractor"] == "generic"
    entries = list(info["entries"])
    assert len(entries) == 3
    assert [e["title"] for e in entries] == ["Clip one", "Clip two", "Clip three"]
    assert all(e["_type"] == "url_transparent" for e in entries)
    assert entries[0]["url"].startswith(f"{feed.url}/media/demo-1.mp4#__youtubedl_smuggle=")
    assert feed.media_log == []  # flat: no media was touched


def test_download_whole_playlist(feed: MediaFeedStandin, tmp_path: Path) -> None:
    sizes = [150_000, 200_000, 300_000]
    playlist = feed.add_playlist(
        "demo", "Demo", [("Clip one", sizes[0]), ("Clip two", sizes[1]), ("Big clip", sizes[2])]
    )
    finished: list[str] = []
    opts = ydl_opts(tmp_path, progress_hooks=[lambda d: d["status"] == "finished" and finished.append(d["filename"])])
    with yt_dlp.YoutubeDL(opts) as ydl:
        assert ydl.download([feed.url_for_playlist("demo")]) == 0
    expected = ["01-Clip one [demo-1].mp4", "02-Clip two [demo-2].mp4", "03-Big clip [demo-3].mp4"]
    assert sorted(p.name for p in tmp_path.iterdir()) == expected
    assert [Path(f).name for f in finished] == expected
    for name, entry in zip(expected, playlist.entries):
        data = (tmp_path / name).read_bytes()
        assert len(data) == entry.size
        assert data == feed.content_of(entry.id)
        downloads = [s for s in feed.serves(entry.id) if s.completed]
        assert downloads and downloads[-1].bytes_sent == entry.size and downloads[-1].range_header is None
    if shutil.which("ffprobe") and feed.use_ffmpeg:  # the files are real, playable MP4s
        out = subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_type,width",
             "-of", "json", str(tmp_path / expected[0])],
            capture_output=True, text=True, timeout=30, check=True,
        ).stdout  # fmt: skip
        probe = json.loads(out)
        assert probe["streams"][0]["codec_type"] == "video" and probe["streams"][0]["width"] == 160
        assert float(probe["format"]["duration"]) == pytest.approx(2, abs=0.2)


def test_broken_entry(feed: MediaFeedStandin, tmp_path: Path) -> None:
    feed.add_playlist("broken", "Broken", [("Clip one", 20_000), ("Gone", 20_000), ("Clip two", 20_000)], broken=[1])
    url = feed.url_for_playlist("broken")

    # default: the 404 of entry 2 aborts the playlist after entry 1
    with yt_dlp.YoutubeDL(ydl_opts(tmp_path / "strict")) as ydl:
        with pytest.raises(
            DownloadError, match=r"broken-2: Unable to download webpage: HTTP Error 404: File not found"
        ):
            ydl.download([url])
    assert [p.name for p in (tmp_path / "strict").iterdir()] == ["01-Clip one [broken-1].mp4"]

    # ignoreerrors='only_download' goes past it and reports failure in the return code
    with yt_dlp.YoutubeDL(ydl_opts(tmp_path / "lenient", ignoreerrors="only_download")) as ydl:
        assert ydl.download([url]) == 1
    assert sorted(p.name for p in (tmp_path / "lenient").iterdir()) == [
        "01-Clip one [broken-1].mp4",
        "03-Clip two [broken-3].mp4",
    ]
    assert {s.status for s in feed.serves("broken-2")} == {404}


def test_not_a_video_and_missing(feed: MediaFeedStandin, tmp_path: Path) -> None:
    with yt_dlp.YoutubeDL(ydl_opts(tmp_path)) as ydl:
        with pytest.raises(DownloadError, match=r"Unsupported URL: .*/not-a-video\.html"):
            ydl.extract_info(feed.not_a_video_url)
        with pytest.raises(DownloadError, match=r"missing: Unable to download webpage: HTTP Error 404: File not found"):
            ydl.extract_info(feed.missing_url)
    assert list(tmp_path.iterdir()) == []


def test_interrupted_download_resumes_with_range(feed: MediaFeedStandin, tmp_path: Path) -> None:
    size = 3 * 1024 * 1024
    feed.bytes_per_second = 1024 * 1024
    feed.add_playlist("slow", "Slow", [("Long clip", size)])
    url = feed.url_for_playlist("slow")

    def cut(d: dict[str, Any]) -> None:
        if d["status"] == "downloading" and d["downloaded_bytes"] >= 256 * 1024:
            raise Interrupted

    t0 = time.monotonic()
    with yt_dlp.YoutubeDL(ydl_opts(tmp_path, progress_hooks=[cut])) as ydl:
        with pytest.raises(Interrupted):
            ydl.download([url])
    gc.collect()  # let yt-dlp's abandoned file object flush and close
    assert time.monotonic() - t0 < 3  # cut short, not downloaded at 1 MB/s
    part = tmp_path / "01-Long clip [slow-1].mp4.part"
    assert part.exists()
    have = part.stat().st_size
    assert 256 * 1024 <= have < size
    assert feed.ranges_seen("slow-1") == []

    feed.bytes_per_second = None
    with yt_dlp.YoutubeDL(ydl_opts(tmp_path)) as ydl:
        assert ydl.download([url]) == 0
    final = tmp_path / "01-Long clip [slow-1].mp4"
    assert not part.exists()
    assert final.read_bytes() == feed.content_of("slow-1")
    assert feed.ranges_seen("slow-1") == [f"bytes={have}-"]
    resumed = [s for s in feed.serves("slow-1") if s.range_header]
    assert resumed[0].status == 206 and resumed[0].start == have
    assert resumed[0].completed and resumed[0].bytes_sent == size - have


def test_hanging_media_hits_the_socket_timeout(tmp_path: Path) -> None:
    feed = MediaFeedStandin(hang=True)
    feed.start()
    try:
        url = feed.add_video("stuck", 10_000)
        t0 = time.monotonic()
        with yt_dlp.YoutubeDL(ydl_opts(tmp_path, socket_timeout=1)) as ydl:
            with pytest.raises(DownloadError, match=r"(?i)timed out"):
                ydl.extract_info(url)
        assert time.monotonic() - t0 < 5
        assert feed.serves("stuck")[0].bytes_sent == 0
    finally:
        t0 = time.monotonic()
        feed.stop()
        assert time.monotonic() - t0 < 3


def test_sizes_are_exact_with_or_without_ffmpeg(tmp_path: Path) -> None:
    from tests.standins.media_feed import base_clip, make_media

    clip = base_clip() if shutil.which("ffmpeg") else None
    for c in (clip, None):
        for size in (0, 10, 40, 5_000, 123_457):
            data = make_media("x", size, c)
            assert len(data) == size
    if clip is not None:
        assert make_media("x", len(clip) + 100, clip).startswith(clip)
        assert make_media("x", 500_000, clip) != make_media("y", 500_000, clip)

    plain = MediaFeedStandin(use_ffmpeg=False)
    plain.start()
    try:
        url = plain.add_video("plain", 50_000)
        assert plain.content_of("plain")[4:8] == b"ftyp"
        with yt_dlp.YoutubeDL(ydl_opts(tmp_path, outtmpl="%(id)s.%(ext)s")) as ydl:
            assert ydl.download([url]) == 0
        assert (tmp_path / "plain.mp4").read_bytes() == plain.content_of("plain")
    finally:
        plain.stop()


def test_stop_cuts_a_throttled_stream(feed: MediaFeedStandin) -> None:
    import requests

    feed.bytes_per_second = 200_000
    url = feed.add_video("long", 2_000_000)
    resp = requests.get(url, stream=True, timeout=5)
    assert resp.headers["Content-Length"] == "2000000"
    got = resp.raw.read(100_000)
    assert len(got) == 100_000
    t0 = time.monotonic()
    feed.stop()
    with pytest.raises(requests.exceptions.RequestException):
        resp.content  # noqa: B018 - the rest never comes: the body ends short
    assert time.monotonic() - t0 < 3
    serve = feed.serves("long")[0]
    assert serve.aborted and not serve.completed and serve.bytes_sent < 2_000_000
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(url, timeout=2)
