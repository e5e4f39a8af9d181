"""Rows to API answers, through the documented models. Every amount is a ``Money``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urljoin

from flask import Response, jsonify, request, url_for
from sqlalchemy import select

from ..accounts.models import User
from ..addresses.views_model import format_address
from ..cart import services as cart_services
from ..catalog.keyset import Mark
from ..catalog.models import Category as CategoryRow
from ..catalog.models import Product as ProductRow
from ..catalog.models import ProductImage as ImageRow
from ..catalog.models import Variant as VariantRow
from ..catalog.money import shop_currency, shop_money
from ..catalog.views_model import image_view, option_views, rating_average, variant_label
from ..extensions import db
from ..i18n import current_locale, localized, localized_meta
from ..listing import Page
from ..media import media_url
from ..orders import discounts, totals
from ..orders import services as orders
from ..orders.access import order_key
from ..orders.checkout import rate_text
from ..orders.models import Order as OrderRow
from ..orders.payments import PROVIDERS
from ..orders.pricing import LineIn, Quote
from ..orders.refunds import Refund as RefundRow
from . import schemas
from .http import encode_mark


def money(amount: int, currency: str | None = None) -> schemas.Money:
    currency = currency or shop_currency()
    return schemas.Money(amount=amount, currency=currency, display=shop_money(amount, currency))


def maybe_money(amount: int | None, currency: str | None = None) -> schemas.Money | None:
    return None if amount is None else money(amount, currency)


def absolute(url: str) -> str:
    """A link the client can follow from anywhere (images may be paths on the shop)."""
    return urljoin(request.host_url, url)


def when(moment: datetime | None) -> str:
    return (moment or datetime(1970, 1, 1)).isoformat() + "Z"


def image(row: ImageRow, title: str) -> schemas.Image:
    shown = image_view(row, title)
    renditions = [
        schemas.Rendition(url=absolute(media_url(f"{row.key}/{w}.{fmt}")), width=w, type=mime)
        for fmt, mime in (("avif", "image/avif"), ("webp", "image/webp"), (row.fallback, None))
        for w in sorted(row.widths or [])
        for mime in [mime or f"image/{'png' if row.fallback == 'png' else 'jpeg'}"]
    ]
    return schemas.Image(
        id=row.id,
        url=absolute(shown.src),
        width=row.width,
        height=row.height,
        alt=shown.alt,
        renditions=renditions,
    )


def _images(row: ProductRow, title: str) -> list[schemas.Image]:
    if row.images:
        return [image(i, title) for i in row.images]
    if row.image_url:
        return [schemas.Image(id=None, url=absolute(row.image_url), width=800, height=600,
                              alt=title, renditions=[])]  # fmt: skip
    return []


def _variants(row: ProductRow) -> tuple[list[schemas.Option], list[schemas.Variant]]:
    if not row.variants:
        return [], []
    options = option_views(row.options)
    names = [o.name for o in options]
    pictures = {i.key: i for i in row.images}
    variants = []
    for v in row.variants:
        price = row.price if v.price is None else v.price
        shown = variant_label(row, v).split(" / ")
        picture = pictures.get(v.image_key or "")
        variants.append(
            schemas.Variant(
                id=v.id,
                sku=v.sku,
                options=dict(zip(names, shown, strict=False)),
                price=money(price),
                compare_at_price=maybe_money(v.compare_at_price),
                stock=v.stock,
                in_stock=v.stock > 0,
                image=absolute(image_view(picture, "").src) if picture else None,
            )
        )
    return [schemas.Option(name=o.name, values=list(o.values)) for o in options], variants


def _product_fields(row: ProductRow) -> dict[str, Any]:
    title = localized(row.translations, "title", row.title)
    options, variants = _variants(row)
    images = _images(row, title)
    return {
        "id": row.id,
        "sku": row.sku,
        "slug": row.slug,
        "title": title,
        "description": localized(row.translations, "description", row.description),
        "price": money(row.price),
        "compare_at_price": maybe_money(row.compare_at_price),
        "stock": row.stock,
        "in_stock": row.stock > 0,
        "active": row.active,
        "featured": row.featured,
        "image": images[0].url if images else absolute(f"/p/{row.slug}/image.svg"),
        "categories": [c.slug for c in row.categories],
        "locale": current_locale(),
        "translations": row.translations or {},
        "images": images,
        "options": options,
        "variants": variants,
        "meta_title": localized_meta(row.translations, "meta_title", row.meta_title, "title")
        or None,
        "meta_description": localized_meta(
            row.translations, "meta_description", row.meta_description, "title"
        )
        or None,
        "rating_count": row.rating_count or 0,
        "rating_average": rating_average(row.rating_count, row.rating_total) or None,
    }


def product(row: ProductRow) -> dict[str, Any]:
    return schemas.Product(**_product_fields(row)).model_dump(mode="json")


def admin_product(row: ProductRow) -> dict[str, Any]:
    fields = _product_fields(row)
    # As stored, in the shop's default language (the translations carry the others').
    fields["meta_title"], fields["meta_description"] = row.meta_title, row.meta_description
    return schemas.AdminProduct(
        **fields,
        option_definitions=[
            schemas.AdminOption(
                name=o["name"],
                values=list(o["values"]),
                translations={
                    locale: schemas.OptionText(name=t.get("name", ""), values=t.get("values", []))
                    for locale, t in (o.get("translations") or {}).items()
                },
            )
            for o in (row.options or [])
        ],
        tax_class=row.tax_class or "standard",
        gift_card=bool(row.gift_card),
        image_url=row.image_url,
        created_at=when(row.created_at),
        updated_at=when(row.updated_at or row.created_at),
    ).model_dump(mode="json")


def product_state(row: ProductRow) -> dict[str, Any]:
    """What a product's entity tag covers: every field a write can change."""
    return {
        name: getattr(row, name)
        for name in (
            "sku",
            "slug",
            "title",
            "description",
            "price",
            "compare_at_price",
            "stock",
            "active",
            "featured",
            "gift_card",
            "image_url",
            "tax_class",
            "translations",
            "options",
            "meta_title",
            "meta_description",
        )
    } | {
        "categories": [c.slug for c in row.categories],
        "images": [(i.id, i.position, i.alt) for i in row.images],
        "variants": [
            (v.id, v.sku, v.price, v.compare_at_price, v.stock, v.image_key) for v in row.variants
        ],
    }


