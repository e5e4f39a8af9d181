"""The shop's home page and the pages its owner writes."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from limits import parse
from sqlalchemy.exc import IntegrityError

from ..caching import shop_cached
from ..cart.views import from_this_shop
from ..catalog.services import featured_products
from ..content import services as content
from ..emails import InvalidEmail, checked_email
from ..extensions import csrf, db, limiter
from ..home import services as home
from ..i18n import current_locale
from ..tenancy.context import current_tenant

log = logging.getLogger(__name__)
pages_bp = Blueprint("pages", __name__)
# Newsletter sign-ups per client and per shop: the form has no CSRF token and an Origin
# header is easy to forge outside a browser, so a script could otherwise fill the list.
NEWSLETTER_LIMITS = ("10/hour", "1000/day")


@pages_bp.route("/")
@shop_cached()
def index() -> str:
    """The shop's home page: the sections its owner arranged (the theme's default page
    while there are none)."""
    return render_template(
        "index.html", featured=featured_products(), home_sections=home.page_sections()
    )


@pages_bp.route("/newsletter", methods=["POST"])
@csrf.exempt
def newsletter() -> ResponseReturnValue:
    """The home page's newsletter sign-up. Like the product page's cart form it carries
    no CSRF token (the home page stays shareable by caches): the form must come from this
    shop's own page (``from_this_shop``)."""
    if not from_this_shop():
        abort(403)
    address = (request.form.get("email") or "").strip()
    try:
        email = checked_email(address) if 0 < len(address) <= 254 else ""
    except InvalidEmail:
        email = ""
    if not email:
        flash(_("Enter a valid email address to sign up for the newsletter."), "error")
        return redirect(url_for("pages.index"))
    if not _newsletter_allowed():
        abort(429)
    try:
        home.sign_up(email, current_locale())
        db.session.commit()
    except IntegrityError:  # the same address twice at once (a double click): kept once
        db.session.rollback()
    flash(_("Thank you: you are on the newsletter list."), "success")
    return redirect(url_for("pages.index"))


def _newsletter_allowed() -> bool:
    """Count one sign-up against the client's and the shop's limits (the store being
    down lets it through, as the other limits do)."""
    config = current_app.config
    if not config.get("RATELIMIT_ENABLED", True):
        return True
    shop, prefix = current_tenant().uid, config.get("RATELIMIT_KEY_PREFIX", "")
    per_client, per_shop = NEWSLETTER_LIMITS
    checks = (
        (per_client, (prefix, "newsletter", shop, get_remote_address())),
        (per_shop, (prefix, "newsletter-shop", shop)),
    )
    try:
        return all(limiter.limiter.hit(parse(text), *keys) for text, keys in checks)
    except Exception:  # the limits' store is down: serve
        log.warning("newsletter rate limit store unavailable", exc_info=True)
        return True


@pages_bp.route("/pages/<slug>")
@shop_cached()
def page(slug: str) -> str:
    """A page the owner wrote (shipping, returns, about…), in the reader's language."""
    found = content.published(slug)
    if found is None:
        abort(404)
    return render_template("pages/page.html", page=found)
