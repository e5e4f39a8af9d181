"""The shop's staff: who has which dashboard role, invitations by mail, and the rule that
a shop always keeps an owner.

An invitation's link carries a token signed with the platform's secret key that names the
shop, the invitation and its nonce; it is good until the invitation's ``expires_at`` (seven
days by default, ``STAFF_INVITATION_DAYS``), once: accepting deletes the row, a resend
draws a new nonce (the older link dies), a revoke deletes the row. Another shop's token
names another shop, and its invitation is out of reach of this shop's scoped queries, so it
opens nothing here. Services flush; the caller's unit of work commits.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from flask import current_app, url_for
from flask_babel import gettext as _
from flask_security import hash_password
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select

from ..emails import InvalidEmail, checked_email
from ..extensions import db, security
from ..i18n import shop_locale
from ..outbox.services import enqueue, handler, send_mail_now
from ..permissions import CUSTOMER, STAFF_ROLES
from ..tenancy.context import current_tenant
from ..tenancy.models import utcnow
from ..themes.mail import mail_request, render_mail
from .models import Role, StaffInvitation, User
from .services import AccountError, check_staff_seat, find_user, keep_an_owner
from .views_model import role_label

log = logging.getLogger(__name__)

INVITATION_DAYS = 7
INVITATION_MAIL = "staff.invitation"
_SALT = "storefront-staff-invitation"


class StaffError(AccountError):
    """A change to the staff that is refused; the message (translated) says why."""


class InvitationInvalid(StaffError):
    """A link that opens no invitation: unknown, used, revoked, resent or another shop's."""


class InvitationExpired(StaffError):
    """A link to an invitation whose time is up."""


@dataclass(frozen=True)
class Member:
    id: int
    email: str
    name: str
    role: str
    active: bool


def staff_role(user: User) -> str | None:
    """The account's dashboard role (the first in ``STAFF_ROLES`` it holds), or None."""
    names = set(user.role_names)
    return next((role for role in STAFF_ROLES if role in names), None)


def members() -> list[Member]:
    """Everyone with a dashboard role in the bound shop, owners first, then by address."""
    people = db.session.scalars(
        select(User).where(User.roles.any(Role.name.in_(STAFF_ROLES))).order_by(User.email)
    ).all()
    found = [
        Member(u.id, u.email, u.name or "", staff_role(u) or "", bool(u.active)) for u in people
    ]
    return sorted(found, key=lambda m: (STAFF_ROLES.index(m.role), m.email))


def _check_role(role: str) -> str:
    if role not in STAFF_ROLES:
        raise StaffError(_("Choose one of the dashboard's roles."))
    return role