def category_tree(nodes: Iterable[Any]) -> list[dict[str, Any]]:
    def build(node: Any) -> schemas.Category:
        return schemas.Category(
            slug=node.slug, name=node.name, children=[build(c) for c in node.children]
        )

    return [build(node).model_dump(mode="json") for node in nodes]


def admin_category(row: CategoryRow, parents: dict[int, str]) -> dict[str, Any]:
    return schemas.AdminCategory(
        slug=row.slug,
        name=row.name,
        parent=parents.get(row.parent_id) if row.parent_id else None,
        position=row.position,
        translations=row.translations or {},
        meta_title=row.meta_title,
        meta_description=row.meta_description,
    ).model_dump(mode="json")


def totals_of(quote: Quote, code: str | None, currency: str | None = None) -> dict[str, Any]:
    return {
        "subtotal": money(quote.subtotal, currency),
        "discount": money(quote.discount, currency),
        "discount_code": code,
        "shipping": money(quote.shipping, currency),
        "tax": money(quote.tax, currency),
        "tax_included": quote.include_tax,
        "tax_lines": [
            schemas.TaxLine(rate=rate_text(rate), amount=money(amount, currency))
            for rate, amount in quote.tax_lines
        ],
        "total": money(quote.total, currency),
    }


def cart_totals(country: str, code: str) -> schemas.CartTotals | None:
    row = cart_services.current_cart()
    if row is None or not row.items:
        return None
    lines = [
        LineIn(cart_services.unit_price(i), i.quantity, i.product.tax_class or "standard")
        for i in row.items
    ]
    discount, error, applied = None, None, None
    if code:
        try:
            found = discounts.find_usable(code, sum(li.unit_price * li.quantity for li in lines))
            discount, applied = found.as_discount(), found.code
        except discounts.DiscountError as exc:
            error = str(exc)
    ships = not all(i.product.gift_card for i in row.items)  # gift cards alone ship nothing
    quote, zone = totals.price(lines, country, discount, ships=ships)
    return schemas.CartTotals(
        **totals_of(quote, applied),
        country=country,
        ships=zone is not None,
        shipping_rate=zone.name if zone else None,
        discount_error=error,
    )


