"""The one way MediaNest reaches an external service.

Per service: a pooled ``requests.Session`` (keep-alive, bounded pool), connect
and read timeouts on every call, retries with exponential backoff and jitter
for idempotent calls only (urllib3 ``Retry``), and a pybreaker circuit
breaker.  Failures reach plugins as a few exceptions, each an
:class:`~medianest.api.ApiError` with a stable code and the service's name,
so a view that lets one through answers 503/504/502 with the envelope.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin, urlparse

import pybreaker
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from medianest.api.envelope import ApiError

log = logging.getLogger("medianest.http")

DEFAULT_CONNECT_TIMEOUT = 3.0
DEFAULT_READ_TIMEOUT = 10.0
DEFAULT_MAX_BYTES = 8 * 1024 * 1024
BREAKER_FAIL_MAX = 5
BREAKER_RESET_SECONDS = 30.0
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class ServiceError(ApiError):
    """A call to an external service failed; ``service`` names which one."""

    code_name = "SERVICE_UNAVAILABLE"
    http_status = 503

    def __init__(self, service: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(self.code_name, message, self.http_status, {"service": service, **(details or {})})
        self.service = service


class ServiceUnreachable(ServiceError):
    """Connection refused, DNS failure, reset."""


class ServiceTimeout(ServiceError):
    code_name = "SERVICE_TIMEOUT"
    http_status = 504


class ServiceUnauthorized(ServiceError):
    """The service refused our credentials (401/403)."""

    code_name = "SERVICE_UNAUTHORIZED"
    http_status = 502


class ServiceBadAnswer(ServiceError):
    """The service answered something we cannot use: 5xx, not JSON, truncated, too large."""

    code_name = "SERVICE_BAD_ANSWER"
    http_status = 502


class CircuitOpen(ServiceError):
    """Recent calls failed; we don't try again until the breaker half-opens."""


class _BreakerMetrics(pybreaker.CircuitBreakerListener):
    def state_change(self, cb: pybreaker.CircuitBreaker, old_state: Any, new_state: Any) -> None:
        from medianest.metrics import BREAKER_STATE

        BREAKER_STATE.labels(service=cb.name).set(1 if new_state.name == "open" else 0)
        log.warning("circuit breaker for %s: %s -> %s", cb.name, getattr(old_state, "name", old_state), new_state.name)


_breakers: dict[str, pybreaker.CircuitBreaker] = {}
_clients: dict[tuple, ServiceClient] = {}
_lock = threading.RLock()  # re-entrant: for_service holds it while a new client takes its breaker


def breaker_for(service: str, fail_max: int = BREAKER_FAIL_MAX, reset_timeout: float = BREAKER_RESET_SECONDS) -> pybreaker.CircuitBreaker:
    with _lock:
        breaker = _breakers.get(service)
        if breaker is None or breaker.fail_max != fail_max or breaker.reset_timeout != reset_timeout:
            breaker = pybreaker.CircuitBreaker(
                fail_max=fail_max,
                reset_timeout=reset_timeout,
                name=service,
                listeners=[_BreakerMetrics()],
                # A refusal of our key or a 4xx is the service working: it must not open the breaker.
                exclude=[lambda exc: isinstance(exc, (ServiceUnauthorized, _ClientSideError))],
            )
            _breakers[service] = breaker
        return breaker


def breaker_states() -> dict[str, dict[str, Any]]:
    return {name: {"state": b.current_state, "failures": b.fail_counter} for name, b in _breakers.items()}


class _ClientSideError(Exception):
    """A 4xx that is not an auth failure: passed back to the caller, not counted as a failure."""

    def __init__(self, response: requests.Response) -> None:
        self.response = response


def check_base_url(url: str) -> str | None:
    """Why a service URL can't be used (``None`` when fine)."""
    parsed = urlparse(url or "")
    if parsed.scheme not in ("http", "https"):
        return "The URL must start with http:// or https://."
    if not parsed.hostname:
        return "The URL has no host name."
    return None


