"""A sign-in from a browser the account has not used before mails its holder.

For the accounts a stolen password hurts most: owners, staff, and anyone who set up a
second factor. Each browser an account signs in with gets a signed, long-lived cookie
naming the account (per shop: cookies belong to the shop's host); a sign-in without one
queues the mail (when, which browser) and sets it. Nothing about the browser is stored
on the server.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, after_this_request, current_app, request
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import user_logged_in
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug import Response

from ..i18n import shop_locale
from ..outbox.services import queue_shop_mail
from ..permissions import is_staff
from ..tenancy.context import current_tenant_or_none
from ..tenancy.models import utcnow

COOKIE = "sf_device"
MAX_AGE = 400 * 24 * 3600  # what browsers keep at most (RFC 6265bis)
AGENT_MAX = 160  # characters of the User-Agent a mail quotes


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="storefront-device")


def _watched(user: Any) -> bool:
    return bool(
        is_staff(r.name for r in user.roles)
        or getattr(user, "tf_primary_method", None)
        or getattr(user, "webauthn", None)  # a passkey, for either use
    )


def _known(user: Any, shop_uid: str) -> bool:
    try:
        seen = _serializer().loads(request.cookies.get(COOKIE, ""))
    except BadSignature:
        return False
    return (
        isinstance(seen, dict) and seen.get("u") == user.fs_uniquifier and seen.get("s") == shop_uid
    )


def signed_in(_sender: Any, user: Any, **_extra: Any) -> None:
    """``user_logged_in``: mail the holder of a watched account signing in from a browser
    it has not used here before, and remember this browser."""
    shop = current_tenant_or_none()
    if shop is None or not _watched(user) or _known(user, shop.uid):
        return
    agent = request.headers.get("User-Agent", "")[:AGENT_MAX] or "?"
    with shop_locale(getattr(user, "locale", None)):
        subject = _("New sign-in to your account at %(shop)s", shop=shop.name)
        queue_shop_mail(
            user.email,
            "mail/notice",
            subject,
            heading=subject,
            paragraphs=[
                _(
                    "Someone signed in to your account on %(when)s from a browser it had not "
                    "used before:",
                    when=format_datetime(utcnow()),
                ),
                agent,
                _(
                    "If that was you, there is nothing to do. If not, change your password "
                    "now and turn on two-step sign-in."
                ),
            ],
            items=[],
            link="",
            link_label="",
        )
    token = _serializer().dumps({"u": user.fs_uniquifier, "s": shop.uid})

    @after_this_request
    def remember(response: Response) -> Response:
        response.set_cookie(
            COOKIE,
            token,
            max_age=MAX_AGE,
            httponly=True,
            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
            samesite="Lax",
        )
        return response


def init_new_device_mails(app: Flask) -> None:
    user_logged_in.connect(signed_in, app, weak=False)