def _member(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or staff_role(user) is None:
        raise StaffError(_("This person is not on the shop's staff."))
    return user


def _set_staff_role(user: User, role: str | None) -> None:
    """Give ``user`` the one dashboard role ``role`` (None: none), keeping any other."""
    for name in list(user.role_names):
        if name in STAFF_ROLES and name != role:
            security.datastore.remove_role_from_user(user, name)
    if role is not None and role not in user.role_names:
        security.datastore.add_role_to_user(user, role)
    db.session.flush()


def change_role(user_id: int, role: str) -> User:
    """Give a member another dashboard role; the last owner keeps theirs."""
    user = _member(user_id)
    _check_role(role)
    if role != "owner":
        keep_an_owner(user)
    _set_staff_role(user, role)
    return user


def remove_member(user_id: int) -> User:
    """Take every dashboard role from a member (their account stays, a shopper's if it
    was one); the last owner stays. Their API keys stop working with their role."""
    user = _member(user_id)
    keep_an_owner(user)
    _set_staff_role(user, None)
    if not user.roles:  # an account that never shopped: what it had, it has
        security.datastore.add_role_to_user(user, CUSTOMER)
    return user


# Invitations --------------------------------------------------------------------------


def pending() -> list[StaffInvitation]:
    """The bound shop's invitations not yet accepted, newest first (expired ones too)."""
    stmt = select(StaffInvitation).order_by(StaffInvitation.created_at.desc())
    return list(db.session.scalars(stmt))


def _days() -> int:
    return int(current_app.config.get("STAFF_INVITATION_DAYS", INVITATION_DAYS))


def invite(
    email: str, role: str, inviter: User | None, locale: str | None = None
) -> StaffInvitation:
    """Invite ``email`` to the staff with ``role`` and queue the mail; inviting an address
    already invited renews that invitation (new link, new role, new expiry)."""
    _check_role(role)
    try:
        address = checked_email(email.strip())
    except InvalidEmail:
        raise StaffError(_("Enter an email address mail can reach.")) from None
    user = find_user(address)
    if user is not None and staff_role(user) is not None:
        raise StaffError(
            _("%(email)s is on the staff already: change their role instead.", email=address)
        )
    check_staff_seat()  # told now, not when the invited person has set a password
    invitation = db.session.scalar(
        select(StaffInvitation).where(func.lower(StaffInvitation.email) == address.lower())
    )
    if invitation is None:
        invitation = StaffInvitation(email=address, role=role, nonce="", expires_at=utcnow())
        db.session.add(invitation)
    invitation.role = role
    invitation.invited_by = inviter.id if inviter is not None else None
    invitation.locale = locale
    _renew(invitation)
    return invitation


def _renew(invitation: StaffInvitation) -> None:
    """A new link (the old one dies), a new expiry, and the mail that carries it."""
    now = utcnow()
    invitation.nonce = secrets.token_hex(16)
    invitation.sent_at = now
    invitation.expires_at = now + timedelta(days=_days())
    db.session.flush()
    enqueue(INVITATION_MAIL, {"invitation": invitation.id, "nonce": invitation.nonce})


def _invitation(invitation_id: int) -> StaffInvitation:
    invitation = db.session.get(StaffInvitation, invitation_id)
    if invitation is None:
        raise StaffError(_("This invitation was accepted or withdrawn meanwhile."))
    return invitation


def resend(invitation_id: int) -> StaffInvitation:
    """Mail the invitation again with a new link, valid from now."""
    invitation = _invitation(invitation_id)
    _renew(invitation)
    return invitation


def revoke(invitation_id: int) -> StaffInvitation:
    """Withdraw an invitation: its link opens nothing any more."""
    invitation = _invitation(invitation_id)
    db.session.delete(invitation)
    db.session.flush()
    return invitation


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def token_for(invitation: StaffInvitation) -> str:
    """The link's token: the shop, the invitation and its nonce, signed."""
    return str(_serializer().dumps([current_tenant().id, invitation.id, invitation.nonce]))


def invitation_for(token: str) -> StaffInvitation:
    """The bound shop's pending invitation the token opens, or ``InvitationInvalid`` /
    ``InvitationExpired``."""
    invalid = InvitationInvalid(
        _("This invitation link is not valid: it was used, withdrawn or replaced by a newer one.")
    )
    try:
        # The signature's age is a second bound; the row's expires_at is the one that counts.
        shop_id, invitation_id, nonce = _serializer().loads(
            token[:1000], max_age=max(_days(), 1) * 86400 + 3600
        )
    except SignatureExpired:
        raise InvitationExpired(_expired_message()) from None
    except BadSignature:
        raise invalid from None
    except (TypeError, ValueError):
        raise invalid from None
    if shop_id != current_tenant().id or not isinstance(invitation_id, int):
        raise invalid
    invitation = db.session.get(StaffInvitation, invitation_id)
    if invitation is None or not secrets.compare_digest(str(nonce), invitation.nonce):
        raise invalid
    if invitation.expires_at <= utcnow():
        raise InvitationExpired(_expired_message())
    return invitation


def _expired_message() -> str:
    return _("This invitation has expired: ask the shop's owner to send it again.")


def accept(invitation: StaffInvitation, user: User) -> User:
    """``user`` (the invited address's account in this shop) joins the staff with the
    invitation's role; the invitation is used up."""
    if user.email.lower() != invitation.email.lower():
        raise StaffError(
            _("This invitation is for %(email)s: sign in as that account.", email=invitation.email)
        )
    current = staff_role(user)
    if current is None:
        check_staff_seat()  # the plan's staff seats (plans.PlanLimitReached)
    elif current == "owner" and invitation.role != "owner":
        keep_an_owner(user)
    _set_staff_role(user, invitation.role)
    if user.confirmed_at is None:  # the link came to the address: it is proven
        user.confirmed_at = utcnow()
    db.session.delete(invitation)
    db.session.flush()
    return user


def accept_new(invitation: StaffInvitation, name: str, password: str) -> User:
    """Make the invited person's account (the link proves the address) and accept."""
    if find_user(invitation.email) is not None:
        raise StaffError(_("This address has an account here: sign in to accept."))
    user = cast(
        "User",
        security.datastore.create_user(
            email=invitation.email,
            name=name.strip()[:200] or None,
            password=hash_password(password),
            roles=[],
            confirmed_at=utcnow(),
            locale=invitation.locale,
        ),
    )
    db.session.flush()
    return accept(invitation, user)


@handler(INVITATION_MAIL)
def deliver_invitation(payload: dict[str, Any]) -> None:
    """The outbox job: draw the invitation mail in the shop's look and language with a
    link made now, and send it. An invitation accepted, withdrawn or sent again since
    sends nothing (its newer mail carries the link)."""
    invitation = db.session.get(StaffInvitation, payload["invitation"])
    if invitation is None or invitation.nonce != payload.get("nonce"):
        return
    inviter = db.session.get(User, invitation.invited_by) if invitation.invited_by else None
    shop = current_tenant()
    with shop_locale(invitation.locale), mail_request(fresh=True):
        link = url_for("staff_invitation.accept", token=token_for(invitation), _external=True)
        role = role_label(invitation.role)  # in the mail's language
        rendered = render_mail(
            "account/mail/staff_invitation",
            link=link,
            role=role,
            inviter=(inviter.name or inviter.email) if inviter is not None else "",
            days=_days(),
            shop_name=shop.name,
        )
        subject = _("%(shop)s: you are invited to the shop's staff", shop=shop.name)
    send_mail_now(invitation.email, subject, rendered.text, html=rendered.html)
    log.info("staff invitation %s mailed", invitation.id)
