"""The platform's logs: one line per event, each saying which shop and request it is for.

``LOG_FORMAT = "json"`` (the default in production) writes one JSON object per line with
python-json-logger; ``"text"`` (the default in development) a line to read in a terminal.
Every line carries ``shop`` and ``request_id`` (null when there is none), and ``user_id``
or ``api_key_id`` when the request made them known.

Where those come from: the bound shop (``tenant_context``, a request's shop), else what
``log_context`` bound in this context: the access layer binds the request id (and the
WSGI environ, where the page cache notes the shop before Flask runs), a job binds the
request id and shop of the request that queued it, ``tenantctl`` the command and its shop.
A ``ContextVar``, so it holds inside and outside Flask's request context alike.

Nothing secret is written (``redact``): API keys, bearer and login tokens, webhook and
payment secrets and the query parameters that carry credentials are replaced in every
message, whatever the logger; headers are never logged at all.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import IO, Any
from urllib.parse import unquote_plus

from flask import Flask, g, has_request_context
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from ..tenancy.context import current_tenant_or_none

ROOT = "storefront"  # the platform's loggers are all below this one
ACCESS_LOGGER = "storefront.access"  # the access line (storefront.logs.access)
ENVIRON = "environ"  # a request's WSGI environ, bound by the access layer
REDACTED = "REDACTED"
# Fields a ``log_context`` may bind besides the shop and request id; each lands on the
# line under its own name.
EXTRA_FIELDS = ("job", "job_id", "command")

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_bound: ContextVar[Mapping[str, Any]] = ContextVar("storefront_log_context", default=_EMPTY)


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Bind fields (``shop``, ``request_id``, ``job``, ``command``…) to every line logged
    in this block, in this thread or task (None unbinds one); the previous ones come
    back on exit."""
    merged = dict(_bound.get())
    for name, value in fields.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    token = _bound.set(merged)
    try:
        yield
    finally:
        _bound.reset(token)


def bound() -> Mapping[str, Any]:
    """What ``log_context`` binds now (for a thread that should carry it on)."""
    return _bound.get()


# Redaction ----------------------------------------------------------------------------

# Query parameters (and ``name=value`` pairs in messages) whose value is a credential.
SECRET_PARAMS = frozenset(
    {
        "api_key",
        "apikey",
        "key",
        "access_token",
        "token",
        "auth_token",
        "authentication_token",
        "refresh_token",
        "id_token",
        "password",
        "secret",
        "client_secret",
        "signature",
        "session",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
    }
)
_PARAM_NAMES = "|".join(re.escape(name) for name in sorted(SECRET_PARAMS, key=len, reverse=True))
# What looks like a credential wherever it appears: our API keys (``sf_`` and 43
# characters), webhook signing secrets, payment keys, bearer tokens, JSON web tokens,
# and the tokens in Flask-Security's reset and confirm links.
_TOKENS = re.compile(
    r"(\bsf_)[A-Za-z0-9_-]{16,}"
    r"|(\bwhsec_)[A-Za-z0-9+/=_-]{8,}"
    r"|(\b[sr]k_(?:live|test)_)[A-Za-z0-9]{8,}"
    r"|(\b[Bb]earer\s+)[^\s,;\"']+"
    r"|()\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"
    r"|(/(?:reset|confirm)/)[^/\s?#\"']{8,}"
)
# Substrings one of which each token above contains: most lines have none, and a few
# substring searches cost less than the expression.
_TOKEN_MARKS = ("sf_", "whsec_", "k_live_", "k_test_", "earer", "eyJ", "/reset/", "/confirm/")
_PARAMS = re.compile(rf"((?<![A-Za-z0-9_-])(?i:{_PARAM_NAMES})=)[^&\s#;,\"']+")


def _replace(match: re.Match[str]) -> str:
    return f"{next((v for v in match.groups() if v is not None), '')}{REDACTED}"


def redact(text: str) -> str:
    """``text`` with every credential it shows replaced by ``REDACTED``."""
    if any(mark in text for mark in _TOKEN_MARKS):
        text = _TOKENS.sub(_replace, text)
    if "=" in text:
        text = _PARAMS.sub(_replace, text)
    return text


def redact_query(query: str) -> str:
    """A query string with the values of credential parameters (``SECRET_PARAMS``, also
    percent-encoded) and anything that looks like a credential replaced."""
    if not query:
        return ""
    pairs = query.split("&")
    for i, pair in enumerate(pairs):
        name, sep, _value = pair.partition("=")
        if sep and unquote_plus(name).strip().lower() in SECRET_PARAMS:
            pairs[i] = f"{name}={REDACTED}"
    return redact("&".join(pairs))


# Fields and formats ---------------------------------------------------------------------


