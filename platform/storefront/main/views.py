"""The shop's home page and the pages its owner writes."""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from ..caching import shop_cached
from ..catalog.services import featured_products
from ..content import services as content

pages_bp = Blueprint("pages", __name__)


@pages_bp.route("/")
@shop_cached()
def index() -> str:
    """The shop's home page and the pages its owner writes."""
    return render_template("index.html", featured=featured_products())


@pages_bp.route("/pages/<slug>")
@shop_cached()
def page(slug: str) -> str:
    """A page the owner wrote (shipping, returns, about…), in the reader's language."""
    found = content.published(slug)
    if found is None:
        abort(404)
    return render_template("pages/page.html", page=found)
