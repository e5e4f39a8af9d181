"""The reminder's two links (restore the cart, unsubscribe) and the checkout's consent."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from ..cart.services import current_cart
from ..db import unit_of_work
from ..extensions import csrf
from ..tenancy.context import current_tenant
from . import services
from .forms import ConsentForm

bp = Blueprint("reminders", __name__)


def _refused(exc: services.LinkRefused) -> ResponseReturnValue:
    status = 410 if exc.expired else 404
    return render_template("reminders/link.html", message=str(exc), done=False), status


@bp.route("/cart/back/<token>")
def restore(token: str) -> ResponseReturnValue:
    """The reminder's link: the cart, in whatever browser opened it."""
    try:
        cart = unit_of_work(lambda: services.restore(token))
    except services.LinkRefused as exc:
        return _refused(exc)
    if cart is None:
        flash(_("That cart is no longer there: it was ordered or emptied."), "error")
    else:
        flash(_("Your cart is back. Check it and go to checkout when you are ready."), "success")
    return redirect(url_for("cart.show"))


@bp.route("/cart/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # the signed link is the credential; a mail client's one-click POST has no token
def unsubscribe(token: str) -> ResponseReturnValue:
    """GET: a page with one button (a mail scanner opening links unsubscribes nobody);
    POST (the button, or the mail client's List-Unsubscribe-Post): recorded."""
    if request.method == "GET":
        try:
            services.read_unsubscribe(token)
        except services.LinkRefused as exc:
            return _refused(exc)
        return render_template("reminders/link.html", token=token, done=False, message="")
    try:
        unit_of_work(lambda: services.unsubscribe(token))
    except services.LinkRefused as exc:
        return _refused(exc)
    message = _("You will get no more cart reminders from %(shop)s.", shop=current_tenant().name)
    return render_template("reminders/link.html", message=message, done=True)


@bp.route("/cart/reminder", methods=["POST"])
def consent() -> ResponseReturnValue:
    """The checkout's script, when the address or the "remind me" box changes: 204."""
    form = ConsentForm()
    if not form.validate_on_submit():
        abort(400)
    cart = current_cart()
    if cart is None or not cart.items:
        abort(404)
    email, wanted = form.email.data or "", bool(form.cart_reminder.data)
    unit_of_work(lambda: services.remember(cart, email, wanted))
    return "", 204
