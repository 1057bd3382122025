"""The egress guard on its own: which addresses are private, how hosts are spelled, what the policy admits,
and the filtering proxy against servers on 127.0.0.1."""

from __future__ import annotations

import ipaddress
import os
import socket
import threading

import pytest
import requests

from medianest.egress import (
    AllowedNetwork,
    EgressPolicy,
    EgressProxy,
    EgressRefused,
    address_kind,
    canonical_host,
    parse_address,
    parse_allowed_network,
    parse_ipv4,
)
from medianest.plugins import EgressPolicy as PublicPolicy


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.20", "private"),
        ("169.254.169.254", "link-local"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "reserved"),
        ("255.255.255.255", "private"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "link-local"),
        ("2002:7f00:1::", "loopback"),  # 6to4 carrying 127.0.0.1
        ("2002:a00:1::", "private"),  # 6to4 carrying 10.0.0.1
        ("8.8.8.8", None),
        ("93.184.216.34", None),
        ("2001:4860:4860::8888", None),
        ("::ffff:8.8.8.8", None),
    ],
)
def test_address_kind(address, kind):
    assert address_kind(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize(
    "spelling", ["127.0.0.1", "127.1", "127.0.1", "2130706433", "0x7f000001", "0177.0.0.1", "0x7f.0.0.01", "0X7F.1"]
)
def test_ipv4_spellings_the_c_library_accepts(spelling):
    assert parse_ipv4(spelling) == ipaddress.IPv4Address("127.0.0.1")
    assert socket.inet_aton(spelling) == socket.inet_aton("127.0.0.1")  # the system reads it the same way
    assert canonical_host(spelling) == "127.0.0.1"


@pytest.mark.parametrize("text", ["256.0.0.1", "1.2.3.4.5", "08.0.0.1", "0x100000000", "4294967296", "", "a.b", "1..2"])
def test_what_is_not_an_ipv4_address(text):
    assert parse_ipv4(text) is None


def test_ipv6_spellings():
    assert parse_address("[::1]") == ipaddress.IPv6Address("::1")
    assert canonical_host("[::ffff:127.0.0.1]") == "127.0.0.1"
    assert canonical_host("[0:0:0:0:0:0:0:1]") == "::1"
    assert canonical_host("Media.Example.COM.") == "media.example.com"


def test_allowed_network_entries():
    assert parse_allowed_network("192.168.1.20") == AllowedNetwork(ipaddress.ip_network("192.168.1.20/32"))
    assert parse_allowed_network("10.0.0.0/8:8096") == AllowedNetwork(ipaddress.ip_network("10.0.0.0/8"), 8096)
    assert parse_allowed_network("[::1]:8096") == AllowedNetwork(ipaddress.ip_network("::1/128"), 8096)
    assert parse_allowed_network("0x7f000001:80").network == ipaddress.ip_network("127.0.0.1/32")
    assert parse_allowed_network("::ffff:127.0.0.1").network == ipaddress.ip_network("127.0.0.1/32")
    for bad in ("nas.local", "localhost:8080", "10.0.0.1:0", "10.0.0.1:99999", "10.0.0.0/33"):
        with pytest.raises(ValueError):
            parse_allowed_network(bad)


def _resolver(table: dict[str, list[str]]):
    def resolve(host: str, port: int) -> list:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [ipaddress.ip_address(a) for a in table[host]]

    return resolve


def test_the_host_list_and_port_pinning():
    policy = EgressPolicy(["media.example:8443", "cdn.example"], resolver=_resolver({"cdn.example": ["93.184.216.34"]}))
    assert policy.host_listed("media.example", 8443)
    assert not policy.host_listed("media.example", 443)
    assert policy.check("cdn.example", 8080) == [ipaddress.ip_address("93.184.216.34")]
    with pytest.raises(EgressRefused, match=r"^media\.example:443 is not on the allowed hosts list$"):
        policy.check("media.example", 443)
    with pytest.raises(EgressRefused, match="evil.example:80 is not on the allowed hosts list"):
        policy.check("evil.example", 80)


def test_a_name_with_one_private_address_among_several_is_refused():
    policy = EgressPolicy(["cdn.example"], resolver=_resolver({"cdn.example": ["93.184.216.34", "10.0.0.7"]}))
    with pytest.raises(EgressRefused, match=r"cdn\.example:443 is a private address: it resolves to 10\.0\.0\.7"):
        policy.check("cdn.example", 443)


def test_real_names_that_resolve_to_loopback_are_refused():
    policy = EgressPolicy(["localhost"])
    with pytest.raises(EgressRefused, match="localhost:80 is a private address: it resolves to"):
        policy.check("localhost", 80)


def test_a_listed_host_name_does_not_open_a_private_address():
    table = {"nas.home": ["192.168.1.20"]}
    assert pytest.raises(EgressRefused, EgressPolicy(["nas.home"], resolver=_resolver(table)).check, "nas.home", 80)
    opened = EgressPolicy(["nas.home"], ["192.168.1.20:80"], resolver=_resolver(table))
    assert opened.check("nas.home", 80) == [ipaddress.ip_address("192.168.1.20")]
    with pytest.raises(EgressRefused, match="is a private address"):
        opened.check("nas.home", 8080)  # the port is part of what was opened


@pytest.mark.parametrize(
    ("host", "port", "says"),
    [
        ("2130706433", 6379, "2130706433:6379 (127.0.0.1) is a private address (loopback)"),
        ("0177.0.0.1", 6379, "0177.0.0.1:6379 (127.0.0.1) is a private address (loopback)"),
        ("127.1", 6379, "127.1:6379 (127.0.0.1) is a private address (loopback)"),
        ("[::1]", 6379, "[::1]:6379 is a private address (loopback)"),
        ("::ffff:127.0.0.1", 6379, "[::ffff:127.0.0.1]:6379 (127.0.0.1) is a private address (loopback)"),
        ("169.254.169.254", 80, "169.254.169.254:80 is a private address (link-local)"),
    ],
)
def test_addresses_on_the_list_are_still_private(host, port, says):
    policy = EgressPolicy(["127.0.0.1", "::1", "169.254.169.254"], ["127.0.0.1:8080"])
    with pytest.raises(EgressRefused) as refused:
        policy.check(host, port)
    assert str(refused.value) == says
    if parse_address(host) == ipaddress.ip_address("127.0.0.1") or canonical_host(host) == "127.0.0.1":
        assert policy.check(host, 8080) == [ipaddress.ip_address("127.0.0.1")]  # the port that was opened


def test_unresolvable_names_and_bad_ports():
    policy = EgressPolicy(["gone.example"], resolver=_resolver({}))
    with pytest.raises(EgressRefused, match="gone.example could not be resolved"):
        policy.check("gone.example", 80)
    with pytest.raises(EgressRefused, match="port 0"):
        policy.check("gone.example", 0)


def test_the_plugin_surface_exports_the_guard():
    assert PublicPolicy is EgressPolicy


# ----------------------------------------------------------------- the proxy
class Listener:
    """A TCP server on 127.0.0.1 answering each connection with one HTTP response; counts accepts."""

    def __init__(self, body: bytes = b"hello") -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.body = body
        self.accepts = 0
        self.seen: list[bytes] = []
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
            with conn:
                conn.settimeout(2)
                try:
                    data = conn.recv(65536)
                    self.seen.append(data)
                    if data.startswith(b"ECHO"):
                        conn.sendall(data)
                        continue
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                        % (len(self.body), self.body)
                    )
                except OSError:
                    pass

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def allowed():
    server = Listener(b"allowed answer")
    yield server
    server.stop()


