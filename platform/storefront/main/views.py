"""The shop's home page and the pages its owner writes."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from ..caching import shop_cached
from ..cart.views import from_this_shop
from ..catalog.services import featured_products
from ..content import services as content
from ..emails import InvalidEmail, checked_email
from ..extensions import csrf, db
from ..home import services as home
from ..i18n import current_locale

pages_bp = Blueprint("pages", __name__)


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
    home.sign_up(email, current_locale())
    db.session.commit()
    flash(_("Thank you: you are on the newsletter list."), "success")
    return redirect(url_for("pages.index"))


@pages_bp.route("/pages/<slug>")
@shop_cached()
def page(slug: str) -> str:
    """A page the owner wrote (shipping, returns, about…), in the reader's language."""
    found = content.published(slug)
    if found is None:
        abort(404)
    return render_template("pages/page.html", page=found)
