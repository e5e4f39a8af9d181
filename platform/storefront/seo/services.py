"""What search engines read: robots.txt, sitemap rows by keyset, redirects, meta texts.

Plain functions on the bound shop; the views (``seo.views``) turn them into answers.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from flask import current_app
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import Table, delete, event, func, select, true, update
from sqlalchemy.orm import Session

from ..catalog.models import Category, Product
from ..content.models import Page
from ..extensions import db
from ..tenancy.models import utcnow
from .models import PATH_MAX, Redirect, SeoSettings

DESCRIPTION_CHARS = 155  # what a result snippet shows of a description
ROBOTS_MAX = 10_000
# Where shoppers' own pages live: nothing there for a search engine.
PRIVATE_PATHS = ("/admin", "/cart", "/checkout", "/account")


class RedirectError(ValueError):
    """A redirect the owner asked for that cannot be made; the message says why."""


# Meta texts ----------------------------------------------------------------------------

_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
_BEFORE_STOP = re.compile(r" ([.,;:!?])")


def plain_text(markup: str, limit: int = DESCRIPTION_CHARS) -> str:
    """Text without markup, spaces folded, cut at a word before ``limit`` with "…"."""
    text = _SPACE.sub(" ", html.unescape(_TAG.sub(" ", markup or ""))).strip()
    text = _BEFORE_STOP.sub(r"\1", text)  # "fast ." where a tag closed before the stop
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,.;:-") + "…"


def json_ld(data: dict[str, Any]) -> Markup:
    """A ``<script type="application/ld+json">`` block no text inside can end early:
    ``<``, ``>`` and ``&`` are written as JSON escapes (``\\u003c``), so neither
    ``</script>`` nor ``<!--`` can appear in it, whatever a product's title says."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e")):
        text = text.replace(char, escaped)
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(f'<script type="application/ld+json">{text}</script>')  # noqa: S704 - escaped above


# robots.txt ----------------------------------------------------------------------------


def default_robots(sitemap_url: str) -> str:
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in PRIVATE_PATHS)]
    return "\n".join([*lines, "", f"Sitemap: {sitemap_url}", ""])


def own_robots() -> str | None:
    """The owner's robots.txt, or None for the platform's default."""
    text = db.session.scalar(select(SeoSettings.robots_txt))
    return text or None


def robots_text(sitemap_url: str) -> str:
    return own_robots() or default_robots(sitemap_url)


def set_robots(text: str | None) -> None:
    """Keep the owner's robots.txt (empty: back to the default). Flushes."""
    text = (text or "").replace("\r\n", "\n").strip()
    if len(text) > ROBOTS_MAX:
        raise RedirectError(_("robots.txt may be at most %(num)s characters.", num=ROBOTS_MAX))
    row = db.session.scalar(select(SeoSettings))
    if row is None:
        row = SeoSettings()
        db.session.add(row)
    row.robots_txt = (text + "\n") if text else None
    db.session.flush()


# Sitemaps ------------------------------------------------------------------------------


def sitemap_page_size() -> int:
    return max(1, int(current_app.config.get("SITEMAP_PAGE_SIZE", 10_000)))


def product_page_starts(size: int) -> list[int]:
    """Where each page of the products' sitemap starts: the id after which it reads.

    Walks ``ix_products_sitemap`` (shop, active, id) from boundary to boundary: one
    probe per page, each skipping ``size`` index entries; no product row is read.
    """
    starts, after = [0], 0
    while True:
        boundary = db.session.scalar(
            select(Product.id)
            .where(Product.active == true(), Product.id > after)
            .order_by(Product.id)
            .offset(size - 1)
            .limit(1)
        )
        if boundary is None:
            return starts
        after = boundary
        nxt = db.session.scalar(
            select(Product.id).where(Product.active == true(), Product.id > after).limit(1)
        )
        if nxt is None:
            return starts
        starts.append(after)


def product_rows(after: int, size: int) -> Sequence[Any]:
    """One sitemap page: (id, slug, updated_at) of up to ``size`` active products with an
    id above ``after``, in id order (a keyset range of ``ix_products_sitemap``)."""
    return db.session.execute(
        select(Product.id, Product.slug, Product.updated_at)
        .where(Product.active == true(), Product.id > after)
        .order_by(Product.id)
        .limit(size)
    ).all()


def other_paths(size: int) -> list[tuple[str, datetime | None]]:
    """The home page, the product list, categories and published pages (bounded)."""
    paths: list[tuple[str, datetime | None]] = [("/", None), ("/products", None)]
    for slug in db.session.scalars(select(Category.slug).order_by(Category.id).limit(size)):
        paths.append((f"/c/{slug}", None))
    pages = db.session.execute(
        select(Page.slug, Page.updated_at)
        .where(Page.published == true())
        .order_by(Page.id)
        .limit(size)
    )
    paths.extend((f"/pages/{slug}", updated) for slug, updated in pages)
    return paths[:size]