def cart(country: str = "", code: str = "") -> dict[str, Any]:
    row = cart_services.current_cart()
    view = cart_services.cart_view(row)
    return schemas.Cart(
        token=row.token if row is not None and row.user_id is None else None,
        items=[
            schemas.CartLine(
                id=line.id,
                product=schemas.CartProduct(
                    id=line.product.id, slug=line.product.slug, title=line.product.title
                ),
                variant=schemas.CartVariant(id=line.variant_id, sku=line.sku, label=line.variant)
                if line.variant_id is not None
                else None,
                quantity=line.quantity,
                unit_price=money(line.unit_price),
                line_total=money(line.line_total),
            )
            for line in view.lines
        ],
        count=view.count,
        subtotal=money(view.subtotal),
        totals=cart_totals(country, code) if country else None,
    ).model_dump(mode="json")


@dataclass(frozen=True)
class Live:
    """Which products and variants order lines name still exist: a line keeps a plain
    reference, so one whose product was deleted answers null, not an id that leads
    nowhere (or, once reused, to another product)."""

    products: frozenset[int]
    variants: frozenset[tuple[int, int]]  # (product id, variant id)

    @classmethod
    def of(cls, rows: Sequence[OrderRow]) -> Live:
        """Two statements for any number of orders (a listing's page)."""
        product_ids = {line.product_id for row in rows for line in row.lines if line.product_id}
        variant_ids = {line.variant_id for row in rows for line in row.lines if line.variant_id}
        products: set[int] = set()
        variants: set[tuple[int, int]] = set()
        if product_ids:
            stmt = select(ProductRow.id).where(ProductRow.id.in_(product_ids))
            products = set(db.session.scalars(stmt))
        if variant_ids:
            pairs = select(VariantRow.product_id, VariantRow.id).where(
                VariantRow.id.in_(variant_ids)
            )
            variants = {(p, v) for p, v in db.session.execute(pairs)}
        return cls(frozenset(products), frozenset(variants))

    def product(self, product_id: int | None) -> int | None:
        return product_id if product_id in self.products else None

    def variant(self, product_id: int | None, variant_id: int | None) -> int | None:
        return variant_id if (product_id, variant_id) in self.variants else None


def _order_fields(row: OrderRow, live: Live | None = None) -> dict[str, Any]:
    currency = row.currency
    live = live or Live.of([row])
    return {
        "number": row.number,
        "status": row.status,
        "created_at": when(row.created_at),
        "email": row.email,
        "lines": [
            schemas.OrderLine(
                product_id=live.product(line.product_id),
                variant_id=live.variant(line.product_id, line.variant_id),
                sku=line.sku,
                title=line.title,
                variant=line.variant,
                quantity=line.quantity,
                unit_price=money(line.unit_price, currency),
                line_total=money(line.line_total, currency),
            )
            for line in row.lines
        ],
        "currency": currency,
        "totals": schemas.Totals(
            subtotal=money(row.subtotal, currency),
            discount=money(row.discount or 0, currency),
            discount_code=row.discount_code,
            shipping=money(row.shipping, currency),
            tax=money(row.tax or 0, currency),
            tax_included=bool(row.tax_included),
            tax_lines=[
                schemas.TaxLine(rate=str(rate), amount=money(int(amount), currency))
                for rate, amount in row.tax_lines or []
            ],
            total=money(row.total, currency),
            gift_card=money(row.gift_card_amount, currency) if row.gift_card_amount else None,
            amount_due=money(row.amount_due, currency),
        ),
        "payment_method": row.payment_method,
        "carrier": row.carrier,
        "tracking_number": row.tracking_number,
        "allowed_statuses": list(orders.allowed_moves(row)),
    }


def order(row: OrderRow, live: Live | None = None) -> dict[str, Any]:
    return schemas.Order(**_order_fields(row, live)).model_dump(mode="json")


