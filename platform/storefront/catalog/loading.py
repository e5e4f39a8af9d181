"""Loading products for pages in a constant number of statements, whatever their number.

``load_details`` gives a page of products their pictures in one statement and their
variants in one more, only when some product of the page has options. The statements
are built once (a relationship loader builds its query again on every page).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, inspect, select
from sqlalchemy.orm.attributes import set_committed_value

from ..extensions import db
from .models import Product, ProductImage, Variant

_IMAGES = (
    select(ProductImage)
    .where(ProductImage.product_id.in_(bindparam("ids", expanding=True)))
    .order_by(ProductImage.position, ProductImage.id)
)
_VARIANTS = (
    select(Variant)
    .where(Variant.product_id.in_(bindparam("ids", expanding=True)))
    .order_by(Variant.position, Variant.id)
)


def load_details(products: Iterable[Product]) -> None:
    """Pictures for every product not loaded yet, variants for those with options."""
    products = list(products)
    load_images(products)
    load_variants(products)


def load_images(products: Iterable[Product]) -> None:
    """Give the products their pictures in one statement (none when all are loaded)."""
    pending = [p for p in products if "images" not in inspect(p).dict]
    if not pending:
        return
    found: dict[int, list[ProductImage]] = {}
    for row in db.session.scalars(_IMAGES, {"ids": [p.id for p in pending]}):
        found.setdefault(row.product_id, []).append(row)
    for product in pending:
        set_committed_value(product, "images", found.get(product.id, []))


def load_variants(products: Iterable[Product]) -> None:
    """Give the products their variants in one statement: only those with options have
    any (``set_options`` keeps it so), so a page without them costs no statement."""
    pending = [p for p in products if "variants" not in inspect(p).dict]
    wanted = {p.id: p for p in pending if p.options}
    found: dict[int, list[Variant]] = {}
    if wanted:
        for row in db.session.scalars(_VARIANTS, {"ids": list(wanted)}):
            found.setdefault(row.product_id, []).append(row)
    for product in pending:
        set_committed_value(product, "variants", found.get(product.id, []))
