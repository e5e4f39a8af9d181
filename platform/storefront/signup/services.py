"""Sign-up: a merchant opens a shop on the platform's own domain.

``start`` checks the rules and writes a waiting row that holds the name for the life of
the confirmation link (nothing of a shop exists yet); ``confirm`` creates the shop with
the same ``create_shop`` as ``tenantctl create``, in one transaction with the row's
change: either the shop exists whole and the link is used, or nothing changed and the
link still works. With ``SIGNUP_APPROVAL`` the shop is created "pending" (served to no
one) until ``approve``; ``reject`` deletes it. The CLI, the pages and the tests call these.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_security import hash_password
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..audit import record_event
from ..db import transactional
from ..emails import InvalidEmail, checked_email
from ..extensions import db
from ..outbox import enqueue_mail
from ..tenancy.context import tenant_context
from ..tenancy.models import Tenant, utcnow
from ..tenancy.registry import bump_generation
from ..tenancy.services import NewShop, ShopError, create_shop, get_shop
from ..tenancy.signals import shop_created
from .models import LIVE, PENDING, REJECTED, WAITING, Signup
from .rules import (
    SignupRefused,
    availability,
    check_limits,
    cooling_until,
    network_of,
    record_failure,
    release_lapsed_hold,
    shop_host,
)
from .signals import shop_signed_up

log = logging.getLogger(__name__)

PASSWORD_MAX = 128
LIST_MAX = 200


def now() -> datetime:
    """The sign-up's clock (naive UTC); tests replace it to move time."""
    return utcnow()


@dataclass(frozen=True)
class SignupRequest:
    email: str
    password: str
    shop_name: str
    slug: str
    locale: str
    currency: str
    remote_addr: str | None


def start(req: SignupRequest) -> tuple[Signup, str]:
    """Check the rules and write the waiting sign-up; returns it and its link's token.
    Raises ``SignupRefused`` (nothing written). The caller commits, then mails the link."""
    moment = now()
    network = network_of(req.remote_addr)
    until = cooling_until(network, moment)
    if until is not None:
        raise SignupRefused(
            "cooling_off", "Too many refused attempts from your network. Please wait a while."
        )
    config = current_app.config
    try:
        email = checked_email(req.email.strip())
    except InvalidEmail:
        raise SignupRefused("invalid_email", "Enter an email address mail can reach.") from None
    minimum = int(config.get("SECURITY_PASSWORD_LENGTH_MIN", 8))
    if not minimum <= len(req.password) <= PASSWORD_MAX:
        raise SignupRefused("weak_password", "Choose a password of at least 8 characters.")
    name = " ".join(req.shop_name.split())
    if not 1 <= len(name) <= 200 or any(c in name for c in "<>"):
        raise SignupRefused("invalid_name", "Give your shop a name (up to 200 characters).")
    if req.locale not in config["SIGNUP_LOCALES"]:
        raise SignupRefused("invalid_locale", "Choose one of the languages offered.")
    if req.currency not in config["SIGNUP_CURRENCIES"]:
        raise SignupRefused("invalid_currency", "Choose one of the currencies offered.")
    check_limits(email, network, moment)
    found = availability(req.slug, moment)
    if not found.available:
        raise SignupRefused(found.code, _REFUSED_NAME[found.code])
    release_lapsed_hold(found.slug, moment)
    secret = secrets.token_urlsafe(24)
    signup = Signup(
        email=email,
        password_hash=hash_password(req.password),
        shop_name=name,
        slug=found.slug,
        slug_hold=found.slug,
        locale=req.locale,
        currency=req.currency,
        network=network,
        status=WAITING,
        nonce=_digest(secret),
        created_at=moment,
        expires_at=moment + timedelta(hours=int(config["SIGNUP_CONFIRM_HOURS"])),
    )
    db.session.add(signup)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:  # another sign-up took the name between the check and now
        raise SignupRefused("taken", _REFUSED_NAME["taken"]) from None
    return signup, _serializer().dumps([signup.id, secret])


_REFUSED_NAME = {
    "invalid": "Use 2-63 lower-case letters, digits and single hyphens, starting with a letter.",
    "reserved": "This address is reserved. Please choose another.",
    "taken": "This address is taken. Please choose another.",
}


@transactional
def note_failure(remote_addr: str | None) -> None:
    """A refused attempt from this address's network (its own transaction: the refused
    work rolled back)."""
    record_failure(network_of(remote_addr), now())


