"""Who may open each dashboard page and send each of its forms, declared on the route.

Under the route decorator, ``@permission("products")`` says: reading the page needs
``products:read``, sending it a form (any method but GET and HEAD) ``products:write``.
``@permission("orders:read")`` names one permission for every method (a form that only
reads, or that sets the person's own preference); ``read=`` and ``write=`` take several,
any one of which will do. The words are ``storefront.permissions``' (the API's scopes).

``protect(bp)`` puts one gate in front of a dashboard blueprint: a session (never an API
key or a login token: the dashboard is for people), then the permission the route
declares, from the signed-in account's role. A route that declares none is refused to
everyone, owners too (fail closed), and ``tests/test_roles.py`` names it. Refused: the
shop's 403 page, themed and in the reader's language.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Blueprint, abort, current_app, request
from flask_login import current_user
from flask_security import auth_required

from ..permissions import PERMISSIONS

View = TypeVar("View", bound=Callable[..., Any])
ATTRIBUTE = "dashboard_permission"
READING = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Needs:
    """What a dashboard route asks of its reader: any one of ``read`` to read it, any one
    of ``write`` to send it a form."""

    read: tuple[str, ...]
    write: tuple[str, ...]

    def for_method(self, method: str) -> tuple[str, ...]:
        return self.read if method in READING else self.write


def _known(*names: str) -> tuple[str, ...]:
    for name in names:  # a typo fails when the module loads, not in production
        if name not in PERMISSIONS:
            raise ValueError(f"unknown permission {name!r}: see storefront.permissions")
    return names


def permission(
    area: str | None = None,
    *,
    read: str | tuple[str, ...] | None = None,
    write: str | tuple[str, ...] | None = None,
) -> Callable[[View], View]:
    """Declare what the route needs (see the module's docstring)."""
    reading: tuple[str, ...]
    writing: tuple[str, ...]
    if area is not None and ":" in area:
        reading = writing = (area,)
    elif area is not None:
        reading, writing = (f"{area}:read",), (f"{area}:write",)
    else:
        reading = writing = ()
    if read is not None:
        reading = (read,) if isinstance(read, str) else read
        writing = writing or reading  # a page that takes no form: the same
    if write is not None:
        writing = (write,) if isinstance(write, str) else write
    if not reading or not writing:
        raise ValueError("declare what reading and what writing the route needs")
    needs = Needs(_known(*reading), _known(*writing))

    def declare(view: View) -> View:
        setattr(view, ATTRIBUTE, needs)
        return view

    return declare


def declared(view: Callable[..., Any] | None) -> Needs | None:
    """What a view declares, or None."""
    return getattr(view, ATTRIBUTE, None)


def can(name: str) -> bool:
    """Whether the signed-in account's role allows ``name`` (templates hide what it
    cannot open)."""
    return bool(current_user.is_authenticated and current_user.has_permission(name))


def allowed(endpoint: str | None, method: str = "GET") -> bool:
    """Whether the signed-in account may open ``endpoint`` with ``method``."""
    needs = declared(current_app.view_functions.get(endpoint or ""))
    return needs is not None and any(can(name) for name in needs.for_method(method))


def protect(bp: Blueprint) -> None:
    """The dashboard's gate in front of every route of ``bp`` (and of blueprints nested
    in it): a session, then the route's declared permission."""
    bp.before_request(_gate)


@auth_required("session")  # anonymous: the login page first; never a key or a token
def _gate() -> None:
    """Refuse (403, the shop's page) a request the account's role does not allow."""
    if request.endpoint is None:
        return
    if not allowed(request.endpoint, request.method):
        abort(403)


def init_access(bp: Blueprint) -> None:
    """``can`` in every template (the dashboard's navigation asks it)."""
    bp.add_app_template_global(can, "can")
