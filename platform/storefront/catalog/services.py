"""Catalog queries and writes for the bound shop; pages, the API and the CLI call these."""

from __future__ import annotations

import re
import threading
import unicodedata
from typing import Any

import icu  # type: ignore[import-untyped]
from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, func, or_, select, true, update
from sqlalchemy.orm import contains_eager, joinedload, load_only

from .. import plans
from ..caching import invalidate_shop_cache
from ..extensions import db
from ..i18n import localized, match_locale, other_locales
from ..listing import MAX_PAGE, MAX_QUERY, Page, paginate, prefix
from ..problems import Conflict, Refused
from ..webhooks import emit
from . import search, sorting
from .images import forget_objects
from .loading import load_details
from .models import Category, Product, ProductImage, product_categories
from .views_model import CategoryView, ProductView, view

SORTS: dict[str, tuple[Any, ...]] = {
    "newest": (Product.created_at.desc(), Product.id.desc()),
    "price_asc": (Product.price.asc(), Product.id.asc()),
    "price_desc": (Product.price.desc(), Product.id.desc()),
    "title": (Product.title.asc(), Product.id.asc()),
    # Best match first when searching (catalog.search); otherwise the newest.
    "relevance": (Product.created_at.desc(), Product.id.desc()),
}


_SCRIPTS = threading.local()  # an ICU transliterator is not shared between threads


def slugify(text: str) -> str:
    """A URL slug in ASCII: any script transliterated by ICU's own rules ("日本語" →
    ``ri-ben-yu``, "Москва" → ``moskva``), what is left that no URL spells turned to
    hyphens; a title of only punctuation is ``item``."""
    latin = getattr(_SCRIPTS, "latin", None)
    if latin is None:
        latin = _SCRIPTS.latin = icu.Transliterator.createInstance("Any-Latin; Latin-ASCII")
    text = unicodedata.normalize("NFKD", latin.transliterate(text))
    text = text.encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:120].strip("-") or "item"


def free_slug(model: Any, base: str) -> str:
    """``base``, or ``base-2``, ``base-3``… the first the shop's ``model`` rows do not use:
    a slug made from a title never clashes ("日本語" and "!!!" twice are four products).
    One indexed range read of the slugs that start so, bounded."""
    taken = set(
        db.session.scalars(
            select(model.slug)
            .where(or_(model.slug == base, model.slug.like(f"{base}-%")))  # a-z, 0-9, -
            .limit(1000)
        )
    )
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base[: 120 - len(str(n)) - 1]}-{n}", n + 1
    return slug


def list_products(
    page: int = 1,
    per_page: int = 12,
    sort: str = "newest",
    category: str | None = None,
    query: str | None = None,
    transform: Any = view,
) -> Page:
    """Active products, filtered and sorted, one page at a time (as views, or as rows with
    ``transform=None``: their categories come in one more statement, whatever the page).

    Without a ``query``, each sort is read in order from an index (``catalog.sorting``).
    A ``query`` goes through ``catalog.search`` (forgiving, every language); sorted by
    ``relevance``, its best matches come first."""
    if not query:
        return sorting.listing(page, per_page, sort, category, transform)
    stmt = select(Product).where(Product.active == true())
    if category:
        cat = get_category(category)
        ids = [cat.id] + list(
            db.session.scalars(select(Category.id).where(Category.parent_id == cat.id))
        )
        stmt = stmt.where(Product.categories.any(Category.id.in_(ids)))
    if query:
        hits = search.find(query)
        stmt = stmt.where(Product.id.in_(hits.ids))
        if sort == "relevance":
            return _by_relevance(stmt, hits, page, per_page, transform)
    ordered = stmt.order_by(*SORTS.get(sort, SORTS["newest"]))
    found = paginate(ordered, page, per_page, transform, prepare=load_details)
    return search.SearchPage.of(found, hits.capped)


def _by_relevance(stmt: Any, hits: search.Hits, page: int, per_page: int, transform: Any) -> Page:
    """One page of ``stmt``'s products in the search's order (``hits``, bounded)."""
    allowed = set(db.session.scalars(stmt.with_only_columns(Product.id)))
    ids = [pid for pid in hits.ids if pid in allowed]
    page = min(max(page, 1), MAX_PAGE)
    window = ids[(page - 1) * per_page : page * per_page]
    rows = {p.id: p for p in db.session.scalars(select(Product).where(Product.id.in_(window)))}
    ordered = [rows[pid] for pid in window if pid in rows]
    load_details(ordered)
    items = tuple(transform(row) for row in ordered) if transform else tuple(ordered)
    return search.SearchPage(items, page, per_page, len(ids), capped=hits.capped)


