"""Checkout, the order confirmation page, and a shopper's order history."""

from __future__ import annotations

from dataclasses import fields

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug import Response

from ..cart import services as cart_services
from ..catalog.money import shop_money
from ..tenancy.context import current_tenant
from . import services
from .forms import CheckoutForm
from .payments import PROVIDERS

bp = Blueprint("orders", __name__)


def _user_id() -> int | None:
    return current_user.id if current_user.is_authenticated else None


@bp.route("/checkout", methods=["GET", "POST"])
def checkout() -> str | Response:
    """Contact, address and payment; places the order."""
    settings = current_tenant().settings
    if settings and not settings.features.guest_checkout and not current_user.is_authenticated:
        return redirect(url_for("security.login", next=url_for("orders.checkout")))
    cart = cart_services.current_cart()
    if cart is None or not cart.items:
        flash("Your cart is empty.", "error")
        return redirect(url_for("cart.show"))
    form = CheckoutForm()
    if current_user.is_authenticated and not form.email.data:
        form.email.data = current_user.email
    if form.validate_on_submit():
        contact = services.Contact(
            **{f.name: getattr(form, f.name).data.strip() for f in fields(services.Contact)}
        )
        try:
            order = services.place_order(cart, contact, _user_id())
        except services.CheckoutError as exc:
            flash(str(exc), "error")
            return redirect(url_for("cart.show"))
        # A provider that takes payment elsewhere sends the shopper there; the manual
        # method (and any provider that needs nothing more) shows the confirmation page.
        payment_url = PROVIDERS[order.payment_method].start(order)
        return redirect(payment_url or url_for("orders.detail", number=order.number, placed=1))
    return render_template(
        "orders/checkout.html",
        form=form,
        cart=cart_services.cart_view(cart),
        shipping_label=settings.shipping.label if settings else "",
        shipping_display=_shipping_display(),
        total_display=_total(cart),
    )


def _shipping_display() -> str:
    settings = current_tenant().settings
    return shop_money(settings.shipping.flat_rate, settings.currency) if settings else ""


def _total(cart: object) -> str:
    settings = current_tenant().settings
    view = cart_services.cart_view(cart)  # type: ignore[arg-type]
    if settings is None:
        return view.subtotal_display
    return shop_money(view.subtotal + settings.shipping.flat_rate, settings.currency)


@bp.route("/orders/<number>")
def detail(number: str) -> str:
    """An order: its shopper's (by account or this session); anyone else gets 404."""
    order = services.find_visible_order(number, _user_id())
    if order is None:
        abort(404)
    return render_template("orders/detail.html", order=services.order_view(order))