def admin_order(row: OrderRow, live: Live | None = None) -> dict[str, Any]:
    return schemas.AdminOrder(
        **_order_fields(row, live),
        updated_at=when(row.updated_at),
        customer_id=row.user_id,
        shipping_address=schemas.Address(
            name=row.name,
            address=row.address,
            postal_code=row.postal_code,
            city=row.city,
            country=row.country,
            country_area=row.country_area or "",
            city_area=row.city_area or "",
            sorting_code=row.sorting_code or "",
            phone=row.phone or "",
            lines=format_address(row),
        ),
        refunded=money(row.refunded or 0, row.currency),
        note=row.note or "",
    ).model_dump(mode="json")


def order_state(row: OrderRow) -> dict[str, Any]:
    """What an order's entity tag covers: what staff writes change."""
    return {
        "status": row.status,
        "carrier": row.carrier,
        "tracking_number": row.tracking_number,
        "refunded": row.refunded,
        "note": row.note,
    }


def placed(row: OrderRow, redirect_url: str | None) -> dict[str, Any]:
    provider = PROVIDERS.get(row.payment_method)
    return schemas.Placed(
        order=schemas.Order(**_order_fields(row)),
        payment=schemas.Payment(
            method=row.payment_method,
            redirect_url=redirect_url,
            instructions=provider.instructions(row) if provider else "",
        ),
        order_url=url_for("orders.detail", number=row.number, key=order_key(row), _external=True),
        order_key=order_key(row),
    ).model_dump(mode="json")


def refund(row: RefundRow, currency: str) -> dict[str, Any]:
    return schemas.Refund(
        id=row.id,
        amount=money(row.amount, currency),
        reason=row.reason,
        restocked=bool(row.restocked),
        created_at=when(row.created_at),
    ).model_dump(mode="json")


def customer(row: User) -> dict[str, Any]:
    return schemas.Customer(
        id=row.id,
        email=row.email,
        active=bool(row.active),
        confirmed=row.confirmed_at is not None,
        locale=row.locale,
        created_at=when(row.created_at),
    ).model_dump(mode="json")


def listing(page: Page, items: list[Any]) -> Response:
    meta = schemas.PageMeta(
        page=page.page, per_page=page.per_page, total=page.total, pages=page.pages
    )
    return jsonify(data=items, meta=meta.model_dump())


def catalog_listing(
    page: Page, items: list[Any], after: Mark | None, before: Mark | None
) -> Response:
    """A catalog page by number, with the cursors either side of it."""
    meta = schemas.CatalogPageMeta(
        page=page.page,
        per_page=page.per_page,
        total=page.total,
        pages=page.pages,
        next_cursor=encode_mark(after) if after else None,
        prev_cursor=encode_mark(before) if before else None,
    )
    return jsonify(data=items, meta=meta.model_dump())


def catalog_cursor_listing(
    items: list[Any], after: Mark | None, before: Mark | None, limit: int
) -> Response:
    """A catalog window by cursor; ``Link`` names the windows either side."""
    meta = schemas.CatalogCursorMeta(
        limit=limit,
        next_cursor=encode_mark(after) if after else None,
        prev_cursor=encode_mark(before) if before else None,
    )
    response = jsonify(data=items, meta=meta.model_dump())
    links = [
        f'<{_with_cursor(cursor)}>; rel="{rel}"'
        for rel, cursor in (("next", meta.next_cursor), ("prev", meta.prev_cursor))
        if cursor
    ]
    if links:
        response.headers["Link"] = ", ".join(links)
    return response


def _with_cursor(cursor: str) -> str:
    args = {k: v for k, v in request.args.to_dict().items() if k not in ("page", "per_page")}
    args["cursor"] = cursor
    args.setdefault("limit", str(request.args.get("per_page", 20)))
    return f"{request.base_url}?{urlencode(args)}"


def cursor_listing(items: Sequence[Any], next_cursor: str | None, limit: int) -> Response:
    meta = schemas.CursorMeta(limit=limit, next_cursor=next_cursor)
    response = jsonify(data=list(items), meta=meta.model_dump())
    if next_cursor:
        args = {**request.args.to_dict(), "cursor": next_cursor}
        link = f"{request.base_url}?{urlencode(args)}"
        response.headers["Link"] = f'<{link}>; rel="next"'
    return response
