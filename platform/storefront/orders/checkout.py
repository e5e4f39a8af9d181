"""Checkout: a cart becomes an order. Stock is taken with one conditional UPDATE per line,
so it can never go below zero however many checkouts race for the last units; a checkout
key makes a doubled submission answer the first order."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import false, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from ..caching import invalidate_shop_cache
from ..cart.models import Cart
from ..cart.services import unit_price
from ..catalog import variants
from ..catalog.models import Product
from ..catalog.money import shop_money
from ..catalog.views_model import variant_label
from ..db import unit_of_work
from ..extensions import db
from ..i18n import current_locale, localized, shop_text
from ..idempotency import check_same_request
from ..metrics import usage
from ..problems import Conflict, Refused
from ..reminders import services as reminders
from ..tenancy.context import current_tenant
from ..webhooks import emit
from . import aggregates, discounts, giftcards, totals
from .giftcards.payment import CODE as GIFT_CARD_PAYMENT
from .mail import send_order_mail
from .models import Order, OrderCounter, OrderLine
from .payments import enabled_methods
from .pricing import LineIn
from .signals import order_placed
from .views_model import webhook_data


class CheckoutError(Refused):
    """Checkout cannot go through; the message is for the shopper."""

    code: str = Conflict.INVALID_CHANGE


class TotalChanged(CheckoutError):
    """The order would cost another total than the one the shopper last saw: nothing is
    placed; they see the new total and place the order again."""

    code = Conflict.TOTAL_CHANGED

    def __init__(self, total: int, currency: str) -> None:
        self.total, self.currency = total, currency
        super().__init__(
            _(
                "The total changed to %(total)s: check it and place the order again.",
                total=shop_money(total, currency),
            )
        )


@dataclass(frozen=True)
class Contact:
    email: str
    name: str
    address: str
    postal_code: str
    city: str
    country: str  # ISO 3166 code, one the shop ships to
    payment_method: str = "manual"
    discount_code: str = ""
    # The lines some countries have (addresses.countries): a state, a district, a
    # sorting code; and a phone for the carrier. Optional: not every country has them.
    country_area: str = ""
    city_area: str = ""
    sorting_code: str = ""
    phone: str = ""
    # A gift card paying for part or all of the order; who gets the cards the order buys
    # (empty: the buyer).
    gift_card_code: str = ""
    gift_card_recipient: str = ""


class CartChanged(CheckoutError):
    """Another checkout of the same cart (another key) took it first: nothing is placed;
    the shopper reads the cart again."""

    code = Conflict.CART_CHANGED

    def __init__(self) -> None:
        super().__init__(_("Your cart changed while you were checking out."))


class GiftCardRefused(CheckoutError):
    """The gift card cannot pay for this order (unknown, switched off, empty, spent by
    another checkout meanwhile, or too many codes tried): nothing is placed; the shopper
    fixes the code, the cart is fine. ``retry_after``: seconds, when codes were guessed."""

    code = Conflict.GIFT_CARD_NOT_APPLICABLE

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def usable_gift_card(text: str) -> giftcards.GiftCard | None:
    """The card ``text`` names, if any was typed; ``GiftCardRefused`` saying why not."""
    if not (text or "").strip():
        return None
    try:
        return giftcards.find_usable(text)
    except giftcards.GuessLimited as exc:
        raise GiftCardRefused(str(exc), exc.retry_after) from None
    except giftcards.GiftCardError as exc:
        raise GiftCardRefused(str(exc)) from None


class DiscountRefused(CheckoutError):
    """The discount code cannot be used for this order (unknown, expired, used up, or
    already used by this customer): the shopper fixes the code, the cart is fine."""

    code = Conflict.DISCOUNT_NOT_APPLICABLE


def create_counter() -> None:
    """Give the bound shop its order counter (called when a shop is created)."""
    db.session.add(OrderCounter(next_number=1001))
    db.session.flush()


def next_order_number() -> str:
    """Take the next number under the counter's row lock: unique and gap-free per shop."""
    db.session.execute(
        update(OrderCounter)
        .values(next_number=OrderCounter.next_number + 1)
        .execution_options(synchronize_session=False)
    )
    value = db.session.scalar(select(OrderCounter.next_number))
    if value is None:
        create_counter()
        return next_order_number()
    return f"{current_tenant().slug.upper()}-{value - 1}"


def rate_text(rate: Decimal) -> str:
    """0.19 -> "19", 0.0825 -> "8.25": the percentage as shown and stored."""
    return format((rate * 100).normalize(), "f")


def checkout_key(owner: str, form_key: str) -> str:
    """What makes a checkout "the same one": the cart's owner and the rendered form."""
    return hashlib.sha256(f"{owner}:{form_key}".encode()).hexdigest()


