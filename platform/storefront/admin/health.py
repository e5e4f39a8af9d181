"""The shop's own health on the overview: orders today, server errors today, webhook
deliveries and mails that fail, each with where the owner can act.

Every figure is a short indexed read: today's row of the daily sales figures, the shop's
counters of the day (``metrics.usage``), and ranges of the outbox by shop, kind and status
(``ix_outbox_tenant_id_kind_status_created_at``), newest first and capped, never the order
book or the shop's whole mail history.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import false, func, select

from ..accounts.dashboard import permission
from ..extensions import db
from ..i18n.numbers import format_count
from ..metrics import usage
from ..orders import reports
from ..outbox.models import DEAD, PENDING, OutboxMessage
from ..outbox.services import requeue
from ..privacy.services import ERASED
from ..shared import SafeView
from ..tenancy.context import current_tenant
from ..tenancy.models import utcnow
from ..webhooks.models import WebhookEndpoint
from .forms import ConfirmForm

bp = Blueprint("health", __name__, url_prefix="/health")  # nested in the dashboard's

RECENT_DAYS = 7  # a delivery that gave up longer ago than this is history, not health
SHOWN = 5  # failures listed per kind; the counts say how many more
COUNT_CAP = 100  # past this, "100+"
USAGE_KEY = "storefront.usage"  # app.extensions: the per-shop figures' store, once set up
DROPPED = "erased"  # last_error of a queued mail dropped by an erasure (privacy.services)


@dataclass(frozen=True)
class Failure(SafeView):
    """One mail or webhook delivery that failed, as the owner reads it."""

    id: int
    can_retry: bool  # a mail that gave up, to an address that was not erased
    what: str  # a mail's recipient, a delivery's event
    subject: str  # a mail's subject ("" for a delivery)
    reason: str  # in plain words
    gave_up: bool  # True: no more attempts; False: tried again later
    attempts: int
    queued_at: datetime
    next_attempt_at: datetime | None


@dataclass(frozen=True)
class Failures(SafeView):
    gave_up: int
    retrying: int
    shown: list[Failure] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.gave_up + self.retrying

    def count(self, number: int) -> str:
        """A count as it reads: "3", "1,204" or "100+" past the cap."""
        if number > COUNT_CAP:
            return _("%(num)s+", num=format_count(COUNT_CAP))
        return format_count(number)


@dataclass(frozen=True)
class Health(SafeView):
    orders_today: int
    measured: bool  # whether the shop's request counters are kept in this deployment
    requests_today: int
    errors_today: int
    webhooks: Failures
    endpoints_off: int
    mails: Failures


def shop_health(now: datetime | None = None) -> Health:
    """The bound shop's health for the overview."""
    now = now or utcnow()
    shop_id = current_tenant().id
    measured = current_app.extensions.get(USAGE_KEY) is not None
    figures = usage.today(shop_id) if measured else usage.empty()
    off = db.session.scalar(
        select(func.count(WebhookEndpoint.id)).where(WebhookEndpoint.active == false())
    )
    return Health(
        orders_today=reports.orders_paid_today(now),
        measured=measured,
        requests_today=int(figures.get("requests", 0)),
        errors_today=int(figures.get("errors", 0)),
        webhooks=failures("webhook", now),
        endpoints_off=int(off or 0),
        mails=failures("mail", now),
    )