def featured_products(limit: int = 8) -> tuple[ProductView, ...]:
    stmt = (
        select(Product)
        .where(Product.active == true())
        .order_by(Product.featured.desc(), Product.created_at.desc(), Product.id.desc())
        .limit(limit)
    )
    products = list(db.session.scalars(stmt))
    load_details(products)
    return tuple(view(p) for p in products)


# Built once: a product page runs it with its slug (building a statement is a tenth of
# the page's work); the scoping hook adds the shop as it does to every statement. One
# statement with categories and pictures joined: a page is one round trip (the rows
# multiply, categories by pictures, a few dozen at most).
# Its categories come by two plain outer joins through the product's own links (their
# primary key): ``joinedload`` nests them, ``LEFT JOIN (links JOIN categories)``, which
# SQLite materialises for the whole shop before it looks at this one product.
_LINKS = product_categories.c
_ACTIVE_BY_SLUG = (
    select(Product)
    .outerjoin(
        product_categories,
        and_(_LINKS.tenant_id == Product.tenant_id, _LINKS.product_id == Product.id),
    )
    .outerjoin(
        Category, and_(Category.tenant_id == _LINKS.tenant_id, Category.id == _LINKS.category_id)
    )
    .where(Product.slug == bindparam("slug"), Product.active == true())
    .order_by(Category.position)  # the relationship's order, kept by the collection
)
_PRODUCT_BY_SLUG = _ACTIVE_BY_SLUG.options(
    contains_eager(Product.categories), joinedload(Product.images)
)


def get_product(slug: str) -> Product | None:
    """An active product by slug, with its categories and pictures in the same query."""
    return db.session.scalars(_PRODUCT_BY_SLUG, {"slug": slug}).unique().first()


# The product page's statement: the same row, with only the columns its page shows (and
# ``tenant_id``, which the scoping checks read). On MariaDB, PyMySQL parses every
# column's description in Python on every execution: all 36 columns were a fifth of the
# page's time, the 25 kept here are two thirds of that. A column left out still loads if
# something reads it (one more statement, which tests/test_round_trips.py would count).
_PRODUCT_PAGE = _ACTIVE_BY_SLUG.options(
    load_only(
        Product.sku,
        Product.slug,
        Product.title,
        Product.description,
        Product.price,
        Product.compare_at_price,
        Product.stock,
        Product.image_url,
        Product.translations,
        Product.options,
        Product.meta_title,
        Product.meta_description,
        Product.rating_count,
        Product.rating_total,
        Product.gift_card,
        Product.tenant_id,
    ),
    contains_eager(Product.categories).load_only(
        Category.name, Category.slug, Category.translations, Category.tenant_id
    ),
    joinedload(Product.images).load_only(
        ProductImage.key,
        ProductImage.width,
        ProductImage.height,
        ProductImage.fallback,
        ProductImage.widths,
        ProductImage.alt,
        ProductImage.translations,
        ProductImage.tenant_id,
    ),
)


def get_product_page(slug: str) -> Product | None:
    """``get_product`` for the product's own page: what it shows, in one statement."""
    return db.session.scalars(_PRODUCT_PAGE, {"slug": slug}).unique().first()


def get_category(slug: str) -> Category:
    category = db.session.scalar(select(Category).where(Category.slug == slug))
    if category is None:
        raise LookupError(f"no category {slug!r}")
    return category


def category_tree() -> tuple[CategoryView, ...]:
    categories = list(
        db.session.scalars(select(Category).order_by(Category.position, Category.name))
    )

    def children(parent: int | None) -> tuple[CategoryView, ...]:
        return tuple(
            CategoryView(
                c.slug,
                localized(c.translations, "name", c.name),
                children(c.id) if parent is None else (),
            )
            for c in categories
            if c.parent_id == parent
        )

    return children(None)


def create_category(
    name: str,
    slug: str | None = None,
    parent: str | None = None,
    position: int = 0,
    translations: dict[str, dict[str, str]] | None = None,
) -> Category:
    parent_id = get_category(parent).id if parent else None
    category = Category(
        name=name,
        slug=slug or free_slug(Category, slugify(name)),
        parent_id=parent_id,
        position=position,
        translations=merge_translations({}, translations),
    )
    db.session.add(category)
    db.session.flush()
    invalidate_shop_cache()
    return category


