"""Account operations for the bound shop; ``tenantctl user`` and the tests call these."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import cast

from flask_babel import gettext as _
from flask_security import hash_password
from sqlalchemy import exists, func, select, true

from .. import plans
from ..audit import record_event
from ..emails import InvalidEmail, checked_email
from ..extensions import db, security
from ..listing import LIKE_ESCAPE, Page, contains, paginate
from ..permissions import LEGACY_STAFF
from ..tenancy.context import current_tenant
from ..tenancy.request_hooks import shop_base_url
from .models import SHOP_ROLES, Role, User, roles_users
from .sessions import end_all_sessions

log = logging.getLogger(__name__)


class AccountError(ValueError):
    """An operator error about an account, with a one-line message."""


def normalize_email(email: str) -> str:
    """The address in its normal spelling, by the one email rule (storefront.emails)."""
    try:
        return checked_email(email.strip())  # as typed on a command line
    except InvalidEmail as exc:
        raise AccountError(f"invalid email {email!r}: {exc}") from None


def create_roles() -> None:
    """Give the bound shop its roles (``SHOP_ROLES``: owner, the other dashboard roles,
    customer)."""
    existing = set(db.session.scalars(select(Role.name)))
    for name, description in SHOP_ROLES.items():
        if name not in existing:
            db.session.add(Role(name=name, description=description))
    db.session.flush()


def find_user(email: str) -> User | None:
    found = security.datastore.find_user(case_insensitive=True, email=normalize_email(email))
    return cast("User | None", found)


def get_user(email: str) -> User:
    user = find_user(email)
    if user is None:
        raise AccountError(f"no account {email} at shop {current_tenant().slug}")
    return user


def create_user(
    email: str, password: str | None = None, roles: list[str] | None = None, name: str | None = None
) -> User:
    """Create a confirmed account in the bound shop (operators vouch for the address)."""
    address = normalize_email(email)
    if find_user(address) is not None:
        raise AccountError(f"{address} already has an account at {current_tenant().slug}")
    roles = [_role_name(role) for role in roles or []]
    if any(role != CUSTOMER for role in roles):
        check_staff_seat()
    user = security.datastore.create_user(
        email=address,
        name=name,
        password=hash_password(password) if password else None,
        roles=list(roles or ["customer"]),
        confirmed_at=datetime.now(UTC).replace(tzinfo=None),
    )
    db.session.flush()
    return cast("User", user)


CUSTOMER = "customer"


def check_staff_seat() -> None:
    """Refuse (plans.PlanLimitReached) a new staff account past the plan's ``staff``:
    the one check every way of making a dashboard account calls, before writing it."""
    plans.check("staff")


@plans.counter("staff")
def _count_staff(bound: int | None) -> int:
    """Active accounts holding any role but customer's (the owner counts). Driven by the
    shop's role links (a row per staff member and role; shoppers have none), each
    account looked up by its key: never a walk over the shop's customers."""
    staff = (
        select(roles_users.c.user_id)
        .where(
            roles_users.c.tenant_id == current_tenant().id,
            roles_users.c.role_id.in_(select(Role.id).where(Role.name != CUSTOMER)),
            exists().where(User.id == roles_users.c.user_id, User.active == true()),
        )
        .distinct()
    )
    return plans.bounded_count(staff, bound)


def list_users(role: str | None = None) -> list[User]:
    stmt = select(User).order_by(User.email)
    users = list(db.session.scalars(stmt))
    return [u for u in users if role is None or role in u.role_names]


def set_password(email: str, password: str) -> User:
    if len(password) < 8:
        raise AccountError("a password needs at least 8 characters")
    user = get_user(email)
    user.password = hash_password(password)
    db.session.flush()
    return user


def _role_name(role: str) -> str:
    """A role's name, checked; ``staff`` (the role before there were several) is read as
    ``manager``, what the migration made of it."""
    if role == LEGACY_STAFF:
        return "manager"
    if role not in SHOP_ROLES:
        raise AccountError(f"unknown role {role!r} (one of {', '.join(SHOP_ROLES)})")
    return role


def grant(email: str, role: str) -> User:
    role = _role_name(role)
    user = get_user(email)
    if role != CUSTOMER and not any(name != CUSTOMER for name in user.role_names):
        check_staff_seat()  # a customer becoming staff takes a seat
    security.datastore.add_role_to_user(user, role)
    db.session.flush()
    return user


def keep_an_owner(user: User) -> None:
    """Refuse to take the owner role from the shop's last active owner (a shop without
    one has nobody to manage its staff, domains, payments or keys). The owner role's row
    is locked first, so two owners demoting each other at once cannot both pass."""
    if "owner" not in user.role_names:
        return
    db.session.scalar(select(Role.id).where(Role.name == "owner").with_for_update())
    others = db.session.scalar(
        select(func.count(User.id)).where(
            User.roles.any(Role.name == "owner"), User.active == true(), User.id != user.id
        )
    )
    if not others:
        raise AccountError(
            _(
                "%(email)s is the shop's last owner: make someone else owner first.",
                email=user.email,
            )
        )


def revoke(email: str, role: str) -> User:
    user = get_user(email)
    role = "manager" if role == LEGACY_STAFF else role
    if role not in user.role_names:
        raise AccountError(f"{user.email} does not have the role {role!r}")
    if role == "owner":
        keep_an_owner(user)
    security.datastore.remove_role_from_user(user, role)
    db.session.flush()
    return user


def deactivate(email: str) -> User:
    user = get_user(email)
    security.datastore.deactivate_user(user)
    # New uniquifiers void every session, remember cookie and login token already out there.
    security.datastore.set_uniquifier(user)
    security.datastore.set_token_uniquifier(user)
    end_all_sessions(user.id)
    db.session.flush()
    return user


def reset_second_factor(email: str) -> int:
    """Take an account's second factor away (its phone is lost and so are its recovery
    codes): its authenticator app, recovery codes and every passkey. It signs in with its
    password alone until it sets one up again, or at its next sign-in when its shop
    requires one. Its sessions and login tokens end. Returns how many passkeys went."""
    user = get_user(email)
    passkeys = len(user.webauthn)
    # Method, secret, recovery codes and passkeys; new uniquifiers void every session,
    # remember cookie and login token already out there.
    security.datastore.reset_user_access(user)
    end_all_sessions(user.id)
    record_event("second-factor-reset", user.id)  # besides the masked columns it changed
    db.session.flush()
    log.warning(
        "second factor of %s reset by the operator (%d passkeys removed)", user.email, passkeys
    )
    return passkeys


def set_password_link(user: User) -> str:
    """A one-time link to choose a password, on the shop's primary domain."""
    from flask import current_app
    from flask_security.recoverable import generate_reset_link

    with current_app.test_request_context("/", base_url=shop_base_url(current_tenant())):
        link, _token = generate_reset_link(user)
    return str(link)


def list_customers(page: int = 1, per_page: int = 25, query: str | None = None) -> Page:
    """Shoppers (the ``customer`` role) for the dashboard, newest first."""
    stmt = select(User).where(User.roles.any(Role.name == "customer"))
    if query:
        stmt = stmt.where(User.email.ilike(contains(query), escape=LIKE_ESCAPE))
    return paginate(stmt.order_by(User.id.desc()), page, per_page)
