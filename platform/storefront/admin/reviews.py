"""Reviews, for the shop: the moderation queue (by state, newest first, by keyset),
publish, hide, reply, delete, and whether new reviews publish at once."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SubmitField, TextAreaField
from wtforms.validators import Length, NumberRange, Optional

from ..accounts.dashboard import permission, protect
from ..db import unit_of_work
from ..reviews import invitations
from ..reviews import services as reviews
from ..reviews.models import HIDDEN, PUBLISHED, REPLY_MAX, STATES, Review
from ..reviews.views_model import review_view
from ..themes.loader import platform_templates_only
from .forms import ConfirmForm

bp = Blueprint("admin_reviews", __name__, url_prefix="/admin/reviews")
platform_templates_only(bp)
PAGE_SIZE = 25
STATE_LABELS = {
    "": _l("All"),
    "pending": _l("Waiting"),
    "published": _l("Published"),
    "hidden": _l("Hidden"),
}
ACTIONS = {"publish": PUBLISHED, "hide": HIDDEN}


class SettingsForm(FlaskForm):
    auto_publish = BooleanField(_l("Publish new reviews at once, without my approval"))
    invite = BooleanField(_l("After a delivery, email the buyer once asking for a review"))
    invite_days = IntegerField(
        _l("Days after the delivery"),
        default=7,
        validators=[Optional(), NumberRange(min=invitations.DAYS[0], max=invitations.DAYS[1])],
        description=_l(
            "Buyers with an account get one mail per order, in their language, with a link "
            "to stop these mails."
        ),
    )
    save = SubmitField(_l("Save"))


class ReplyForm(FlaskForm):
    reply = TextAreaField(_l("Your reply"), validators=[Length(max=REPLY_MAX)])
    send = SubmitField(_l("Save reply"))


protect(bp)  # a session, then the permission each route declares (reviews:read/write)


def _state() -> str:
    state = request.args.get("state", "")
    return state if state in STATES else ""


@bp.route("/")
@permission("reviews")
def index() -> ResponseReturnValue:
    """The queue: the state chosen (all by default), newest first, a page at a time."""
    state = _state()
    try:
        cursor = reviews.parse_cursor(request.args.get("after"))
    except reviews.ReviewError:
        abort(404)
    rows, nxt = reviews.queue(state or None, cursor, PAGE_SIZE)
    products = reviews.products_of(rows)
    settings = SettingsForm(prefix="settings")
    settings.auto_publish.data = reviews.auto_publish()
    found = invitations.settings()
    settings.invite.data = bool(found and found.invite)
    settings.invite_days.data = found.invite_days if found else 7
    return render_template(
        "admin/reviews.html",
        items=[
            (
                review_view(r),
                products.get(r.product_id),
                ReplyForm(prefix=f"reply-{r.id}", formdata=None, reply=r.reply or ""),
            )
            for r in rows
        ],
        state=state,
        states={key: str(label) for key, label in STATE_LABELS.items()},
        next_cursor=reviews.cursor_text(nxt),
        first_page=cursor is None,
        settings=settings,
        confirm=ConfirmForm(prefix="confirm"),
        waiting=reviews.pending_count(),
    )


def _back() -> ResponseReturnValue:
    state = _state()
    return redirect(
        url_for("admin_reviews.index", state=state) if state else url_for("admin_reviews.index")
    )


def _review(review_id: int) -> Review:
    found = reviews.get_review(review_id)
    if found is None:
        abort(404)
    return found


def _moderate(review_id: int, action: str) -> ResponseReturnValue:
    if not ConfirmForm(prefix="confirm").validate_on_submit():
        abort(400)
    unit_of_work(lambda: reviews.set_state(_review(review_id), ACTIONS[action]))
    flash(_("Review published.") if action == "publish" else _("Review hidden."), "success")
    return _back()


@bp.route("/<int:review_id>/publish", methods=["POST"])
@permission("reviews")
def publish(review_id: int) -> ResponseReturnValue:
    """Publish a review; its product's count and average follow."""
    return _moderate(review_id, "publish")


@bp.route("/<int:review_id>/hide", methods=["POST"])
@permission("reviews")
def hide(review_id: int) -> ResponseReturnValue:
    """Hide a review; a published one leaves its product's figures."""
    return _moderate(review_id, "hide")


@bp.route("/<int:review_id>/reply", methods=["POST"])
@permission("reviews")
def reply(review_id: int) -> ResponseReturnValue:
    """The shop's answer under a review (empty removes it)."""
    form = ReplyForm(prefix=f"reply-{review_id}")
    if not form.validate_on_submit():
        flash(_("The reply may be at most %(num)s characters.", num=REPLY_MAX), "error")
        return _back()
    try:
        unit_of_work(lambda: reviews.set_reply(_review(review_id), form.reply.data))
    except reviews.ReviewError as exc:
        flash(str(exc), "error")
        return _back()
    flash(_("Reply saved."), "success")
    return _back()


@bp.route("/<int:review_id>/delete", methods=["POST"])
@permission("reviews")
def delete(review_id: int) -> ResponseReturnValue:
    """Remove a review for good; a published one leaves its product's figures."""
    if not ConfirmForm(prefix="confirm").validate_on_submit():
        abort(400)
    unit_of_work(lambda: reviews.delete_review(_review(review_id)))
    flash(_("Review deleted."), "success")
    return _back()


@bp.route("/settings", methods=["POST"])
@permission("reviews")
def settings() -> ResponseReturnValue:
    """Whether new reviews publish at once or wait for approval."""
    form = SettingsForm(prefix="settings")
    if not form.validate_on_submit():
        if form.invite_days.errors:  # a person's typo: said, not a 400
            flash(
                _("Days after the delivery: %(error)s", error=form.invite_days.errors[0]), "error"
            )
            return _back()
        abort(400)

    def save() -> None:
        reviews.set_auto_publish(bool(form.auto_publish.data))
        found = invitations.settings()
        days = form.invite_days.data or (found.invite_days if found else 7)  # absent: kept
        invitations.save_settings(bool(form.invite.data), days)

    unit_of_work(save)
    flash(_("Review settings saved."), "success")
    return _back()
