"""robots.txt, the sitemaps, the head's search-engine tags, and 301s for moved pages."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from flask import Blueprint, Flask, Response, abort, current_app, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, NotFound

from ..caching import shop_cached
from ..catalog.money import shop_currency, to_major
from ..errors import http_error
from ..i18n import url_tags
from ..reviews.views_model import product_reviews
from ..tenancy.context import current_tenant, current_tenant_or_none
from ..tenancy.request_hooks import shop_base_url
from ..themes import add_safe_globals, static_url
from . import services

bp = Blueprint("seo", __name__)
log = logging.getLogger(__name__)
SITEMAP_NS = (
    'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:xhtml="http://www.w3.org/1999/xhtml"'
)
CACHE_SECONDS = 3600


def _xml(body: str) -> Response:
    return Response('<?xml version="1.0" encoding="UTF-8"?>\n' + body, mimetype="application/xml")


def _here(path: str) -> str:
    """``path`` on the shop's primary domain in the request's language (its prefix)."""
    return shop_base_url(current_tenant()) + request.script_root + path


def _alternates(path: str) -> str:
    """xhtml:link alternates for every language the shop speaks (none for one)."""
    ctx = current_tenant()
    locales = ctx.settings.all_locales if ctx.settings else ()
    if len(locales) < 2:
        return ""
    base = shop_base_url(ctx)
    links = [
        f'<xhtml:link rel="alternate" hreflang="{locale.replace("_", "-")}" '
        f'href="{xml_escape(f"{base}/{tag}{path}")}"/>'
        for tag, locale in url_tags(locales).items()
    ]
    links.append(
        f'<xhtml:link rel="alternate" hreflang="x-default" href="{xml_escape(base + path)}"/>'
    )
    return "".join(links)


def _url(path: str, updated: datetime | None) -> str:
    lastmod = f"<lastmod>{updated.date().isoformat()}</lastmod>" if updated else ""
    return f"<url><loc>{xml_escape(_here(path))}</loc>{lastmod}{_alternates(path)}</url>"


@bp.route("/robots.txt")
def robots() -> Response:
    """The owner's robots.txt, or: everything but the private pages, and the sitemap."""
    sitemap = shop_base_url(current_tenant()) + "/sitemap.xml"
    response = Response(services.robots_text(sitemap), mimetype="text/plain")
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response


@bp.route("/sitemap.xml")
@shop_cached(CACHE_SECONDS)
def sitemap_index() -> Response:
    """The sitemap index: the shop's pages, then its products a page at a time."""
    size = services.sitemap_page_size()
    maps = [url_for("seo.sitemap_pages")]
    maps += [
        url_for("seo.sitemap_products", after=after) if after else url_for("seo.sitemap_products")
        for after in services.product_page_starts(size)
    ]
    base = shop_base_url(current_tenant())
    entries = "".join(f"<sitemap><loc>{xml_escape(base + path)}</loc></sitemap>" for path in maps)
    return _xml(f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}'
                "</sitemapindex>")  # fmt: skip


@bp.route("/sitemap-pages.xml")
@shop_cached(CACHE_SECONDS)
def sitemap_pages() -> Response:
    """The home page, the product list, categories and the owner's pages."""
    rows = services.other_paths(services.sitemap_page_size())
    return _xml(f"<urlset {SITEMAP_NS}>{''.join(_url(p, u) for p, u in rows)}</urlset>")


@bp.route("/sitemap-products.xml")
@shop_cached(CACHE_SECONDS)
def sitemap_products() -> Response:
    """One page of products: those with an id above ``after``, in id order."""
    raw = request.args.get("after", "0")
    if not raw.isdigit() or len(raw) > 12:
        abort(404)
    rows = services.product_rows(int(raw), services.sitemap_page_size())
    if not rows and raw != "0":
        abort(404)
    urls = "".join(_url(f"/p/{slug}", updated) for _id, slug, updated in rows)
    return _xml(f"<urlset {SITEMAP_NS}>{urls}</urlset>")


# Moved pages -------------------------------------------------------------------------


def moved_or_not_found(exc: HTTPException) -> Any:
    """A 404 at an address the shop moved (a slug changed, the owner's redirect) is a 301
    to the new one, in the same language, the query kept; any other stays a 404."""
    if request.method in ("GET", "HEAD") and current_tenant_or_none() is not None:
        try:
            target = services.find_redirect(request.path)
        except SQLAlchemyError:  # the database is away: the 404 stands
            log.warning("redirect lookup failed", exc_info=True)
            target = None
        if target is not None:
            location = request.script_root + target
            if request.query_string:
                location += "?" + request.query_string.decode("latin-1")
            response = current_app.redirect(location, 301)
            response.autocorrect_location_header = False
            return response
    return http_error(exc)


# The head's tags ---------------------------------------------------------------------


def _absolute(url: str) -> str:
    if url.startswith(("http://", "https://")):
        return url
    return shop_base_url(current_tenant()) + (url if url.startswith("/") else "/" + url)


def _canonical() -> str:
    url = _here(request.path)
    page = request.args.get("page", "")
    if page.isdigit() and page not in ("0", "1") and len(page) < 6:
        url += f"?page={page}"
    return url


def _shop_name() -> str:
    ctx = current_tenant()
    return ctx.settings.name if ctx.settings else ctx.name


