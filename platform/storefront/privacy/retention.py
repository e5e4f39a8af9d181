"""The shop's retention of personal data it no longer needs (``[privacy]`` in its
tenant.toml, set by the owner in the dashboard): run daily per shop by the periodic
jobs. Each run reads the oldest first from an index and erases at most ``LIMIT`` people,
so a shop that turns retention on after years catches up over a few days without one
run holding a worker for long."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from ..accounts.models import Role, User
from ..extensions import db
from ..orders.aggregates import GUEST, CustomerTotal
from ..permissions import STAFF_ROLES
from ..tenancy.context import current_tenant
from ..tenancy.models import utcnow
from . import services

log = logging.getLogger(__name__)

LIMIT = 200  # people erased per shop and run


def apply() -> tuple[int, int]:
    """Erase the bound shop's guests and inactive accounts past its periods; returns how
    many of each. The caller commits."""
    settings = current_tenant().settings
    if settings is None:
        return 0, 0
    rules = settings.privacy
    guests = accounts = 0
    if rules.guest_data_days:
        cutoff = utcnow() - timedelta(days=rules.guest_data_days)
        emails = db.session.scalars(
            select(CustomerTotal.email)
            .where(CustomerTotal.user_id == GUEST, CustomerTotal.last_order_at < cutoff)
            .order_by(CustomerTotal.last_order_at)
            .limit(LIMIT)
        ).all()
        for email in emails:
            services.erase_guest(email)
            guests += 1
    if rules.inactive_account_days:
        cutoff = utcnow() - timedelta(days=rules.inactive_account_days)
        staff = User.roles.any(Role.name.in_(STAFF_ROLES))
        emails = db.session.scalars(
            select(User.email)
            .where(User.last_seen_at < cutoff, ~staff)
            .order_by(User.last_seen_at, User.id)
            .limit(LIMIT)
        ).all()
        for email in emails:
            try:
                services.erase(email)
            except services.PrivacyRefused:  # an API key's owner: staff in all but name
                continue
            accounts += 1
    if guests or accounts:
        log.info("retention: %d guests and %d accounts erased", guests, accounts)
    return guests, accounts
