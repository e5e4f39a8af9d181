"""Cart reminders, for the owner: the switch, the delay, and how many carts came back."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SubmitField
from wtforms.validators import InputRequired, NumberRange

from ..accounts.dashboard import permission, protect
from ..db import unit_of_work
from ..reminders import services as reminders
from ..themes.loader import platform_templates_only

bp = Blueprint("admin_reminders", __name__, url_prefix="/admin/cart-reminders")
platform_templates_only(bp)
PERIODS = (7, 30, 365)


class ReminderSettingsForm(FlaskForm):
    enabled = BooleanField(_l("Send a reminder about carts left at checkout"))
    delay_hours = IntegerField(
        _l("Hours to wait before the reminder"),
        default=24,
        validators=[InputRequired(), NumberRange(*reminders.DELAY_HOURS)],
    )
    save = SubmitField(_l("Save"))


protect(bp)  # a session, then the permission each route declares


def _page(form: ReminderSettingsForm, status: int = 200) -> ResponseReturnValue:
    return render_template(
        "admin/cart_reminders.html",
        form=form,
        figures=[reminders.figures(days) for days in PERIODS],
        link_days=reminders.LINK_DAYS,
    ), status


@bp.route("/", methods=["GET", "POST"])
@permission("settings")  # what the shop mails its shoppers: the owner decides
def index() -> ResponseReturnValue:
    """The switch and the figures (reminders sent, carts restored, orders from them)."""
    form = ReminderSettingsForm()
    if form.validate_on_submit():
        on, delay = bool(form.enabled.data), int(form.delay_hours.data or 24)
        unit_of_work(lambda: reminders.save_settings(on, delay))
        flash(_("Cart reminders saved."), "success")
        return redirect(url_for("admin_reminders.index"))
    if form.is_submitted():
        return _page(form, 400)
    found = reminders.settings()
    if found is not None:
        form.enabled.data, form.delay_hours.data = found.enabled, found.delay_hours
    return _page(form)
