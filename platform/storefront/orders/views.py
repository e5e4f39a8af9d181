"""Checkout, the order confirmation page, and a shopper's order history."""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import fields

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from werkzeug import Response
from wtforms import ValidationError

from .. import metrics
from ..addresses import services as address_book
from ..addresses.countries import ADDRESS_FIELDS
from ..addresses.forms import address_layout
from ..addresses.views_model import address_view, format_address, values_of
from ..audit.actor import PAYMENT, acting_as
from ..cart import services as cart_services
from ..cart.models import Cart
from ..db import unit_of_work
from ..extensions import csrf, db
from ..problems import api_error
from ..reminders import services as reminders
from ..tenancy.context import current_tenant
from ..themes import add_safe_globals
from . import payment_retry, services, stripe_events, stripe_payment, totals
from .checkout import DiscountRefused, GiftCardRefused
from .forms import CheckoutForm
from .payments import PROVIDERS, enabled_methods
from .views_model import CheckoutSummary, checkout_summary

bp = Blueprint("orders", __name__)


def cart_estimate() -> CheckoutSummary | None:
    """The current cart's totals for the shop's home country (the cart page shows what
    checkout will say; the country can change there)."""
    cart = cart_services.current_cart()
    if cart is None or not cart.items:
        return None
    codes = [code for code, _name in totals.countries()]
    settings = current_tenant().settings
    home = settings.locale.split("_")[-1] if settings else ""
    country = home if home in codes else (codes[0] if codes else "")
    return checkout_summary(cart, country, "") if country else None


# The cart page (a shop may override it) asks for the estimate; themes sit below orders.
bp.record_once(lambda state: add_safe_globals(state.app, cart_estimate=cart_estimate))  # type: ignore[arg-type]
# Any template (pages, mails, a shop's own) prints an address as its country does:
# ``{% for line in format_address(order) %}`` (addresses.views_model.format_address).
bp.record_once(lambda state: add_safe_globals(state.app, format_address=format_address))  # type: ignore[arg-type]
log = logging.getLogger(__name__)
CHECKOUT_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")
ADDRESS_ID = re.compile(r"[0-9]{1,9}")
TYPED_KEY = "checkout_typed"
TYPED_FIELDS = ("email", *ADDRESS_FIELDS, "discount_code")


