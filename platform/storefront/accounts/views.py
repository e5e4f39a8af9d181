"""The shopper's account page."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_security import auth_required

from ..orders.services import order_view, orders_of

bp = Blueprint("accounts", __name__)


@bp.route("/account")
@auth_required("session")
def account() -> str:
    """The logged-in shopper's page: their details and their orders."""
    from flask_login import current_user

    orders = [order_view(order) for order in orders_of(current_user.id)]
    return render_template("account/index.html", orders=orders)
