"""Deleting a shop: every row, its domains, its folder and its stored files; all or
nothing for the rows and the folder (the files go once the rows have)."""

from __future__ import annotations

import logging
import shutil
import uuid

from sqlalchemy import delete

from ..extensions import db
from ..storage import StorageError, current_storage, shop_prefix
from .context import all_tenants
from .models import Domain, Tenant
from .registry import bump_generation
from .services import get_shop, tenants_dir
from .signals import shop_deleted
from .transfer import delete_rows, shop_tables

log = logging.getLogger(__name__)


def delete_shop(slug: str) -> None:
    """Delete every row of the shop and its folder; all or nothing."""
    tenant = get_shop(slug)
    prefix = shop_prefix(tenant.uid)
    folder = tenants_dir() / slug
    trash = tenants_dir() / f".deleted-{slug}-{uuid.uuid4().hex[:8]}"
    if folder.exists():
        folder.rename(trash)
    try:
        shop_deleted.send(tenant)  # higher layers let go of what they hold for it
        with all_tenants():
            for table in reversed(shop_tables()):
                delete_rows(table, table.c.tenant_id == tenant.id)
            db.session.execute(delete(Domain).where(Domain.tenant_id == tenant.id))
            db.session.execute(delete(Tenant).where(Tenant.id == tenant.id))
        bump_generation()
        db.session.commit()
    except BaseException:
        db.session.rollback()
        if trash.exists():
            trash.rename(folder)
        raise
    shutil.rmtree(trash, ignore_errors=True)
    try:
        current_storage().delete_prefix(prefix)
    except StorageError:  # the rows are gone; the files wait for `tenantctl doctor`
        log.warning("deleted shop %s: its files under %s are still stored", slug, prefix)