@bp.route("/checkout", methods=["GET", "POST"])
def checkout() -> str | Response:
    """Contact, address and payment; places the order."""
    settings = current_tenant().settings
    if settings and not settings.features.guest_checkout and not current_user.is_authenticated:
        return redirect(url_for("security.login", next=url_for("orders.checkout")))
    cart = cart_services.current_cart()
    if cart is None or not cart.items:
        # The same checkout submitted again after it went through: its order, not an error.
        earlier = _earlier_order(cart)
        if earlier is not None:
            return _after_order(earlier)
        flash(_("Your cart is empty."), "error")
        return redirect(url_for("cart.show"))
    form = CheckoutForm()
    # Gift cards only: nothing ships, so no address lines are asked (the country stays,
    # for tax and the billing record).
    form.nothing_ships = cart_services.nothing_ships(cart)
    user_id = cart_services.signed_in_user_id()
    if request.method == "GET":
        # What the shopper typed before checkout sent them back to fix the cart.
        typed = session.get(TYPED_KEY, {})
        for name, value in typed.items():
            if name in TYPED_FIELDS:
                getattr(form, name).data = value
        if user_id is not None and ("address" in request.args or not typed):
            _fill_saved_address(form, user_id)
    if current_user.is_authenticated and not form.email.data:
        form.email.data = current_user.email
    if not CHECKOUT_KEY.fullmatch(form.checkout_key.data or ""):
        form.checkout_key.data = secrets.token_urlsafe(18)
    key = services.checkout_key(cart_services.cart_owner() or cart.token, form.checkout_key.data)
    if request.method == "GET":
        form.country.data = _default_country(form)
    summary = checkout_summary(
        cart, form.country.data or "", form.discount_code.data or "", form.gift_card_code.data or ""
    )
    # "Update the totals" (or the older "recalculate") shows the page again for what was
    # typed: never an order.
    updating = request.method == "POST" and (
        bool(form.update.data) or bool(request.form.get("recalculate"))
    )
    valid = not updating and form.validate_on_submit()
    if request.method == "POST" and not valid and _csrf_ok(form):
        _remember(cart, form)  # without the script: "update the totals" says it too
    if summary.discount_error:  # after validating: validation resets the field's errors
        form.discount_code.errors = [*form.discount_code.errors, summary.discount_error]
    if summary.gift_card_error:
        form.gift_card_code.errors = [*form.gift_card_code.errors, summary.gift_card_error]
    if valid and not summary.discount_error and not summary.gift_card_error:
        contact = services.Contact(
            **{f.name: (getattr(form, f.name).data or "").strip() for f in fields(services.Contact)}
        )
        expected = expected_total(form.expected_total.data)
        save = user_id is not None and bool(form.save_address.data) and not form.nothing_ships

        def save_address(_order: services.Order) -> None:
            if save and user_id is not None:  # in the order's transaction: both or neither
                address_book.remember(user_id, form.address_values())

        try:
            placed = services.place(
                cart, contact, user_id, key, expected_total=expected, also=save_address
            )
        except services.TotalChanged as exc:
            # Nothing placed (the stock it took is returned): the page shows the new
            # total, and placing the order again agrees to it.
            flash(str(exc), "error")
            summary = checkout_summary(
                cart, contact.country, contact.discount_code, contact.gift_card_code
            )
            return _checkout_page(form, summary)
        except services.CartChanged as exc:
            # Another checkout of this cart went through first.
            flash(str(exc), "error")
            return redirect(url_for("cart.show"))
        except services.CheckoutError as exc:
            if isinstance(exc, DiscountRefused):
                # The code is the problem, not the cart: the form again, as typed, with
                # the reason at the code and the totals without it.
                form.discount_code.errors = [*form.discount_code.errors, str(exc)]
                return _checkout_page(form, checkout_summary(cart, contact.country, ""))
            if isinstance(exc, GiftCardRefused):
                # Likewise for the gift card (spent meanwhile, switched off, guessed at):
                # the form again, the reason at the card, the totals without it.
                form.gift_card_code.errors = [*form.gift_card_code.errors, str(exc)]
                summary = checkout_summary(cart, contact.country, contact.discount_code)
                return _checkout_page(form, summary)
            flash(str(exc), "error")
            # Kept for when they come back: a sold-out line must not cost them the form.
            session[TYPED_KEY] = {name: getattr(contact, name) for name in TYPED_FIELDS}
            return redirect(url_for("cart.show"))
        order = placed.order
        session.pop(TYPED_KEY, None)
        return _after_order(order)
    return _checkout_page(form, summary)


def _csrf_ok(form: CheckoutForm) -> bool:
    try:
        validate_csrf(form.csrf_token.data)
    except ValidationError:
        return False
    return True


def _remember(cart: Cart, form: CheckoutForm) -> None:
    """The shopper's consent to a cart reminder, as the form stands (storefront.reminders)."""
    email, wanted = form.email.data or "", bool(form.cart_reminder.data)
    unit_of_work(lambda: reminders.remember(cart, email, wanted))