def failures(kind: str, now: datetime) -> Failures:
    """The shop's rows of ``kind`` that gave up lately or wait for another attempt."""
    gave_up = (
        OutboxMessage.kind == kind,
        OutboxMessage.status == DEAD,
        OutboxMessage.created_at >= now - timedelta(days=RECENT_DAYS),
        OutboxMessage.last_error != DROPPED,  # no failure: the person was erased
    )
    # A fresh row has no attempt behind it yet; one deferred because the shop was closed
    # has no failure either (its attempts are not counted).
    retrying = (
        OutboxMessage.kind == kind,
        OutboxMessage.status == PENDING,
        OutboxMessage.attempts > 0,
    )
    newest = (OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
    rows = list(
        db.session.scalars(select(OutboxMessage).where(*gave_up).order_by(*newest).limit(SHOWN))
    )
    if len(rows) < SHOWN:
        rows += db.session.scalars(
            select(OutboxMessage).where(*retrying).order_by(*newest).limit(SHOWN - len(rows))
        )
    return Failures(
        gave_up=reports.count_upto(select(OutboxMessage.id).where(*gave_up), COUNT_CAP),
        retrying=reports.count_upto(select(OutboxMessage.id).where(*retrying), COUNT_CAP),
        shown=[_failure(row) for row in rows],
    )


def _failure(row: OutboxMessage) -> Failure:
    payload = _payload(row)
    if row.kind == "mail":
        what, subject = str(payload.get("to") or ""), str(payload.get("subject") or "")
        reason = mail_reason(row.last_error)
    else:
        body = payload.get("body")
        what, subject = str(body.get("type") or "") if isinstance(body, dict) else "", ""
        reason = webhook_reason(row.last_error)
    return Failure(
        id=row.id,
        can_retry=row.kind == "mail" and row.status == DEAD and _sendable(payload),
        what=what,
        subject=subject,
        reason=reason,
        gave_up=row.status == DEAD,
        attempts=row.attempts,
        queued_at=row.created_at,
        next_attempt_at=None if row.status == DEAD else row.next_attempt_at,
    )


def _payload(row: OutboxMessage) -> dict[str, Any]:
    try:
        payload = json.loads(row.payload)
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def _sendable(payload: dict[str, Any]) -> bool:
    """Whether a mail still has its recipient (an erasure scrubs it to ``[erased]``)."""
    to = str(payload.get("to") or "")
    return "@" in to and ERASED not in to


def _error_type(error: str) -> str:
    """``"SMTPRecipientsRefused: {...}"`` -> ``"SMTPRecipientsRefused"`` (the outbox keeps
    the exception's type and message)."""
    head, separator, _rest = error.partition(":")
    return head.strip() if separator and re.fullmatch(r"[\w.]+", head.strip()) else ""


UNREACHABLE = {
    "SMTPConnectError",
    "SMTPServerDisconnected",
    "ConnectionRefusedError",
    "ConnectionResetError",
    "ConnectionAbortedError",
    "TimeoutError",
    "timeout",
    "gaierror",
    "OSError",
    "SSLError",
    "SSLCertVerificationError",
}


def mail_reason(error: str) -> str:
    """Why a mail did not go, in the owner's words (the raw error stays in the logs: it
    may name the platform's mail servers)."""
    kind = _error_type(error)
    if kind == "SMTPRecipientsRefused":
        return _("The recipient's mail server refused the address: it may be misspelt or closed.")
    if kind == "SMTPSenderRefused":
        return _("The mail server refused the shop's sender address.")
    if kind == "SMTPAuthenticationError":
        return _("The mail server did not accept the shop's mail login.")
    if kind in {"SMTPDataError", "SMTPResponseException", "SMTPNotSupportedError"}:
        return _("The mail server refused the message.")
    if kind in UNREACHABLE:
        return _("The mail server could not be reached.")
    return _("The mail could not be sent; your platform operator can see the details.")


def webhook_reason(error: str) -> str:
    """Why a delivery failed, in the owner's words."""
    kind = _error_type(error)
    answered = re.search(r"answered (\d{3})", error)
    if kind == "RuntimeError" and answered:
        return _("The receiver answered with status %(status)s.", status=answered.group(1))
    if "Timeout" in kind or "deadline" in error:
        return _("The receiver took too long to answer.")
    if kind == "WebhookError":
        return _("The receiver's address is not a public address.")
    if kind in {"ConnectError", "gaierror", *UNREACHABLE}:
        return _("The receiver could not be reached.")
    if kind in {"RemoteProtocolError", "LocalProtocolError", "ReadError", "WriteError"}:
        return _("The receiver's answer could not be read.")
    return _("The delivery failed; your platform operator can see the details.")


@bp.route("/mails/<int:row_id>/retry", methods=["POST"])
@permission("orders")
def retry_mail(row_id: int) -> ResponseReturnValue:
    """Send a mail that gave up once more (after the address or the server was fixed)."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    row = db.session.get(OutboxMessage, row_id)  # scoped: another shop's row is None
    if row is None or row.kind != "mail" or row.status != DEAD or not _sendable(_payload(row)):
        abort(404)
    requeue(row)
    db.session.commit()
    flash(_("The mail is queued again."), "success")
    return redirect(url_for("admin.index") + "#health")
