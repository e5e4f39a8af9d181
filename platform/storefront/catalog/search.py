"""Search that forgives: "Anvils", "anvl" and "ANVIL" all find the anvils, in any of the
shop's languages, best matches first.

Every word of the query must match a word of the product — exactly, as the start of a
word ("rock" → "Rocket"), by its stem in one of the shop's languages ("Zelte" → "Zelt",
"enclumes" → "enclume"; Snowball's stemmers) or within a typo budget (one edit for
words of four to seven letters, two beyond) — in its title (any language), SKUs
(variants' too), categories or, weighted lower, its description. Accents and case do
not count.

It reads an index kept as products change (``search_index``; docs/decisions.md says
why), through one interface: ``SEARCH_BACKEND`` names the class that answers, so a very
large installation can put an external engine behind it (docs/operators.md). The
database's own backend answers from at most ``SEARCH_MAX_RESULTS`` products; when more
match, the answer says so and the page asks for a narrower search.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import import_module
from typing import Any, Protocol

from flask import current_app
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from ..db import unit_of_work
from ..extensions import PlatformSession, db
from ..i18n import shop_locales
from ..listing import MAX_QUERY, Page
from ..outbox import enqueue
from ..outbox.services import handler
from ..tenancy.context import all_tenants, current_tenant, current_tenant_or_none
from ..tenancy.models import Tenant
from ..tenancy.registry import context_for
from . import search_index, search_query
from .models import Category, Product, Variant, product_categories
from .search_query import Hits
from .search_text import languages, words

__all__ = [
    "Hits",
    "SearchBackend",
    "SearchPage",
    "backend",
    "find",
    "ranked_ids",
    "reindex_shop",
    "words",
]

MAX_WORDS = 8
# Products a category's rename or deletion re-indexes in its own transaction; a bigger
# category's are re-indexed by a job after the commit (SEARCH_INLINE_CATEGORY_PRODUCTS).
INLINE_CATEGORY = 500
REINDEX_JOB = "search-category"


@dataclass(frozen=True)
class SearchPage(Page):
    """A page of search results; ``capped``: more products matched than a search reads
    (``SEARCH_MAX_RESULTS``), so the page asks for a narrower search."""

    capped: bool = False

    @classmethod
    def of(cls, page: Page, capped: bool) -> SearchPage:
        return cls(page.items, page.page, page.per_page, page.total, capped=capped)


class SearchBackend(Protocol):
    """What answers a shop's searches and keeps its index. Every call is for one shop:
    ``find`` and ``rebuild`` for the bound one, ``products_changed`` for ``tenant``
    (inside the transaction that changed them, just before it commits)."""

    def find(self, query_words: Sequence[str], limit: int) -> Hits: ...

    def products_changed(self, tenant: int, product_ids: set[int]) -> None: ...

    def rebuild(self, batch: int, progress: Callable[[int], None] | None = None) -> int: ...


class DatabaseSearch:
    """The index in the platform's own database (SQLite or MariaDB): the default."""

    def find(self, query_words: Sequence[str], limit: int) -> Hits:
        ctx = current_tenant()
        return search_query.find(ctx.id, query_words, _languages(ctx.id), limit)

    def products_changed(self, tenant: int, product_ids: set[int]) -> None:
        search_index.index_products(tenant, product_ids, _languages(tenant))

    def rebuild(self, batch: int, progress: Callable[[int], None] | None = None) -> int:
        tenant, connection = current_tenant().id, db.session.connection()
        langs = _languages(tenant)
        done = search_index.rebuild(tenant, langs, batch, progress, connection)
        search_index.record_languages(connection, tenant, langs)
        return done


BACKENDS: dict[str, str] = {"database": "storefront.catalog.search:DatabaseSearch"}


@lru_cache(maxsize=8)
def _backend_for(name: str) -> SearchBackend:
    module, _, attribute = BACKENDS.get(name, name).partition(":")
    backend: SearchBackend = getattr(import_module(module), attribute)()
    return backend


def backend() -> SearchBackend:
    """The configured backend: ``SEARCH_BACKEND`` is ``database`` or ``module:Class``."""
    return _backend_for(str(current_app.config.get("SEARCH_BACKEND", "database")))


def _languages(tenant: int) -> tuple[str, ...]:
    """The Snowball languages of the shop's locales (the bound shop's, else looked up)."""
    ctx = current_tenant_or_none()
    if ctx is None or ctx.id != tenant:
        with all_tenants():
            shop = db.session.get(Tenant, tenant)
        ctx = context_for(shop) if shop is not None else None
    return languages(shop_locales(ctx))


def find(query: str) -> Hits:
    """The bound shop's active products matching ``query``, best first (then newest)."""
    wanted = list(dict.fromkeys(words(query[:MAX_QUERY])))[:MAX_WORDS]
    if not wanted:
        return Hits([])
    return backend().find(wanted, int(current_app.config.get("SEARCH_MAX_RESULTS", 1000)))


def ranked_ids(query: str) -> list[int]:
    """The ids of the active products matching ``query``, best first (then newest)."""
    return find(query).ids


def reindex_shop(batch: int = 2000, progress: Callable[[int], None] | None = None) -> int:
    """(Re)build the bound shop's whole index, ``batch`` products at a time; returns how
    many active products it holds. Flushes; the caller commits."""
    db.session.flush()
    _pending(db.session()).clear()  # the rebuild reads every product as it is now
    return backend().rebuild(batch, progress)


def reindex_products(product_ids: Iterable[int]) -> None:
    """Bring the bound shop's index up to date for these products (written by Core
    statements, which the session's hooks below do not see): ``bulk`` calls it."""
    backend().products_changed(current_tenant().id, set(product_ids))