def order_for_checkout(key: str | None, fingerprint: str | None = None) -> Order | None:
    """The order an earlier submission of the same checkout made, if any; ``KeyReused``
    when that submission sent another request (``fingerprint``, see ``idempotency``)."""
    if not key:
        return None
    earlier = db.session.scalar(select(Order).where(Order.checkout_key == key))
    if earlier is not None:
        check_same_request(earlier.request_fingerprint, fingerprint)
    return earlier


def place_order(
    cart: Cart | None,
    contact: Contact,
    user_id: int | None = None,
    key: str | None = None,
    fingerprint: str | None = None,
    expected_total: int | None = None,
) -> Order:
    """Turn the cart into an order, taking stock atomically; all or nothing.

    With an ``expected_total`` (minor units: the total the shopper last saw), an order
    that would cost anything else is not placed: ``TotalChanged`` carries the new total.

    With a ``key`` (see ``checkout_key``), a doubled or retried submission answers with
    the order the first one made. One racing the first fails at its flush or commit (the
    unique key, or the cart the first one deleted): the caller rolls back and answers
    ``order_for_checkout(key)`` (see ``orders.views``). ``fingerprint``: what the API
    request asked, kept with the key. Flushes; the caller commits.
    """
    earlier = order_for_checkout(key, fingerprint)
    if earlier is not None:
        return earlier
    if cart is None or not cart.items:
        raise CheckoutError(_("Your cart is empty."), Conflict.CART_EMPTY)
    settings = current_tenant().settings
    if settings is None:
        raise CheckoutError(_("This shop cannot take orders right now."), Conflict.SHOP_CLOSED)
    zone = totals.zone_for(contact.country, settings)
    if zone is None:
        raise CheckoutError(
            _(
                "Sorry, we do not ship to %(country)s.",
                country=totals.country_name(contact.country),
            ),
            Conflict.NOT_SHIPPED_THERE,
        )
    code = None
    if contact.discount_code.strip():
        merchandise = sum(unit_price(item) * item.quantity for item in cart.items)
        try:
            code = discounts.find_usable(contact.discount_code, merchandise)
            discounts.check_customer(code, contact.email)
        except discounts.DiscountError as exc:
            raise DiscountRefused(str(exc)) from None
    card = usable_gift_card(contact.gift_card_code)
    lines = []
    tax_classes = []
    bought_cards: list[tuple[OrderLine, int]] = []  # gift card lines: (line, quantity)
    # Take stock in one order (product, then variant; see catalog.variants) so concurrent
    # checkouts, restocks and adjustments never deadlock.
    for item in sorted(cart.items, key=lambda i: (i.product_id, i.variant_id or 0)):
        title = localized(item.product.translations, "title", item.product.title)
        variant = item.variant if item.variant_id is not None else None
        if item.product.variants and variant is None:
            raise CheckoutError(
                _("Choose an option for “%(title)s” in your cart.", title=title),
                Conflict.OPTION_REQUIRED,
            )
        if not item.product.gift_card and not variants.take_stock(
            item.product_id, item.variant_id, item.quantity
        ):
            label = f"{title} ({variant_label(item.product, variant)})" if variant else title
            raise CheckoutError(
                _("Sorry, “%(title)s” sold out while you were shopping.", title=label),
                Conflict.SOLD_OUT,
            )
        price = unit_price(item)
        tax_classes.append(item.product.tax_class or "standard")
        line = OrderLine(
            product_id=item.product_id,
            variant_id=item.variant_id,
            sku=variant.sku if variant else item.product.sku,
            # As the shopper read it: the order and its mails keep their language.
            title=title,
            variant=variant_label(item.product, variant) if variant else None,
            unit_price=price,
            quantity=item.quantity,
            line_total=price * item.quantity,
        )
        lines.append(line)
        if item.product.gift_card:
            bought_cards.append((line, item.quantity))
    sold_out = db.session.scalar(
        select(func.count()).where(
            Product.id.in_([line.product_id for line in lines]),
            Product.stock == 0,
            Product.gift_card == false(),  # never sold out
        )
    )
    if sold_out:
        invalidate_shop_cache()  # listings show "Sold out" now (applied after commit)
    quote, _zone = totals.price(
        (
            LineIn(line.unit_price, line.quantity, tax_class)
            for line, tax_class in zip(lines, tax_classes, strict=True)
        ),
        contact.country,
        code.as_discount() if code else None,
        ships=len(bought_cards) < len(lines),  # gift cards alone ship nothing
    )
    covered = min(card.balance, quote.total) if card is not None else 0
    due = quote.total - covered
    if expected_total is not None and due != expected_total:
        # Checked in the placing transaction, on the figures the order is made of: a price,
        # rate, code or card balance that changed after the page was shown is caught too.
        # The caller rolls back, which returns the stock taken above.
        raise TotalChanged(due, settings.currency)
    paid_by_cards = covered > 0 and due == 0
    if not paid_by_cards and contact.payment_method not in {p.code for p in enabled_methods()}:
        raise CheckoutError(_("Choose a payment method."), Conflict.PAYMENT_METHOD_NOT_OFFERED)
    for line, priced in zip(lines, quote.lines, strict=True):
        line.discount, line.tax, line.tax_rate = priced.discount, priced.tax, rate_text(priced.rate)
    order = Order(
        number=next_order_number(),
        user_id=user_id,
        email=contact.email,
        name=contact.name,
        address=contact.address,
        postal_code=contact.postal_code,
        city=contact.city,
        country=contact.country,
        country_area=contact.country_area,
        city_area=contact.city_area,
        sorting_code=contact.sorting_code,
        phone=contact.phone,
        shipping_label=zone.label or shop_text(settings, "shipping_label"),
        shipping=quote.shipping,
        subtotal=quote.subtotal,
        discount=quote.discount,
        discount_code=code.code if code else None,
        tax=quote.tax,
        tax_included=quote.include_tax,
        tax_lines=[[rate_text(rate), amount] for rate, amount in quote.tax_lines],
        total=quote.total,
        gift_card_amount=covered,
        currency=settings.currency,
        # Covered in full by a gift card: no provider step (orders.giftcards.payment).
        payment_method=GIFT_CARD_PAYMENT if paid_by_cards else contact.payment_method,
        checkout_key=key,
        request_fingerprint=fingerprint,
        locale=current_locale(),
        lines=lines,
    )
    db.session.add(order)
    db.session.delete(cart)
    db.session.flush()
    if code is not None:
        try:
            discounts.redeem(code, order.id, contact.email)
        except discounts.DiscountError as exc:
            raise DiscountRefused(str(exc)) from None
    if card is not None and covered:
        try:  # the conditional UPDATE: a card spent by a racing checkout refuses this one
            giftcards.redeem(card, order, covered)
        except giftcards.GiftCardError as exc:
            raise GiftCardRefused(str(exc)) from None
    for line, quantity in bought_cards:
        giftcards.reserve_for_order(order, line.unit_price, quantity, contact.gift_card_recipient)
    aggregates.count_placed(order)
    reminders.cart_ordered(cart.id)  # no reminder now; an order from a restored cart counts
    send_order_mail(order, "confirmation")
    order_placed.send(order)
    emit("order.created", webhook_data(order))
    usage.record(order.tenant_id, orders=1)  # the shop's figures of the day
    if paid_by_cards:
        from .services import set_status  # services re-exports this module

        # Paid as placed: the sale counts, the staff hear, bought cards get their codes.
        # The confirmation says it is paid; no second mail.
        set_status(order, "paid", notify=False)
    return order


