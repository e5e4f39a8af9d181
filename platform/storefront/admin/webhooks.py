"""The owner's webhooks: endpoints (add, switch on, remove), the delivery log, redelivery."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from ..accounts.dashboard import permission, protect
from ..extensions import db
from ..themes.loader import platform_templates_only
from ..webhooks import services as webhooks
from ..webhooks.models import EVENTS
from .forms import ConfirmForm, WebhookForm

bp = Blueprint("admin_webhooks", __name__, url_prefix="/admin/webhooks")
platform_templates_only(bp)
HOME = "/admin/webhooks/"


protect(bp)  # a session, then the permission each route declares


@bp.route("/", methods=["GET", "POST"])
@permission("webhooks")
def index() -> ResponseReturnValue:
    form = WebhookForm()
    form.events.choices = [(event, event) for event in EVENTS]
    if form.validate_on_submit():
        try:
            endpoint = webhooks.add_endpoint(form.url.data, form.events.data or [])
        except webhooks.WebhookError as exc:
            db.session.rollback()
            form.url.errors = [*form.url.errors, str(exc)]
        else:
            db.session.commit()
            flash(
                _("Endpoint added. Its signing secret: %(secret)s", secret=endpoint.secret),
                "success",
            )
            return redirect(HOME)
    return render_template(
        "admin/webhooks.html",
        form=form,
        endpoints=webhooks.list_endpoints(),
        deliveries=webhooks.deliveries(),
        confirm=ConfirmForm(),
        delivery_status=delivery_status,
    )


def delivery_status(status: str) -> str:
    labels = {
        "pending": _("waiting"),
        "sending": _("sending"),
        "done": _("delivered"),
        "dead": _("gave up"),
    }
    return labels.get(status, status)


def _act(action: Callable[[int], object], target: int, done: str) -> ResponseReturnValue:
    """A confirmed one-click action on an endpoint or delivery: 404 if it is not ours."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        action(target)
    except webhooks.WebhookError:
        abort(404)
    db.session.commit()
    flash(done, "success")
    return redirect(HOME)


@bp.route("/<int:endpoint_id>/remove", methods=["POST"])
@permission("webhooks")
def remove(endpoint_id: int) -> ResponseReturnValue:
    return _act(webhooks.remove_endpoint, endpoint_id, _("Endpoint removed."))


@bp.route("/<int:endpoint_id>/enable", methods=["POST"])
@permission("webhooks")
def enable(endpoint_id: int) -> ResponseReturnValue:
    return _act(webhooks.enable_endpoint, endpoint_id, _("Endpoint switched on again."))


@bp.route("/deliveries/<int:delivery_id>/redeliver", methods=["POST"])
@permission("webhooks")
def redeliver(delivery_id: int) -> ResponseReturnValue:
    return _act(webhooks.redeliver, delivery_id, _("Queued again."))
