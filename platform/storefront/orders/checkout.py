"""Checkout: a cart becomes an order. Stock is taken with one conditional UPDATE per line,
so it can never go below zero however many checkouts race for the last units; a checkout
key makes a doubled submission answer the first order."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from ..caching import invalidate_shop_cache
from ..cart.models import Cart
from ..catalog.models import Product
from ..extensions import db
from ..i18n import current_locale, localized, shop_text
from ..tenancy.context import current_tenant
from ..webhooks import emit
from .mail import send_order_mail
from .models import Order, OrderCounter, OrderLine
from .payments import PROVIDERS
from .views_model import webhook_data


class CheckoutError(ValueError):
    """Checkout cannot go through; the message is for the shopper."""


@dataclass(frozen=True)
class Contact:
    email: str
    name: str
    address: str
    postal_code: str
    city: str
    country: str
    payment_method: str = "manual"


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


def checkout_key(owner: str, form_key: str) -> str:
    """What makes a checkout "the same one": the cart's owner and the rendered form."""
    return hashlib.sha256(f"{owner}:{form_key}".encode()).hexdigest()


def order_for_checkout(key: str | None) -> Order | None:
    """The order an earlier submission of the same checkout made, if any."""
    if not key:
        return None
    return db.session.scalar(select(Order).where(Order.checkout_key == key))


def place_order(
    cart: Cart | None, contact: Contact, user_id: int | None = None, key: str | None = None
) -> Order:
    """Turn the cart into an order, taking stock atomically; all or nothing.

    With a ``key`` (see ``checkout_key``), a doubled or retried submission answers with
    the order the first one made. One racing the first fails at its flush or commit (the
    unique key, or the cart the first one deleted): the caller rolls back and answers
    ``order_for_checkout(key)`` (see ``orders.views``). Flushes; the caller commits.
    """
    earlier = order_for_checkout(key)
    if earlier is not None:
        return earlier
    if cart is None or not cart.items:
        raise CheckoutError(_("Your cart is empty."))
    if contact.payment_method not in PROVIDERS:
        raise CheckoutError(_("Choose a payment method."))
    settings = current_tenant().settings
    if settings is None:
        raise CheckoutError(_("This shop cannot take orders right now."))
    lines = []
    # Lock rows in one order (by product id) so concurrent checkouts never deadlock.
    for item in sorted(cart.items, key=lambda i: i.product_id):
        taken = db.session.execute(
            update(Product)
            .where(
                Product.id == item.product_id,
                Product.active.is_(True),
                Product.stock >= item.quantity,
            )
            .values(stock=Product.stock - item.quantity)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            raise CheckoutError(
                _(
                    "Sorry, “%(title)s” sold out while you were shopping.",
                    title=localized(item.product.translations, "title", item.product.title),
                )
            )
        price = item.product.price
        lines.append(
            OrderLine(
                product_id=item.product_id,
                sku=item.product.sku,
                # As the shopper read it: the order and its mails keep their language.
                title=localized(item.product.translations, "title", item.product.title),
                unit_price=price,
                quantity=item.quantity,
                line_total=price * item.quantity,
            )
        )
    sold_out = db.session.scalar(
        select(func.count()).where(
            Product.id.in_([line.product_id for line in lines]), Product.stock == 0
        )
    )
    if sold_out:
        invalidate_shop_cache()  # listings show "Sold out" now (applied after commit)
    subtotal = sum(line.line_total for line in lines)
    order = Order(
        number=next_order_number(),
        user_id=user_id,
        email=contact.email,
        name=contact.name,
        address=contact.address,
        postal_code=contact.postal_code,
        city=contact.city,
        country=contact.country,
        shipping_label=shop_text(settings, "shipping_label"),
        shipping=settings.shipping.flat_rate,
        subtotal=subtotal,
        total=subtotal + settings.shipping.flat_rate,
        currency=settings.currency,
        payment_method=contact.payment_method,
        checkout_key=key,
        locale=current_locale(),
        lines=lines,
    )
    db.session.add(order)
    db.session.delete(cart)
    db.session.flush()
    send_order_mail(
        order, "orders/mail/confirmation.txt", _l("Your order %(number)s", number=order.number)
    )
    emit("order.created", webhook_data(order))
    return order


CONCURRENT_CHECKOUT = (IntegrityError, StaleDataError)  # what a racing duplicate raises
