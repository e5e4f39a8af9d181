"""Catalog pages: listings with pagination and sorting, product pages, search."""

from __future__ import annotations

import hashlib
from html import escape

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from .. import metrics
from ..caching import shop_cached, shop_key
from ..errors import error_page
from ..extensions import cache
from ..i18n import localized, localized_meta
from ..listing import page_number
from ..tenancy.context import current_tenant
from ..themes import add_safe_values
from . import related, search_limits, services
from .views_model import CARD_SIZES, PAGE_SIZES, CategoryView

bp = Blueprint("catalog", __name__)
# What the picture macro tells browsers about a card's and a product page's image width.
bp.record_once(
    lambda state: add_safe_values(state.app, CARD_SIZES=CARD_SIZES, PAGE_SIZES=PAGE_SIZES)  # type: ignore[arg-type]
)

SORT_LABELS = {
    "newest": _l("Newest"),
    "price_asc": _l("Price: low to high"),
    "price_desc": _l("Price: high to low"),
    "title": _l("Name"),
}
SEARCH_SORT_LABELS = {"relevance": _l("Best match"), **SORT_LABELS}


def _listing(
    title: str,
    category: str | None = None,
    query: str | None = None,
    found: CategoryView | None = None,
) -> str:
    page = page_number(request.args.get("page"))
    labels = SEARCH_SORT_LABELS if query else SORT_LABELS
    sort = request.args.get("sort", "relevance" if query else "newest")
    if sort not in labels:
        sort = "relevance" if query else "newest"
    per_page = int(current_app.config["PRODUCTS_PER_PAGE"])
    results = services.list_products(page, per_page, sort, category, query)
    page_args = {"sort": sort, "q": query, "slug": category}
    return render_template(
        "catalog/list.html",
        title=title,
        results=results,
        sort=sort,
        sorts={key: str(label) for key, label in labels.items()},
        query=query or "",
        categories=services.category_tree(),
        endpoint=request.endpoint,
        page_args={k: v for k, v in page_args.items() if v},
        listed_category=found,
    )


@bp.route("/products")
@shop_cached()
def products() -> str:
    """Every product, newest first by default."""
    return _listing(_("All products"))


@bp.route("/c/<slug>")
@shop_cached()
def category(slug: str) -> str:
    """One category (and its sub-categories)."""
    try:
        found = services.get_category(slug)
    except LookupError:
        abort(404)
    name = localized(found.translations, "name", found.name)
    shown = CategoryView(
        slug=found.slug,
        name=name,
        meta_title=localized_meta(found.translations, "meta_title", found.meta_title, "name"),
        meta_description=localized_meta(
            found.translations, "meta_description", found.meta_description, "name"
        ),
    )
    return _listing(name, category=slug, found=shown)


@bp.route("/search")
@shop_cached()
def search() -> str | Response:
    """Search titles, descriptions and SKUs."""
    query = request.args.get("q", "").strip()
    if query:
        try:
            search_limits.count_search()
        except search_limits.SearchBusy as busy:
            return _search_busy(busy.retry_after)
    title = _("Results for “%(query)s”", query=query) if query else _("Search")
    return _listing(title, query=query or None)


def _search_busy(retry_after: int) -> Response:
    """429 on the shop's error page, in the reader's language, saying when to come back."""
    message = _(
        "Too many searches just now. Please wait %(num)s seconds and try again.",
        num=retry_after,
    )
    response = error_page(429, message)
    response.headers["Retry-After"] = str(retry_after)
    metrics.refused_by("search")
    return response


@bp.route("/p/<slug>")
@shop_cached()
def product(slug: str) -> str:
    """A product page."""
    found = services.get_product_page(slug)
    if found is None:
        abort(404)
    wanted = request.args.get("variant", "")
    variant_id = int(wanted) if wanted.isdigit() and len(wanted) < 10 else None
    return render_template(
        "catalog/product.html",
        product=services.view(found, full=True, variant_id=variant_id),
        related_section=_related_section(found.id),
    )


RELATED_SECONDS = 300


def _related_section(product_id: int) -> Markup:
    """Others bought with the product, else its category's newest (catalog.related),
    rendered once per shop, language and catalog state: up to five statements a page
    otherwise. Kept under the shop's content token, so a catalog write shows at once; new
    pairs from paid orders show within ``RELATED_SECONDS``."""
    if current_app.debug or current_app.config.get("TEMPLATES_AUTO_RELOAD"):  # edits at once
        return Markup(render_template("catalog/_related.html", related=related.related(product_id)))  # noqa: S704
    key = shop_key(f"related:{product_id}:{get_locale()}")
    html = cache.get(key)
    if not isinstance(html, str):
        html = render_template("catalog/_related.html", related=related.related(product_id))
        cache.set(key, html, timeout=RELATED_SECONDS)
    return Markup(html)  # noqa: S704 - rendered by the shop's own (autoescaping) templates


@bp.route("/p/<slug>/image.svg")
def product_image(slug: str) -> Response:
    """A generated picture for products without an uploaded image."""
    found = services.get_product(slug)
    if found is None:
        abort(404)
    settings = current_tenant().settings
    accent = settings.branding.accent_color if settings else "#888888"
    hue = int(hashlib.sha256(slug.encode()).hexdigest()[:4], 16) % 360
    initials = "".join(word[0] for word in found.title.split()[:2]).upper()
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 300" width="400" height="300">'
        f'<rect width="400" height="300" fill="hsl({hue},45%,88%)"/>'
        f'<circle cx="200" cy="150" r="90" fill="hsl({hue},55%,62%)"/>'
        f'<rect x="0" y="270" width="400" height="30" fill="{accent}"/>'
        f'<text x="200" y="172" font-family="sans-serif" font-size="64" font-weight="700" '
        f'text-anchor="middle" fill="#fff">{escape(initials)}</text></svg>'
    )
    response = Response(svg, mimetype="image/svg+xml")
    response.cache_control.max_age = 3600
    return response
