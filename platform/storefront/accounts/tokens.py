"""API keys for integrations, and the one place a request's credentials are read.

Credentials come from headers only: ``Authorization: Bearer sf_…`` (an API key) or
``Authentication-Token`` (Flask-Security's short-lived login token). Never from the
query string or the body: those end up in access logs, browser history and proxies.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Request, g
from flask_babel import gettext as _
from flask_security.core import _request_loader as flask_security_token_loader
from flask_security.signals import password_changed, password_reset
from sqlalchemy import select, update

from ..extensions import db, security
from ..permissions import API_SCOPES, PERMISSIONS, key_allowed
from ..tenancy.models import utcnow
from .models import ApiKey, User

KEY_PREFIX = "sf_"
LAST_USED_GRANULARITY = timedelta(minutes=5)  # at most one write per key this often
# What a key may be allowed to do: the permissions an API route can ask for, in the one
# vocabulary of storefront.permissions. A key gets the ones its maker ticks, and never
# more than the maker's role allows. Every API route declares the one it needs
# (api/access.py).
SCOPES = {name: PERMISSIONS[name] for name in API_SCOPES}
# What a key gets when none are named (the dashboard ticks these), and what a key made
# before keys had scopes (scopes NULL) may do: the shop's data, never shopping as its
# owner. A fixed list, so no old key gains what a later scope allows (docs/decisions.md).
STAFF_SCOPES = ("products:read", "products:write", "orders:read", "orders:write", "customers:read")


class TokenError(ValueError):
    """A key cannot be made or revoked; the message says why."""


@dataclass(frozen=True)
class NewKey:
    key: ApiKey
    secret: str  # shown once: only its hash is stored


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    user: User, name: str, days: int | None = None, scopes: list[str] | None = None
) -> NewKey:
    """A new key acting as ``user`` (staff) within ``scopes``, valid for ``days`` or until
    revoked. Without ``scopes`` it gets ``STAFF_SCOPES``."""
    allowed = key_allowed(user.role_names)
    if scopes is None:  # the default, within what the maker's role allows
        scopes = [name for name in STAFF_SCOPES if name in allowed]
    chosen = sorted(set(scopes))
    unknown = set(chosen) - set(SCOPES)
    if unknown:
        raise TokenError(
            _(
                "Unknown scope %(scope)s: choose from %(scopes)s.",
                scope=", ".join(sorted(unknown)),
                scopes=", ".join(SCOPES),
            )
        )
    if not user.is_staff:
        raise TokenError(
            _("%(email)s is not staff: grant it a dashboard role first.", email=user.email)
        )
    beyond = set(chosen) - allowed
    if beyond:
        raise TokenError(
            _(
                "%(email)s's role does not allow %(scope)s: a key never does more than the "
                "account that made it.",
                email=user.email,
                scope=", ".join(sorted(beyond)),
            )
        )
    if not chosen:
        raise TokenError(_("Choose at least one thing the key may do."))
    name = name.strip()[:100] or "integration"
    if days is not None and not 1 <= days <= 3650:
        raise TokenError(_("A key lives 1 to 3650 days (or until revoked)."))
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        user_id=user.id,
        name=name,
        prefix=secret[:10],
        key_hash=_digest(secret),
        expires_at=utcnow() + timedelta(days=days) if days else None,
        scopes=chosen,
    )
    db.session.add(key)
    db.session.flush()
    return NewKey(key, secret)


def list_keys() -> list[ApiKey]:
    return list(db.session.scalars(select(ApiKey).order_by(ApiKey.created_at.desc())))


def revoke_key(key_id: int) -> ApiKey:
    key = db.session.get(ApiKey, key_id)
    if key is None:
        raise TokenError(f"no API key {key_id}")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    return key


def key_status(key: ApiKey, now: datetime | None = None) -> str:
    now = now or utcnow()
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= now:
        return "expired"
    return "active"


def key_scopes(key: ApiKey) -> list[str]:
    return list(STAFF_SCOPES) if key.scopes is None else list(key.scopes)


def request_scopes() -> frozenset[str] | None:
    """The scopes of the API key this request came with; None when it came with none (a
    staff member's own login or token: what their role allows)."""
    return g.get("api_key_scopes")


def request_key_id() -> int | None:
    return g.get("api_key_id")


def user_for_key(secret: str) -> User | None:
    """The staff account an API key acts as, if the key is good right now."""
    key = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == _digest(secret)))
    if key is None or key_status(key) != "active":
        g.api_key_problem = "unknown" if key is None else key_status(key)
        return None
    user = db.session.get(User, key.user_id)
    if user is None or not user.active or not user.is_staff:
        return None
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_GRANULARITY:
        db.session.execute(
            update(ApiKey)
            .where(ApiKey.id == key.id)
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    # Never more than the account's role allows now: a role taken down narrows its keys.
    g.api_key_scopes = frozenset(key_scopes(key)) & key_allowed(user.role_names)
    g.api_key_id = key.id
    return user


def api_credential_sent(request: Request) -> bool:
    """Whether an API request carries one of this API's credentials in a header: a Bearer
    (a key, good or not) or an ``Authentication-Token``. Another scheme (a staging
    proxy's Basic) is not this API's."""
    if not request.path.startswith("/api/"):
        return False
    scheme = (request.headers.get("Authorization", "").split(None, 1) or [""])[0]
    return scheme.lower() == "bearer" or bool(request.headers.get("Authentication-Token"))


def load_user_from_request(request: Request) -> Any:
    """Flask-Login's request loader: headers only, never the query string or the body,
    and only on the API. Pages (the dashboard, the account, checkout) are for people with
    a session: a key or a login token sent to one is ignored, so the page sees nobody."""
    if not request.path.startswith("/api/"):
        return None
    parts = request.headers.get("Authorization", "").split(None, 1)  # any whitespace
    scheme, secret = (parts + ["", ""])[:2]
    if scheme.lower() == "bearer":
        # A Bearer that is no good key fails the request: it never falls back to a login
        # token sent alongside, so what a client sent is what it is judged by. (Another
        # scheme, say a staging proxy's Basic, is not this API's and is passed over.)
        secret = secret.strip()
        if not secret.startswith(KEY_PREFIX):
            g.api_key_problem = "unknown"
            return None
        user = user_for_key(secret)
        if user is not None:
            from flask_security.utils import set_request_attr

            set_request_attr("fs_authn_via", "token")
        return user
    if not request.headers.get("Authentication-Token"):
        return None
    user = flask_security_token_loader(_HeadersOnly(request))
    if user is None:
        g.api_key_problem = "token"
    return user


# Login tokens ------------------------------------------------------------------------
# A shopper's Authentication-Token is Flask-Security's auth token: signed, a day long,
# naming the account by its ``fs_token_uniquifier``. A new uniquifier ends every token
# out there at once; the account's sessions on the pages carry ``fs_uniquifier`` and stay.


def revoke_login_tokens(user: User) -> None:
    """End every login token of ``user`` (the API's logout); the caller commits."""
    security.datastore.set_token_uniquifier(user)


@password_reset.connect
@password_changed.connect
def _password_ends_login_tokens(_app: Any, user: User, **_extra: Any) -> None:
    """A new password ends the API logins too, as it ends the sessions (Flask-Security
    renews ``fs_uniquifier`` only: login tokens no longer carry that one)."""
    revoke_login_tokens(user)


class _HeadersOnly:
    """The request as Flask-Security's token loader sees it: no args, no JSON body."""

    def __init__(self, request: Request) -> None:
        self.headers = request.headers
        self.args: dict[str, str] = {}
        self.is_json = False