class ServiceClient:
    """Calls one service. Get one with :meth:`for_service`; clients are cached and thread-safe."""

    def __init__(
        self,
        service: str,
        base_url: str,
        headers: Mapping[str, str] | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        retries: int = 2,
        pool_size: int = 10,
        breaker: pybreaker.CircuitBreaker | None = None,
    ) -> None:
        problem = check_base_url(base_url)
        if problem:
            raise ServiceUnreachable(service, f"{service}: {problem}")
        self.service = service
        self.base_url = base_url.rstrip("/") + "/"
        self.timeout = (connect_timeout, read_timeout)
        self.breaker = breaker or breaker_for(service)
        self.session = requests.Session()
        self.session.headers.update(headers or {})
        retry = Retry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            backoff_factor=0.3,
            backoff_jitter=0.3,
            status_forcelist=(502, 503, 504),
            allowed_methods=IDEMPOTENT,
            raise_on_status=False,
            respect_retry_after_header=False,
        )
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self._no_retry = requests.Session()
        self._no_retry.headers.update(headers or {})
        plain = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
        self._no_retry.mount("http://", plain)
        self._no_retry.mount("https://", plain)

    @classmethod
    def for_service(cls, service: str, base_url: str, headers: Mapping[str, str] | None = None, **options: Any) -> ServiceClient:
        key = (service, base_url, tuple(sorted((headers or {}).items())), tuple(sorted(options.items())))
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = cls(service, base_url, headers, **options)
            return client

    def url(self, path: str) -> str:
        return urljoin(self.base_url, path.lstrip("/"))

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json_body: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        accept_statuses: tuple[int, ...] = (),
        timeout: tuple[float, float] | None = None,
    ) -> requests.Response:
        """One call through the breaker. 2xx (and ``accept_statuses``) come back; the rest raise.

        A 4xx other than 401/403 raises :class:`ServiceBadAnswer` with the
        service's status and body in ``details`` unless listed in
        ``accept_statuses`` (e.g. 409 for "already requested").
        """
        method = method.upper()
        session = self.session if method in IDEMPOTENT else self._no_retry

        def call() -> requests.Response:
            from medianest.metrics import SERVICE_CALLS

            try:
                response = session.request(
                    method,
                    self.url(path),
                    params=params,
                    json=json_body,
                    data=data,
                    headers=dict(headers or {}),
                    timeout=timeout or self.timeout,
                    stream=True,
                    allow_redirects=False,
                )
            except requests.exceptions.ConnectTimeout:
                SERVICE_CALLS.labels(service=self.service, outcome="timeout").inc()
                raise ServiceTimeout(self.service, f"{self.service} did not accept a connection in {self.timeout[0]:g} s.") from None
            except requests.exceptions.ReadTimeout:
                SERVICE_CALLS.labels(service=self.service, outcome="timeout").inc()
                raise ServiceTimeout(self.service, f"{self.service} did not answer in {self.timeout[1]:g} s.") from None
            except requests.exceptions.RetryError as exc:
                SERVICE_CALLS.labels(service=self.service, outcome="bad_answer").inc()
                raise ServiceBadAnswer(self.service, f"{self.service} kept failing: {exc}") from None
            except requests.exceptions.ConnectionError as exc:
                SERVICE_CALLS.labels(service=self.service, outcome="unreachable").inc()
                text = "refused the connection" if "refused" in str(exc).lower() else "could not be reached"
                if "timed out" in str(exc).lower():
                    raise ServiceTimeout(self.service, f"{self.service} did not answer in time.") from None
                raise ServiceUnreachable(self.service, f"{self.service} {text}.") from None
            except requests.exceptions.RequestException as exc:
                SERVICE_CALLS.labels(service=self.service, outcome="unreachable").inc()
                raise ServiceUnreachable(self.service, f"{self.service}: {exc.__class__.__name__}") from None
            body = _read_limited(response, max_bytes, self.service, self.timeout[1])
            response._content = body  # the body is now in memory, size-checked
            status = response.status_code
            if status in (401, 403) and status not in accept_statuses:
                SERVICE_CALLS.labels(service=self.service, outcome="unauthorized").inc()
                raise ServiceUnauthorized(
                    self.service, f"{self.service} refused MediaNest's credentials ({status}).", {"status": status}
                )
            if status >= 500 and status not in accept_statuses:
                SERVICE_CALLS.labels(service=self.service, outcome="bad_answer").inc()
                raise ServiceBadAnswer(self.service, f"{self.service} answered {status}.", {"status": status})
            SERVICE_CALLS.labels(service=self.service, outcome="ok").inc()
            if 400 <= status < 500 and status not in accept_statuses:
                raise _ClientSideError(response)
            return response

        try:
            return self.breaker.call(call)
        except pybreaker.CircuitBreakerError:
            raise CircuitOpen(
                self.service,
                f"{self.service} is not answering; MediaNest will try again in at most {self.breaker.reset_timeout:g} s.",
            ) from None
        except _ClientSideError as exc:
            response = exc.response
            raise ServiceBadAnswer(
                self.service,
                f"{self.service} rejected the request ({response.status_code}).",
                {"status": response.status_code, "body": _short(response)},
            ) from None

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def get_json(self, path: str, **kwargs: Any) -> Any:
        return json_of(self.get(path, **kwargs), self.service)


def json_of(response: requests.Response, service: str) -> Any:
    """The JSON body, or :class:`ServiceBadAnswer` (XML, HTML, truncated...)."""
    try:
        return json.loads(response.content)
    except ValueError:
        kind = response.headers.get("Content-Type", "unknown type")
        raise ServiceBadAnswer(service, f"{service} answered with something that is not JSON ({kind}).") from None


def _read_limited(response: requests.Response, max_bytes: int, service: str, read_timeout: float) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        response.close()
        raise ServiceBadAnswer(service, f"{service} sent an answer larger than {max_bytes} bytes.")
    chunks, total = [], 0
    deadline = time.monotonic() + max(read_timeout * 3, 5)
    try:
        for chunk in response.iter_content(64 * 1024):
            total += len(chunk)
            if total > max_bytes:
                raise ServiceBadAnswer(service, f"{service} sent an answer larger than {max_bytes} bytes.")
            if time.monotonic() > deadline:
                raise ServiceTimeout(service, f"{service} sent its answer too slowly.")
            chunks.append(chunk)
    except requests.exceptions.RequestException as exc:
        raise ServiceBadAnswer(service, f"{service} broke off its answer: {exc.__class__.__name__}") from None
    finally:
        response.close()
    return b"".join(chunks)


def _short(response: requests.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return response.content[:500].decode("utf-8", "replace")


def reset_clients() -> None:
    """Forget pooled clients and breakers (settings changed, or between tests)."""
    with _lock:
        for client in _clients.values():
            client.session.close()
            client._no_retry.close()
        _clients.clear()
        _breakers.clear()
