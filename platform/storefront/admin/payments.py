"""Payment events in the dashboard: every signed event the provider sent, and what came of
it. Refused ones (an amount that is not the order's total, another order's session, a
bank-transfer order named by a card event, ...) were never applied: the owner sees them
here, and can follow one order's events from its page."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l

from ..accounts.dashboard import permission, protect
from ..catalog.money import shop_money
from ..orders import stripe_events
from ..orders.views_model import status_label
from ..themes.loader import platform_templates_only

bp = Blueprint("admin_payments", __name__, url_prefix="/admin/payments")
platform_templates_only(bp)

OUTCOMES = {
    stripe_events.APPLIED: _l("applied"),
    stripe_events.UNCHANGED: _l("no change"),
    stripe_events.REFUSED: _l("refused"),
    stripe_events.MALFORMED: _l("unreadable"),
}
REASONS = {
    "paid": _l("The order is paid."),
    "cancelled": _l("The payment session expired: the order is cancelled."),
    "unpaid": _l("The session is complete but not paid yet."),
    "unknown_order": _l("It names no order of this shop."),
    "other_shop": _l("The session belongs to another shop."),
    "not_card": _l("The order is not paid by card."),
    "other_session": _l("The session is not the order's own."),
    "currency": _l("The currency is not the order's."),
    "amount": _l("The amount is not the order's total."),
}


protect(bp)  # a session, then the permission each route declares


@bp.route("/")
@permission("payments")
def index() -> ResponseReturnValue:
    """The latest payment events (``?order=`` narrows them to one order), newest first."""
    number = request.args.get("order", "").strip()[:32] or None
    return render_template(
        "admin/payment_events.html",
        events=stripe_events.recent_events(number),
        order_number=number,
        outcome_label=lambda code: OUTCOMES.get(code, code),
        reason_label=_reason,
        claimed=_claimed,
    )


def _reason(code: str) -> str:
    if code.startswith("already_"):  # a late event for an order that had moved on
        status = status_label(code.removeprefix("already_"))
        return str(_l("Nothing to do: the order is already “%(status)s”.", status=status))
    return str(REASONS.get(code, code))


def _claimed(event: stripe_events.PaymentEvent) -> str:
    """The amount the event claimed, in its own currency (which may be no real one)."""
    if event.amount is None:
        return "—"
    currency = (event.currency or "").upper()
    try:
        return shop_money(event.amount, currency or None)
    except (ValueError, LookupError):
        return f"{event.amount} {currency}"