def _checkout_page(form: CheckoutForm, summary: CheckoutSummary) -> str:
    """The checkout page; its form carries the total it shows, the one an order must cost.
    A signed-in shopper can pick one of their saved addresses (a plain GET form)."""
    form.expected_total.data = str(summary.due)
    user_id = cart_services.signed_in_user_id()
    ships = not getattr(form, "nothing_ships", False)
    saved = address_book.list_addresses(user_id) if user_id is not None and ships else []
    typed = form.address_values()
    chosen = next((row.id for row in saved if values_of(row) == typed), None)
    reminders_on = reminders.enabled()
    cart = cart_services.current_cart() if reminders_on and request.method == "GET" else None
    if cart is not None:  # what the shopper said before about this cart
        form.cart_reminder.data = reminders.for_cart(cart.id) is not None
    return render_template(
        "orders/checkout.html",
        form=form,
        summary=summary,
        layout=form.layout(),
        saved_addresses=[address_view(row) for row in saved],
        chosen_address=chosen,
        reminders_on=reminders_on,
        nothing_ships=not ships,
    )


def _fill_saved_address(form: CheckoutForm, user_id: int) -> None:
    """The address asked for (``?address=<id>``, one of the shopper's own), else their
    default address; an id that is not theirs fills nothing from it."""
    wanted = request.args.get("address", "")
    row = None
    if wanted:
        row = (
            address_book.get_address(user_id, int(wanted)) if ADDRESS_ID.fullmatch(wanted) else None
        )
        if row is None:
            flash(_("That address is not in your address book."), "error")
    row = row or address_book.default_address(user_id)
    if row is not None:
        form.fill(values_of(row))


@bp.route("/checkout/address-fields", methods=["POST"])
def address_fields() -> ResponseReturnValue:
    """The address lines for the posted form's country (labels, states, which are
    required), with what was typed kept: the address script swaps them in when the country
    changes, on the checkout and in the address book. Reads only; CSRF as any POST."""
    form = CheckoutForm()
    country = (form.country.data or "")[:2].upper()
    return render_template("addresses/_fields.html", form=form, layout=address_layout(country))


TOTAL = re.compile(r"\d{1,15}")


def expected_total(posted: str | None) -> int | None:
    """The total the shopper last saw, from the form: None when the form did not carry one
    (a client of its own); one that cannot be read matches no total, so nothing is placed
    until the shopper has seen the real one."""
    if not posted:
        return None
    return int(posted) if TOTAL.fullmatch(posted.strip()) else -1


@bp.route("/checkout/summary", methods=["POST"])
def checkout_summary_fragment() -> ResponseReturnValue:
    """The checkout's totals for the form as it stands (country, discount code), as the
    HTML the page's summary shows: the checkout script swaps it in as the shopper types.
    Reads only; the CSRF token of the checkout form comes with it."""
    cart = cart_services.current_cart()
    if cart is None or not cart.items:
        abort(404)
    country = request.form.get("country", "")[:2]
    code = request.form.get("discount_code", "")[:40]
    gift_card = request.form.get("gift_card_code", "")[:40]
    summary = checkout_summary(cart, country, code, gift_card)
    return render_template("orders/_summary.html", summary=summary, live=True)


def _default_country(form: CheckoutForm) -> str:
    """The country asked for or already in the form, else the shop's own (from its
    default locale) when it ships there, else the first it ships to."""
    codes = [choice.value for choice in form.country.choices]  # type: ignore[union-attr]
    settings = current_tenant().settings
    home = settings.locale.split("_")[-1] if settings else ""
    wanted = request.args.get("country", "").upper()[:2]
    # The one asked for, the one already in the form (typed before, a saved address).
    for candidate in (wanted, form.country.data or "", home):
        if candidate in codes:
            return candidate
    return codes[0] if codes else ""


def _earlier_order(cart: object) -> services.Order | None:
    token = cart_services.cart_owner()
    posted = request.form.get("checkout_key", "") if request.method == "POST" else ""
    if token is None or not CHECKOUT_KEY.fullmatch(posted):
        return None
    return services.order_for_checkout(services.checkout_key(token, posted))