@pytest.fixture
def forbidden():
    server = Listener(b"secret")
    yield server
    server.stop()


def _session(proxy: EgressProxy) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.proxies = {"http": proxy.url, "https": proxy.url}
    return session


def test_the_proxy_forwards_allowed_requests_and_refuses_the_rest(allowed, forbidden):
    policy = EgressPolicy([f"127.0.0.1:{allowed.port}"], [f"127.0.0.1:{allowed.port}"])
    with EgressProxy(policy, timeout=5) as proxy:
        http = _session(proxy)
        answer = http.get(f"http://127.0.0.1:{allowed.port}/a?b=c", timeout=5)
        assert answer.status_code == 200 and answer.text == "allowed answer"
        assert allowed.seen[0].startswith(b"GET /a?b=c HTTP/1.1\r\n")
        assert b"Proxy-Connection" not in allowed.seen[0]

        refused = http.get(f"http://127.0.0.1:{forbidden.port}/", timeout=5)
        assert refused.status_code == 403
        assert refused.reason == f"127.0.0.1:{forbidden.port} is not on the allowed hosts list"
        assert [str(r) for r in proxy.refusals] == [refused.reason]

        with pytest.raises(requests.exceptions.ProxyError, match="403"):
            http.get(f"https://127.0.0.1:{forbidden.port}/", timeout=5)  # CONNECT
    assert forbidden.accepts == 0


