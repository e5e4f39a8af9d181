"""Who may call each API route, declared once, on the route.

Under the route decorator, ``@public`` or ``@requires_scope("cart:write", anonymous=True)``
records an ``Access`` on the view; one ``before_request`` hook on every API blueprint
(``http.init_http``) holds each request to it:

- an API key (``Authorization: Bearer``) must carry the route's scope, else 403
  ``insufficient_scope``; a key on a route that declares nothing is refused the same way,
  so a route someone forgot to declare is closed to keys, not open;
- a credential that is sent and fails (a garbage, expired or revoked key or login token,
  or another shop's) answers 401 on every route, ``anonymous`` and ``public`` ones too:
  it is never taken for a guest, so a client learns its login is gone instead of filling
  a guest cart and placing a guest order;
- without a credential, a route that is not ``anonymous`` answers 401; a ``staff`` route
  answers 403 to an account whose role does not allow the route's scope (the scopes are
  the dashboard's permissions: ``storefront.permissions``);
- a login (a shopper's ``Authentication-Token``, or the session where a route takes it)
  acts with its account's rights: scopes narrow what a key may do, not what a person may.

The OpenAPI document takes each operation's ``security`` from the same declarations, and
``tests/test_api_scopes.py`` walks every API route of the URL map with every scope.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, request
from flask_babel import gettext as _
from flask_login import current_user

from ..accounts import tokens
from ..accounts.auth import api_unauthenticated
from ..problems import api_error

View = TypeVar("View", bound=Callable[..., Any])
ATTRIBUTE = "api_access"


@dataclass(frozen=True)
class Access:
    """What a route asks of its caller."""

    scope: str | None  # what an API key needs here; None: public, any key or none at all
    anonymous: bool  # served without a credential (a guest's cart, a guest's checkout)
    staff: bool = False  # the shop's data: an owner's or staff member's account only
    keys: bool = True  # False: a login's own business (logout, a new token); no key

    def security(self) -> list[dict[str, list[str]]]:
        """The operation's OpenAPI ``security``: the alternatives that are accepted."""
        if not self.keys:
            return [{"authToken": []}]
        if self.scope is None:
            # No requirement at all: generated clients take a plain client here (``[{}]``,
            # "none is one choice", makes openapi-python-client ask for a credential).
            return []
        # The caller a route is mostly for comes first (staff work: a key; the rest: a
        # shopper's login). The order means nothing to OpenAPI, but a fuzzer that finds
        # several credentials in a request takes the first alternative it sees as the one
        # meant, so the document lists them as clients send them.
        key: dict[str, list[str]] = {"apiKey": [self.scope]}
        login: dict[str, list[str]] = {"authToken": []}
        accepted = [key, login] if self.staff else [login, key]
        return [*accepted, {}] if self.anonymous else accepted


PUBLIC = Access(scope=None, anonymous=True)
LOGIN_ONLY = Access(scope=None, anonymous=False, keys=False)


def public(view: View) -> View:
    """Anyone, with any good credential or none (one that fails is still a 401): the
    catalog, the document, login."""
    return _declare(view, PUBLIC)


def login_only(view: View) -> View:
    """A shopper's (or staff member's) own login, never an API key (a key is revoked in
    the dashboard): logging out, a new login token."""
    return _declare(view, LOGIN_ONLY)


def requires_scope(
    scope: str, *, anonymous: bool = False, staff: bool = False
) -> Callable[[View], View]:
    """An API key needs ``scope`` here; ``anonymous``: a guest is served too; ``staff``:
    a login must be a staff account's."""
    if scope not in tokens.SCOPES:  # a typo fails when the module loads, not in production
        raise ValueError(f"unknown scope {scope!r}: declare one of {', '.join(tokens.SCOPES)}")
    access = Access(scope=scope, anonymous=anonymous, staff=staff)

    def declare(view: View) -> View:
        return _declare(view, access)

    return declare


def declared(view: Callable[..., Any] | None) -> Access | None:
    """The access a view declares, or None for one that declares nothing."""
    return getattr(view, ATTRIBUTE, None)


def _declare(view: View, access: Access) -> View:
    setattr(view, ATTRIBUTE, access)
    return view


def init_access(bp: Blueprint) -> None:
    bp.before_request(_hold_to_declaration)


def _hold_to_declaration() -> Response | None:
    """Refuse a key without the route's scope (403), a guest where none is served (401)
    and a shopper where staff work (403), before the request's parameters are read."""
    if request.method == "OPTIONS" or request.endpoint is None:
        return None
    access = declared(current_app.view_functions.get(request.endpoint))
    signed_in = current_user.is_authenticated  # loads a key or a token from the headers
    if tokens.api_credential_sent(request) and not signed_in:
        # Sent and no good: never served as a guest (api_unauthenticated says why).
        return api_unauthenticated()  # type: ignore[no-any-return]
    scopes = tokens.request_scopes()
    if scopes is not None:  # an API key
        if access is None:
            return api_error(
                403,
                _("No API key may call this route: it declares no scope."),
                "insufficient_scope",
            )
        if not access.keys:
            return api_error(
                403,
                _(
                    "An API key cannot do this: it acts on a login token (revoke a key in the "
                    "dashboard)."
                ),
                "forbidden",
            )
        if access.scope is not None and access.scope not in scopes:
            refused = api_error(
                403,
                _(
                    "This API key may not do this: it needs the %(scope)s scope.",
                    scope=access.scope,
                ),
                "insufficient_scope",
            )
            # RFC 6750 section 3.1: say which scope would do.
            refused.headers["WWW-Authenticate"] = (
                f'Bearer realm="api", error="insufficient_scope", scope="{access.scope}"'
            )
            return refused
    elif access is not None:
        if not access.anonymous and not signed_in:
            return api_unauthenticated()  # type: ignore[no-any-return]
        if access.staff and not (
            current_user.is_staff and current_user.has_permission(access.scope)
        ):
            # A login acts with its role's permissions: the scope's word is the
            # permission (storefront.permissions), so one vocabulary serves both.
            return api_error(403, _("Your account may not do this."), "forbidden")
    return None
