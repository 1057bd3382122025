"""The egress guard: every connection MediaNest makes on a person's behalf, checked where it is made.

A person can make the server fetch things (a playlist to download; later a
notification channel). Checking the URL they typed is not enough: the remote
side can redirect, a page can embed media from elsewhere, a playlist can list
segments anywhere, and a helper program (ffmpeg) fetches on its own. So the
check sits at the connection itself:

* :class:`EgressPolicy` says which hosts may be reached: a host must be on the
  allowed hosts list, and every address its name resolves to must be public,
  unless an admin listed that private address or network explicitly (a host
  name on the list is not enough to reach a private address). Addresses are
  checked after resolution and the connection goes to an address that was
  checked, so a name that resolves differently the second time (DNS
  rebinding) gains nothing.
* :class:`EgressProxy` is a small forwarding HTTP proxy on 127.0.0.1 that
  applies a policy to every request and tunnel it is asked for (HTTP
  absolute-form and ``CONNECT`` for HTTPS). Give its :attr:`~EgressProxy.url`
  to the code and the programs that fetch (yt-dlp passes its ``proxy`` on to
  ffmpeg), and everything they reach goes through the check; a refusal is a
  ``403`` whose reason phrase says why, and is recorded in
  :attr:`~EgressProxy.refusals`.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import re
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

log = logging.getLogger("medianest.egress")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[IPAddress]]

_HOST_NAME = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


class EgressRefused(Exception):
    """A connection the policy does not allow; ``str()`` is a sentence for the person who asked."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"{host} {reason}")
        self.host = host
        self.reason = reason

    @property
    def message(self) -> str:
        return str(self)


@dataclass(frozen=True)
class AllowedNetwork:
    """A private address or network an admin opened, optionally for one port only."""

    network: IPNetwork
    port: int | None = None

    def admits(self, address: IPAddress, port: int) -> bool:
        return address.version == self.network.version and address in self.network and self.port in (None, port)


def parse_ipv4(text: str) -> ipaddress.IPv4Address | None:
    """An IPv4 address in any spelling ``inet_aton`` takes (``127.1``, ``2130706433``, ``0x7f000001``,
    ``0177.0.0.1``), else None.

    The C library resolves these spellings to addresses, so the guard must
    read them the same way; :mod:`ipaddress` accepts only the dotted quad.
    """
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = []
    for part in parts:
        try:
            if re.fullmatch(r"0[xX][0-9a-fA-F]*", part):
                numbers.append(int(part[2:] or "0", 16))
            elif re.fullmatch(r"0[0-7]*", part):
                numbers.append(int(part, 8))
            elif re.fullmatch(r"[1-9][0-9]*", part):
                numbers.append(int(part))
            else:
                return None
        except ValueError:
            return None
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (4 - len(head)):
        return None
    value = last
    for i, n in enumerate(head):
        value |= n << (24 - 8 * i)
    return ipaddress.IPv4Address(value)


def parse_address(host: str) -> IPAddress | None:
    """The address a host spells, in any notation (IPv6 with or without brackets), else None."""
    text = host.strip().rstrip(".")
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:
        try:
            return ipaddress.IPv6Address(text.split("%", 1)[0])
        except ValueError:
            return None
    return parse_ipv4(text)


def _plain(address: IPAddress) -> IPAddress:
    """An IPv4-mapped IPv6 address is the IPv4 address it carries (that is where it connects)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    found = []
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def address_kind(address: IPAddress) -> str | None:
    """Why an address is not public ("loopback", "link-local", "private", "multicast", "unspecified",
    "reserved"), or None for a public address."""
    address = _plain(address)
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_private:
        return "private"
    if address.is_reserved or not address.is_global:
        return "reserved"
    if isinstance(address, ipaddress.IPv6Address):
        for inner in _embedded_ipv4(address):
            kind = address_kind(inner)
            if kind is not None:
                return kind
    return None


def canonical_host(host: str) -> str:
    """Lower case, no trailing dot, no brackets; an address in its standard spelling."""
    address = parse_address(host)
    if address is not None:
        return str(_plain(address))
    return host.strip().rstrip(".").lower()


def split_host_port(entry: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``[v6]``, ``[v6]:port`` or a bare IPv6 address; raises ValueError."""
    entry = entry.strip()
    match = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?", entry)
    if match:
        host, port = match.group(1), match.group(2)
    elif entry.count(":") == 1:
        host, port = entry.split(":")
    else:
        host, port = entry, None
    if port is not None:
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{entry}: the port must be a number from 1 to 65535")
        return host, int(port)
    return host, None