def test_connect_tunnels_to_an_allowed_address(allowed):
    policy = EgressPolicy([f"127.0.0.1:{allowed.port}"], [f"127.0.0.1:{allowed.port}"])
    with EgressProxy(policy, timeout=5) as proxy:
        port = int(proxy.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            client.sendall(f"CONNECT 127.0.0.1:{allowed.port} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            assert client.recv(1024).startswith(b"HTTP/1.1 200")
            client.sendall(b"ECHO through the tunnel")
            assert client.recv(1024) == b"ECHO through the tunnel"


def test_other_schemes_are_refused(forbidden):
    policy = EgressPolicy(["127.0.0.1"], ["127.0.0.1"])
    with EgressProxy(policy, timeout=5) as proxy:
        port = int(proxy.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            client.sendall(f"GET ftp://127.0.0.1:{forbidden.port}/x HTTP/1.1\r\n\r\n".encode())
            assert client.recv(1024).startswith(b"HTTP/1.1 403 ")
    assert forbidden.accepts == 0


def test_the_proxy_connects_to_the_address_it_checked(allowed, forbidden):
    """DNS rebinding: a second lookup would give the forbidden address; the proxy makes only one."""
    answers = iter([["127.0.0.1"]] + [["127.0.0.2"]] * 10)
    lookups = []

    def rebinding(host: str, port: int) -> list:
        lookups.append(host)
        return [ipaddress.ip_address(a) for a in next(answers)]

    policy = EgressPolicy(["media.test"], [f"127.0.0.1:{allowed.port}"], resolver=rebinding)
    with EgressProxy(policy, timeout=5) as proxy:
        answer = _session(proxy).get(f"http://media.test:{allowed.port}/", timeout=5)
    assert answer.text == "allowed answer"
    assert lookups == ["media.test"]
    assert b"Host: media.test:%d" % allowed.port in allowed.seen[0]


def test_stop_closes_the_proxy():
    proxy = EgressProxy(EgressPolicy([]), timeout=5)
    with proxy:
        port = int(proxy.url.rsplit(":", 1)[1])
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2)


def test_starting_a_proxy_removes_no_proxy_which_helper_programs_would_obey(monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with EgressProxy(EgressPolicy([]), timeout=5):
        assert "no_proxy" not in os.environ and "NO_PROXY" not in os.environ


def test_a_wildcard_entry_allows_sub_domains_only():
    policy = EgressPolicy(["*.googlevideo.com"], resolver=_resolver({"rr1.sn-x.googlevideo.com": ["142.250.1.1"]}))
    assert policy.check("rr1.sn-x.googlevideo.com", 443) == [ipaddress.ip_address("142.250.1.1")]
    assert not policy.host_listed("googlevideo.com", 443)
    assert not policy.host_listed("evilgooglevideo.com", 443)
