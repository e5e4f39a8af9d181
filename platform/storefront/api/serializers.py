"""Rows to API answers, through the documented models."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Response, jsonify

from ..cart import services as cart_services
from ..catalog.models import Product as ProductRow
from ..catalog.money import shop_currency, shop_money
from ..i18n import current_locale, localized
from ..listing import Page
from ..orders import discounts, totals
from ..orders import services as orders
from ..orders.checkout import rate_text
from ..orders.models import Order as OrderRow
from ..orders.pricing import LineIn
from . import schemas


def money(amount: int | None) -> schemas.Money | None:
    if amount is None:
        return None
    return schemas.Money(amount=amount, currency=shop_currency(), display=shop_money(amount))


def product(row: ProductRow) -> dict[str, Any]:
    return schemas.Product(
        id=row.id,
        sku=row.sku,
        slug=row.slug,
        title=localized(row.translations, "title", row.title),
        description=localized(row.translations, "description", row.description),
        price=money(row.price),  # type: ignore[arg-type]
        compare_at_price=money(row.compare_at_price),
        stock=row.stock,
        in_stock=row.stock > 0,
        active=row.active,
        featured=row.featured,
        image=row.image_url or f"/p/{row.slug}/image.svg",
        categories=[c.slug for c in row.categories],
        locale=current_locale(),
        translations=row.translations or {},
    ).model_dump(mode="json")


def category_tree(nodes: Iterable[Any]) -> list[dict[str, Any]]:
    def build(node: Any) -> schemas.Category:
        return schemas.Category(
            slug=node.slug, name=node.name, children=[build(c) for c in node.children]
        )

    return [build(node).model_dump(mode="json") for node in nodes]


def cart_totals(country: str, code: str) -> schemas.CartTotals | None:
    row = cart_services.current_cart()
    if row is None or not row.items:
        return None
    lines = [
        LineIn(i.product.price, i.quantity, i.product.tax_class or "standard") for i in row.items
    ]
    discount, error, applied = None, None, None
    if code:
        try:
            found = discounts.find_usable(code, sum(li.unit_price * li.quantity for li in lines))
            discount, applied = found.as_discount(), found.code
        except discounts.DiscountError as exc:
            error = str(exc)
    quote, zone = totals.price(lines, country, discount)
    return schemas.CartTotals(
        country=country,
        ships=zone is not None,
        discount_code=applied,
        discount=quote.discount,
        discount_error=error,
        shipping=quote.shipping,
        tax=quote.tax,
        tax_included=quote.include_tax,
        tax_lines=[
            schemas.TaxLine(rate=rate_text(rate), amount=amount) for rate, amount in quote.tax_lines
        ],
        total=quote.total,
    )


def cart(country: str = "", code: str = "") -> dict[str, Any]:
    view = cart_services.cart_view()
    return schemas.Cart(
        items=[
            schemas.CartLine(
                id=line.id,
                product=schemas.CartProduct(
                    id=line.product.id, slug=line.product.slug, title=line.product.title
                ),
                quantity=line.quantity,
                line_total=money(line.line_total),  # type: ignore[arg-type]
            )
            for line in view.lines
        ],
        count=view.count,
        subtotal=money(view.subtotal),  # type: ignore[arg-type]
        totals=cart_totals(country, code) if country else None,
    ).model_dump(mode="json")


def order(row: OrderRow) -> dict[str, Any]:
    view = orders.order_view(row)
    return schemas.Order(
        number=row.number,
        status=row.status,
        created_at=row.created_at.isoformat() + "Z",
        email=row.email,
        lines=[
            schemas.OrderLine(
                sku=line.sku,
                title=line.title,
                quantity=line.quantity,
                unit_price=line.unit_price,
                line_total=line.line_total,
            )
            for line in row.lines
        ],
        currency=row.currency,
        subtotal=row.subtotal,
        discount=row.discount or 0,
        discount_code=row.discount_code,
        shipping=row.shipping,
        tax=row.tax or 0,
        tax_included=bool(row.tax_included),
        tax_lines=[schemas.TaxLine(rate=str(r), amount=int(a)) for r, a in row.tax_lines or []],
        total=row.total,
        total_display=view.total_display,
        carrier=row.carrier,
        tracking_number=row.tracking_number,
        allowed_statuses=list(orders.allowed_moves(row)),
    ).model_dump(mode="json")


def listing(page: Page, items: list[Any]) -> Response:
    meta = schemas.PageMeta(
        page=page.page, per_page=page.per_page, total=page.total, pages=page.pages
    )
    return jsonify(data=items, meta=meta.model_dump())