# Redirects -----------------------------------------------------------------------------


def max_redirects() -> int:
    return int(current_app.config.get("SEO_MAX_REDIRECTS", 1000))


def clean_path(value: str) -> str:
    """A local path a redirect may name: starts with one "/", no scheme, host, backslash,
    control character or fragment; the query is dropped."""
    value = (value or "").strip()
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        raise RedirectError(_("Give a path on this shop, starting with /."))
    if any(ord(c) < 33 or c in "<>\"'#" for c in value) or "://" in value:
        raise RedirectError(_("A path may not contain spaces, quotes, # or angle brackets."))
    if len(value) > PATH_MAX:
        raise RedirectError(_("A path may be at most %(num)s characters.", num=PATH_MAX))
    path = value.split("?", 1)[0]
    if path != "/" and path.endswith("/"):
        path = path.rstrip("/") or "/"
    return path


def all_redirects() -> list[Redirect]:
    return list(db.session.scalars(select(Redirect).order_by(Redirect.old_path).limit(5_000)))


def find_redirect(path: str) -> str | None:
    """Where ``path`` moved to, if it did (one lookup on the shop's unique key)."""
    if len(path) > PATH_MAX:
        return None
    return db.session.scalar(select(Redirect.new_path).where(Redirect.old_path == path))


def add_redirect(old: str, new: str) -> Redirect:
    """The owner's redirect: local paths, not to itself, no loop, a bounded count."""
    old, new = clean_path(old), clean_path(new)
    if old == new:
        raise RedirectError(_("A path cannot redirect to itself."))
    if old in ("/", "/sitemap.xml", "/robots.txt") or old.startswith(("/admin", "/api/")):
        raise RedirectError(_("This path cannot be redirected."))
    if db.session.scalar(select(Redirect.id).where(Redirect.old_path == old)) is not None:
        raise RedirectError(_("%(path)s already redirects.", path=old))
    if _leads_back(new, old):
        raise RedirectError(_("This redirect would make a loop."))
    count = db.session.scalar(select(func.count(Redirect.id)).where(Redirect.kind == "owner"))
    if (count or 0) >= max_redirects():
        raise RedirectError(_("A shop may have at most %(num)s redirects.", num=max_redirects()))
    row = Redirect(old_path=old, new_path=new, kind="owner")
    db.session.add(row)
    db.session.flush()
    return row


def _leads_back(start: str, target: str, hops: int = 20) -> bool:
    path: str | None = start
    for _hop in range(hops):
        if path == target:
            return True
        path = find_redirect(path) if path else None
        if path is None:
            return False
    return True  # a chain this long is refused like a loop


def delete_redirect(redirect_id: int) -> bool:
    row = db.session.get(Redirect, redirect_id)
    if row is None:
        return False
    db.session.delete(row)
    db.session.flush()
    return True


def _moved(session: Session, tenant_id: int, old: str, new: str) -> None:
    """``old`` now lives at ``new``: earlier redirects to ``old`` go straight to ``new``,
    a redirect away from ``new`` (the slug came back) is dropped, ``old`` points at
    ``new``. Runs inside the flush that changes the slug."""
    table = cast(Table, Redirect.__table__)
    session.execute(delete(table).where(table.c.tenant_id == tenant_id, table.c.old_path == new))
    session.execute(
        update(table)
        .where(table.c.tenant_id == tenant_id, table.c.new_path == old)
        .values(new_path=new)
    )
    session.execute(delete(table).where(table.c.tenant_id == tenant_id, table.c.old_path == old))
    session.execute(
        table.insert(),
        [{"tenant_id": tenant_id, "old_path": old, "new_path": new, "kind": "slug",
          "created_at": utcnow()}],
    )  # fmt: skip


_PREFIXES = {Product: "/p/", Page: "/pages/"}


@event.listens_for(Session, "before_flush")
def _slug_changes(session: Session, _context: Any, _instances: Any) -> None:
    """A product's or page's new slug leaves a redirect from its old address, whatever
    changed it (the dashboard, the API, a CSV import)."""
    for obj in list(session.dirty):
        prefix = _PREFIXES.get(type(obj))
        if prefix is None:
            continue
        history = db.inspect(obj).attrs.slug.history
        if not history.deleted or not history.added:
            continue
        old, new = history.deleted[0], history.added[0]
        if old and new and old != new:
            _moved(session, obj.tenant_id, prefix + old, prefix + new)