def parse_allowed_network(entry: str) -> AllowedNetwork:
    """``10.0.0.5``, ``192.168.1.0/24``, ``127.0.0.1:8096``, ``[::1]:8096``, ``fd00::/8``; raises ValueError.

    A host name is refused: the point of listing private addresses is that
    what a name resolves to is not trusted.
    """
    host, port = split_host_port(entry)
    if "/" in host:
        try:
            network = ipaddress.ip_network(host.strip("[]"), strict=False)
        except ValueError:
            raise ValueError(f"{entry}: not an address or network (such as 192.168.1.0/24)") from None
    else:
        address = parse_address(host)
        if address is None:
            raise ValueError(f"{entry}: list an address or network (such as 192.168.1.20), not a host name")
        network = ipaddress.ip_network(_plain(address))
    if isinstance(network, ipaddress.IPv6Network) and network.prefixlen >= 96 and network[0].ipv4_mapped:
        network = ipaddress.ip_network(f"{network[0].ipv4_mapped}/{network.prefixlen - 96}")
    return AllowedNetwork(network, port)


def system_resolver(host: str, port: int) -> list[IPAddress]:
    """Every address the system resolves ``host`` to, for a TCP connection to ``port``."""
    found: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    ):
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


class EgressPolicy:
    """Which hosts and addresses a connection made for a person may reach.

    ``allowed_hosts``: host names or addresses, ``host:port`` to allow one port
    only, ``*.example.com`` for every sub-domain of example.com.
    ``allowed_private``: private addresses or networks an admin opened (see
    :func:`parse_allowed_network`); everything else that is not a public
    address is refused, whatever the host list says. ``resolver`` turns a
    name into addresses (the system's by default).
    """

    def __init__(
        self,
        allowed_hosts: Iterable[str],
        allowed_private: Iterable[str | AllowedNetwork] = (),
        resolver: Resolver | None = None,
    ) -> None:
        self.allowed_hosts: tuple[tuple[str, int | None], ...] = tuple(_listed(allowed_hosts))
        self.allowed_private: tuple[AllowedNetwork, ...] = tuple(
            e if isinstance(e, AllowedNetwork) else parse_allowed_network(e) for e in allowed_private
        )
        self.resolver = resolver or system_resolver

    def host_listed(self, host: str, port: int) -> bool:
        """On the allowed hosts list: the same host (``*.example.com`` for any sub-domain, ``*`` for any
        host: the addresses are still checked), and port if pinned."""
        host = canonical_host(host)
        return any(
            (name == "*" or host == name or (name.startswith("*.") and host.endswith(name[1:])))
            and pinned in (None, port)
            for name, pinned in self.allowed_hosts
        )

    def address_problem(self, address: IPAddress, port: int) -> str | None:
        """Why ``address:port`` may not be reached (its kind), or None."""
        kind = address_kind(address)
        if kind is None:
            return None
        plain = _plain(address)
        if any(n.admits(plain, port) for n in self.allowed_private):
            return None
        return kind

    def check_literal(self, host: str, port: int) -> None:
        """The checks that need no resolution: on the list, and not a refused address if it is one."""
        shown = _shown(host)
        if not 0 < port < 65536:
            raise EgressRefused(shown, f"uses port {port}, which cannot be reached")
        if not self.host_listed(host, port):
            raise EgressRefused(_with_port(shown, port), "is not on the allowed hosts list")
        address = parse_address(host)
        if address is not None:
            kind = self.address_problem(address, port)
            if kind is not None:
                spelled = _shown(str(_plain(address)))
                where = _with_port(shown, port) + ("" if spelled == shown else f" ({spelled})")
                raise EgressRefused(where, f"is a private address ({kind})")
        elif not _HOST_NAME.match(canonical_host(host)):
            raise EgressRefused(shown[:100], "is not a valid host name")

    def check(self, host: str, port: int) -> list[IPAddress]:
        """The addresses to connect to for ``host:port``, all of them checked; raises :class:`EgressRefused`.

        A name that resolves to several addresses is refused when any one of
        them is refused: the caller cannot know which one a later lookup or a
        helper program would pick.
        """
        self.check_literal(host, port)
        address = parse_address(host)
        if address is not None:
            return [_plain(address)]
        name = canonical_host(host)
        try:
            addresses = [_plain(a) for a in self.resolver(name, port)]
        except OSError:
            raise EgressRefused(name, "could not be resolved") from None
        if not addresses:
            raise EgressRefused(name, "could not be resolved")
        for found in addresses:
            kind = self.address_problem(found, port)
            if kind is not None:
                raise EgressRefused(_with_port(name, port), f"is a private address: it resolves to {found} ({kind})")
        return addresses

    def connect(self, host: str, port: int, timeout: float | None) -> socket.socket:
        """A TCP connection to ``host:port`` made to an address that was checked; raises
        :class:`EgressRefused` or :class:`OSError`."""
        addresses = self.check(host, port)
        error: OSError | None = None
        for address in addresses:
            try:
                return socket.create_connection((str(address), port), timeout=timeout)
            except OSError as exc:
                error = exc
        raise error or OSError(f"could not connect to {host}:{port}")