class ContextFilter(logging.Filter):
    """Give every record ``shop``, ``request_id``, ``user_id`` and ``api_key_id`` (None
    when unknown; a value passed in ``extra`` wins) and redact its message."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = _bound.get()
        in_request = has_request_context()
        if not hasattr(record, "shop"):
            tenant = current_tenant_or_none()
            shop = tenant.slug if tenant is not None else fields.get("shop")
            if shop is None and ENVIRON in fields:
                shop = fields[ENVIRON].get("storefront.shop")
            record.shop = shop
        if not hasattr(record, "request_id"):
            request_id = fields.get("request_id")
            if request_id is None and in_request:
                request_id = g.get("request_id")
            record.request_id = request_id
        if not hasattr(record, "user_id"):
            record.user_id, record.api_key_id = _who() if in_request else (None, None)
        for name in EXTRA_FIELDS:
            if name in fields and not hasattr(record, name):
                setattr(record, name, fields[name])
        _redact_record(record)
        return True


def _who() -> tuple[int | None, int | None]:
    """The user and API key of the current request, if already loaded (never loads one:
    a log line must not cost a query)."""
    user = g.get("_login_user")  # Flask-Login keeps the loaded user here
    user_id = getattr(user, "id", None) if getattr(user, "is_authenticated", False) else None
    return user_id, g.get("api_key_id")


class RedactFilter(logging.Filter):
    """Only the redaction: for loggers whose lines are not ours (the development server's
    request log shows the query string)."""

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record)
        return True


def _redact_record(record: logging.LogRecord) -> None:
    if record.name == ACCESS_LOGGER:  # built from parts already redacted
        return
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad format string: logging reports it itself
        return
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, None


_TEXT = "%(asctime)s %(levelname)s [%(shop)s %(request_id)s] %(name)s: %(message)s"


class TextFormatter(logging.Formatter):
    """One line for a terminal: time, level, ``[shop request-id]``, logger, message,
    then who (``user=``/``key=``) when known. Tracebacks are redacted too."""

    def __init__(self) -> None:
        super().__init__(_TEXT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        values = dict(record.__dict__)
        values["shop"] = values.get("shop") or "-"
        values["request_id"] = values.get("request_id") or "-"
        line = self._style._fmt % values  # type: ignore[operator]
        if values.get("user_id") is not None:
            line += f" user={values['user_id']}"
        if values.get("api_key_id") is not None:
            line += f" key={values['api_key_id']}"
        return line

    def formatException(self, ei: Any) -> str:
        return redact(super().formatException(ei))


# Always present on a JSON line (null when unknown); user_id and api_key_id only when known.
_FIRST = ("shop", "request_id")
_OPTIONAL = frozenset({"user_id", "api_key_id"})
_NOT_FIELDS = frozenset(RESERVED_ATTRS) | {"taskName", *_FIRST}


class JsonLineFormatter(JsonFormatter):
    """python-json-logger's formatter (its serialisation of any value, exceptions and
    dict messages), with the fields gathered in one pass: ``time`` (UTC, ISO 8601),
    ``level``, ``logger``, ``message``, ``shop``, ``request_id``, then whatever the
    record carries besides (the access line's fields, a job's, ``user_id`` and
    ``api_key_id`` when known)."""

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data["time"] = datetime.fromtimestamp(record.created, tz=UTC).isoformat()
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        log_data["message"] = record.message
        fields = record.__dict__
        log_data["shop"] = fields.get("shop")
        log_data["request_id"] = fields.get("request_id")
        for name, value in fields.items():
            if name not in _NOT_FIELDS and not (value is None and name in _OPTIONAL):
                log_data[name] = value
        for name, value in message_dict.items():
            log_data["exception" if name == "exc_info" else name] = value

    def formatException(self, ei: Any) -> str:  # type: ignore[override]
        return redact(str(super().formatException(ei)))


def log_format(config: Mapping[str, Any]) -> str:
    """``json`` or ``text``: ``LOG_FORMAT`` when set, else text in development only."""
    chosen = str(config.get("LOG_FORMAT") or "").strip().lower()
    if not chosen:
        return "text" if config.get("ENVIRONMENT") == "development" else "json"
    if chosen not in ("json", "text"):
        from ..config import ConfigError

        raise ConfigError(f"LOG_FORMAT: expected 'json' or 'text', got {chosen!r}")
    return chosen


def make_formatter(config: Mapping[str, Any]) -> logging.Formatter:
    return JsonLineFormatter() if log_format(config) == "json" else TextFormatter()


def make_handler(config: Mapping[str, Any], stream: IO[str] | None = None) -> logging.Handler:
    """A handler writing the platform's lines in the configured format (to stderr)."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(make_formatter(config))
    handler.addFilter(ContextFilter())
    return handler


class _PlatformHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The one handler this process puts on ``storefront`` (each app built re-formats it).

    It writes to the process's own standard error, looked up at each line: not to
    whatever ``sys.stderr`` was when the first app was built (a tool that swaps it for a
    while, like Click's test runner, would leave the handler on a closed stream)."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self) -> IO[str]:
        return sys.__stderr__ or sys.stderr

    @stream.setter
    def stream(self, _value: IO[str]) -> None:
        return None


def init_logging(app: Flask) -> None:
    """Send the platform's lines to stderr in the configured format, once per process
    (the last app built decides the format: a process serves one configuration)."""
    root = logging.getLogger(ROOT)
    handler = next((h for h in root.handlers if isinstance(h, _PlatformHandler)), None)
    if handler is None:
        handler = _PlatformHandler()
        handler.addFilter(ContextFilter())
        root.addHandler(handler)
    handler.setFormatter(make_formatter(app.config))
    root.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    werkzeug = logging.getLogger("werkzeug")  # the development server's request lines
    if not any(isinstance(f, RedactFilter) for f in werkzeug.filters):
        werkzeug.addFilter(RedactFilter())
