"""Downloads cannot be turned against the household's network (SSRF).

Everything runs on 127.0.0.1 and ::1: an "attack site" on an allowed port (the
media feed stand-in, plus redirects, pages, feeds and HLS playlists pointing
elsewhere), and forbidden targets on other ports that count every connection
they accept. Each test asserts the forbidden target was never reached, not
only that the download failed, and that nothing it serves was written to disk
or can be read back through the files endpoint.
"""

from __future__ import annotations

import html
import socket
import threading
import time
from urllib.parse import quote

import pytest
from flask import Response, redirect, request
from medianest_youtube import config as youtube_config

from tests.standins.media_feed import MediaFeedStandin
from tests.test_youtube_support import files_under, row_of, run_job, yt_env_fixture  # noqa: F401

API = "/api/v1/youtube/downloads"
SECRET = b"INTERNAL-SECRET-0123456789"


class Target:
    """A forbidden TCP server: counts accepted connections and answers like a media file holding a secret."""

    def __init__(self, family: int = socket.AF_INET, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.accepts = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepts += 1
            body = SECRET * 40
            head = (
                "HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            try:
                conn.settimeout(2)
                conn.recv(65536)
                conn.sendall(head.encode() + body)
            except OSError:
                pass
            finally:
                conn.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


class AttackSite(MediaFeedStandin):
    """The media feed stand-in with the pages an attacker would put on an allowed host."""

    name = "attack-site"

    def __init__(self) -> None:
        super().__init__()
        app = self.app

        @app.get("/chain/<codes>")
        def chain(codes: str):
            """Redirect with each status in ``codes`` (``301-302-307-308``) in turn, then to ``?to=``."""
            first, _, rest = codes.partition("-")
            target = request.args["to"]
            location = f"/chain/{rest}?to={quote(target, safe='')}" if rest else target
            return redirect(location, code=int(first))

        @app.get("/page.html")
        def page():
            src = html.escape(request.args["src"])
            return Response(
                f'<!DOCTYPE html><html><head><title>Clip</title></head><body><video src="{src}"></video></body></html>',
                content_type="text/html; charset=utf-8",
            )

        @app.get("/enclosure-feed.xml")
        def enclosure_feed():
            """An RSS feed with one item per ``?enclosure=`` (in order)."""
            items = "".join(
                f'<item><title>Item {n}</title><guid isPermaLink="false">item-{n}</guid>'
                f'<enclosure url="{html.escape(url)}" type="video/mp4" length="1000"/></item>'
                for n, url in enumerate(request.args.getlist("enclosure"), start=1)
            )
            return Response(
                '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>Trap feed</title>'
                f"<link>http://example.invalid/</link><description>x</description>{items}</channel></rss>\n",
                content_type="application/rss+xml; charset=utf-8",
            )

        @app.get("/hls/<kind>.m3u8")
        def playlist(kind: str):
            """A VOD media playlist whose segment is ``?seg=``; ``sample-aes`` makes yt-dlp hand it to ffmpeg."""
            lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:2", "#EXT-X-MEDIA-SEQUENCE:0"]
            if kind == "sample-aes":
                lines.append(f'#EXT-X-KEY:METHOD=SAMPLE-AES,URI="{self.url}/key.bin",KEYFORMAT="identity"')
            lines += ["#EXTINF:2.0,", request.args["seg"], "#EXT-X-ENDLIST", ""]
            return Response("\n".join(lines), content_type="application/vnd.apple.mpegurl")

        @app.get("/key.bin")
        def key():
            return Response(b"0123456789abcdef", content_type="application/octet-stream")


@pytest.fixture
def site():
    standin = AttackSite()
    standin.start()
    yield standin
    standin.stop()


@pytest.fixture
def target():
    server = Target()
    yield server
    server.stop()


@pytest.fixture
def redis_like():
    """A TCP listener where Redis would be: an HTTP request reaching it is the attack Redis logs."""
    server = Target()
    yield server
    server.stop()


@pytest.fixture
def pinned(monkeypatch, yt_env, site):
    """The allow-list names only the attack site's port: 127.0.0.1 on any other port is off the list."""
    monkeypatch.setenv("MEDIANEST_YOUTUBE_ALLOWED_HOSTS", f"127.0.0.1:{site.port}")
    monkeypatch.setenv("MEDIANEST_YOUTUBE_ALLOWED_PRIVATE", f"127.0.0.1:{site.port}")
    monkeypatch.setenv("MEDIANEST_YOUTUBE_RETRIES", "0")
    return yt_env


@pytest.fixture
def open_hosts(monkeypatch, yt_env, site):
    """Every loopback spelling is on the host list; only the site's address and port is an allowed private one."""
    hosts = "127.0.0.1,localhost,::1,169.254.169.254,2130706433,0x7f000001,0177.0.0.1,127.1,::ffff:127.0.0.1"
    monkeypatch.setenv("MEDIANEST_YOUTUBE_ALLOWED_HOSTS", hosts)
    monkeypatch.setenv("MEDIANEST_YOUTUBE_ALLOWED_PRIVATE", f"127.0.0.1:{site.port}")
    monkeypatch.setenv("MEDIANEST_YOUTUBE_RETRIES", "0")
    return yt_env


def _download(app, client, url: str) -> dict:
    response = client.post(API, json={"url": url, "format": "best"})
    assert response.status_code == 201, response.get_json()
    download_id = response.get_json()["data"]["id"]
    started = time.monotonic()
    run_job(app, download_id)
    assert time.monotonic() - started < 60
    data = client.get(f"{API}/{download_id}").get_json()["data"]
    data["file_0"] = client.get(f"{API}/{download_id}/files/0")
    return data


def _assert_refused(data: dict, root, *targets: Target, says: str) -> None:
    assert data["status"] == "failed", data
    assert says in (data["error"] or ""), data["error"]
    assert data["files"] in ([], None)
    assert data["file_0"].status_code == 404
    assert SECRET not in data["file_0"].data
    for path in files_under(root):
        assert SECRET not in path.read_bytes(), path
    for server in targets:
        assert server.accepts == 0, f"the forbidden server on port {server.port} was reached"


def _off_list(port: int) -> str:
    return f"127.0.0.1:{port} is not on the allowed hosts list"


# ----------------------------------------------------------------- the guard lets the allowed site through
def test_the_allowed_site_still_downloads_and_follows_redirects_within_the_list(app, user_client, pinned, site):
    site.add_video("ok", 20_000)
    data = _download(app, user_client, f"{site.url}/chain/301-307?to={quote(site.url_for_video('ok'), safe='')}")
    assert data["status"] == "completed", data
    assert data["file_0"].status_code == 200
    assert data["file_0"].data == site.content_of("ok")


# ----------------------------------------------------------------- redirects
@pytest.mark.parametrize("codes", ["301", "302", "307", "308", "301-302-307-308"])
def test_a_redirect_chain_ending_off_the_list_never_reaches_the_target(app, user_client, pinned, site, target, codes):
    url = f"{site.url}/chain/{codes}?to={quote(f'http://127.0.0.1:{target.port}/secret.mp4', safe='')}"
    data = _download(app, user_client, url)
    _assert_refused(data, pinned, target, says=_off_list(target.port))


def test_a_redirect_to_a_redis_port_never_connects_to_it(app, user_client, pinned, site, redis_like):
    url = f"{site.url}/chain/302?to={quote(f'http://127.0.0.1:{redis_like.port}/', safe='')}"
    data = _download(app, user_client, url)
    _assert_refused(data, pinned, redis_like, says=_off_list(redis_like.port))


# ----------------------------------------------------------------- embedded media, feeds, fragments, helpers
def test_video_src_off_the_list_is_refused(app, user_client, pinned, site, target):
    src = f"http://127.0.0.1:{target.port}/clip.mp4"
    data = _download(app, user_client, f"{site.url}/page.html?src={quote(src, safe='')}")
    _assert_refused(data, pinned, target, says=_off_list(target.port))


def test_an_rss_enclosure_that_redirects_off_the_list_is_refused(app, user_client, pinned, site, target):
    bounce = f"{site.url}/chain/302-307?to={quote(f'http://127.0.0.1:{target.port}/secret.mp4', safe='')}"
    data = _download(app, user_client, f"{site.url}/enclosure-feed.xml?enclosure={quote(bounce, safe='')}")
    _assert_refused(data, pinned, target, says=_off_list(target.port))
    assert data["failures"][0]["error"].startswith("Refused to connect: ")


def test_an_hls_fragment_off_the_list_is_refused(app, user_client, pinned, site, target):
    segment = f"http://127.0.0.1:{target.port}/seg0.ts"
    data = _download(app, user_client, f"{site.url}/hls/native.m3u8?seg={quote(segment, safe='')}")
    _assert_refused(data, pinned, target, says=_off_list(target.port))


def test_ffmpeg_handed_an_hls_playlist_fetches_nothing_off_the_list(
    app, user_client, pinned, site, target, monkeypatch
):
    """SAMPLE-AES is beyond yt-dlp's own HLS downloader, so it runs ffmpeg on the playlist.

    ``no_proxy`` in the environment would let ffmpeg connect directly to loopback: the guard removes it.
    """
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    segment = f"http://127.0.0.1:{target.port}/seg0.ts"
    data = _download(app, user_client, f"{site.url}/hls/sample-aes.m3u8?seg={quote(segment, safe='')}")
    _assert_refused(data, pinned, target, says=_off_list(target.port))
    # ffmpeg itself asked (it announces itself with Icy-MetaData): it read the playlist and its key through
    # the guard, and the segment was refused there
    by_ffmpeg = [r.path for r in site.requests if "Icy-Metadata" in r.headers]
    assert "/hls/sample-aes.m3u8" in by_ffmpeg and "/key.bin" in by_ffmpeg, [(r.path, r.headers) for r in site.requests]


# ----------------------------------------------------------------- names and spellings of private addresses
def test_localhost_on_the_list_still_cannot_reach_a_private_port(app, user_client, open_hosts, target):
    data = _download(app, user_client, f"http://localhost:{target.port}/secret.mp4")
    _assert_refused(data, open_hosts, target, says="is a private address")
    assert f"localhost:{target.port}" in data["error"]


@pytest.mark.parametrize("spelling", ["127.1", "2130706433", "0x7f000001", "0177.0.0.1", "[::ffff:127.0.0.1]"])
def test_other_spellings_of_loopback_are_private(app, user_client, open_hosts, site, target, spelling):
    url = f"{site.url}/chain/302?to={quote(f'http://{spelling}:{target.port}/secret.mp4', safe='')}"
    data = _download(app, user_client, url)
    _assert_refused(data, open_hosts, target, says="is a private address (loopback)")


def test_ipv6_loopback_is_private(app, user_client, open_hosts, site):
    target6 = Target(socket.AF_INET6, "::1")
    try:
        url = f"{site.url}/chain/307?to={quote(f'http://[::1]:{target6.port}/secret.mp4', safe='')}"
        data = _download(app, user_client, url)
        _assert_refused(data, open_hosts, target6, says=f"[::1]:{target6.port} is a private address (loopback)")
    finally:
        target6.stop()


def test_the_cloud_metadata_address_is_refused_before_any_connection(app, user_client, open_hosts, site):
    url = f"{site.url}/chain/302?to={quote('http://169.254.169.254/latest/meta-data/', safe='')}"
    started = time.monotonic()
    data = _download(app, user_client, url)
    _assert_refused(data, open_hosts, says="169.254.169.254:80 is a private address (link-local)")
    assert time.monotonic() - started < 10  # refused at once, not after a connect timeout


def test_the_allowed_private_port_is_not_the_whole_address(app, user_client, open_hosts, site, target):
    """127.0.0.1:<site port> is allowed; the same address on another port is not."""
    site.add_video("fine", 10_000)
    assert _download(app, user_client, site.url_for_video("fine"))["status"] == "completed"
    url = f"{site.url}/chain/308?to={quote(f'http://127.0.0.1:{target.port}/secret.mp4', safe='')}"
    data = _download(app, user_client, url)
    _assert_refused(data, open_hosts, target, says=f"127.0.0.1:{target.port} is a private address (loopback)")


# ----------------------------------------------------------------- the early, friendly check
@pytest.mark.parametrize("host", ["127.0.0.1", "2130706433", "[::1]", "169.254.169.254"])
def test_a_private_address_typed_in_is_refused_at_once(app, user_client, open_hosts, target, host):
    response = user_client.post(API, json={"url": f"http://{host}:{target.port}/x.mp4", "format": "best"})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "HOST_NOT_ALLOWED"
    assert "is a private address" in error["message"]
    assert user_client.get(API).get_json()["data"] == []
    assert target.accepts == 0


# ----------------------------------------------------------------- in the running processes
def _live_env(root, site) -> dict[str, str]:
    return {
        "MEDIANEST_YOUTUBE_ALLOWED_HOSTS": f"127.0.0.1:{site.port}",
        "MEDIANEST_YOUTUBE_ALLOWED_PRIVATE": f"127.0.0.1:{site.port}",
        "MEDIANEST_YOUTUBE_DOWNLOAD_ROOT": str(root),
        "MEDIANEST_YOUTUBE_SOCKET_TIMEOUT": "5",
        "MEDIANEST_YOUTUBE_MIN_FREE_GB": "0",
        "MEDIANEST_RATE_LIMIT_API": "10000/minute",
    }


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["embedded", pytest.param("worker", marks=[pytest.mark.redis, pytest.mark.postgres])])
def test_the_guard_holds_in_the_embedded_server_and_in_the_celery_worker(
    live_server_factory, site, target, tmp_path, mode
):
    """gevent in one process, and a prefork Celery worker: the good entry arrives, the bad one never connects."""
    root = tmp_path / "downloads"
    site.add_video("good", 30_000)
    bounce = f"{site.url}/chain/301-302?to={quote(f'http://127.0.0.1:{target.port}/secret.mp4', safe='')}"
    feed = f"{site.url}/enclosure-feed.xml?enclosure={quote(site.url_for_video('good'), safe='')}"
    feed += f"&enclosure={quote(bounce, safe='')}"
    if mode == "embedded":
        server = live_server_factory(env=_live_env(root, site))
    else:
        server = live_server_factory(backend="postgresql", redis=True, env=_live_env(root, site))
        live_server_factory.process(["worker", "--pool", "prefork", "-c", "1"], server, "worker").wait_for_log(
            "ready", timeout=60
        )
    http = server.session()
    response = http.post(server.url + API, json={"url": feed, "format": "best"}, timeout=10)
    assert response.status_code == 201, response.text
    download_id = response.json()["data"]["id"]
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        data = http.get(f"{server.url}{API}/{download_id}", timeout=10).json()["data"]
        if data["status"] in ("completed", "failed"):
            break
        time.sleep(0.3)
    assert data["status"] == "completed", data
    assert [f["index"] for f in data["files"]] == [1]
    assert http.get(f"{server.url}{API}/{download_id}/files/0", timeout=10).content == site.content_of("good")
    assert http.get(f"{server.url}{API}/{download_id}/files/1", timeout=10).status_code == 404
    (failure,) = data["failures"]
    assert failure["index"] == 2
    assert failure["error"] == f"Refused to connect: 127.0.0.1:{target.port} is not on the allowed hosts list."
    for path in files_under(root):
        assert SECRET not in path.read_bytes()
    assert target.accepts == 0


# ----------------------------------------------------------------- the setting
def test_the_admin_lists_private_addresses_not_host_names(app, admin_client, yt_env, monkeypatch):
    monkeypatch.delenv("MEDIANEST_YOUTUBE_ALLOWED_PRIVATE")
    url = "/api/v1/admin/services/youtube"
    refused = admin_client.put(url, json={"values": {"allowed_private": "10.0.0.0/8, nas.local:8096"}})
    assert refused.status_code == 400
    error = refused.get_json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert "nas.local:8096: list an address or network" in str(error["details"])

    saved = admin_client.put(url, json={"values": {"allowed_private": "10.0.0.0/8, [::1]:8096, 192.168.1.20:8080"}})
    assert saved.status_code == 200, saved.get_json()
    with app.test_request_context():
        policy = youtube_config.load().egress_policy
    assert [str(n.network) for n in policy.allowed_private] == ["10.0.0.0/8", "::1/128", "192.168.1.20/32"]
    assert [n.port for n in policy.allowed_private] == [None, 8096, 8080]


@pytest.mark.parametrize("scheme", ["rtmp", "rtsp"])
def test_media_over_a_protocol_the_guard_cannot_carry_is_not_downloaded(app, user_client, pinned, site, target, scheme):
    """ffmpeg and rtmpdump would open these themselves, past the proxy."""
    src = f"{scheme}://127.0.0.1:{target.port}/live/clip"
    data = _download(app, user_client, f"{site.url}/page.html?src={quote(src, safe='')}")
    assert data["status"] == "failed", data
    assert data["files"] in ([], None)
    assert data["error"] == f"This entry is served over {scheme}, which is not downloaded."
    assert target.accepts == 0
