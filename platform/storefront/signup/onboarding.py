"""The new owner's checklist on the dashboard's overview: first product, payment method,
shipping, own domain, branding, each ticked from the shop's real state.

Read from the shop's settings (already in memory) and two indexed ``LIMIT 1`` lookups:
never a count of the catalog. Shown to shops that signed themselves up, until the owner
dismisses it.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, current_app, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select, update

from ..accounts.dashboard import permission, protect
from ..catalog.models import Product
from ..db import unit_of_work
from ..extensions import db
from ..tenancy.context import current_tenant
from ..tenancy.models import SERVING, Domain
from ..tenancy.settings import Branding, Payment
from ..themes.loader import platform_templates_only
from .models import Signup

bp = Blueprint("admin_onboarding", __name__, url_prefix="/admin/onboarding")
platform_templates_only(bp)
protect(bp)

_DEFAULT_BRANDING = Branding()
_DEFAULT_METHODS = Payment().methods


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    done: bool
    endpoint: str


def checklist() -> list[Step] | None:
    """The bound shop's checklist, or None (not a signed-up shop, or dismissed)."""
    ctx = current_tenant()
    dismissed = db.session.scalar(
        select(Signup.checklist_dismissed).where(Signup.shop_id == ctx.id).limit(1)
    )
    if dismissed is None or dismissed:
        return None
    settings = ctx.settings
    if settings is None:
        return None
    product = db.session.scalar(select(Product.id).limit(1)) is not None
    payment = list(settings.payment.methods) != list(_DEFAULT_METHODS)
    shipping = bool(settings.shipping.zones) or settings.shipping.flat_rate > 0
    own = f"{ctx.slug}.{current_app.config.get('PLATFORM_DOMAIN') or ''}"
    domain = (
        db.session.scalar(
            select(Domain.id)
            .where(
                Domain.tenant_id == ctx.id,
                Domain.hostname != own,
                Domain.status.in_(SERVING),
            )
            .limit(1)
        )
        is not None
    )
    look = settings.branding
    branding = look.logo is not None or (look.primary_color, look.accent_color) != (
        _DEFAULT_BRANDING.primary_color,
        _DEFAULT_BRANDING.accent_color,
    )
    return [
        Step("product", _("Add your first product"), product, "admin.product_new"),
        Step("payment", _("Choose how shoppers pay"), payment, "admin_commerce.index"),
        Step("shipping", _("Set your shipping rates"), shipping, "admin_commerce.index"),
        Step("domain", _("Connect your own domain"), domain, "admin_domains.index"),
        Step("branding", _("Give your shop its look"), branding, "admin.settings"),
    ]


@bp.route("/dismiss", methods=["POST"])
@permission("settings")
def dismiss() -> ResponseReturnValue:
    """Hide the checklist for good (for every staff member of the shop)."""
    shop = current_tenant().id
    unit_of_work(
        lambda: db.session.execute(
            update(Signup).where(Signup.shop_id == shop).values(checklist_dismissed=True)
        )
    )
    flash(_("The checklist is hidden."), "success")
    return redirect(url_for("admin.index"))
