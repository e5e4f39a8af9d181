"""The owner's sections: list, add, move, edit, hide, delete; and what the page shows.

Services flush; the dashboard's request commits (``admin.home``). Every change replaces
the shop's content token (``invalidate_shop_cache``): the home page, kept per shop and
language in the page cache, is rendered again at the next visit.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from markupsafe import Markup
from pydantic import ValidationError
from sqlalchemy import delete, func, or_, select, true

from ..accounts.services import normalize_email
from ..caching import invalidate_shop_cache
from ..catalog import sorting
from ..catalog.loading import load_details
from ..catalog.models import Category, Product
from ..catalog.services import featured_products
from ..catalog.views_model import ProductView, view
from ..extensions import db
from ..i18n import current_locale, localized, shop_locales_of_bound
from ..markdown import render
from ..media import media_url
from ..shared import SafeView
from ..tenancy.context import current_tenant
from ..themes.loader import theme_dir
from .models import HomeSection, NewsletterSignup
from .schemas import KINDS, MAX_SECTIONS, parse_settings, parse_texts

log = logging.getLogger(__name__)

__all__ = ["HomeSection", "NewsletterSignup", "SectionError", "SectionView"]


class SectionError(ValueError):
    """A change to the sections that cannot be made; the message says why."""


# What the theme offers ---------------------------------------------------------------


@cache
def theme_sections(theme: str) -> tuple[str, ...]:
    """The kinds of section ``theme`` declares in its ``theme.toml`` (``sections``), in
    the order it lists them; kinds this platform does not know are left out."""
    try:
        with (theme_dir(theme) / "theme.toml").open("rb") as file:
            declared = tomllib.load(file).get("sections", [])
    except (OSError, tomllib.TOMLDecodeError):
        return ()
    return tuple(kind for kind in declared if isinstance(kind, str) and kind in KINDS)


def offered() -> tuple[str, ...]:
    """The kinds of section the bound shop's theme offers."""
    return theme_sections(current_tenant().theme)


# The owner's changes -----------------------------------------------------------------


def all_sections() -> list[HomeSection]:
    """The shop's sections in order, hidden ones too (at most ``MAX_SECTIONS``)."""
    stmt = select(HomeSection).order_by(HomeSection.position, HomeSection.id)
    return list(db.session.scalars(stmt.limit(MAX_SECTIONS)))


def get_section(section_id: int) -> HomeSection | None:
    return db.session.get(HomeSection, section_id)


def add_section(kind: str) -> HomeSection:
    """A new section of ``kind`` at the end of the page, empty (its texts come next)."""
    if kind not in offered():
        raise SectionError("unknown kind")
    count = db.session.scalar(select(func.count(HomeSection.id))) or 0
    if count >= MAX_SECTIONS:
        raise SectionError("full")
    last = db.session.scalar(select(func.max(HomeSection.position)))
    defaults = parse_settings(kind, {}).model_dump(mode="json")
    section = HomeSection(
        kind=kind, position=(last or 0) + 1, hidden=False, settings=defaults, texts={}
    )
    db.session.add(section)
    db.session.flush()
    invalidate_shop_cache()
    return section


def move_section(section: HomeSection, step: int) -> None:
    """Swap the section with its neighbour above (``step`` -1) or below (+1)."""
    ordered = all_sections()
    index = next((i for i, s in enumerate(ordered) if s.id == section.id), None)
    if index is None:
        return
    other = index + (1 if step > 0 else -1)
    if not 0 <= other < len(ordered):
        return
    ordered[index], ordered[other] = ordered[other], ordered[index]
    for position, row in enumerate(ordered, 1):  # renumbered: ties from an archive end too
        row.position = position
    db.session.flush()
    invalidate_shop_cache()


def set_hidden(section: HomeSection, hidden: bool) -> None:
    section.hidden = hidden
    db.session.flush()
    invalidate_shop_cache()


