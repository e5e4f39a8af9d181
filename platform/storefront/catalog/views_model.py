"""What pages, carts and shop templates see of the catalog: plain, read-only values.

Everything here is a ``SafeView`` (sandboxed shop templates may read any attribute), in
the reader's language and money, built from rows that were loaded with their images and
variants in the same few statements (``selectin``), whatever the page size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from ..i18n import current_locale, localized, localized_meta
from ..markdown import render as render_markdown
from ..media import media_url
from ..media.images import MODERN
from ..shared import SafeView
from .loading import load_details
from .models import Product, ProductImage, Variant
from .money import shop_money

# What a listing card shows an image at, and a product page (CSS pixels): the browser
# picks the rendition from ``srcset`` by these and the screen's density.
CARD_SIZES = "(max-width: 640px) 50vw, (max-width: 1100px) 33vw, 300px"
PAGE_SIZES = "(max-width: 720px) 100vw, 560px"


@dataclass(frozen=True)
class ImageView(SafeView):
    """A picture: its fallback URL, its size, and its renditions per format for srcset."""

    src: str
    width: int
    height: int
    alt: str = ""
    srcset: str = ""  # the fallback format (JPEG or PNG) at every width made
    avif: str = ""
    webp: str = ""
    key: str = ""  # the stored image's key; "" for an address or the placeholder


@dataclass(frozen=True)
class OptionView(SafeView):
    """One of a product's options in the reader's language, with its values."""

    name: str
    values: tuple[str, ...]
    position: int  # 1, 2, 3: the form field is option-<position>
    raw: tuple[str, ...] = ()  # the values in the shop's own language: what a form sends


@dataclass(frozen=True)
class VariantView(SafeView):
    id: int
    sku: str
    values: tuple[str, ...]  # in the reader's language, one per option
    label: str  # "M / Red"
    price: int
    price_display: str
    compare_at_display: str | None
    in_stock: bool
    stock: int
    image: ImageView | None = None
    choices: tuple[int, ...] = ()  # the index of each value within its option


@dataclass(frozen=True)
class ProductView(SafeView):
    """What a page shows of a product: plain values, safe for sandboxed templates."""

    id: int
    sku: str
    slug: str
    title: str
    description: str
    price: int
    price_display: str
    compare_at_display: str | None
    in_stock: bool
    stock: int
    image: str  # the main picture's fallback URL (what shop templates have always used)
    categories: tuple[str, ...] = ()
    # The description as the owner formatted it (Markdown, sanitised): see storefront.markdown.
    description_html: Markup = Markup("")
    images: tuple[ImageView, ...] = ()  # at least one: the placeholder when there is none
    options: tuple[OptionView, ...] = ()
    variants: tuple[VariantView, ...] = ()
    price_from: bool = False  # variants cost different amounts: the price is the lowest
    selected: VariantView | None = None  # the variant a product page opens with
    # What search engines show, as the owner set it ("": made from the title/description).
    meta_title: str = ""
    meta_description: str = ""
    category_slugs: tuple[str, ...] = ()  # beside ``categories``: the breadcrumb's links
    # Published reviews (storefront.reviews): how many, and their average, e.g. "4.5".
    rating_count: int = 0
    rating_average: str = ""

    @property
    def main_image(self) -> ImageView:
        return self.images[0]

    @property
    def variant_data(self) -> list[dict[str, Any]]:
        """The variants as plain data for the product page's script (``|tojson``)."""
        return [
            {
                "id": v.id,
                "choices": list(v.choices),
                "price": v.price_display,
                "was": v.compare_at_display,
                "stock": v.stock,
                "sku": v.sku,
                "image": v.image.key if v.image else "",
            }
            for v in self.variants
        ]


@dataclass(frozen=True)
class CategoryView(SafeView):
    slug: str
    name: str
    children: tuple[CategoryView, ...] = ()
    meta_title: str = ""  # what search engines show ("": made from the name)
    meta_description: str = ""


def image_view(image: ProductImage, alt: str) -> ImageView:
    """A stored image with the renditions its job has made so far."""
    widths = sorted(image.widths or [])
    master = media_url(f"{image.key}/master.{image.fallback}")

    def srcset(fmt: str) -> str:
        return ", ".join(f"{media_url(f'{image.key}/{w}.{fmt}')} {w}w" for w in widths)

    src = media_url(f"{image.key}/{widths[-1]}.{image.fallback}") if widths else master
    text = localized(image.translations, "alt", image.alt) or alt
    return ImageView(
        src=src,
        width=image.width,
        height=image.height,
        alt=text,
        srcset=srcset(image.fallback) if widths else "",
        avif=srcset("avif") if "avif" in MODERN and widths else "",
        webp=srcset("webp") if widths else "",
        key=image.key,
    )


def _images(product: Product, title: str) -> tuple[ImageView, ...]:
    stored = tuple(image_view(image, title) for image in product.images)
    if stored:
        return stored
    if product.image_url:
        return (ImageView(src=product.image_url, width=800, height=600, alt=title),)
    # The placeholder drawn from the product's initials (catalog.views.placeholder).
    return (ImageView(src=f"/p/{product.slug}/image.svg", width=400, height=300, alt=""),)


