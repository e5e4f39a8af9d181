"""The owner's view of the shop's plan: each limit, used against allowed, and what the
other plans allow (so the message "the plan … lifts it" has a page to point at); with
billing on (storefront.billing): where the shop's billing stands, a move to another
plan (prorated by Stripe, or through Stripe's hosted Checkout for a first card), the
card through Stripe's Billing Portal, and the invoices with their download links."""

from __future__ import annotations

import logging

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from .. import plans
from ..accounts.dashboard import permission, protect
from ..billing import services as billing
from ..billing import stripe_api
from ..db import unit_of_work
from ..plans.services import FEATURE_LABELS, LABELS, number
from ..tenancy.context import current_tenant
from ..tenancy.services import get_shop
from ..themes.loader import platform_templates_only
from .forms import ConfirmForm

bp = Blueprint("admin_plan", __name__, url_prefix="/admin/plan")
platform_templates_only(bp)
log = logging.getLogger(__name__)


protect(bp)  # a session, then the permission each route declares


@bp.route("/")
@permission("settings:read")  # the plan is the owner's business (and the platform's)
def index() -> ResponseReturnValue:
    """The shop's plan: used / allowed for each limit, with a bar; the features it has;
    its billing and invoices."""
    plan = plans.current_plan()
    others = [p for p in plans.all_plans().plans.values() if p.name != plan.name]
    billed = stripe_api.configured()
    invoices: list[billing.Invoice] = []
    invoices_failed = False
    if billed:
        try:
            invoices = billing.invoices(get_shop(current_tenant().slug))
        except stripe_api.BillingUnavailable as exc:
            log.warning("invoices unavailable: %s", exc)
            invoices_failed = True
    return render_template(
        "admin/plan.html",
        plan=plan,
        usage=plans.usage(),
        features=[(str(FEATURE_LABELS[f]), plan.allows(f)) for f in plans.FEATURES],
        others=others,
        limits=[(limit, str(LABELS[limit])) for limit in plans.LIMITS],
        number=number,
        feature_labels={f: str(FEATURE_LABELS[f]) for f in plans.FEATURES},
        billed=billed,
        invoices=invoices,
        invoices_failed=invoices_failed,
        form=ConfirmForm(),
        state=current_tenant().billing_state,
    )


@bp.route("/change", methods=["POST"])
@permission("settings:write")  # the owner's: it changes what the shop pays
def change() -> ResponseReturnValue:
    """Move to another plan: at once and prorated, or through Stripe's hosted Checkout."""
    form = ConfirmForm()
    target = plans.all_plans().plans.get(request.form.get("plan", ""))
    if not form.validate_on_submit() or target is None:
        flash(_("Choose one of the plans listed."), "error")
        return redirect(url_for("admin_plan.index"))
    back = url_for("admin_plan.index", _external=True)
    try:
        url = unit_of_work(
            lambda: billing.change_plan(get_shop(current_tenant().slug), target, back)
        )
    except billing.BillingError:
        flash(_("This plan cannot be chosen here. Ask your platform operator."), "error")
        return redirect(url_for("admin_plan.index"))
    except stripe_api.BillingUnavailable:
        flash(_("The payment service did not answer. Please try again."), "error")
        return redirect(url_for("admin_plan.index"))
    if url:
        return redirect(url, code=303)  # Stripe's hosted page; back here when done
    flash(_("Your shop is now on the %(plan)s plan.", plan=target.title), "success")
    return redirect(url_for("admin_plan.index"))


@bp.route("/card", methods=["POST"])
@permission("settings:write")
def card() -> ResponseReturnValue:
    """Stripe's Billing Portal: change the card, pay what is open, see invoices."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        return redirect(url_for("admin_plan.index"))
    back = url_for("admin_plan.index", _external=True)
    try:
        url = billing.portal_url(get_shop(current_tenant().slug), back)
    except billing.BillingError:
        flash(_("Choose a paid plan first."), "error")
        return redirect(url_for("admin_plan.index"))
    except stripe_api.BillingUnavailable:
        flash(_("The payment service did not answer. Please try again."), "error")
        return redirect(url_for("admin_plan.index"))
    return redirect(url, code=303)