def create_product(
    sku: str,
    title: str,
    price: int,
    *,
    description: str = "",
    stock: int = 0,
    compare_at_price: int | None = None,
    categories: list[str] | None = None,
    featured: bool = False,
    gift_card: bool = False,
    image_url: str | None = None,
    slug: str | None = None,
    active: bool = True,
    translations: dict[str, dict[str, str]] | None = None,
    tax_class: str = "standard",
    meta_title: str | None = None,
    meta_description: str | None = None,
) -> Product:
    plans.check("products")
    product = Product(
        tax_class=tax_class,
        meta_title=meta_title or None,
        meta_description=meta_description or None,
        translations=merge_translations({}, translations),
        active=active,
        sku=sku,
        title=title,
        slug=slug or free_slug(Product, slugify(title)),
        price=price,
        description=description,
        stock=stock,
        compare_at_price=compare_at_price,
        featured=featured,
        gift_card=gift_card,
        image_url=image_url,
    )
    product.categories = [get_category(c) for c in dict.fromkeys(categories or [])]
    db.session.add(product)
    db.session.flush()
    invalidate_shop_cache()
    emit("product.created", webhook_data(product))
    return product


@plans.counter("products")
def _count_products(bound: int | None) -> int:
    return plans.bounded_count(select(Product.id), bound)


class CatalogError(Refused):
    """A catalog change that cannot be made; the message says why."""

    code = Conflict.INVALID_CHANGE


PRODUCT_FIELDS = frozenset(
    {
        "sku",
        "title",
        "slug",
        "description",
        "price",
        "compare_at_price",
        "stock",
        "active",
        "featured",
        "gift_card",
        "image_url",
        "translations",
        "tax_class",
        "meta_title",
        "meta_description",
    }
)


def product_by_id(product_id: int) -> Product | None:
    return db.session.get(Product, product_id)


def product_by_sku(sku: str) -> Product | None:
    return db.session.scalar(select(Product).where(Product.sku == sku))


def check_unique(product: Product | None, sku: str, slug: str) -> None:
    """SKU and slug are unique per shop: say which one clashes before the database does."""
    for column, value, label, code in (
        (Product.sku, sku, _("SKU"), Conflict.SKU_TAKEN),
        (Product.slug, slug, _("URL slug"), Conflict.SLUG_TAKEN),
    ):
        other = db.session.scalar(select(Product.id).where(column == value))
        if other is not None and (product is None or other != product.id):
            raise CatalogError(
                _(
                    "%(field)s “%(value)s” is already used by another product.",
                    field=label,
                    value=value,
                ),
                code,
            )


def update_product(
    product: Product, *, categories: list[str] | None = None, **fields: Any
) -> Product:
    """Change a product's fields (and, when given, its categories by slug)."""
    unknown = set(fields) - PRODUCT_FIELDS
    if unknown:
        raise CatalogError(f"unknown product fields: {', '.join(sorted(unknown))}")
    if "stock" in fields and fields["stock"] < 0:
        raise CatalogError(_("Stock cannot be negative."), Conflict.NOT_ENOUGH_STOCK)
    if "stock" in fields and fields["stock"] != product.stock and product.variants:
        raise CatalogError(
            _("“%(title)s” has variants: change the stock of a variant.", title=product.title),
            Conflict.PRODUCT_HAS_VARIANTS,
        )
    check_unique(product, fields.get("sku", product.sku), fields.get("slug", product.slug))
    if "translations" in fields:
        fields["translations"] = merge_translations(
            product.translations or {}, fields["translations"]
        )
    for name, value in fields.items():
        setattr(product, name, value)
    if categories is not None:
        product.categories = [get_category(c) for c in dict.fromkeys(categories)]
    db.session.flush()
    invalidate_shop_cache()
    emit("product.updated", webhook_data(product))
    return product


def merge_translations(
    current: dict[str, dict[str, str]], given: dict[str, Any] | None
) -> dict[str, dict[str, str]]:
    """``current`` with the texts in ``given`` (locale -> fields) replacing theirs.

    Locales may be named as in the URL (``de``) or in full (``de_DE``), but only the shop's
    other locales are taken. A field given replaces that locale's (empty: removes it), a
    field not given keeps its text (an older CSV without ``meta_title:de`` leaves it be);
    a locale left without text is removed.
    """
    merged = {locale: dict(texts) for locale, texts in current.items()}
    if not given:
        return merged
    others = other_locales()
    for wanted, texts in given.items():
        locale = match_locale(wanted, others)
        if locale is None:
            raise CatalogError(
                _(
                    "“%(locale)s” is not one of the shop's other languages (%(locales)s).",
                    locale=wanted,
                    locales=", ".join(others) or "—",
                ),
                Conflict.UNKNOWN_LANGUAGE,
            )
        kept = dict(merged.get(locale) or {})
        for name, value in dict(texts).items():
            text = str(value).strip() if value is not None else ""
            if text:
                kept[name] = text
            else:
                kept.pop(name, None)
        if kept:
            merged[locale] = kept
        else:
            merged.pop(locale, None)
    return merged


