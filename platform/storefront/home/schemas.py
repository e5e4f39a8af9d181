"""What each kind of section holds, one pydantic model per kind and part.

Every value is checked where it is written (the dashboard's form, an archive's rows are
re-read through these too): unknown kinds and fields are refused, texts have a length,
links are relative to the shop or http(s), pictures are keys of the shop's own media
store, and ids are plain numbers that only ever name rows of the bound shop (every query
is scoped: an id of another shop's product finds nothing).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

__all__ = ["KINDS", "Kind", "ValidationError", "parse_settings", "parse_texts"]

MAX_SECTIONS = 30  # per shop: a home page, not a catalog
MAX_PRODUCTS = 12  # in one featured-products section
MAX_LIMIT = 12  # products a featured-category section shows
MAX_JSON_CHARS = 64_000  # of one section's settings or one language's texts, as stored

# A stored master in the shop's media store (``media.store_image``): ``img/<hash>/master.jpg``.
IMAGE_KEY = re.compile(r"^img/[A-Za-z0-9_-]{1,80}/master\.(jpg|png)$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

Line = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=60)]
Markdown = Annotated[str, StringConstraints(max_length=10_000)]


def check_link(value: str | None) -> str | None:
    """A link a shopper may follow: a path of this shop (``/c/tools``) or an http(s)
    address; ``javascript:``, ``data:``, protocol-relative and the rest are refused."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if len(value) > 500 or _CONTROL.search(value) or "\\" in value:
        raise ValueError("a link is a path of the shop (/…) or an http(s) address")
    if value.startswith("/") and not value.startswith("//"):
        return value
    lowered = value.lower()
    if lowered.startswith(("https://", "http://")) and len(lowered.split("//", 1)[1]) > 0:
        return value
    raise ValueError("a link is a path of the shop (/…) or an http(s) address")


def check_image(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if not IMAGE_KEY.match(value):
        raise ValueError("a picture is one the shop uploaded")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# What every language shares -----------------------------------------------------------


class NoSettings(_Strict):
    pass


class PictureSettings(_Strict):
    image: str | None = None
    link: str | None = None

    @field_validator("image")
    @classmethod
    def _image(cls, value: str | None) -> str | None:
        return check_image(value)

    @field_validator("link")
    @classmethod
    def _link(cls, value: str | None) -> str | None:
        return check_link(value)


class ImageWithTextSettings(PictureSettings):
    image_side: Literal["left", "right"] = "left"


class ProductsSettings(_Strict):
    # Empty: the shop's featured products (as the home page showed before sections).
    product_ids: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] = Field(
        default_factory=list, max_length=MAX_PRODUCTS
    )


class CategorySettings(_Strict):
    category_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = 4


# What a shopper reads, per language ----------------------------------------------------


class HeadingTexts(_Strict):
    heading: Line = ""


class BannerTexts(HeadingTexts):
    text: Line = ""
    button: Short = ""
    alt: Line = ""


class RichTexts(HeadingTexts):
    body: Markdown = ""


class ImageWithTextTexts(RichTexts):
    button: Short = ""
    alt: Line = ""


class NewsletterTexts(HeadingTexts):
    text: Line = ""


class Kind(_Strict):
    """A kind of section: its two models."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)
    settings: Any
    texts: Any


KINDS: dict[str, Kind] = {
    "image_banner": Kind(settings=PictureSettings, texts=BannerTexts),
    "featured_products": Kind(settings=ProductsSettings, texts=HeadingTexts),
    "featured_category": Kind(settings=CategorySettings, texts=HeadingTexts),
    "rich_text": Kind(settings=NoSettings, texts=RichTexts),
    "image_with_text": Kind(settings=ImageWithTextSettings, texts=ImageWithTextTexts),
    "newsletter": Kind(settings=NoSettings, texts=NewsletterTexts),
}


def _sized(data: Any) -> Any:
    import json

    if not isinstance(data, dict):
        raise ValueError("not an object")
    if len(json.dumps(data, default=str)) > MAX_JSON_CHARS:
        raise ValueError("too large")
    return data


def parse_settings(kind: str, data: Any) -> Any:
    """``data`` as ``kind``'s shared settings (ValueError: unknown kind, too large;
    ValidationError: a value refused)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of section {kind[:40]!r}")
    return KINDS[kind].settings.model_validate(_sized(data or {}))


def parse_texts(kind: str, data: Any) -> Any:
    """``data`` as ``kind``'s texts in one language (errors as ``parse_settings``)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of section {kind[:40]!r}")
    return KINDS[kind].texts.model_validate(_sized(data or {}))
