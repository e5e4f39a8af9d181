"""Who is acting: worked out when an entry is written, from what the platform already
binds (the request's user or API key, ``tenantctl``'s command, a job's kind: see
``storefront.logs``), or set explicitly with ``acting_as`` (a payment provider's event).
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from flask import g, has_request_context, request

from ..logs import bound

USER, API_KEY, OPERATOR, SYSTEM, PAYMENT, GUEST = (
    "user",
    "api_key",
    "operator",
    "system",
    "payment",
    "guest",
)
ACTOR_KINDS = (USER, API_KEY, OPERATOR, SYSTEM, PAYMENT, GUEST)
SOURCES = ("dashboard", "api", "storefront", "cli", "job", "payment", "system")


@dataclass(frozen=True)
class Actor:
    kind: str
    id: str = ""
    label: str | None = None  # a name or address: sealed in the body (erasable)
    source: str = "system"
    request_id: str = ""
    address: str | None = None  # sealed too


_explicit: ContextVar[Actor | None] = ContextVar("storefront_audit_actor", default=None)


@contextmanager
def acting_as(
    kind: str, ident: str = "", label: str | None = None, source: str | None = None
) -> Iterator[None]:
    """Record what this block changes as done by ``kind``/``ident`` (e.g. a payment
    provider's event); the request's id and address are kept."""
    base = current_actor()
    token = _explicit.set(
        Actor(
            kind=kind,
            id=ident[:100],
            label=label,
            source=source or base.source,
            request_id=base.request_id,
            address=base.address,
        )
    )
    try:
        yield
    finally:
        _explicit.reset(token)


def current_actor() -> Actor:
    """The actor of what is being written now."""
    explicit = _explicit.get()
    if explicit is not None:
        return explicit
    fields = bound()
    request_id = str(fields.get("request_id") or "")[:64]
    if "job" in fields:  # a job, also one a command or a request runs in its thread
        return Actor(SYSTEM, str(fields["job"])[:100], None, "job", request_id)
    if "command" in fields:
        return Actor(OPERATOR, str(fields["command"])[:100], _operator(), "cli", request_id)
    if has_request_context():
        return _request_actor()
    return Actor(SYSTEM, "", None, "system", request_id)


def _request_actor() -> Actor:
    path = request.path
    if path.startswith("/api/"):
        source = "api"
    elif path == "/admin" or path.startswith("/admin/"):
        source = "dashboard"
    else:
        source = "storefront"
    request_id = str(g.get("request_id") or "")[:64]
    address = request.remote_addr
    user = g.get("_login_user")  # loaded by Flask-Login already, if at all
    user_id = getattr(user, "id", None) if getattr(user, "is_authenticated", False) else None
    key_id = g.get("api_key_id")
    label = getattr(user, "email", None) if user_id is not None else None
    if key_id is not None:
        return Actor(API_KEY, str(key_id), label, source, request_id, address)
    if user_id is not None:
        return Actor(USER, str(user_id), label, source, request_id, address)
    return Actor(GUEST, "", None, source, request_id, address)


def _operator() -> str:
    """The operating-system account running ``tenantctl`` (the one behind sudo too)."""
    try:
        return os.environ.get("SUDO_USER") or getpass.getuser()
    except (OSError, KeyError):
        return "unknown"
