"""Pictures of products: several per product, in order, with alt text per language.

An upload is checked and stored as a master through ``storefront.media`` (Pillow decodes
it; anything else is refused with the reason) and gets a ``product_images`` row; its
renditions (AVIF, WebP and JPEG/PNG at the widths ``srcset`` offers) are made by an
outbox job once the row has committed, so the owner's request does not wait for them.
Until then pages show the master. Objects no row uses any more are removed by a job
too, after the commit that let go of them.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from .. import media, plans
from ..caching import invalidate_shop_cache
from ..extensions import db
from ..outbox import enqueue
from ..outbox.services import handler
from ..storage import current_storage, shop_prefix
from ..tenancy.context import current_tenant
from .models import Product, ProductImage, Variant

MAX_IMAGES = 12  # per product
MAX_BYTES = media.images.MAX_BYTES
ImageError = media.ImageError


def add_image(product: Product, data: bytes, alt: str = "") -> ProductImage:
    """Store an uploaded picture as the product's last one (the same picture twice is
    kept once); ImageError says why an upload is refused. Flushes; the caller commits."""
    if len(product.images) >= MAX_IMAGES:
        raise ImageError(_("A product has at most %(num)s pictures.", num=MAX_IMAGES))
    master = media.store_image(data)
    existing = next((i for i in product.images if i.key == master.key), None)
    if existing is not None:
        return existing
    last = db.session.scalar(
        select(func.max(ProductImage.position)).where(ProductImage.product_id == product.id)
    )
    image = ProductImage(
        product_id=product.id,
        key=master.key,
        width=master.width,
        height=master.height,
        fallback=master.fallback,
        widths=[],
        position=(last or 0) + 1,
        alt=alt.strip()[:300],
    )
    db.session.add(image)
    db.session.flush()
    enqueue("catalog.image", {"image_id": image.id}, dedupe_key=f"image:{image.id}")
    _changed(product)
    return image


def image_of(product: Product, image_id: int) -> ProductImage | None:
    return next((i for i in product.images if i.id == image_id), None)


def remove_image(product: Product, image: ProductImage) -> None:
    """Take a picture off the product (variants showing it show the product's first)."""
    db.session.execute(
        update(Variant)
        .where(Variant.product_id == product.id, Variant.image_key == image.key)
        .values(image_key=None)
        .execution_options(synchronize_session=False)
    )
    key = image.key
    db.session.delete(image)
    db.session.flush()
    forget_objects([key])
    _changed(product)


def move_image(product: Product, image: ProductImage, step: int) -> None:
    """Move a picture one place earlier (``step`` -1) or later (+1); the first is the
    one listings show."""
    order = list(product.images)
    index = order.index(image)
    target = max(0, min(len(order) - 1, index + step))
    order.insert(target, order.pop(index))
    for position, each in enumerate(order, 1):
        each.position = position
    db.session.flush()
    _changed(product)


def describe_image(
    product: Product, image: ProductImage, alt: str, translations: dict[str, str] | None = None
) -> None:
    """Set a picture's alt text (what screen readers say), per language."""
    image.alt = alt.strip()[:300]
    merged = {k: dict(v) for k, v in (image.translations or {}).items()}
    for locale, text in (translations or {}).items():
        if text.strip():
            merged[locale] = {"alt": text.strip()[:300]}
        else:
            merged.pop(locale, None)
    image.translations = merged
    db.session.flush()
    _changed(product)


def forget_objects(keys: list[str]) -> None:
    """After this transaction commits, delete the stored files of ``keys`` that no
    picture uses any more (a job: the commit may still roll back)."""
    if keys:
        enqueue("catalog.forget-images", {"keys": sorted(set(keys))})


def _changed(product: Product) -> None:
    db.session.expire(product, ["images"])
    invalidate_shop_cache()


def make_renditions(image: ProductImage, made: dict[str, dict[str, bytes]] | None = None) -> None:
    """Store a picture's renditions and let pages offer them (flushes; see media.derive)."""
    widths = list(media.images.widths_for(image.width))
    if list(image.widths or []) == widths:
        return  # made already (the job after a synchronous run, or a retry)
    media.derive(media.Master(image.key, image.width, image.height, image.fallback), made)
    db.session.execute(
        update(ProductImage)
        .where(ProductImage.key == image.key)
        .values(widths=widths)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(image)
    invalidate_shop_cache()


@handler("catalog.image")
def _make_renditions(payload: dict[str, Any]) -> None:
    """Make a picture's renditions after its upload committed (outbox job)."""
    image = db.session.get(ProductImage, int(payload["image_id"]))
    if image is None:
        return  # removed meanwhile
    make_renditions(image)  # committed by the outbox runner's unit of work


@handler("catalog.forget-images")
def _forget(payload: dict[str, Any]) -> None:
    """Delete the files of pictures no row refers to any more (outbox job)."""
    for key in payload.get("keys", []):
        used = db.session.scalar(select(func.count()).where(ProductImage.key == key))
        if not used:
            plans.release_storage(media.master_size(key))
            current_storage().delete_prefix(shop_prefix(current_tenant().uid) + key)
