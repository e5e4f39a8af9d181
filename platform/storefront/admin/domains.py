"""The owner's domains: add one (pending until its DNS proves it), see the exact records
to create and the last check, verify now, make a serving domain primary, remove one."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from ..accounts.dashboard import permission, protect
from ..tenancy import services
from ..tenancy.context import current_tenant
from ..tenancy.services import DomainContested, ShopError
from ..tenancy.verification import TXT_PREFIX, expected_records
from ..themes.loader import platform_templates_only
from .forms import ConfirmForm, DomainForm

bp = Blueprint("admin_domains", __name__, url_prefix="/admin/domains")
platform_templates_only(bp)
HOME = "admin_domains.index"


protect(bp)  # a session, then the permission each route declares


def _owner_message(exc: ShopError) -> str:
    """Operator messages name other shops; an owner hears only what is about their own."""
    text = str(exc)
    if isinstance(exc, DomainContested):
        record = TXT_PREFIX + "." + exc.hostname
        return _(
            "Another shop has claimed this domain without proving it (until %(until)s UTC). "
            "If it is yours, publish the TXT record %(name)s with the value %(token)s and "
            "point the domain at the platform, then add it again: your proof takes it.",
            until=exc.until,
            name=record,
            token=exc.token,
        )
    if "claimed by shop" in text:
        return _("This domain is used by another shop.")
    if text.startswith("invalid domain"):
        return _("That is not a domain name, e.g. shop.example.com.")
    return text


@bp.route("/", methods=["GET", "POST"])
@permission("domains")
def index() -> ResponseReturnValue:
    form = DomainForm()
    slug = current_tenant().slug
    if form.validate_on_submit():
        try:
            domain = services.add_domain(slug, form.hostname.data)
        except ShopError as exc:
            form.hostname.errors = [*form.hostname.errors, _owner_message(exc)]
        else:
            flash(
                _(
                    "%(domain)s added: create the records below, then verify.",
                    domain=domain.hostname,
                ),
                "success",
            )
            return redirect(url_for(HOME))
    domains = [
        (d, expected_records(d) if not d.trusted and d.status != "verified" else [])
        for d in services.get_shop(slug).domains
    ]
    return render_template(
        "admin/domains.html",
        form=form,
        domains=domains,
        confirm=ConfirmForm(prefix="confirm"),
        domain_status=domain_status,
    )


def domain_status(status: str) -> str:
    labels = {
        "pending": _("pending: waiting for the DNS records"),
        "verified": _("verified: serving the shop"),
        "failing": _("failing: the records changed; still serving for now"),
        "lapsed": _("lapsed: no longer serving"),
    }
    return labels.get(status, status)


def _act(host: str, action: str) -> ResponseReturnValue:
    if not ConfirmForm(prefix="confirm").validate_on_submit():
        abort(400)
    slug = current_tenant().slug
    if not any(d.hostname == host for d in services.get_shop(slug).domains):
        abort(404)
    try:
        if action == "verify":
            domain = services.verify_domain(slug, host)
            if domain.serves:
                flash(_("%(domain)s is verified.", domain=host), "success")
            else:
                flash(
                    _(
                        "%(domain)s is not verified yet: %(result)s",
                        domain=host,
                        result=domain.last_check,
                    ),
                    "error",
                )
        elif action == "primary":
            services.set_primary(slug, host)
            flash(_("%(domain)s is now the primary domain.", domain=host), "success")
        else:
            services.remove_domain(slug, host)
            flash(_("%(domain)s removed.", domain=host), "success")
    except ShopError as exc:
        flash(_owner_message(exc), "error")
    return redirect(url_for(HOME))


@bp.route("/<host>/verify", methods=["POST"])
@permission("domains")
def verify(host: str) -> ResponseReturnValue:
    return _act(host, "verify")


@bp.route("/<host>/primary", methods=["POST"])
@permission("domains")
def primary(host: str) -> ResponseReturnValue:
    return _act(host, "primary")


@bp.route("/<host>/remove", methods=["POST"])
@permission("domains")
def remove(host: str) -> ResponseReturnValue:
    return _act(host, "remove")
