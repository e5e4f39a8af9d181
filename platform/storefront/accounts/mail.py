"""Flask-Security's mails go through the outbox, at most a few per recipient.

Sending inline made a request for an existing account slower than one for an unknown
address (the timing told who has an account) and let anyone make the shop mail a person
again and again. Here a mail is queued with the request's commit and delivered after the
response; past ``MAIL_PER_RECIPIENT`` (e.g. "3 per 15 minutes") per shop and recipient,
further account mails are dropped with a log line.
"""

from __future__ import annotations

import logging
import unicodedata
from contextvars import ContextVar
from typing import Any

from flask import after_this_request, current_app, g, has_request_context
from flask_babel import gettext as _
from flask_security import MailUtil
from flask_security.mail_util import EmailValidateException
from flask_security.utils import get_message
from limits import parse

from ..emails import InvalidEmail, checked_email
from ..extensions import db, limiter, security
from ..i18n import current_locale, shop_locale
from ..outbox import enqueue, enqueue_mail
from ..outbox.services import handler, send_mail_now
from ..tenancy.context import current_tenant
from ..tenancy.request_hooks import shop_base_url

log = logging.getLogger(__name__)


def normalize_email(email: str) -> str:
    """One spelling per mailbox, for limits as for login: NFKC (fullwidth letters become
    ASCII), case-folded, then Flask-Security's own normalisation when the address is valid."""
    text = unicodedata.normalize("NFKC", email or "").strip().casefold()
    try:
        from flask_security.proxies import _security

        return str(_security._mail_util.normalize(text)).casefold()
    except Exception:  # noqa: BLE001 - not an address: the folded text is the key
        return text


