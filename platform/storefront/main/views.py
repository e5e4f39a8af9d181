"""The shop's home page."""

from __future__ import annotations

from flask import Blueprint, render_template

from ..caching import shop_cached
from ..catalog.services import featured_products

pages_bp = Blueprint("pages", __name__)


@pages_bp.route("/")
@shop_cached()
def index() -> str:
    """The shop's home page."""
    return render_template("index.html", featured=featured_products())