CONCURRENT_CHECKOUT = (IntegrityError, StaleDataError)  # what a racing duplicate raises


@dataclass(frozen=True)
class Placed:
    """What a checkout came to: the order, and whether an earlier submission of the same
    checkout (same key) had made it (``replayed``: answered again, not placed again)."""

    order: Order
    replayed: bool


def place(
    cart: Cart | None,
    contact: Contact,
    user_id: int | None,
    key: str,
    fingerprint: str | None = None,
    expected_total: int | None = None,
    also: Callable[[Order], object] | None = None,
) -> Placed:
    """The checkout both the shop's page and the API run: ``place_order`` as one unit of
    work (``db.unit_of_work``: retried on write conflicts, committed once, rolled back on
    any error), answering the order an earlier submission with the same ``key`` made.

    - The key's order exists already (a resubmission, a retry; ``fingerprint`` must match,
      else ``KeyReused``): ``Placed(order, replayed=True)``, nothing placed again. A run
      repeated after a write conflict looks again, so it finds the order a racing retry
      committed meanwhile.
    - Placed now: ``Placed(order, replayed=False)``; ``also(order)`` ran in the same
      transaction (the address book: both or neither).
    - A racing submission of the same key committed first (its duplicate key, or the cart
      it deleted): its order, replayed; another checkout took the cart: ``CartChanged``.
    - ``TotalChanged``, ``CheckoutError`` and anything else: rolled back (the stock taken
      goes back) and raised for the caller to answer.
    """
    cart_id = cart.id if cart is not None else None

    def attempt() -> Placed:
        made = order_for_checkout(key, fingerprint)
        if made is not None:
            return Placed(made, replayed=True)
        # Run again after a write conflict: the cart as it is now (gone if another
        # checkout took it).
        current = db.session.get(Cart, cart_id) if cart_id is not None else None
        order = place_order(
            current,
            contact,
            user_id,
            key=key,
            fingerprint=fingerprint,
            expected_total=expected_total,
        )
        if also is not None:
            also(order)
        return Placed(order, replayed=False)

    try:
        # keep_loaded: the answer is what was committed, not a read that may lag
        return unit_of_work(attempt, keep_loaded=True)
    except CONCURRENT_CHECKOUT:
        # Rolled back, took nothing: the same checkout committed first elsewhere.
        earlier = order_for_checkout(key, fingerprint)
        if earlier is None:
            raise CartChanged() from None
        return Placed(earlier, replayed=True)