def recipient_allowed(recipient: str) -> bool:
    """Count one account mail to ``recipient``; False once over the per-recipient limit."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return True
    item = parse(str(current_app.config.get("MAIL_PER_RECIPIENT", "3 per 15 minutes")))
    try:
        return bool(
            limiter.limiter.hit(item, "mail", current_tenant().uid, normalize_email(recipient))
        )
    except Exception:  # a limiter outage must not stop a password reset
        log.warning("mail limit unavailable; sending", exc_info=True)
        return True


_MAIL_LOCALE = "storefront.account_mail_locale"


def speak_to(locale: str) -> None:
    """Switch to ``locale`` until the account mail being rendered is queued."""
    if has_request_context() and _MAIL_LOCALE not in g:
        switch = shop_locale(locale)
        switch.__enter__()
        setattr(g, _MAIL_LOCALE, switch)


def _back_to_the_reader() -> None:
    switch = g.pop(_MAIL_LOCALE, None) if has_request_context() else None
    if switch is not None:
        switch.__exit__(None, None, None)


class OutboxMailUtil(MailUtil):
    """Flask-Security's ``MailUtil`` that queues instead of sending, and holds a new
    address (registration, a changed email) to the one rule checkout holds it to."""

    def validate(self, email: str) -> str:
        """A new account's address, normalised, by ``storefront.emails``' rule."""
        try:
            return checked_email(email)
        except InvalidEmail:
            raise EmailValidateException(get_message("INVALID_EMAIL_ADDRESS")[0]) from None

    def send_mail(  # type: ignore[override]
        self,
        template: str,
        subject: str,
        recipient: str,
        sender: Any,
        body: str,
        html: str | None,
        **kwargs: Any,
    ) -> None:
        subject_text = account_subject(template, str(subject))  # recipient's language
        _back_to_the_reader()
        if not recipient_allowed(recipient):
            log.info("account mail %s not sent: recipient over its limit", template)
            return
        # ``sender`` is Flask-Security's SECURITY_EMAIL_SENDER; the outbox puts the shop's
        # own sender on every mail when it goes out (outbox.services.shop_sender).
        if _IN_OUTBOX_JOB.get():  # the outbox is running this already: send, not queue
            send_mail_now(str(recipient), subject_text, body, html=html)
            return
        enqueue_mail(str(recipient), subject_text, body, html=html)
        if has_request_context():
            # Some Flask-Security views (forgot password, resend confirmation) commit
            # nothing themselves: commit the queued mail with the request.
            after_this_request(_commit)


# Flask-Security's template -> the config key of its subject (a shop may set its own in
# tenant.toml's [config]; then that one is used as written).
SUBJECT_KEYS = {
    "welcome": "SECURITY_EMAIL_SUBJECT_REGISTER",
    "welcome_existing": "SECURITY_EMAIL_SUBJECT_REGISTER",
    "welcome_existing_username": "SECURITY_EMAIL_SUBJECT_REGISTER",
    "confirmation_instructions": "SECURITY_EMAIL_SUBJECT_CONFIRM",
    "reset_instructions": "SECURITY_EMAIL_SUBJECT_PASSWORD_RESET",
    "reset_notice": "SECURITY_EMAIL_SUBJECT_PASSWORD_NOTICE",
    "change_notice": "SECURITY_EMAIL_SUBJECT_PASSWORD_CHANGE_NOTICE",
}


def account_subject(template: str, given: str) -> str:
    """The subject of an account mail in the current language: the shop's name and what
    happened ("Reset your password at Acme"), not Flask-Security's bare "Welcome"; the
    shop's own subject where its ``[config]`` sets one."""
    ctx = current_tenant()
    template = template.rsplit("/", 1)[-1]  # "security/email/welcome" -> "welcome"
    key = SUBJECT_KEYS.get(template)
    if ctx.settings is not None and key is not None and key in ctx.settings.config:
        return given
    shop = ctx.name
    subjects = {
        "welcome": lambda: _("Your new account at %(shop)s", shop=shop),
        "welcome_existing": lambda: _(
            "Someone tried to register at %(shop)s with your email address", shop=shop
        ),
        "welcome_existing_username": lambda: _("Your new account at %(shop)s", shop=shop),
        "confirmation_instructions": lambda: _("Confirm your email address at %(shop)s", shop=shop),
        "reset_instructions": lambda: _("Reset your password at %(shop)s", shop=shop),
        "reset_notice": lambda: _("Your password at %(shop)s was reset", shop=shop),
        "change_notice": lambda: _("Your password at %(shop)s was changed", shop=shop),
    }
    chosen = subjects.get(template)
    if chosen is not None:
        return str(chosen())
    return _("%(shop)s: %(subject)s", shop=shop, subject=given)


def _commit(response: Any) -> Any:
    db.session.commit()
    return response


# "Forgot password" -----------------------------------------------------------------

RESET_KIND = "password_reset"
_IN_OUTBOX_JOB: ContextVar[bool] = ContextVar("storefront_account_mail_job", default=False)


def request_password_reset(email: str) -> None:
    """Queue a reset for ``email``, committed with the request: the same row and the
    same work whether an account has that address or not (forms.ShopForgotPasswordForm)."""
    enqueue(RESET_KIND, {"email": email, "locale": current_locale()})
    if has_request_context():
        after_this_request(_commit)


@handler(RESET_KIND)
def send_password_reset(payload: dict[str, Any]) -> None:
    """The outbox job of a reset request: mail the link to the account with that address
    if it may reset its password (active, confirmed where the shop asks, not locked);
    otherwise nothing, and no mail."""
    from flask_security.confirmable import requires_confirmation
    from flask_security.recoverable import send_reset_password_instructions

    user = security.datastore.find_user(case_insensitive=True, email=payload["email"])
    if user is None or not user.is_active or user.is_locked() or requires_confirmation(user):
        return
    # Links are built for the shop's primary domain, the mail in the asker's language
    # unless the account has its own (auth._render_security_template).
    base = shop_base_url(current_tenant())
    with current_app.test_request_context("/", base_url=base), shop_locale(payload["locale"]):
        flag = _IN_OUTBOX_JOB.set(True)
        try:
            send_reset_password_instructions(user)
        finally:
            _IN_OUTBOX_JOB.reset(flag)