def webhook_data(product: Product) -> dict[str, Any]:
    """What a ``product.*`` webhook carries."""
    return {
        "id": product.id,
        "sku": product.sku,
        "slug": product.slug,
        "title": product.title,
        "price": product.price,
        "stock": product.stock,
        "active": product.active,
    }


def adjust_stock(product: Product, delta: int) -> int:
    """Add (or with a negative delta remove) units atomically; never below zero. A
    product with variants keeps its stock on them (``variants.adjust_variant_stock``)."""
    if product.variants:
        raise CatalogError(
            _("“%(title)s” has variants: change the stock of a variant.", title=product.title),
            Conflict.PRODUCT_HAS_VARIANTS,
        )
    result = db.session.execute(
        update(Product)
        .where(Product.id == product.id, Product.stock + delta >= 0)
        .values(stock=Product.stock + delta)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise CatalogError(
            _(
                "Cannot remove %(num)s units: only %(stock)s in stock.",
                num=-delta,
                stock=product.stock,
            ),
            Conflict.NOT_ENOUGH_STOCK,
        )
    db.session.refresh(product)
    invalidate_shop_cache()
    return product.stock


def delete_product(product: Product) -> None:
    """Remove a product from the catalog (carts first: ``cart.services.drop_product``);
    orders keep their lines (sku, title and price are copied into them)."""
    data = webhook_data(product)
    forget_objects([image.key for image in product.images])
    product.categories = []  # the links go through the relationship (it holds them)
    db.session.delete(product)
    db.session.flush()
    invalidate_shop_cache()
    emit("product.deleted", data)


ADMIN_MATCHES = 1000  # products a dashboard search gathers from each way of finding them


def admin_products(page: int = 1, per_page: int = 25, query: str | None = None) -> Page:
    """Every product, active or not, for the dashboard; newest first.

    A query finds products by the start of their SKU or title (hidden ones too) and by
    their words through the search index (active ones, forgiving as the shop's search):
    index ranges and the index's bounded lookup gather at most ``ADMIN_MATCHES`` ids
    each, then those are paged. ``LIKE '%…%'`` read the whole catalog for a rare word
    (1.3 s at 200,000 products); a word in the middle of a hidden product's title is
    what it gives up."""
    stmt = select(Product)
    if query:
        text = query.strip()[:MAX_QUERY]
        found = set(search.ranked_ids(text)[:ADMIN_MATCHES])
        for column, scope in (
            (Product.sku, ()),
            (Product.title, (Product.active.in_([True, False]),)),
        ):
            starts = select(Product.id).where(*scope, prefix(column, text)).limit(ADMIN_MATCHES)
            found.update(db.session.scalars(starts))
        stmt = stmt.where(Product.id.in_(found))
    ordered = stmt.order_by(Product.created_at.desc(), Product.id.desc())
    return paginate(ordered, page, per_page, bounded=True)


def all_categories() -> list[Category]:
    return list(db.session.scalars(select(Category).order_by(Category.position, Category.name)))


def update_category(
    category: Category,
    *,
    name: str,
    parent: str | None,
    position: int,
    translations: dict[str, dict[str, str]] | None = None,
    meta_title: str | None = None,
    meta_description: str | None = None,
) -> Category:
    """Rename, move (one level of nesting) and order a category (and set what search
    engines show of it)."""
    parent_id = None
    if parent:
        target = get_category(parent)
        if target.parent_id is not None or target.id == category.id:
            raise CatalogError(
                _("Categories nest one level: pick a top-level category."),
                Conflict.CATEGORY_NESTING,
            )
        if db.session.scalar(select(func.count()).where(Category.parent_id == category.id)):
            raise CatalogError(
                _("“%(name)s” has subcategories: it cannot become one.", name=category.name),
                Conflict.CATEGORY_NESTING,
            )
        parent_id = target.id
    category.name, category.parent_id, category.position = name, parent_id, position
    category.meta_title, category.meta_description = meta_title, meta_description
    if translations is not None:
        category.translations = merge_translations(category.translations or {}, translations)
    db.session.flush()
    invalidate_shop_cache()
    return category


def delete_category(slug: str) -> None:
    category = get_category(slug)
    if db.session.scalar(select(func.count()).where(Category.parent_id == category.id)):
        raise CatalogError(
            _("Category “%(slug)s” has subcategories: move or delete them first.", slug=slug),
            Conflict.CATEGORY_HAS_SUBCATEGORIES,
        )
    search.category_products_changed(category)  # before the links go
    links = product_categories.c
    db.session.execute(
        product_categories.delete().where(
            links.tenant_id == category.tenant_id, links.category_id == category.id
        )
    )
    db.session.delete(category)
    db.session.flush()
    invalidate_shop_cache()
