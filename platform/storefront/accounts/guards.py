"""Request guards of the account pages: closed registration, foreign ``next`` targets,
no shared caching of a signed-in user's pages."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from flask import Flask, Response, abort, request
from werkzeug.datastructures import ImmutableMultiDict

from ..shared import signed_in_user
from ..tenancy.context import current_tenant_or_none


def init_guards(app: Flask) -> None:
    # Right after the shop is bound, before CSRF: a closed door is a 404, whatever is posted.
    app.before_request_funcs.setdefault(None, []).insert(1, _registration_gate)
    app.before_request(_drop_foreign_next)
    app.after_request(_private_pages)


def next_param() -> str:
    """``?next=…`` carried from the current URL into a form's action, if it is local."""
    target = _same_shop_path(request.args.get("next", ""))
    if not is_local_path(target):
        return ""
    return "?" + urlencode({"next": target})


def is_local_path(target: str) -> bool:
    """Only a path on this very shop: no scheme, no host, no ``//`` or ``\\`` tricks."""
    if not target.startswith("/") or target.startswith(("//", "/\\")):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and "\\" not in target


def _registration_gate() -> None:
    """A shop with registration closed answers /register with 404."""
    if request.endpoint == "security.register":
        ctx = current_tenant_or_none()
        if ctx is not None and ctx.settings is not None and not ctx.settings.features.registration:
            abort(404)


def _drop_foreign_next() -> None:
    """Forget a ``?next=`` that leaves the shop, so no flow can redirect off-site.

    Flask-Security validates ``next`` itself, but lets odd relative forms through
    (``\\\\host`` becomes ``%5C%5Chost``); one strict rule here covers every view.
    """
    if request.blueprint != "security":
        return
    for source in ("args", "form"):
        values = getattr(request, source)
        if "next" in values and not is_local_path(_same_shop_path(values["next"])):
            kept = [(k, v) for k, v in values.items(multi=True) if k != "next"]
            setattr(request, source, ImmutableMultiDict(kept))


def _same_shop_path(target: str) -> str:
    parts = urlsplit(target)
    if parts.netloc and parts.netloc == request.host and parts.scheme in ("http", "https"):
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return target


# Files that are the same for everyone (assets, uploaded pictures): cacheable by anyone.
PUBLIC_FILES = frozenset({"themes.static", "themes.branding_css", "media.serve"})


def _private_pages(response: Response) -> Response:
    """Pages of a logged-in user are nobody else's: no shared caches may keep them."""
    if request.endpoint in PUBLIC_FILES:
        return response
    if current_tenant_or_none() is not None and signed_in_user() is not None:
        response.headers["Cache-Control"] = "private, no-store"
        response.vary.add("Cookie")
    return response