def confirm(token: str) -> Signup:
    """Create the shop of a confirmed sign-up, all or nothing; ``SignupRefused`` when the
    link is unknown, used or expired."""
    signup = signup_for(token)
    if signup.status != WAITING:
        raise SignupRefused("used", "This link has been used already.")
    if signup.expires_at <= now():
        raise SignupRefused("expired", "This link has expired. Please sign up again.")
    approval = bool(current_app.config["SIGNUP_APPROVAL"])
    signup.status = PENDING if approval else LIVE
    signup.confirmed_at = now()
    signup.slug_hold = None  # the shop's own row holds the name from now on
    new = NewShop(
        slug=signup.slug,
        name=signup.shop_name,
        domains=(shop_host(signup.slug),),
        owner_email=signup.email,
        owner_password_hash=signup.password_hash,
        locale=signup.locale,
        currency=signup.currency,
        status="pending" if approval else "active",
        origin="signup",
        signup_id=signup.id,
    )
    signup.password_hash = None  # the owner's account has it now; the row needs it no more
    try:
        create_shop(new)  # commits the sign-up's change with the shop, or rolls both back
    except ShopError as exc:
        db.session.rollback()  # create_shop refuses some names before it writes anything
        log.warning("sign-up %s could not create its shop: %s", signup.id, exc)
        raise SignupRefused("taken", _REFUSED_NAME["taken"]) from None
    except BaseException:
        db.session.rollback()
        raise
    return signup


def signup_for(token: str) -> Signup:
    """The sign-up a link names, if its signature and secret are right."""
    try:
        signup_id, secret = _serializer().loads(token)
        signup_id, secret = int(signup_id), str(secret)
    except (BadSignature, TypeError, ValueError):
        raise SignupRefused("bad_link", "This link is not valid.") from None
    signup = db.session.get(Signup, signup_id)
    if signup is None or not hmac.compare_digest(signup.nonce, _digest(secret)):
        raise SignupRefused("bad_link", "This link is not valid.")
    return signup


@shop_created.connect
def _link_signup(tenant: Tenant, signup_id: int | None = None, **_kwargs: Any) -> None:
    """In create_shop's transaction, with the new shop bound: the sign-up names its shop,
    the shop's trail says how it came to be, and billing may start a trial."""
    if signup_id is None:
        return
    signup = db.session.get(Signup, signup_id)
    if signup is None:
        raise ShopError(f"sign-up {signup_id} is gone")
    signup.shop_id = tenant.id
    record_event(
        "signup-confirmed",
        signup.slug,
        tenant_id=tenant.id,
        email=signup.email,
        network=signup.network,
        status=tenant.status,
    )
    shop_signed_up.send(tenant, signup=signup)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="storefront.signup-confirm")


# The operator's side (tenantctl signup) ------------------------------------------------


def list_signups(status: str | None = None, limit: int = 50) -> list[Signup]:
    """The newest sign-ups (of one status), at most ``LIST_MAX``."""
    stmt = select(Signup).order_by(Signup.created_at.desc(), Signup.id.desc())
    if status:
        stmt = stmt.where(Signup.status == status)
    return list(db.session.scalars(stmt.limit(max(1, min(limit, LIST_MAX)))))


def _pending(slug: str) -> tuple[Signup, Tenant]:
    tenant = get_shop(slug)
    signup = db.session.scalar(select(Signup).where(Signup.shop_id == tenant.id))
    if signup is None or signup.status != PENDING or tenant.status != "pending":
        raise ShopError(f"shop {slug!r} is not waiting for approval (see `tenantctl signup list`)")
    return signup, tenant


@transactional
def approve(slug: str, operator: str) -> Signup:
    """Open a pending shop: served from now on, the owner told by mail, the act recorded
    in the shop's audit trail."""
    signup, tenant = _pending(slug)
    tenant.status = "active"
    signup.status, signup.decided_at, signup.decided_by = LIVE, now(), operator[:200]
    bump_generation()
    with tenant_context(tenant):
        record_event("signup-approved", slug, tenant_id=tenant.id, operator=operator)
        base = shop_base(slug)
        enqueue_mail(
            signup.email,
            f"{tenant.name} is open",
            f"Your shop {tenant.name} has been approved and is open at {base}/\n\n"
            f"Sign in to your dashboard: {base}/login?next=/admin/\n",
            dedupe_key=f"signup-approved:{signup.id}",
        )
        db.session.flush()  # the shop's rows are written while it is bound
    return signup


def reject(slug: str, operator: str, reason: str = "") -> Signup:
    """Refuse a pending shop: the shop and everything in it are deleted, the sign-up row
    keeps who decided and why (the shop's own trail goes with the shop)."""
    from ..tenancy.deletion import delete_shop

    signup, _tenant = _pending(slug)
    signup.status, signup.decided_at, signup.decided_by = REJECTED, now(), operator[:200]
    signup.note = reason[:500]
    log.warning("sign-up %s (%s) rejected by %s: %s", signup.id, slug, operator, reason)
    delete_shop(slug)  # commits the sign-up's change with the deletion
    return signup


def shop_base(slug: str) -> str:
    port = current_app.config.get("SHOP_URL_PORT")
    scheme = current_app.config["PREFERRED_URL_SCHEME"]
    return f"{scheme}://{shop_host(slug)}{f':{port}' if port else ''}"


def platform_base() -> str:
    port = current_app.config.get("SHOP_URL_PORT")
    scheme = current_app.config["PREFERRED_URL_SCHEME"]
    return f"{scheme}://{current_app.config['PLATFORM_DOMAIN']}{f':{port}' if port else ''}"
