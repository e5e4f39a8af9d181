"""Discount codes in the dashboard: list with usage counts, create, switch off and on."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from ..accounts.dashboard import permission, protect
from ..catalog.money import parse_money, shop_currency, shop_money
from ..extensions import db
from ..i18n.numbers import format_rate
from ..orders import discounts
from ..themes.loader import platform_templates_only
from .forms import ConfirmForm, DiscountForm

bp = Blueprint("admin_discounts", __name__, url_prefix="/admin/discounts")
platform_templates_only(bp)


protect(bp)  # a session, then the permission each route declares


def _describe(code: discounts.DiscountCode) -> str:
    if code.kind == "percent":
        return _("%(percent)s off", percent=format_rate(code.value))  # "10 %", "10%"
    if code.kind == "amount":
        return _("%(amount)s off", amount=shop_money(code.value))
    return _("Free shipping")


@bp.route("/", methods=["GET", "POST"])
@permission("discounts")
def index() -> ResponseReturnValue:
    form = DiscountForm()
    if form.validate_on_submit():
        try:
            value = _value(form)
            min_order = (
                parse_money(form.min_order.data, shop_currency()) if form.min_order.data else 0
            )
            code = discounts.create_code(
                form.code.data,
                form.kind.data,
                value,
                min_order=min_order,
                starts_at=_day(form.starts_on.data),
                ends_at=_day(form.ends_on.data, end=True),
                max_uses=form.max_uses.data,
                max_uses_per_customer=form.max_uses_per_customer.data,
            )
        except (discounts.DiscountError, ValueError) as exc:
            db.session.rollback()
            form.code.errors = [*form.code.errors, str(exc)]
        else:
            db.session.commit()
            flash(_("The code %(code)s is ready.", code=code.code), "success")
            return redirect(url_for("admin_discounts.index"))
    codes = [(code, _describe(code)) for code in discounts.list_codes()]
    return render_template(
        "admin/discounts.html", form=form, codes=codes, confirm=ConfirmForm(), money=shop_money
    )


def _value(form: DiscountForm) -> int:
    raw = (form.value.data or "").strip()
    if form.kind.data == "free_shipping":
        return 0
    if form.kind.data == "percent":
        if not raw.isdigit():
            raise ValueError(_("A percentage is between 1 and 100."))
        return int(raw)
    return parse_money(raw, shop_currency())


def _day(value: object, end: bool = False) -> datetime | None:
    """A date from the form: the start of that day, or (for an end) the day after it."""
    if value is None:
        return None
    day = datetime.combine(value, time.min)  # type: ignore[arg-type]
    return day + timedelta(days=1) if end else day


@bp.route("/<int:code_id>/toggle", methods=["POST"])
@permission("discounts")
def toggle(code_id: int) -> ResponseReturnValue:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    code = db.session.get(discounts.DiscountCode, code_id)
    if code is None:
        abort(404)
    code.active = not code.active
    db.session.commit()
    if code.active:
        flash(_("The code %(code)s works again.", code=code.code), "success")
    else:
        flash(_("The code %(code)s is switched off.", code=code.code), "success")
    return redirect(url_for("admin_discounts.index"))
