"""The cart page and its actions."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug import Response

from ..extensions import csrf, db
from ..themes import add_safe_globals
from . import services
from .forms import AddToCartForm, UpdateItemForm

bp = Blueprint("cart", __name__, url_prefix="/cart")
# The header's cart count, for every page (a shop's own templates too).
bp.record_once(lambda state: add_safe_globals(state.app, cart_count=services.cart_count))  # type: ignore[arg-type]


@bp.route("/")
def show() -> str:
    """What is in the cart, with totals."""
    return render_template("cart/cart.html", cart=services.cart_view())


def from_this_shop() -> bool:
    """Whether a form was sent from one of this shop's own pages, by the headers every
    browser sends with a POST: ``Sec-Fetch-Site``, else ``Origin``. A request with
    neither is no browser's cross-site form (a script can send anything anyway)."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    # The host alone: behind a TLS proxy the app may see http where the browser saw https.
    return urlsplit(origin).netloc.lower() == request.host.lower()


@bp.route("/add", methods=["POST"])
@csrf.exempt
def add() -> Response:
    """Add a product; back to where the shopper was, with a message.

    The product page's form carries no CSRF token, so the page needs no session and a
    shared cache may keep it (docs/decisions.md): the form must come from this shop's
    own page (``from_this_shop``), and the session cookie is ``SameSite=Lax``, so a
    cross-site post would not even reach the visitor's cart."""
    if not from_this_shop():
        abort(403)
    form = AddToCartForm(meta={"csrf": False})
    referrer = request.referrer or ""
    back = referrer if referrer.startswith(request.host_url) else url_for("cart.show")
    if not form.validate_on_submit() or not (form.product_id.data or "").isdigit():
        flash(_("Choose a quantity between 1 and 99."), "error")
        return redirect(back)
    variant = form.variant_id.data or ""
    values = [request.form.get(f"option-{n}", "")[:100] for n in (1, 2, 3)]
    try:
        services.add_item(
            int(form.product_id.data),
            form.quantity.data or 1,
            variant_id=int(variant) if variant.isdigit() and len(variant) < 10 else None,
            values=[v for v in values if v],
        )
        db.session.commit()
    except services.CartError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(back)
    flash(_("Added to your cart."), "success")
    return redirect(url_for("cart.show"))


@bp.route("/update", methods=["POST"])
def update() -> Response:
    """Change a line's quantity (0 removes it)."""
    form = UpdateItemForm()
    if not form.validate_on_submit() or not (form.item_id.data or "").isdigit():
        flash(_("Choose a quantity between 0 and 99."), "error")
    else:
        try:
            services.set_quantity(int(form.item_id.data), form.quantity.data or 0)
            db.session.commit()
        except services.CartError as exc:
            db.session.rollback()
            flash(str(exc), "error")
    return redirect(url_for("cart.show"))