def delete_section(section: HomeSection) -> None:
    db.session.delete(section)
    db.session.flush()
    invalidate_shop_cache()


def check_draft(kind: str, settings: dict[str, Any], texts: dict[str, Any]) -> tuple[Any, Any]:
    """Both parts of a section as its kind's models (ValidationError says what is wrong)."""
    return parse_settings(kind, settings), parse_texts(kind, texts)


def save_section(
    section: HomeSection, locale: str, settings: dict[str, Any], texts: dict[str, Any]
) -> None:
    """Write the shared settings and the texts in ``locale`` (a language of the shop);
    empty texts in another language than the default drop it (the default shows)."""
    locales = shop_locales_of_bound()
    if locale not in locales:
        raise SectionError("unknown language")
    shared, words = check_draft(section.kind, settings, texts)
    section.settings = shared.model_dump(mode="json")
    merged = dict(section.texts or {})
    kept = {k: v for k, v in words.model_dump(mode="json").items() if v}
    if kept or locale == locales[0]:
        merged[locale] = kept
    else:
        merged.pop(locale, None)
    section.texts = merged
    db.session.flush()
    invalidate_shop_cache()


def texts_in(section: HomeSection, locale: str) -> dict[str, str]:
    """The section's own texts in ``locale`` (empty where it has none)."""
    found = (section.texts or {}).get(locale)
    return dict(found) if isinstance(found, dict) else {}


# What the page shows -------------------------------------------------------------------


@dataclass(frozen=True)
class SectionView(SafeView):
    """One section as a page shows it: plain values, safe for sandboxed templates."""

    id: int
    kind: str
    heading: str = ""
    text: str = ""
    html: Markup = Markup("")
    button: str = ""
    link: str = ""
    image: str = ""  # the picture's URL on the shop's own domain
    alt: str = ""
    image_side: str = "left"
    products: tuple[ProductView, ...] = ()
    category_slug: str = ""
    category_name: str = ""
    hidden: bool = False
    extra: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Draft:
    """An unsaved edit the dashboard's preview shows in place of the saved section."""

    section_id: int
    settings: dict[str, Any]
    texts: dict[str, Any]


def page_sections(draft: Draft | None = None, with_hidden: bool = False) -> tuple[SectionView, ...]:
    """The home page's sections in order, in the reader's language; a row that no longer
    passes its kind's rules (an old archive, a kind the theme dropped) is left out."""
    kinds = set(offered())
    rows = [s for s in all_sections() if s.kind in kinds]
    locales = shop_locales_of_bound()
    default = locales[0] if locales else ""
    locale = current_locale()
    parsed: list[tuple[HomeSection, Any, dict[str, Any]]] = []
    for row in rows:
        editing = draft is not None and draft.section_id == row.id
        if row.hidden and not (with_hidden or editing):
            continue
        try:
            if editing:
                assert draft is not None  # noqa: S101 - editing says so
                shared, words = check_draft(row.kind, draft.settings, draft.texts)
                texts = words.model_dump()
            else:
                shared = parse_settings(row.kind, row.settings)
                texts = _texts(row, locale, default)
        except (ValueError, ValidationError):
            log.warning("home section %s of kind %s skipped: its data is refused", row.id, row.kind)
            continue
        parsed.append((row, shared, texts))
    chosen = _chosen_products(shared for _, shared, _ in parsed)
    return tuple(_view(row, shared, texts, chosen) for row, shared, texts in parsed)


def _texts(row: HomeSection, locale: str, default: str) -> dict[str, Any]:
    """The row's texts in ``locale``, field by field, the default locale's standing in."""
    stored = row.texts or {}
    base = parse_texts(row.kind, stored.get(default) or {}).model_dump()
    if locale == default or not isinstance(stored.get(locale), dict):
        return base
    own = parse_texts(row.kind, stored[locale]).model_dump()
    return {name: own.get(name) or value for name, value in base.items()}


