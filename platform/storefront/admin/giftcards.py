"""Gift cards in the dashboard: every card newest first (a page at a time, by keyset;
found by the last four characters of its code), a card's ledger, issuing a card by hand
(its code is shown once, on the answer to the form, and mailed to the recipient), and
switching a card off."""

from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_security import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import EmailField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..accounts.dashboard import permission, protect
from ..catalog.money import parse_money, shop_currency, shop_money
from ..db import unit_of_work
from ..emails import InvalidEmail, checked_email
from ..extensions import db
from ..i18n import current_locale
from ..orders import giftcards
from ..orders.giftcards.services import card_by_id
from ..orders.models import Order
from ..themes.loader import platform_templates_only
from .forms import ConfirmForm

bp = Blueprint("admin_giftcards", __name__, url_prefix="/admin/gift-cards")
platform_templates_only(bp)

ID = re.compile(r"[0-9]{1,9}")
LAST4 = re.compile(r"[A-Za-z0-9]{1,4}")


def _email_rule(_form: object, field: EmailField) -> None:
    if not field.data:
        return
    try:
        field.data = checked_email(field.data)
    except InvalidEmail:
        raise ValidationError(_l("Invalid email address.")) from None


class IssueForm(FlaskForm):
    amount = StringField(
        _l("Amount"),
        validators=[DataRequired(), Length(max=20)],
        description=_l("What the card is worth, e.g. 50.00."),
    )
    recipient = EmailField(
        _l("Recipient's email"),
        validators=[Optional(), Length(max=255), _email_rule],
        description=_l("Optional: the code is mailed to them in the shop's look."),
    )
    note = StringField(
        _l("Note"),
        validators=[Optional(), Length(max=500)],
        description=_l("Optional, for the staff only: why the card was issued."),
    )
    submit = SubmitField(_l("Issue gift card"))


# A session, then the permission each route declares: gift cards are money owed, so the
# orders' (orders:read to see them, orders:write to issue one or switch one off).
protect(bp)


@bp.route("/", methods=["GET", "POST"])
@permission("orders")
def index() -> ResponseReturnValue:
    """The cards, newest first; ``?last4=`` finds a card by the end of its code."""
    form = IssueForm()
    issued = None
    if form.validate_on_submit():
        try:
            amount = parse_money(form.amount.data or "", shop_currency())

            def make() -> tuple[giftcards.GiftCard, str]:
                return giftcards.issue(
                    amount,
                    recipient=form.recipient.data or "",
                    note=form.note.data or "",
                    actor=current_user.email,
                    locale=current_locale(),
                )

            card, code = unit_of_work(make, keep_loaded=True)
        except (giftcards.GiftCardError, ValueError) as exc:
            form.amount.errors = [*form.amount.errors, str(exc)]
        else:
            # Shown on this answer only (never flashed: the session is a cookie).
            issued = {"card": card, "code": code, "amount": shop_money(card.initial)}
            form = IssueForm(formdata=None)
    last4 = request.args.get("last4", "").strip()
    if last4 and not LAST4.fullmatch(last4):
        abort(400, _("Search by the last four letters or digits of a code."))
    before_arg = request.args.get("before", "")
    before = int(before_arg) if ID.fullmatch(before_arg) else None
    page = giftcards.list_cards(before=before, last4=last4)
    return render_template(
        "admin/giftcards.html",
        form=form,
        page=page,
        last4=last4,
        issued=issued,
        money=shop_money,
    )


@bp.route("/<int:card_id>")
@permission("orders")
def detail(card_id: int) -> ResponseReturnValue:
    """One card and every movement of its balance."""
    card = card_by_id(card_id)
    if card is None or card.status == giftcards.PENDING:
        abort(404)
    movements = giftcards.movements_of(card)
    ids = {m.order_id for m in movements if m.order_id is not None}
    numbers = (
        {
            row[0]: row[1]
            for row in db.session.execute(select(Order.id, Order.number).where(Order.id.in_(ids)))
        }
        if ids
        else {}
    )
    return render_template(
        "admin/giftcard.html",
        card=card,
        movements=movements,
        orders=numbers,
        confirm=ConfirmForm(),
        money=shop_money,
    )


@bp.route("/<int:card_id>/disable", methods=["POST"])
@permission("orders")
def disable(card_id: int) -> ResponseReturnValue:
    """Switch the card off: checkout refuses it from now on."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    card = card_by_id(card_id)
    if card is None or card.status == giftcards.PENDING:
        abort(404)
    if unit_of_work(lambda: giftcards.disable(card, actor=current_user.email)):
        flash(_("The gift card ···· %(last4)s is switched off.", last4=card.last4), "success")
    return redirect(url_for("admin_giftcards.detail", card_id=card_id))
