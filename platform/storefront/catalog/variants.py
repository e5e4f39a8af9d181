"""Options and variants: a product sold in sizes, colours, …, each combination with its
own SKU, price, stock and picture.

A product's ``options`` name what a shopper chooses (at most three, e.g. Size and
Colour, with their values and their translations); each combination of values is a
``Variant`` row. The product's own ``stock`` stays the sum of its variants', so listings,
low-stock reports and "Sold out" keep reading one row. Every stock move locks the
product's row before the variant's (``take_stock``, ``put_back``, ``adjust_variant_stock``):
checkouts, restocks and adjustments touching one product queue behind the same lock in
the same order, so they never deadlock, and a variant never goes below zero.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, true, update

from ..caching import invalidate_shop_cache
from ..extensions import db
from ..i18n import other_locales
from ..problems import Conflict, Refused
from .models import Product, Variant
from .services import slugify

MAX_OPTIONS = 3
MAX_VALUES = 30  # per option
MAX_VARIANTS = 100  # per product
NAME_MAX, VALUE_MAX = 40, 60


class VariantError(Refused):
    """A change to options or variants that cannot be made; the message says why."""

    code = Conflict.INVALID_OPTIONS


@dataclass(frozen=True)
class OptionIn:
    """An option as an owner, the API or a CSV gives it: its name and values in the
    shop's language, and in others ``{"de_DE": ("Größe", ("S", "M"))}``."""

    name: str
    values: tuple[str, ...]
    translations: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)


def _clean(text: str, limit: int, empty: LazyString) -> str:
    text = " ".join(str(text).split())
    if not text:
        raise VariantError(str(empty))
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise VariantError(_("Option names and values cannot contain control characters."))
    if len(text) > limit:
        raise VariantError(
            _("“%(text)s” is longer than %(num)s characters.", text=text[:20] + "…", num=limit)
        )
    return text


def check_options(options: Sequence[OptionIn]) -> list[dict[str, Any]]:
    """The options as stored, or VariantError naming what is wrong."""
    if len(options) > MAX_OPTIONS:
        raise VariantError(_("A product has at most %(num)s options.", num=MAX_OPTIONS))
    stored: list[dict[str, Any]] = []
    names: set[str] = set()
    locales = set(other_locales())
    for option in options:
        name = _clean(option.name, NAME_MAX, _l("Every option needs a name."))
        if name.lower() in names:
            raise VariantError(_("Two options are called “%(name)s”.", name=name))
        names.add(name.lower())
        values = [
            _clean(v, VALUE_MAX, _l("An option's values cannot be empty.")) for v in option.values
        ]
        if not values:
            raise VariantError(_("Give “%(name)s” at least one value.", name=name))
        if len(values) > MAX_VALUES:
            raise VariantError(
                _("“%(name)s” has more than %(num)s values.", name=name, num=MAX_VALUES)
            )
        if len({v.lower() for v in values}) != len(values):
            raise VariantError(_("“%(name)s” names a value twice.", name=name))
        translations = {}
        for locale, (other_name, other_values) in option.translations.items():
            if locale not in locales:
                continue
            shown = [" ".join(str(v).split())[:VALUE_MAX] for v in other_values][: len(values)]
            if any(ord(c) < 32 or ord(c) == 127 for c in other_name + "".join(shown)):
                raise VariantError(_("Option names and values cannot contain control characters."))
            if other_name.strip() or any(shown):
                translations[locale] = {"name": other_name.strip()[:NAME_MAX], "values": shown}
        stored.append({"name": name, "values": values, "translations": translations})
    combinations = 1
    for each in stored:
        combinations *= len(each["values"])
    if stored and combinations > MAX_VARIANTS:
        raise VariantError(
            _(
                "These options make %(count)s combinations; a product has at most %(num)s.",
                count=combinations,
                num=MAX_VARIANTS,
            )
        )
    return stored


def _carry(
    old: list[dict[str, Any]], new: list[dict[str, Any]]
) -> list[tuple[int | None, dict[str, str]]]:
    """For each new option: which old option it continues (same name, or renamed in
    place) and the values renamed in place (a new value standing where an old one stood
    that is gone: "Red" -> "Crimson" keeps its variants, stock and SKU)."""
    old_names = [o["name"].lower() for o in old]
    new_names = [o["name"].lower() for o in new]
    carried: list[tuple[int | None, dict[str, str]]] = []
    for i, option in enumerate(new):
        name = option["name"].lower()
        if name in old_names:
            j: int | None = old_names.index(name)
        elif i < len(old) and old_names[i] not in new_names:
            j = i
        else:
            j = None
        before = list(old[j]["values"]) if j is not None else []
        after = list(option["values"])
        renamed = {
            before[k]: value
            for k, value in enumerate(after)
            if k < len(before) and value not in before and before[k] not in after
        }
        carried.append((j, renamed))
    return carried