def _chosen_products(settings: Any) -> dict[int, ProductView]:
    """Every product the featured-products sections name, active ones of this shop only,
    in one statement (at most MAX_SECTIONS × MAX_PRODUCTS ids)."""
    ids = {pid for s in settings for pid in getattr(s, "product_ids", ())}
    if not ids:
        return {}
    rows = list(
        db.session.scalars(
            select(Product).where(Product.id.in_(sorted(ids)), Product.active == true())
        )
    )
    load_details(rows)
    return {p.id: view(p) for p in rows}


def _view(
    row: HomeSection, shared: Any, texts: dict[str, Any], chosen: dict[int, ProductView]
) -> SectionView:
    values: dict[str, Any] = {"id": row.id, "kind": row.kind, "hidden": row.hidden}
    values["heading"] = texts.get("heading", "")
    values["text"] = texts.get("text", "")
    values["button"] = texts.get("button", "")
    values["alt"] = texts.get("alt", "")
    if texts.get("body"):
        values["html"] = render(texts["body"])
    image = getattr(shared, "image", None)
    if image:
        values["image"] = media_url(image)
    values["link"] = getattr(shared, "link", None) or ""
    values["image_side"] = getattr(shared, "image_side", "left")
    if row.kind == "featured_products":
        ids = shared.product_ids
        values["products"] = (
            tuple(chosen[pid] for pid in ids if pid in chosen) if ids else featured_products()
        )
    elif row.kind == "featured_category":
        values.update(_category(shared.category_id, shared.limit))
    return SectionView(**values)


def _category(category_id: int | None, limit: int) -> dict[str, Any]:
    """A bounded page of the category's newest products (and its sub-categories'), read
    from the category links' index like its own page: never the catalog."""
    if category_id is None:
        return {}
    found = db.session.execute(
        select(Category.id, Category.slug, Category.name, Category.translations, Category.parent_id)
        .where(or_(Category.id == category_id, Category.parent_id == category_id))
        .limit(200)
    ).all()
    head = next((row for row in found if row.id == category_id), None)
    if head is None:
        return {}  # gone, or another shop's: nothing shows
    ids = [category_id] + [row.id for row in found if row.id != category_id]
    products = list(db.session.scalars(sorting.ordered("newest", ids, limit=limit)))
    load_details(products)
    return {
        "products": tuple(view(p) for p in products),
        "category_slug": head.slug,
        "category_name": localized(head.translations, "name", head.name),
    }


# The newsletter sign-up --------------------------------------------------------------


def sign_up(email: str, locale: str | None) -> bool:
    """Keep a shopper's address for the shop's newsletter; False if it was already kept."""
    email = normalize_email(email)
    if db.session.scalar(select(NewsletterSignup.id).where(NewsletterSignup.email == email)):
        return False
    db.session.add(NewsletterSignup(email=email, locale=locale))
    db.session.flush()
    return True


def person_signup(email: str) -> dict[str, Any] | None:
    """What the shop keeps of ``email`` for its newsletter (a person's data download)."""
    found = db.session.scalar(
        select(NewsletterSignup).where(NewsletterSignup.email == normalize_email(email))
    )
    if found is None:
        return None
    return {"signed_up_at": found.created_at.isoformat(), "language": found.locale}


def erase_signup(email: str) -> None:
    """Forget ``email``'s newsletter sign-up (a person's erasure)."""
    db.session.execute(
        delete(NewsletterSignup).where(NewsletterSignup.email == normalize_email(email))
    )


def signup_count() -> int:
    return int(db.session.scalar(select(func.count(NewsletterSignup.id))) or 0)


def recent_signups(limit: int = 50) -> list[NewsletterSignup]:
    stmt = select(NewsletterSignup).order_by(
        NewsletterSignup.created_at.desc(), NewsletterSignup.id.desc()
    )
    return list(db.session.scalars(stmt.limit(limit)))
