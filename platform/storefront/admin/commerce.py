"""The owner's shipping zones, tax rates and payment methods, written to tenant.toml.

The same settings ``tenantctl config set`` edits: each change is validated with the whole
file before it is replaced (a bad value is refused with the reason, nothing half-written).
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from ..accounts.dashboard import permission, protect
from ..catalog.money import parse_money, shop_money
from ..orders.payments import PROVIDERS
from ..orders.totals import country_name
from ..tenancy import config_edit
from ..tenancy.context import current_tenant
from ..tenancy.services import ShopError
from ..tenancy.settings import ShopSettings
from ..themes.loader import platform_templates_only
from .forms import ConfirmForm, PaymentMethodsForm, TaxRateForm, TaxStyleForm, ZoneForm

bp = Blueprint("admin_commerce", __name__, url_prefix="/admin/shipping-payment")
platform_templates_only(bp)
OFFERED = ("stripe", "bank_transfer", "cash_on_delivery")
HOME = "admin_commerce.index"


protect(bp)  # a session, then the permission each route declares


def _settings() -> ShopSettings:
    settings = current_tenant().settings
    if settings is None:
        abort(503)
    return settings


def _save(changes: dict[str, Any], done: str) -> ResponseReturnValue:
    try:
        config_edit.update_values(current_tenant().slug, changes)
    except ShopError as exc:
        flash(str(exc).split(": ", 2)[-1], "error")
    else:
        flash(done, "success")
    return redirect(url_for(HOME))


@bp.route("/")
@permission("settings")
def index() -> ResponseReturnValue:
    settings = _settings()
    payment = PaymentMethodsForm(prefix="pay", formdata=None)
    payment.methods.data = [m for m in settings.payment.methods if m in OFFERED]
    payment.default.data = next(iter(payment.methods.data), "bank_transfer")
    if not PROVIDERS["stripe"].available():  # type: ignore[attr-defined]
        # Offered only once the operator has stored the shop's keys: say so.
        no_keys = _("Card (Stripe) — offered once your platform operator has set the keys")
        payment.methods.choices = [  # type: ignore[assignment]
            SelectChoice(c.value, no_keys) if c.value == "stripe" else c
            for c in payment.methods.choices  # type: ignore[union-attr]
        ]
    payment.instructions.data = settings.payment.instructions or ""
    payment.cod_instructions.data = settings.payment.cash_on_delivery_instructions or ""
    style = TaxStyleForm(prefix="style", formdata=None)
    style.prices_include_tax.data = settings.tax.prices_include_tax
    zones = [
        {
            "name": zone.name,
            "countries": ", ".join(
                _("everywhere else") if c == "*" else country_name(c) for c in zone.countries
            ),
            "rate": shop_money(zone.rate),
            "free_above": shop_money(zone.free_above) if zone.free_above is not None else "",
        }
        for zone in settings.shipping.zones
    ]
    rates = [
        {"country": _("every other country") if c == "*" else country_name(c), "code": c, **r}
        for c, r in settings.tax.rates.items()
    ]
    return render_template(
        "admin/commerce.html",
        payment=payment,
        style=style,
        zone_form=ZoneForm(prefix="zone", formdata=None),
        rate_form=TaxRateForm(prefix="rate", formdata=None),
        zones=zones,
        rates=rates,
        confirm=ConfirmForm(prefix="confirm"),
        flat_rate=shop_money(settings.shipping.flat_rate),
    )


@bp.route("/payment", methods=["POST"])
@permission("payments")
def payment_methods() -> ResponseReturnValue:
    form = PaymentMethodsForm(prefix="pay")
    if not form.validate_on_submit() or not form.methods.data:
        flash(_("Offer at least one payment method."), "error")
        return redirect(url_for(HOME))
    ordered = [m for m in OFFERED if m in form.methods.data]
    default = form.default.data if form.default.data in ordered else ordered[0]
    methods = [default, *[m for m in ordered if m != default]]
    return _save(
        {
            "payment.methods": methods,
            "payment.instructions": (form.instructions.data or "").strip() or None,
            "payment.cash_on_delivery_instructions": (form.cod_instructions.data or "").strip()
            or None,
        },
        _("Payment methods saved."),
    )


@bp.route("/zones", methods=["POST"])
@permission("settings")
def add_zone() -> ResponseReturnValue:
    form = ZoneForm(prefix="zone")
    if not form.validate_on_submit():
        flash(_("Give the zone a name, its countries and a rate."), "error")
        return redirect(url_for(HOME))
    settings = _settings()
    try:
        zone = {
            "name": form.name.data.strip(),
            "countries": _countries(form.countries.data),
            "rate": parse_money(form.rate.data, settings.currency),
        }
        if (form.free_above.data or "").strip():
            zone["free_above"] = parse_money(form.free_above.data, settings.currency)
    except ValueError as exc:
        flash(str(exc), "error")
        return redirect(url_for(HOME))
    zones = [
        z.model_dump(exclude_none=True) for z in settings.shipping.zones if z.name != zone["name"]
    ]
    return _save({"shipping.zones": [*zones, zone]}, _("Zone %(name)s saved.", name=zone["name"]))


def _countries(text: str) -> list[str]:
    codes = [c.strip().upper() for c in re.split(r"[\s,;]+", text or "") if c.strip()]
    bad = [c for c in codes if not re.fullmatch(r"[A-Z]{2}|\*", c)]
    if bad or not codes:
        raise ValueError(
            _("Countries are two-letter codes such as DE, FR, US (or * for every other).")
        )
    return list(dict.fromkeys(codes))


@bp.route("/zones/<int:index>/delete", methods=["POST"])
@permission("settings")
def delete_zone(index: int) -> ResponseReturnValue:
    if not ConfirmForm(prefix="confirm").validate_on_submit():
        abort(400)
    zones = [z.model_dump(exclude_none=True) for z in _settings().shipping.zones]
    if not 0 <= index < len(zones):
        abort(404)
    removed = zones.pop(index)
    return _save(
        {"shipping.zones": zones or None}, _("Zone %(name)s removed.", name=removed["name"])
    )


@bp.route("/taxes", methods=["POST"])
@permission("settings")
def tax_style() -> ResponseReturnValue:
    form = TaxStyleForm(prefix="style")
    if not form.validate_on_submit():
        abort(400)
    return _save(
        {"tax.prices_include_tax": bool(form.prices_include_tax.data)}, _("Tax settings saved.")
    )


@bp.route("/taxes/rates", methods=["POST"])
@permission("settings")
def tax_rate() -> ResponseReturnValue:
    form = TaxRateForm(prefix="rate")
    if not form.validate_on_submit():
        flash(_("Give a country and its rates in percent."), "error")
        return redirect(url_for(HOME))
    try:
        (country,) = _countries(form.country.data)
    except ValueError as exc:
        flash(str(exc), "error")
        return redirect(url_for(HOME))
    rates = {c: dict(r) for c, r in _settings().tax.rates.items()}
    rates[country] = {
        name: float(getattr(form, name).data)
        for name in ("standard", "reduced", "zero")
        if getattr(form, name).data is not None
    }
    return _save({"tax.rates": rates}, _("Rates for %(country)s saved.", country=country))


@bp.route("/taxes/rates/<code>/delete", methods=["POST"])
@permission("settings")
def delete_rate(code: str) -> ResponseReturnValue:
    if not ConfirmForm(prefix="confirm").validate_on_submit():
        abort(400)
    rates = {c: dict(r) for c, r in _settings().tax.rates.items()}
    if code not in rates:
        abort(404)
    del rates[code]
    return _save({"tax.rates": rates or None}, _("Rates for %(country)s removed.", country=code))
