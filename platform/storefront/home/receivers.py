"""A shop archive's sections name products and categories by id; the import renumbers
them, so the ids in each section's settings follow (an id the archive does not hold
is dropped: it could only name a row of some other shop here)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, update

from ..tenancy.models import Tenant
from ..tenancy.signals import shop_rows_imported
from .models import HomeSection


@shop_rows_imported.connect
def _follow_archive(
    tenant: Tenant, connection: Connection, new_ids: dict[str, Any], **_: Any
) -> None:
    table: Any = HomeSection.__table__
    products = new_ids.get("products", {})
    categories = new_ids.get("categories", {})
    rows = connection.execute(
        select(table.c.id, table.c.settings).where(table.c.tenant_id == tenant.id)
    ).all()
    for row_id, settings in rows:
        if not isinstance(settings, dict):
            continue
        changed = dict(settings)
        if isinstance(settings.get("product_ids"), list):
            changed["product_ids"] = [
                products[old]
                for old in settings["product_ids"]
                if isinstance(old, int) and old in products
            ]
        if settings.get("category_id") is not None:
            old = settings["category_id"]
            changed["category_id"] = categories.get(old) if isinstance(old, int) else None
        if changed != settings:
            connection.execute(
                update(table)
                .where(table.c.tenant_id == tenant.id, table.c.id == row_id)
                .values(settings=changed)
            )
