"""Which URLs a download may start from.

Only http(s) URLs on the allowed hosts: yt-dlp fetches whatever it is given,
so an open door here would let anyone with an account make the server read
the household's own network. This is the early check, with a friendly
answer; what a download really connects to (after redirects, embedded media,
fragments, ffmpeg) is checked by the egress guard the job runs it through.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from medianest.plugins import EgressPolicy, EgressRefused
from medianest.plugins.api import ApiError

MAX_URL_LENGTH = 2048
DEFAULT_PORTS = {"http": 80, "https": 443}


def host_allowed(url: str, allowed_hosts: tuple[str, ...]) -> bool:
    """The URL's host (and port) is on the list, read the way the egress guard reads it."""
    try:
        parts = urlsplit(url)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        return False
    if not parts.hostname or port is None:
        return False
    return EgressPolicy(allowed_hosts).host_listed(parts.hostname, port)


def check_url(url: str, allowed_hosts: tuple[str, ...], policy: EgressPolicy | None = None) -> str:
    """The URL, stripped, or an :class:`ApiError` saying why it cannot be downloaded.

    This is the early, friendly answer; the egress guard (``policy``) checks
    every connection the download really makes. Given a policy, an address
    it refuses (``http://127.0.0.1/``, in any spelling) is refused here too.
    """
    url = (url or "").strip()
    if len(url) > MAX_URL_LENGTH:
        raise ApiError("INVALID_URL", f"The URL is longer than {MAX_URL_LENGTH} characters.")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise ApiError("INVALID_URL", "The URL contains spaces or control characters.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError:
        raise ApiError("INVALID_URL", "That is not a valid URL.") from None
    if not parts.scheme or not parts.netloc:
        raise ApiError("INVALID_URL", "That is not a URL; paste the address of a video or playlist.")
    if parts.scheme.lower() not in ("http", "https"):
        raise ApiError(
            "INVALID_URL", "Only http and https addresses can be downloaded.", details={"scheme": parts.scheme}
        )
    if parts.username or parts.password:
        raise ApiError("INVALID_URL", "Addresses with a user name or password are not accepted.")
    if not host_allowed(url, allowed_hosts):
        raise ApiError(
            "HOST_NOT_ALLOWED",
            f"Downloads from {parts.hostname} are not allowed here.",
            details={"host": parts.hostname, "allowed_hosts": list(allowed_hosts)},
        )
    if policy is not None:
        try:
            policy.check_literal(parts.hostname, parts.port or DEFAULT_PORTS[parts.scheme.lower()])
        except EgressRefused as refused:
            raise ApiError(
                "HOST_NOT_ALLOWED", f"Not downloaded: {refused.message}.", details={"host": parts.hostname}
            ) from None
    return url
