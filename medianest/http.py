"""The one way MediaNest reaches an external service.

Per service: a pooled ``requests.Session`` (keep-alive, bounded pool), connect
and read timeouts on every call, retries with exponential backoff and jitter
for idempotent calls only (urllib3 ``Retry``), and a pybreaker circuit
breaker.  Failures reach plugins as a few exceptions, each an
:class:`~medianest.api.ApiError` with a stable code and the service's name,
so a view that lets one through answers 503/504/502 with the envelope.

Timeouts and breaker thresholds come from the settings (``service_*`` and
``breaker_*``), overridable per service (``MEDIANEST_<SERVICE>_READ_TIMEOUT``
or the service's admin form): see :func:`client_options`.

The breaker is pybreaker's, driven through its public methods so that a call
does not hold a lock while it waits on the network (pybreaker's own ``call``
does, which would queue every caller of a slow service behind the first one).
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlparse

import pybreaker
import requests
import urllib3
from flask import current_app, has_app_context
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from medianest.json_answers import ApiError
from medianest.metrics import BREAKER_FAILURES, BREAKER_STATE, BREAKER_STATES, SERVICE_CALL_SECONDS, SERVICE_CALLS
from medianest.settings import service_env

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
        _export_state(cb.name, new_state.name, cb.fail_counter)
        log.warning("circuit breaker for %s: %s -> %s", cb.name, getattr(old_state, "name", old_state), new_state.name)

    def failure(self, cb: pybreaker.CircuitBreaker, exc: BaseException) -> None:

        BREAKER_FAILURES.labels(service=cb.name).set(cb.fail_counter)

    def success(self, cb: pybreaker.CircuitBreaker) -> None:

        BREAKER_FAILURES.labels(service=cb.name).set(0)


def _export_state(service: str, state: str, failures: int) -> None:

    BREAKER_STATE.labels(service=service).set(1 if state == pybreaker.STATE_OPEN else 0)
    for name in (pybreaker.STATE_CLOSED, pybreaker.STATE_OPEN, pybreaker.STATE_HALF_OPEN):
        BREAKER_STATES.labels(service=service, state=name).set(1 if name == state else 0)
    BREAKER_FAILURES.labels(service=service).set(failures)


class ServiceBreaker(pybreaker.CircuitBreaker):
    """pybreaker's breaker, without holding a lock for the length of the guarded call.

    pybreaker's ``call`` keeps its lock while the call runs, so callers of a
    service that hangs would wait in line for each other's timeouts.  Here the
    call goes through pybreaker's public parts (``open``, ``half_open``,
    ``close``, ``is_system_error``, the listeners and the state storage this
    breaker is given), and our own lock guards only the decisions before and
    after it.  While half-open, one trial call goes through; the others fail
    fast until it ends.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.storage = pybreaker.CircuitMemoryStorage(pybreaker.STATE_CLOSED)
        super().__init__(*args, state_storage=self.storage, **kwargs)
        self.decisions = threading.Lock()
        self.trial_running = False

    def call(self, func: Any, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        trial = False
        with self.decisions:
            if self.current_state == pybreaker.STATE_OPEN:
                if self.retry_in():
                    raise pybreaker.CircuitBreakerError("circuit breaker open")
                self.half_open()
            if self.current_state == pybreaker.STATE_HALF_OPEN:
                if self.trial_running:
                    raise pybreaker.CircuitBreakerError("circuit breaker half-open, trial call running")
                self.trial_running = trial = True
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:
            with self.decisions:
                self.trial_running = self.trial_running and not trial
                if not self.is_system_error(exc):
                    self._succeeded(trial)
                    raise
                self.storage.increment_counter()
                for listener in self.listeners:
                    listener.failure(self, exc)
                if trial or self.storage.counter >= self.fail_max:
                    self.open()
            raise
        with self.decisions:
            self.trial_running = self.trial_running and not trial
            self._succeeded(trial)
        return result

    def _succeeded(self, trial: bool) -> None:
        self.storage.reset_counter()
        if trial:
            self.close()
        for listener in self.listeners:
            listener.success(self)

    def retry_in(self) -> float | None:
        """Seconds until an open breaker lets a trial call through (``None`` unless open)."""
        if self.current_state != pybreaker.STATE_OPEN or not self.storage.opened_at:
            return None
        until = self.storage.opened_at + timedelta(seconds=self.reset_timeout)
        return max(0.0, (until - datetime.now(UTC)).total_seconds())


_breakers: dict[str, ServiceBreaker] = {}
_clients: dict[tuple, ServiceClient] = {}
_lock = threading.RLock()  # re-entrant: for_service holds it while a new client takes its breaker


def breaker_for(
    service: str, fail_max: int = BREAKER_FAIL_MAX, reset_timeout: float = BREAKER_RESET_SECONDS
) -> ServiceBreaker:
    """The breaker of one service (made on first use; thresholds changed: a fresh one)."""
    with _lock:
        breaker = _breakers.get(service)
        if breaker is None or breaker.fail_max != fail_max or breaker.reset_timeout != reset_timeout:
            breaker = ServiceBreaker(
                fail_max=fail_max,
                reset_timeout=reset_timeout,
                name=service,
                listeners=[_BreakerMetrics()],
                # A refusal of our key or a 4xx is the service working: it must not open the breaker.
                exclude=[lambda exc: isinstance(exc, (ServiceUnauthorized, _ClientSideError))],
                # The call that trips the breaker reports what went wrong, not just "open".
                throw_new_error_on_trip=False,
            )
            _breakers[service] = breaker
            _export_state(service, pybreaker.STATE_CLOSED, 0)
        return breaker


def breaker_states() -> dict[str, dict[str, Any]]:
    """Every breaker this process has made: state, consecutive failures, thresholds."""
    with _lock:
        breakers = list(_breakers.items())
    states = {}
    for name, b in sorted(breakers):
        retry_in = b.retry_in()
        states[name] = {
            "state": b.current_state,
            "failures": b.fail_counter,
            "fail_max": b.fail_max,
            "reset_seconds": b.reset_timeout,
            "retry_in_seconds": round(retry_in, 1) if retry_in is not None else None,
        }
    return states


class _ClientSideError(Exception):
    """A 4xx that is not an auth failure: passed back to the caller, not counted as a failure."""

    def __init__(self, response: requests.Response) -> None:
        self.response = response


def _positive(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def client_options(service: str, config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Timeouts and breaker thresholds for one service.

    First the service's own values (``config``: its stored settings, e.g. from
    :func:`medianest.service_settings.service_config`, with fields ``connect_timeout``
    and ``read_timeout``), then ``MEDIANEST_<SERVICE>_CONNECT_TIMEOUT`` /
    ``_READ_TIMEOUT`` / ``_BREAKER_FAIL_MAX`` / ``_BREAKER_RESET_SECONDS``,
    then the app-wide settings, then the built-in defaults.
    """

    settings = current_app.config["MEDIANEST"] if has_app_context() else None
    defaults = {
        "connect_timeout": getattr(settings, "service_connect_timeout", DEFAULT_CONNECT_TIMEOUT),
        "read_timeout": getattr(settings, "service_read_timeout", DEFAULT_READ_TIMEOUT),
        "fail_max": getattr(settings, "breaker_fail_max", BREAKER_FAIL_MAX),
        "reset_timeout": getattr(settings, "breaker_reset_seconds", BREAKER_RESET_SECONDS),
    }
    fields = {
        "connect_timeout": "connect_timeout",
        "read_timeout": "read_timeout",
        "fail_max": "breaker_fail_max",
        "reset_timeout": "breaker_reset_seconds",
    }
    options: dict[str, Any] = {}
    for option, field in fields.items():
        value = _positive((config or {}).get(field))
        if value is None:
            value = _positive(service_env(service, field))
        options[option] = value if value is not None else defaults[option]
    options["fail_max"] = max(1, int(options["fail_max"]))
    return options


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
        fail_max: int = BREAKER_FAIL_MAX,
        reset_timeout: float = BREAKER_RESET_SECONDS,
        name: str | None = None,
    ) -> None:
        # ``name`` is the product's name for people ("Uptime Kuma"); ``service`` the settings key.
        self.name = name or service
        problem = check_base_url(base_url)
        if problem:
            raise ServiceUnreachable(service, f"{self.name}: {problem}")
        self.service = service
        self.base_url = base_url.rstrip("/") + "/"
        self.timeout = (connect_timeout, read_timeout)
        self.breaker = breaker or breaker_for(service, fail_max, reset_timeout)
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
    def for_service(
        cls, service: str, base_url: str, headers: Mapping[str, str] | None = None, **options: Any
    ) -> ServiceClient:
        """The pooled client of one service.  Timeouts and breaker thresholds not given
        come from :func:`client_options` (the environment and the app's settings)."""
        for name, value in client_options(service).items():
            options.setdefault(name, value)
        key = (service, base_url, tuple(sorted((headers or {}).items())), tuple(sorted(options.items())))
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = cls(service, base_url, headers, **options)
            return client

    def close(self) -> None:
        """Close the pooled connections (for a one-off client not made by :meth:`for_service`)."""
        self.session.close()
        self._no_retry.close()

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
        retry: bool = True,
    ) -> requests.Response:
        """One call through the breaker. 2xx (and ``accept_statuses``) come back; the rest raise.

        A 4xx other than 401/403 raises :class:`ServiceBadAnswer` with the
        service's status and body in ``details`` unless listed in
        ``accept_statuses`` (e.g. 409 for "already requested").  Idempotent
        calls are retried unless ``retry=False`` (health checks: the next
        check is the retry).
        """
        method = method.upper()
        session = self.session if (retry and method in IDEMPOTENT) else self._no_retry
        connect_timeout, read_timeout = timeout or self.timeout

        def call() -> requests.Response:

            try:
                response = session.request(
                    method,
                    self.url(path),
                    params=params,
                    json=json_body,
                    data=data,
                    headers=dict(headers or {}),
                    timeout=(connect_timeout, read_timeout),
                    stream=True,
                    allow_redirects=False,
                )
            except requests.exceptions.ConnectTimeout:
                SERVICE_CALLS.labels(service=self.service, outcome="timeout").inc()
                raise ServiceTimeout(
                    self.service, f"{self.name} did not accept a connection in {connect_timeout:g} s."
                ) from None
            except requests.exceptions.ReadTimeout:
                SERVICE_CALLS.labels(service=self.service, outcome="timeout").inc()
                raise ServiceTimeout(self.service, f"{self.name} did not answer in {read_timeout:g} s.") from None
            except requests.exceptions.RetryError as exc:
                SERVICE_CALLS.labels(service=self.service, outcome="bad_answer").inc()
                raise ServiceBadAnswer(self.service, f"{self.name} kept failing: {exc}") from None
            except requests.exceptions.ConnectionError as exc:
                SERVICE_CALLS.labels(service=self.service, outcome="unreachable").inc()
                text = "refused the connection" if "refused" in str(exc).lower() else "could not be reached"
                if "timed out" in str(exc).lower():
                    raise ServiceTimeout(self.service, f"{self.name} did not answer in time.") from None
                raise ServiceUnreachable(self.service, f"{self.name} {text}.") from None
            except requests.exceptions.RequestException as exc:
                SERVICE_CALLS.labels(service=self.service, outcome="unreachable").inc()
                raise ServiceUnreachable(self.service, f"{self.name}: {exc.__class__.__name__}") from None
            body = _read_limited(response, max_bytes, self.service, read_timeout, self.name)
            response.raw = io.BytesIO(body)  # the body is now in memory, size-checked: .content reads it
            status = response.status_code
            if status in (401, 403) and status not in accept_statuses:
                SERVICE_CALLS.labels(service=self.service, outcome="unauthorized").inc()
                raise ServiceUnauthorized(
                    self.service, f"{self.name} refused MediaNest's credentials ({status}).", {"status": status}
                )
            if status >= 500 and status not in accept_statuses:
                SERVICE_CALLS.labels(service=self.service, outcome="bad_answer").inc()
                raise ServiceBadAnswer(self.service, f"{self.name} answered with HTTP {status}.", {"status": status})
            SERVICE_CALLS.labels(service=self.service, outcome="ok").inc()
            if 400 <= status < 500 and status not in accept_statuses:
                raise _ClientSideError(response)
            return response

        started = time.perf_counter()
        try:
            return self.breaker.call(call)
        except pybreaker.CircuitBreakerError:
            SERVICE_CALLS.labels(service=self.service, outcome="circuit_open").inc()
            raise CircuitOpen(
                self.service,
                f"{self.name} is not answering; MediaNest will try again in at most {self.breaker.reset_timeout:g} s.",
            ) from None
        except _ClientSideError as exc:
            response = exc.response
            raise ServiceBadAnswer(
                self.service,
                f"{self.name} rejected the request ({response.status_code}).",
                {"status": response.status_code, "body": _short(response)},
            ) from None
        finally:
            SERVICE_CALL_SECONDS.labels(service=self.service).observe(time.perf_counter() - started)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def get_json(self, path: str, **kwargs: Any) -> Any:
        return json_of(self.get(path, **kwargs), self.service, self.name)


def json_of(response: requests.Response, service: str, name: str | None = None) -> Any:
    """The JSON body, or :class:`ServiceBadAnswer` (XML, HTML, truncated...).

    NUL characters (JSON's ``\\u0000``) are taken out of its strings: PostgreSQL
    refuses them in text, and a title or a name kept from a service's answer
    must not turn a valid answer into an error.
    """
    try:
        answer = json.loads(response.content)
    except ValueError:
        kind = response.headers.get("Content-Type", "unknown type")
        raise ServiceBadAnswer(
            service, f"{name or service} answered with something that is not JSON ({kind})."
        ) from None
    return _without_nul(answer) if b"\\u0000" in response.content else answer


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    return value


def _read_limited(
    response: requests.Response, max_bytes: int, service: str, read_timeout: float, name: str | None = None
) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        response.close()
        raise ServiceBadAnswer(service, f"{name or service} sent an answer larger than {max_bytes} bytes.")
    chunks, total = [], 0
    deadline = time.monotonic() + max(read_timeout * 3, 5)
    try:
        for chunk in response.raw.stream(64 * 1024, decode_content=True):
            total += len(chunk)
            if total > max_bytes:
                raise ServiceBadAnswer(service, f"{name or service} sent an answer larger than {max_bytes} bytes.")
            if time.monotonic() > deadline:
                raise ServiceTimeout(service, f"{name or service} sent its answer too slowly.")
            chunks.append(chunk)
    except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError) as exc:
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