def _after_order(order: services.Order) -> Response:
    """Where a placed order sends the shopper: the provider's page or the confirmation.

    The order is committed by now: whatever the provider does, the answer is never a 500.
    """
    services.remember_guest_order(order.number)
    confirmation = url_for("orders.detail", number=order.number, placed=1)
    try:
        payment_url = unit_of_work(
            lambda: PROVIDERS[order.payment_method].start(order), keep_loaded=True
        )
    except Exception:  # the order stands; payment can be retried from it
        log.exception("payment provider %s failed to start for %s", order.payment_method, order)
        flash(_("Your order is placed, but the payment could not be started."), "error")
        payment_url = None
    return redirect(payment_url or confirmation)


# A provider event's outcome as the metrics name it (applied, ignored, refused).
_PAYMENT_OUTCOMES = {
    stripe_events.APPLIED: "applied",
    stripe_events.UNCHANGED: "ignored",
    stripe_events.REFUSED: "refused",
    stripe_events.MALFORMED: "refused",
}


@bp.route("/payments/stripe/webhook", methods=["POST"])
@csrf.exempt
def stripe_webhook() -> ResponseReturnValue:
    """Stripe's signed events for this shop: answered at once, each applied once and only
    to its own order; refused ones are recorded for the owner (and answered 200, so
    Stripe stops retrying), signed ones that are not shaped like Stripe's answer 400."""
    body = request.get_data()
    try:
        event = stripe_payment.verify(body, request.headers.get("Stripe-Signature", ""))
    except stripe_events.MalformedEvent:
        event = None
    except ValueError as exc:
        log.warning("stripe webhook refused: %s", exc)
        metrics.payment_event("stripe", "refused")
        return api_error(400, "The signature does not match.")

    def record() -> stripe_events.Outcome:
        if event is None:
            return stripe_events.record_unreadable(body)
        return stripe_events.handle_event(event, services.set_status, body)

    name = event.get("id") if isinstance(event, dict) else None
    # The trail says the provider's event made the change (the order paid or cancelled).
    with acting_as(PAYMENT, f"stripe:{name if isinstance(name, str) else '?'}", source="payment"):
        outcome = unit_of_work(record)  # a refused or unreadable event is kept too
    metrics.payment_event("stripe", _PAYMENT_OUTCOMES.get(outcome.outcome, "refused"))
    if outcome.status != 200:
        log.warning("stripe event %r unreadable: %s", name, outcome)
        return api_error(outcome.status, "The event is not shaped like a Stripe event.")
    level = logging.WARNING if outcome.outcome == stripe_events.REFUSED else logging.INFO
    log.log(level, "stripe event %r (%s): %s", name, event.get("type") if event else None, outcome)
    return jsonify(received=True, outcome=str(outcome))


@bp.route("/orders/<number>")
def detail(number: str) -> ResponseReturnValue:
    """An order: its shopper's (by account or this session); anyone else gets 404."""
    key = request.args.get("key")
    order = services.find_visible_order(number, cart_services.signed_in_user_id(), key)
    if order is None:
        abort(404)
    if key:  # opened from a mail: remembered now, so the key leaves the address bar
        return redirect(url_for("orders.detail", number=number))
    methods = enabled_methods() if payment_retry.can_pay_again(order) else []
    if order.payment_method != stripe_payment.StripePayment.code and len(methods) < 2:
        methods = []  # a manual method with nothing to switch to: its instructions say all
    return render_template(
        "orders/detail.html",
        order=services.order_view(order),
        payment_methods=[(p.code, str(p.label)) for p in methods],
        current_method=order.payment_method,
    )


@bp.route("/orders/<number>/payment", methods=["POST"])
def pay_again(number: str) -> Response:
    """Pay (again) for an order awaiting payment: a new card session, or another method
    the shop offers. Its shopper only (account, this session, or the mail's link)."""
    order = services.find_visible_order(number, cart_services.signed_in_user_id())
    if order is None:
        abort(404)
    back = url_for("orders.detail", number=order.number)
    try:
        started = payment_retry.pay_again(order, request.form.get("payment_method", "")[:32])
    except payment_retry.PaymentRetryError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(back)
    return redirect(started.redirect_url or back)