def option_views(options: list[dict[str, Any]] | None) -> tuple[OptionView, ...]:
    """The product's options, named and valued in the reader's language."""
    locale = current_locale()
    views = []
    for position, option in enumerate(options or [], 1):
        own = (option.get("translations") or {}).get(locale) or {}
        values = list(option.get("values") or [])
        translated = list(own.get("values") or [])
        shown = tuple(
            (translated[i] if i < len(translated) and translated[i] else value)
            for i, value in enumerate(values)
        )
        name = own.get("name") or option.get("name", "")
        views.append(OptionView(name, shown, position, tuple(values)))
    return tuple(views)


def variant_label(product: Product, variant: Variant) -> str:
    """The variant as a shopper reads it, e.g. "M / Red" (in their language)."""
    return " / ".join(_variant_values(product, variant, option_views(product.options))[0])


def _variant_values(
    product: Product, variant: Variant, options: tuple[OptionView, ...]
) -> tuple[tuple[str, ...], tuple[int, ...]]:
    shown, choices = [], []
    for i, value in enumerate(variant.option_values or []):
        canonical = list((product.options or [])[i].get("values") or []) if i < len(options) else []
        index = canonical.index(value) if value in canonical else -1
        choices.append(index)
        shown.append(options[i].values[index] if index >= 0 else value)
    return tuple(shown), tuple(choices)


def _variant_views(
    product: Product, options: tuple[OptionView, ...], images: dict[str, ImageView]
) -> tuple[VariantView, ...]:
    views = []
    for v in product.variants:
        price = product.price if v.price is None else v.price
        compare = v.compare_at_price or product.compare_at_price
        values, choices = _variant_values(product, v, options)
        views.append(
            VariantView(
                id=v.id,
                sku=v.sku,
                values=values,
                label=" / ".join(values),
                price=price,
                price_display=shop_money(price),
                compare_at_display=shop_money(compare) if compare and compare > price else None,
                in_stock=product.gift_card or v.stock > 0,
                stock=GIFT_CARD_STOCK if product.gift_card else v.stock,
                image=images.get(v.image_key or ""),
                choices=choices,
            )
        )
    return tuple(views)


# What a gift card shows as its stock: it never runs out (no units are counted).
GIFT_CARD_STOCK = 999


def view(product: Product, full: bool = False, variant_id: int | None = None) -> ProductView:
    """The product for a page; ``full`` (its own page) adds the formatted description,
    which listings do not show and need not render, and the variant it opens with (the
    one asked for, else the first in stock)."""
    description = localized(product.translations, "description", product.description)
    title = localized(product.translations, "title", product.title)
    load_details([product])  # nothing to load when a page loaded them for all its products
    images = _images(product, title)
    options = option_views(product.options) if product.variants else ()
    variants = _variant_views(product, options, {i.key: i for i in images if i.key})
    prices = {v.price for v in variants} or {product.price}
    price = min(prices)
    compare = product.compare_at_price
    return ProductView(
        id=product.id,
        sku=product.sku,
        slug=product.slug,
        title=title,
        description=description,
        description_html=render_markdown(description) if full else Markup(""),
        price=price,
        price_display=shop_money(price),
        compare_at_display=shop_money(compare) if compare and compare > price else None,
        in_stock=product.gift_card or product.stock > 0,
        stock=GIFT_CARD_STOCK if product.gift_card else product.stock,
        image=images[0].src,
        categories=tuple(localized(c.translations, "name", c.name) for c in product.categories),
        images=images,
        options=options,
        variants=variants,
        price_from=len(prices) > 1,
        selected=_selected(variants, variant_id) if full else None,
        meta_title=localized_meta(product.translations, "meta_title", product.meta_title, "title"),
        meta_description=localized_meta(
            product.translations, "meta_description", product.meta_description, "title"
        ),
        category_slugs=tuple(c.slug for c in product.categories),
        rating_count=product.rating_count or 0,
        rating_average=rating_average(product.rating_count, product.rating_total),
    )


def rating_average(count: int | None, total: int | None) -> str:
    """The average of ``count`` ratings summing to ``total``, to one decimal ("" for none).

    Rounded half up on the exact fraction (4.25 is "4.3"), so every page and the API agree.
    """
    if not count:
        return ""
    tenths = (20 * (total or 0) + count) // (2 * count)  # round(10 * total / count), half up
    return f"{tenths // 10}.{tenths % 10}"


def _selected(variants: tuple[VariantView, ...], wanted: int | None) -> VariantView | None:
    asked = next((v for v in variants if v.id == wanted), None)
    return asked or next((v for v in variants if v.in_stock), variants[0] if variants else None)


__all__ = [
    "CARD_SIZES",
    "PAGE_SIZES",
    "CategoryView",
    "ImageView",
    "OptionView",
    "ProductView",
    "VariantView",
    "image_view",
    "option_views",
    "rating_average",
    "variant_label",
    "view",
]
