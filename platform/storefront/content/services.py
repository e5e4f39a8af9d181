"""Content pages: read one for a shopper, list and change them for the owner."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select, true

from ..caching import invalidate_shop_cache
from ..extensions import db
from ..i18n import localized, localized_meta, match_locale, other_locales
from ..markdown import render
from ..shared import SafeView
from .models import MAX_BODY, Page

__all__ = ["MAX_BODY", "Page", "PageError", "PageView"]


class PageError(ValueError):
    """A page change that cannot be made; the message says why."""


@dataclass(frozen=True)
class PageView(SafeView):
    slug: str
    title: str
    html: Markup
    meta_title: str = ""  # what search engines show ("": made from the title and body)
    meta_description: str = ""


def published(slug: str) -> PageView | None:
    """A published page in the reader's language (the default one where untranslated)."""
    if len(slug) > 120:
        return None
    page = db.session.scalar(select(Page).where(Page.slug == slug, Page.published == true()))
    if page is None:
        return None
    return PageView(
        slug=page.slug,
        title=localized(page.translations, "title", page.title),
        html=render(localized(page.translations, "body", page.body)),
        meta_title=localized_meta(page.translations, "meta_title", page.meta_title, "title"),
        meta_description=localized_meta(
            page.translations, "meta_description", page.meta_description, "title"
        ),
    )


def all_pages() -> list[Page]:
    return list(db.session.scalars(select(Page).order_by(Page.title)))


def get_page(page_id: int) -> Page | None:
    return db.session.get(Page, page_id)


def save_page(page: Page | None, **fields: Any) -> Page:
    """Create (``page`` None) or change a page; the slug is unique per shop."""
    slug = fields["slug"]
    clash = db.session.scalar(select(Page.id).where(Page.slug == slug))
    if clash is not None and (page is None or clash != page.id):
        raise PageError(_("Another page already lives at /pages/%(slug)s.", slug=slug))
    texts = fields.pop("translations", None) or {}
    if page is None:
        page = Page(translations={})
        db.session.add(page)
    for name, value in fields.items():
        setattr(page, name, value)
    merged = dict(page.translations or {})
    for wanted, values in texts.items():
        locale = match_locale(wanted, other_locales())
        if locale is None:
            continue
        kept = {k: v.strip() for k, v in values.items() if v and v.strip()}
        if kept:
            merged[locale] = kept
        else:
            merged.pop(locale, None)
    page.translations = merged
    db.session.flush()
    invalidate_shop_cache()
    return page


def delete_page(page: Page) -> None:
    db.session.delete(page)
    db.session.flush()
    invalidate_shop_cache()