def follow_languages(batch: int = 2000) -> bool:
    """Rebuild the bound shop's index when the shop speaks other languages than the index
    was stemmed in (its ``locales`` changed: German added, "Zelte" must find "Zelt");
    returns whether it did. Run hourly per shop by the periodic jobs; the first run only
    records the languages of today. The caller commits."""
    tenant = current_tenant().id
    langs = _languages(tenant)
    connection = db.session.connection()
    built = search_index.built_languages(connection, tenant)
    if built == search_index.languages_key(langs):
        return False
    if built is None:  # indexed before the languages were recorded: in today's
        search_index.record_languages(connection, tenant, langs)
        return False
    reindex_shop(batch)
    return True


def category_products_changed(category: Category) -> None:
    """The category's products are re-indexed at commit (or by a job, for a big one):
    call before its links go."""
    _mark_category(db.session(), category.tenant_id, category.id, gone=True)


# Keeping the index as the session writes products ------------------------------------

# What changes a product's terms; stock, prices and the like do not.
_PRODUCT_FIELDS = ("title", "sku", "description", "translations", "active", "categories")
_PENDING = "storefront.search_pending"  # session.info: {tenant id: {product ids}}
_NEW = "storefront.search_new"  # session.info: products flushed for the first time


def _pending(session: Session) -> dict[int, set[int]]:
    found: dict[int, set[int]] = session.info.setdefault(_PENDING, {})
    return found


def _mark(session: Session, tenant: int | None, product_id: int | None) -> None:
    if tenant is not None and product_id is not None:
        _pending(session).setdefault(tenant, set()).add(product_id)


def _mark_category(session: Session, tenant: int, category_id: int, gone: bool = False) -> None:
    """Note the category's products for re-indexing at commit; a category too big for
    one request (200,000 products would hold it for minutes) queues a job instead, which
    re-indexes them batch by batch (``gone``: the category is being deleted, so the job
    rebuilds the shop's index, its links being gone by then)."""
    links = product_categories.c
    inline = int(current_app.config.get("SEARCH_INLINE_CATEGORY_PRODUCTS", INLINE_CATEGORY))
    ids = list(
        session.connection().scalars(
            select(links.product_id)
            .where(links.tenant_id == tenant, links.category_id == category_id)
            .limit(inline + 1)
        )
    )
    if len(ids) <= inline:
        _pending(session).setdefault(tenant, set()).update(ids)
        return
    key = f"{REINDEX_JOB}:{'shop' if gone else category_id}:{secrets.token_hex(6)}"
    row = enqueue(REINDEX_JOB, {"category": None if gone else category_id}, dedupe_key=key)
    row.tenant_id = tenant  # queued inside a flush, after the hook that stamps new rows


@handler(REINDEX_JOB, background=True, batches=True)
def _reindex_category(payload: dict[str, Any], batch: int = 2000) -> None:
    """The job a big category's change queued: its products, ``batch`` at a time, each
    batch its own unit of work (a search meanwhile finds them under the old name or the
    new); the whole shop's index when the category was deleted."""
    category_id = payload.get("category")
    if category_id is None or db.session.get(Category, int(category_id)) is None:
        unit_of_work(lambda: reindex_shop(batch))
        return
    links, shop, after = product_categories.c, current_tenant().id, 0
    while True:
        ids = list(
            db.session.scalars(
                select(links.product_id)
                .where(
                    links.tenant_id == shop,
                    links.category_id == int(category_id),
                    links.product_id > after,
                )
                .order_by(links.product_id)
                .limit(batch)
            )
        )
        if not ids:
            return
        unit_of_work(lambda: reindex_products(ids))  # noqa: B023 (run here, at once)
        after = ids[-1]


def _changed(obj: Any, fields: Iterable[str]) -> bool:
    state = db.inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in fields)


def _collect(session: Session, _context: Any, _instances: Any) -> None:
    """``before_flush``: note which products' terms this flush changes."""
    for obj in session.new:
        if isinstance(obj, Product):
            session.info.setdefault(_NEW, []).append(obj)
        elif isinstance(obj, Variant):
            _mark(session, obj.tenant_id, obj.product_id)
    for obj in session.dirty:
        if isinstance(obj, Product) and _changed(obj, _PRODUCT_FIELDS):
            _mark(session, obj.tenant_id, obj.id)
        elif isinstance(obj, Variant) and _changed(obj, ("sku",)):
            _mark(session, obj.tenant_id, obj.product_id)
        elif isinstance(obj, Category) and _changed(obj, ("name", "translations")):
            _mark_category(session, obj.tenant_id, obj.id)
    for obj in session.deleted:
        if isinstance(obj, Product):
            _mark(session, obj.tenant_id, obj.id)
        elif isinstance(obj, Variant):
            _mark(session, obj.tenant_id, obj.product_id)
        elif isinstance(obj, Category):
            _mark_category(session, obj.tenant_id, obj.id, gone=True)


def _numbered(session: Session, _context: Any) -> None:
    """``after_flush``: new products have their ids now."""
    for product in session.info.pop(_NEW, []):
        _mark(session, product.tenant_id, product.id)


def _index_before_commit(session: Session) -> None:
    """``before_commit``: the noted products are re-indexed in the same transaction."""
    if session.new or session.dirty or session.deleted:
        session.flush()
    pending = session.info.pop(_PENDING, None)
    for tenant, ids in sorted((pending or {}).items()):
        backend().products_changed(tenant, ids)


def _forget(session: Session, *_args: Any) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_NEW, None)


event.listen(PlatformSession, "before_flush", _collect)
event.listen(PlatformSession, "after_flush", _numbered)
event.listen(PlatformSession, "before_commit", _index_before_commit)
event.listen(PlatformSession, "after_rollback", _forget)