def _listed(entries: Iterable[str]) -> Iterable[tuple[str, int | None]]:
    for entry in entries:
        if not entry.strip():
            continue
        try:
            host, port = split_host_port(entry)
        except ValueError:
            log.warning("allowed hosts: %r is not host or host:port; it allows nothing", entry)
            continue
        yield canonical_host(host), port


def _shown(host: str) -> str:
    text = host.strip()
    return text if text.startswith("[") or ":" not in text else f"[{text}]"


def _with_port(host: str, port: int) -> str:
    return f"{host}:{port}"


class EgressProxy:
    """A forwarding HTTP proxy on 127.0.0.1 that lets through only what ``policy`` allows.

    Use it as a context manager around the work that fetches; hand
    :attr:`url` to the client (and to the helper programs it starts). Each
    request is handled on its own thread (a greenlet under gevent) and is
    checked afresh: a redirect, an embedded file or a fragment is a new
    request, so it is checked too. ``timeout`` bounds connecting and each
    wait for data.

    Written here rather than taken from a proxy package: what is needed is
    small (absolute-form HTTP and ``CONNECT``, one request per connection),
    the check must sit between resolving and connecting, and it must run as
    threads inside a Celery worker or a gevent web process; the proxy
    packages run their own event loop or process.
    """

    def __init__(self, policy: EgressPolicy, timeout: float = 20.0) -> None:
        self.policy = policy
        self.timeout = timeout
        self.refusals: list[EgressRefused] = []
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._listener is not None, "the proxy is not running"
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> EgressProxy:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        _close_helper_bypass()
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        listener.settimeout(0.2)  # so that stop() is noticed without closing a socket under accept()
        self._listener = listener
        self._thread = threading.Thread(target=self._accept, name="medianest-egress-proxy", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            still_open = list(self._open)
        for sock in still_open:
            _shut(sock)

    def refusals_since(self, mark: int) -> list[EgressRefused]:
        with self._lock:
            return self.refusals[mark:]

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                conn, address = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stopping.is_set():
                    return
                raise
            conn.settimeout(self.timeout)
            self._track(conn)
            threading.Thread(target=self._serve, args=(conn, address), daemon=True).start()

    def _serve(self, conn: socket.socket, address) -> None:
        try:
            _ProxyRequest(conn, address, self)
        except Exception:  # a client that went away mid-request: nothing to tell anyone
            log.debug("egress proxy: request from %s ended with an error", address, exc_info=True)
        finally:
            self._forget(conn)
            _shut(conn)
            conn.close()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.add(sock)

    def _forget(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.discard(sock)

    def _refused(self, refusal: EgressRefused) -> None:
        log.warning("egress refused: %s", refusal)
        with self._lock:
            self.refusals.append(refusal)

    def open_upstream(self, host: str, port: int) -> socket.socket:
        upstream = self.policy.connect(host, port, self.timeout)
        upstream.settimeout(self.timeout)
        self._track(upstream)
        return upstream

    def close_upstream(self, upstream: socket.socket) -> None:
        self._forget(upstream)
        _shut(upstream)
        upstream.close()


_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
}


class _ProxyRequest(BaseHTTPRequestHandler):
    """One client connection: one absolute-form request or one ``CONNECT`` tunnel, then closed."""

    protocol_version = "HTTP/1.1"
    server_version = "MediaNest-egress"
    proxy: EgressProxy

    def __init__(self, conn: socket.socket, address, proxy: EgressProxy) -> None:
        self.proxy = proxy
        super().__init__(conn, address, proxy)

    def handle(self) -> None:
        self.close_connection = True
        self.handle_one_request()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the name http.server uses)
        log.debug("egress proxy: " + format, *args)

    def _refuse(self, refusal: EgressRefused) -> None:
        self.proxy._refused(refusal)
        self._answer(403, refusal.message, f"MediaNest refused this connection: {refusal.message}\n")

    def _answer(self, status: int, reason: str, body: str) -> None:
        data = body.encode("utf-8", "replace")
        reason = re.sub(r"[^\x20-\x7e]", "?", reason)[:200]
        self.wfile.write(f"HTTP/1.1 {status} {reason}\r\n".encode("latin-1"))
        self.wfile.write(b"Content-Type: text/plain; charset=utf-8\r\n")
        self.wfile.write(f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode("latin-1"))
        if self.command != "HEAD":
            self.wfile.write(data)
        self.wfile.flush()

    def _upstream(self, host: str, port: int) -> socket.socket | None:
        try:
            return self.proxy.open_upstream(host, port)
        except EgressRefused as refusal:
            self._refuse(refusal)
        except TimeoutError:
            self._answer(504, "Gateway Timeout", f"{host}:{port} did not answer in time\n")
        except OSError as exc:
            self._answer(502, "Bad Gateway", f"could not connect to {host}:{port}: {exc.strerror or exc}\n")
        return None

    def do_CONNECT(self) -> None:  # noqa: N802 (http.server's dispatch name)
        try:
            host, port = split_host_port(self.path)
        except ValueError:
            host, port = self.path, None
        if port is None:
            self._answer(400, "Bad Request", "CONNECT needs host:port\n")
            return
        upstream = self._upstream(host, port)
        if upstream is None:
            return
        try:
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self.wfile.flush()
            self._relay_both(upstream)
        finally:
            self.proxy.close_upstream(upstream)

    def _forward(self) -> None:
        try:
            parts = urlsplit(self.path)
            port = parts.port or 80
        except ValueError:
            self._answer(400, "Bad Request", "not a valid URL\n")
            return
        if parts.scheme.lower() != "http" or not parts.hostname:
            shown = parts.scheme or self.path[:50]
            self._refuse(EgressRefused(f"{shown!r}", "is not a scheme MediaNest fetches (only http and https)"))
            return
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self._answer(411, "Length Required", "request bodies must carry Content-Length\n")
            return
        upstream = self._upstream(parts.hostname, port)
        if upstream is None:
            return
        try:
            target = parts.path or "/"
            if parts.query:
                target += "?" + parts.query
            head = [f"{self.command} {target} HTTP/1.1"]
            for name, value in self.headers.items():
                if name.lower() not in _HOP_BY_HOP:
                    head.append(f"{name}: {value}")
            if "Host" not in self.headers:
                head.append(f"Host: {parts.netloc.rsplit('@', 1)[-1]}")
            head.append("Connection: close")
            upstream.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
            remaining = int(self.headers.get("Content-Length") or 0)
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 65536))
                if not chunk:
                    break
                upstream.sendall(chunk)
                remaining -= len(chunk)
            _copy(upstream.recv, self.connection.sendall)
        finally:
            self.proxy.close_upstream(upstream)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = _forward  # noqa: N815

    def _relay_both(self, upstream: socket.socket) -> None:
        def client_to_upstream() -> None:
            with contextlib.suppress(OSError):  # either side went away: the tunnel ends
                _copy(lambda n: self.rfile.read1(n), upstream.sendall)
            with contextlib.suppress(OSError):
                upstream.shutdown(socket.SHUT_WR)

        # The client may send nothing for as long as a download lasts: no timeout on its side (the
        # upstream side keeps one, and stop() cuts whatever is still open).
        self.connection.settimeout(None)
        sender = threading.Thread(target=client_to_upstream, daemon=True)
        sender.start()
        try:
            with contextlib.suppress(OSError):
                _copy(upstream.recv, self.connection.sendall)
        finally:
            _shut(self.connection)  # the other side has nothing more to say: end the tunnel both ways
        sender.join(timeout=self.proxy.timeout)


def _copy(read: Callable[[int], bytes], write: Callable[[bytes], object]) -> None:
    while True:
        chunk = read(65536)
        if not chunk:
            return
        write(chunk)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


_bypass_lock = threading.Lock()


def _close_helper_bypass() -> None:
    """Take ``no_proxy`` out of this process's environment.

    yt-dlp hands ffmpeg a copy of the process environment with the proxy
    added, and ffmpeg connects directly to every host ``no_proxy`` names,
    past the guard. No option turns that off, so the variable goes.
    """
    with _bypass_lock:
        for name in ("no_proxy", "NO_PROXY"):
            if name in os.environ:
                log.warning("%s is set; removed, so that helper programs cannot bypass the egress guard", name)
                del os.environ[name]
