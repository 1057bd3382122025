"""Logs are JSON lines carrying the request's correlation id (or plain text for humans).

No secret reaches a log line: :class:`SecretRedactor`, installed on the root
logger's handlers, masks the services' secret settings this process has read
(:func:`remember_secret`) and credentials written into URLs — ``user:password@``
and query parameters such as ``apikey=`` or ``X-Plex-Token=`` — in the message,
its arguments, the exception text and the stack, whatever logger wrote the
record (urllib3's retry warnings carry the URL they retry).
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Iterable
from typing import IO

from pythonjsonlogger.json import JsonFormatter

from medianest.correlation import current_correlation_id

MASK = "***"

# Values shorter than this are not remembered: masking every "1234" in the logs
# would hide more than it protects.
MIN_SECRET_LENGTH = 4

# A query or form parameter whose name says it carries a credential:
# api_key, apikey, api-key, key, token, X-Plex-Token, access_token, password, secret, client_secret...
_CREDENTIAL_NAME = r"(?:[\w.-]*(?:token|secret|password|passwd|pwd|api[_-]?key|apikey)|key|auth|signature|sig)"
_QUERY_CREDENTIAL = re.compile(rf"(?i)([?&;]{_CREDENTIAL_NAME}=)[^&;#\s'\"<>]+")
# user:password@ (or a token alone as the user) in any scheme's URL.
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@'\"<>]+@")
# A credential header or mapping key with its value: "X-Api-Key: abc", "'X-Plex-Token': 'abc'",
# "Authorization: Bearer abc", "api_key=abc" at the start of a line or after a space.
_HEADER_CREDENTIAL = re.compile(
    r"(?i)(\b(?:authorization|x-api-key|x-plex-token|proxy-authorization|api[_-]?key|password|token)['\"]?\s*[:=]\s*"
    r"['\"]?(?:bearer\s+|basic\s+|token\s+)?)[^\s'\",;&}]+"
)

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class _KnownSecrets:
    """The secret values this process has read, matched by one regular expression rebuilt on change."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def add(self, values: Iterable[object]) -> None:
        fresh = {v for v in values if isinstance(v, str) and len(v.strip()) >= MIN_SECRET_LENGTH}
        fresh = {v.strip() for v in fresh} - self._values
        if not fresh:
            return
        with self._lock:
            self._values |= fresh
            # Longest first, so a secret that contains another is masked whole.
            ordered = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(v) for v in ordered))

    def clear(self) -> None:
        with self._lock:
            self._values = set()
            self._pattern = None

    def mask(self, text: str) -> str:
        pattern = self._pattern
        return pattern.sub(MASK, text) if pattern is not None else text


_known = _KnownSecrets()


def remember_secret(*values: object) -> None:
    """Mask these values in every log line from now on (the services' secret settings, as they are read)."""
    _known.add(values)


def forget_secrets() -> None:
    """Forget the remembered values (between tests)."""
    _known.clear()


def redact(text: str) -> str:
    """``text`` with remembered secrets and credentials in URLs and headers replaced by ``***``."""
    text = _known.mask(text)
    if "://" in text:
        text = _URL_USERINFO.sub(rf"\1{MASK}@", text)
    if "=" in text:
        text = _QUERY_CREDENTIAL.sub(rf"\1{MASK}", text)
    return _HEADER_CREDENTIAL.sub(rf"\1{MASK}", text)


class SecretRedactor(logging.Filter):
    """Rewrites a record so that no handler after it can write a secret.

    The message is formatted with its arguments first (a URL is often an
    argument), the exception and stack are turned into text and masked, and
    string ``extra`` fields are masked too, so JSON and text output agree.
    A record that passes twice (two handlers) is masked again, to no effect.
    """

    _exception_formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: let the handler report it as logging does
            return True
        record.msg, record.args = redact(message), None
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = self._exception_formatter.formatException(record.exc_info)
            record.exc_info = None  # formatters would format it again from the traceback
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for name, value in list(vars(record).items()):
            if name not in _STANDARD and isinstance(value, str):
                setattr(record, name, redact(value))
        return True


class CorrelationFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "correlation_id"):
            record.correlation_id = current_correlation_id()
        return True


_redactor = SecretRedactor()


def install_redactor(logger: logging.Logger | None = None) -> None:
    """Put the one redacting filter on every handler of ``logger`` (the root logger by default)."""
    for handler in (logger or logging.getLogger()).handlers:
        if _redactor not in handler.filters:
            handler.addFilter(_redactor)


def configure_logging(level: str = "INFO", fmt: str = "json", stream: IO[str] | None = None) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "medianest", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.medianest = True  # type: ignore[attr-defined]
    if fmt == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(correlation_id)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s"))
    handler.addFilter(CorrelationFilter())
    root.addHandler(handler)
    install_redactor(root)
    root.setLevel(level.upper())
    logging.getLogger("medianest").setLevel(level.upper())


def remove_logging() -> None:
    """Undo :func:`configure_logging`: its handler and the redacting filter leave the root logger."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "medianest", False):
            root.removeHandler(handler)
        else:
            handler.removeFilter(_redactor)