def seo_tags(kind: str, item: Any = None, title: str = "") -> Markup:
    """Everything a search engine and a link preview read in a page's head: the
    description, the canonical link, OpenGraph and Twitter cards, and JSON-LD
    (``Product`` with its ``Offer`` and a ``BreadcrumbList``; ``Organization`` at home)."""
    if current_tenant_or_none() is None:
        return Markup("")
    canonical = _canonical()
    shop = _shop_name()
    image = ""
    data: list[dict[str, Any]] = []
    if kind == "product" and item is not None:
        name = item.meta_title or item.title
        description = item.meta_description or services.plain_text(item.description_html)
        image = _absolute(item.image) if item.image else ""
        data += [_product_data(item, canonical, image), _breadcrumbs(item)]
    elif kind == "category" and item is not None:
        name = item.meta_title or item.name
        description = item.meta_description or services.plain_text(title or item.name)
        data.append(_breadcrumbs(None, item))
    elif kind == "page" and item is not None:
        name = item.meta_title or item.title
        description = item.meta_description or services.plain_text(item.html)
    else:
        name = shop
        description = services.plain_text(title) if title else shop
        data.append(_organization())
        image = data[-1].get("logo", "")
    tags = [
        Markup('<link rel="canonical" href="{}">').format(canonical),
        Markup('<meta name="description" content="{}">').format(description),
        Markup('<meta property="og:type" content="{}">').format(
            "product" if kind == "product" else "website"
        ),
        Markup('<meta property="og:title" content="{}">').format(name),
        Markup('<meta property="og:description" content="{}">').format(description),
        Markup('<meta property="og:url" content="{}">').format(canonical),
        Markup('<meta property="og:site_name" content="{}">').format(shop),
        Markup('<meta name="twitter:card" content="{}">').format(
            "summary_large_image" if image else "summary"
        ),
        Markup('<meta name="twitter:title" content="{}">').format(name),
        Markup('<meta name="twitter:description" content="{}">').format(description),
    ]
    if image:
        tags.append(Markup('<meta property="og:image" content="{}">').format(image))
        tags.append(Markup('<meta name="twitter:image" content="{}">').format(image))
    tags += [services.json_ld(block) for block in data]
    return Markup("\n  ").join(tags)


def _product_data(item: Any, url: str, image: str) -> dict[str, Any]:
    currency = shop_currency()
    in_stock = item.selected.in_stock if item.selected else item.in_stock
    price = item.selected.price if item.selected else item.price
    offer = {
        "@type": "Offer",
        "price": str(to_major(price, currency)),
        "priceCurrency": currency,
        "availability": "https://schema.org/" + ("InStock" if in_stock else "OutOfStock"),
        "url": url,
    }
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": item.title,
        "sku": item.sku,
        "description": services.plain_text(item.description_html, 5000),
        "url": url,
        "offers": offer,
    }
    if image:
        data["image"] = [image]
    data.update(_rating_data(item))
    return data


def _rating_data(item: Any) -> dict[str, Any]:
    """``aggregateRating`` and the newest ``review``s once the product has published
    reviews (the page's own: the same request reads them once, ``product_reviews``)."""
    count = getattr(item, "rating_count", 0)
    if not count:
        return {}
    shown = product_reviews(item.id, count, item.rating_average)
    return {
        "aggregateRating": {
            "@type": "AggregateRating",
            "ratingValue": item.rating_average,
            "reviewCount": count,
            "bestRating": 5,
            "worstRating": 1,
        },
        "review": [
            {
                "@type": "Review",
                "reviewRating": {
                    "@type": "Rating",
                    "ratingValue": review.rating,
                    "bestRating": 5,
                    "worstRating": 1,
                },
                "author": {"@type": "Person", "name": review.author or _("A shopper")},
                "datePublished": review.iso_date,
                **({"name": review.title} if review.title else {}),
                **({"reviewBody": review.body} if review.body else {}),
                **({"inLanguage": review.lang} if review.lang else {}),
            }
            for review in shown.reviews
        ],
    }


def _breadcrumbs(product: Any, category: Any = None) -> dict[str, Any]:
    trail = [(_shop_name(), _here("/"))]
    if product is not None and product.category_slugs:
        trail.append((product.categories[0], _here(f"/c/{product.category_slugs[0]}")))
    if category is not None:
        trail.append((category.name, _here(f"/c/{category.slug}")))
    if product is not None:
        trail.append((product.title, _here(f"/p/{product.slug}")))
    return {
        "@context": "https://schema.org",
        "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": n, "name": name, "item": url}
            for n, (name, url) in enumerate(trail, start=1)
        ],
    }


def _organization() -> dict[str, Any]:
    ctx = current_tenant()
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Organization",
        "name": _shop_name(),
        "url": shop_base_url(ctx) + "/",
    }
    logo = ctx.settings.branding.logo if ctx.settings else None
    if logo:
        data["logo"] = _absolute(static_url(logo))
    return data


def init_seo(app: Flask) -> None:
    """The routes, the head's helper for every template (shop overrides too), and the
    404 handler that answers moved addresses."""
    app.register_blueprint(bp)
    add_safe_globals(app, seo_tags=seo_tags)
    app.register_error_handler(NotFound, moved_or_not_found)


__all__ = ["bp", "init_seo", "seo_tags"]