def set_options(product: Product, options: Sequence[OptionIn]) -> tuple[int, int]:
    """Give ``product`` these options; every combination of their values is a variant.

    Existing variants carry over wherever they still fit: renamed values and options
    keep theirs, a new option extends them with its first value, a removed option folds
    them (the first of each fold stays). New combinations start with no stock, except
    that a simple product's stock goes to its first variant; combinations no longer
    possible leave with their stock. No options: a simple product again, keeping the
    stock its variants had. Returns (variants made, variants removed). Flushes."""
    stored = check_options(options)
    old_options = list(product.options or [])
    existing = list(product.variants)
    was_simple = not existing
    carried = _carry(old_options, stored)
    combos = list(itertools.product(*(o["values"] for o in stored))) if stored else []
    possible = set(combos)
    by_values: dict[tuple[str, ...], Variant] = {}
    for variant in existing:
        values = list(variant.option_values or [])
        combo = tuple(
            renamed.get(values[j], values[j])
            if j is not None and j < len(values)
            else option["values"][0]
            for (j, renamed), option in zip(carried, stored, strict=True)
        )
        if combo in possible and combo not in by_values:
            by_values[combo] = variant
    kept = {id(v) for v in by_values.values()}
    removed = [v for v in existing if id(v) not in kept]
    for variant in removed:
        if stored:  # the units leave with the combination
            db.session.execute(
                update(Product)
                .where(Product.id == product.id)
                .values(stock=Product.stock - variant.stock)
                .execution_options(synchronize_session=False)
            )
        db.session.delete(variant)
    product.options = stored
    db.session.flush()
    made = 0
    skus = set(db.session.scalars(select(Variant.sku)))
    for position, combo in enumerate(combos):
        row = by_values.get(combo)
        if row is None:
            stock = product.stock if was_simple and made == 0 else 0
            row = Variant(
                product_id=product.id,
                sku=_free_sku(product.sku, combo, skus),
                stock=stock,
            )
            db.session.add(row)
            made += 1
        row.option_values = list(combo)
        row.position = position
    db.session.flush()
    db.session.refresh(product)
    _changed(product)
    return made, len(removed)


def _free_sku(base: str, combo: tuple[str, ...], taken: set[str]) -> str:
    stem = "-".join([base, *(slugify(v).upper() for v in combo)])[:60]
    sku, n = stem, 2
    while sku in taken or db.session.scalar(select(Product.id).where(Product.sku == sku)):
        sku, n = f"{stem}-{n}"[:64], n + 1
    taken.add(sku)
    return sku


def update_variant(
    product: Product,
    variant: Variant,
    *,
    sku: str | None = None,
    price: int | None = None,
    compare_at_price: int | None = None,
    image_key: str | None = None,
) -> None:
    """Change a variant's SKU, price (None: the product's), compare-at price or picture
    (a key of one of the product's pictures; None: the product's first)."""
    if sku is not None and sku != variant.sku:
        sku = sku.strip()
        if not sku or len(sku) > 64:
            raise VariantError(_("A SKU has 1 to 64 characters."))
        clash = db.session.scalar(
            select(Variant.id).where(Variant.sku == sku, Variant.id != variant.id)
        ) or db.session.scalar(select(Product.id).where(Product.sku == sku))
        if clash:
            raise VariantError(_("SKU “%(sku)s” is already used.", sku=sku), Conflict.SKU_TAKEN)
        variant.sku = sku
    if image_key is not None and image_key not in {i.key for i in product.images}:
        raise VariantError(_("Pick one of the product's pictures."), Conflict.UNKNOWN_IMAGE)
    variant.price, variant.compare_at_price = price, compare_at_price
    variant.image_key = image_key
    db.session.flush()
    _changed(product)


def variant_of(product: Product, variant_id: int | None) -> Variant | None:
    return next((v for v in product.variants if v.id == variant_id), None)


def find_variant(product: Product, values: Sequence[str]) -> Variant | None:
    """The variant with these option values (in the shop's language), if any."""
    wanted = list(values)
    return next((v for v in product.variants if list(v.option_values or []) == wanted), None)


def take_stock(product_id: int, variant_id: int | None, quantity: int) -> bool:
    """Take ``quantity`` units for a sale: the product's row first, then the variant's,
    each only while enough is left. False (and nothing taken by this call's second
    statement) when short: the caller rolls the whole checkout back."""
    taken = db.session.execute(
        update(Product)
        .where(Product.id == product_id, Product.active == true(), Product.stock >= quantity)
        .values(stock=Product.stock - quantity)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if taken != 1:
        return False
    if variant_id is None:
        return True
    return bool(
        db.session.execute(
            update(Variant)
            .where(
                Variant.id == variant_id,
                Variant.product_id == product_id,
                Variant.stock >= quantity,
            )
            .values(stock=Variant.stock - quantity)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        == 1
    )


def put_back(product_id: int, variant_id: int | None, quantity: int) -> None:
    """Return units to stock (a cancelled or refunded order), product row first."""
    db.session.execute(
        update(Product)
        .where(Product.id == product_id)
        .values(stock=Product.stock + quantity)
        .execution_options(synchronize_session=False)
    )
    if variant_id is not None:
        db.session.execute(
            update(Variant)
            .where(Variant.id == variant_id, Variant.product_id == product_id)
            .values(stock=Variant.stock + quantity)
            .execution_options(synchronize_session=False)
        )


def adjust_variant_stock(product: Product, variant: Variant, delta: int) -> int:
    """Add (or remove) units of one variant atomically; never below zero."""
    moved = db.session.execute(
        update(Product)
        .where(Product.id == product.id, Product.stock + delta >= 0)
        .values(stock=Product.stock + delta)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if moved == 1:
        moved = db.session.execute(
            update(Variant)
            .where(Variant.id == variant.id, Variant.stock + delta >= 0)
            .values(stock=Variant.stock + delta)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
    if moved != 1:  # the caller rolls back (the product's row may have moved)
        raise VariantError(
            _(
                "Cannot remove %(num)s units: only %(stock)s in stock.",
                num=-delta,
                stock=variant.stock,
            ),
            Conflict.NOT_ENOUGH_STOCK,
        )
    db.session.refresh(variant)
    db.session.refresh(product)
    _changed(product)
    return variant.stock


def _changed(product: Product) -> None:
    db.session.expire(product, ["variants"])
    invalidate_shop_cache()
