"""Order mails to the shop's people: who gets them, and the page where each one chooses.

The owner gets a mail for each new order and each paid order unless they switch it off;
staff get them once they switch them on (``User.order_mails``: None follows the role).
The orders layer announces the events (``orders.signals``); the mails are queued here, one
outbox row per person, in the order's transaction, and drawn by the outbox job in that
person's language. Only the bound shop's active owner and staff are ever asked for
(the scoped query), so another shop's staff never hear of an order.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select, true
from wtforms import BooleanField

from ..db import unit_of_work
from ..extensions import db
from ..orders.mail import send_staff_mail
from ..orders.models import Order
from ..orders.signals import order_paid, order_placed
from ..permissions import STAFF_ROLES
from ..themes.loader import platform_templates_only
from .dashboard import permission, protect
from .models import Role, User


def wants_order_mails(user: User) -> bool:
    """Whether ``user`` gets the mails about new and paid orders."""
    roles = set(user.role_names)
    if not user.active or not user.has_permission("orders:read"):
        return False
    if user.order_mails is None:
        return "owner" in roles
    return bool(user.order_mails)


def order_mail_recipients() -> list[User]:
    """The bound shop's people who get order mails."""
    people = db.session.scalars(
        select(User)
        .where(User.active == true(), User.roles.any(Role.name.in_(STAFF_ROLES)))
        .order_by(User.id)
    ).all()
    return [user for user in people if wants_order_mails(user)]


def _queue(order: Order, kind: str) -> None:
    for user in order_mail_recipients():
        send_staff_mail(order, kind, user_id=user.id, to=user.email, locale=user.locale)


@order_placed.connect
def _new_order(order: Order, **_extra: Any) -> None:
    _queue(order, "staff_new")


@order_paid.connect
def _paid_order(order: Order, **_extra: Any) -> None:
    _queue(order, "staff_paid")


# The page ---------------------------------------------------------------------------

bp = Blueprint("notifications", __name__, url_prefix="/admin/notifications")
platform_templates_only(bp)


class OrderMailsForm(FlaskForm):
    order_mails = BooleanField(_l("Mail me about each new order and each paid order"))


protect(bp)  # as every dashboard page: a session, then the route's permission


@bp.route("/", methods=["GET", "POST"])
@permission("orders:read")  # the person's own choice about mails on the orders they read
def index() -> ResponseReturnValue:
    """The signed-in owner's or staff member's own choice of order mails."""
    user = db.session.scalar(select(User).where(User.id == current_user.id))
    if user is None:  # signed in a moment ago, deleted since
        return redirect(url_for("security.login"))
    form = OrderMailsForm()
    if form.validate_on_submit():
        wanted = bool(form.order_mails.data)

        def save() -> None:  # from its start: a retry reads the account again
            row = db.session.scalar(select(User).where(User.id == current_user.id))
            if row is not None:
                row.order_mails = wanted

        unit_of_work(save)
        flash(
            _("You will get a mail for each new and each paid order.")
            if wanted
            else _("You will get no mails about orders."),
            "success",
        )
        return redirect(url_for(".index"))
    if not form.is_submitted():
        form.order_mails.data = wants_order_mails(user)
    return render_template("admin/notifications.html", form=form, email=user.email)
