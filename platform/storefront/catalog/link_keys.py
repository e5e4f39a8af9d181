"""A product's sort keys on its category links, equal to the product's at every commit.

A category's page is read from ``product_categories`` alone, in the order of one of its
indexes (``tenant_id, category_id, product_active, <key>, product_id``); the keys there
are copies of the product's ``active``, ``price``, ``created_at`` and ``title``. Every
write that can change them brings the copies along in the same transaction:

- through the ORM (the dashboard, the API, the CLI): ``after_flush`` below, for every
  product created, or whose keys or categories changed, in that flush;
- statements below the ORM: ``catalog.bulk``'s imports call ``refresh_link_keys`` with
  the products they wrote; a shop archive's rows get theirs from ``shop_rows_imported``
  below (an archive's own copies are not trusted: one made before the copies existed has
  none, and one written by hand could list a hidden product).

One UPDATE per thousand products, reading each key from the product's row by its
primary key: never the whole shop.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain
from typing import Any

from sqlalchemy import Connection, event, inspect, select, update

from ..extensions import PlatformSession
from ..tenancy.models import Tenant
from ..tenancy.signals import shop_rows_imported
from .models import Product, product_categories

BATCH = 1000
# The copy on the link -> the product's column.
KEYS = {
    "product_active": "active",
    "product_price": "price",
    "product_created_at": "created_at",
    "product_title": "title",
}
_WATCHED = (*KEYS.values(), "categories")


def refresh_link_keys(connection: Connection, tenant_id: int, product_ids: Iterable[int]) -> None:
    """Copy the products' sort keys onto all their category links."""
    links = product_categories.c
    products: Any = Product.__table__.c

    def key(name: str) -> Any:
        return (
            select(products[name])
            .where(products.tenant_id == links.tenant_id, products.id == links.product_id)
            .scalar_subquery()
        )

    values = {link: key(column) for link, column in KEYS.items()}
    ids = sorted(set(product_ids))
    for start in range(0, len(ids), BATCH):
        connection.execute(
            update(product_categories)
            .where(links.tenant_id == tenant_id, links.product_id.in_(ids[start : start + BATCH]))
            .values(values)
        )


@shop_rows_imported.connect
def _follow_archive(tenant: Tenant, connection: Connection, new_ids: dict[str, Any]) -> None:
    """A shop archive's rows are in: its products' links get their keys from them."""
    refresh_link_keys(connection, tenant.id, new_ids.get("products", {}).values())


@event.listens_for(PlatformSession, "after_flush")
def _follow_products(session: PlatformSession, _context: Any) -> None:
    """After the flush wrote products and their links: refresh the links of those whose
    keys or categories changed (the session's lists still name what was flushed)."""
    changed: dict[int, set[int]] = {}
    for obj in chain(session.new, session.dirty):
        if isinstance(obj, Product) and (obj in session.new or _keys_changed(obj)):
            changed.setdefault(obj.tenant_id, set()).add(obj.id)
    for tenant_id, ids in changed.items():
        refresh_link_keys(session.connection(), tenant_id, ids)


def _keys_changed(product: Product) -> bool:
    attrs = inspect(product).attrs
    return any(attrs[name].history.has_changes() for name in _WATCHED)
