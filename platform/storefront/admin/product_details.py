"""A product's pictures and its options and variants, in the dashboard.

The product page (``admin.product_edit``) shows these sections under its form; their
forms post here. Every action works on a product of the bound shop (the scoping layer
answers 404 for another shop's id) and says what happened, or why not, in a message.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.datastructures import FileStorage

from ..accounts.dashboard import permission, protect
from ..catalog import images, services, variants
from ..catalog.models import Product, ProductImage, Variant
from ..catalog.money import parse_money, shop_currency, to_major
from ..catalog.views_model import image_view
from ..extensions import db
from ..i18n import language_name, other_locales
from ..media.images import MAX_BYTES
from ..plans import PlanLimitReached
from ..storage import StorageError
from ..themes.loader import platform_templates_only
from .forms import ConfirmForm, StockForm

bp = Blueprint("admin_products", __name__, url_prefix="/admin/products/<int:product_id>")
platform_templates_only(bp)
MAX_UPLOADS = 12  # pictures in one submission


protect(bp)  # a session, then the permission each route declares


def _product(product_id: int) -> Product:
    product = services.product_by_id(product_id)
    if product is None:
        abort(404)
    return product


def _back(product: Product, anchor: str) -> ResponseReturnValue:
    return redirect(url_for("admin.product_edit", product_id=product.id, _anchor=anchor))


def sections(product: Product) -> dict[str, Any]:
    """What the product page shows under its form: pictures, options, variants."""
    currency = shop_currency()
    locales = [(locale, language_name(locale)) for locale in other_locales()]
    options = list(product.options or [])
    rows = []
    for variant in product.variants:
        rows.append(
            {
                "row": variant,
                "label": " / ".join(variant.option_values or []),
                "price": "" if variant.price is None else str(to_major(variant.price, currency)),
                "compare": ""
                if variant.compare_at_price is None
                else str(to_major(variant.compare_at_price, currency)),
            }
        )
    return {
        "pictures": [(image, image_view(image, product.title)) for image in product.images],
        "max_pictures": images.MAX_IMAGES,
        # The options it has, and room for one more.
        "option_rows": [*options, *([{}] if len(options) < variants.MAX_OPTIONS else [])],
        "variant_rows": rows,
        "other_locales": locales,
        "confirm": ConfirmForm(prefix="confirm"),
        "variant_stock": StockForm(prefix="vstock"),
    }


def _csrf_ok() -> bool:
    return ConfirmForm(prefix="confirm").validate_on_submit()


# Pictures ---------------------------------------------------------------------------


@bp.post("/pictures")
@permission("products")
def pictures_add(product_id: int) -> ResponseReturnValue:
    """Upload one or more pictures; each is checked on its own."""
    product = _product(product_id)
    if not _csrf_ok():
        abort(400)
    uploads: list[FileStorage] = [f for f in request.files.getlist("pictures") if f.filename]
    if not uploads:
        flash(_("Choose one or more pictures to upload."), "error")
        return _back(product, "pictures")
    added = 0
    for upload in uploads[:MAX_UPLOADS]:
        try:
            images.add_image(product, upload.read(MAX_BYTES + 1))
            db.session.commit()
            added += 1
        except images.ImageError as exc:
            db.session.rollback()
            name = (upload.filename or "")[:80]
            flash(_("%(file)s: %(reason)s", file=name, reason=exc), "error")
        except StorageError:
            db.session.rollback()
            flash(_("Files cannot be stored right now. Please try again in a minute."), "error")
            break
        except PlanLimitReached as exc:  # the plan's storage: the rest would not fit either
            db.session.rollback()
            flash(str(exc), "error")
            break
    if added:
        flash(ngettext("%(num)s picture added.", "%(num)s pictures added.", added), "success")
    return _back(product, "pictures")


def _picture(product: Product, image_id: int) -> ProductImage:
    image = images.image_of(product, image_id)
    if image is None:
        abort(404)
    return image


@bp.post("/pictures/<int:image_id>")
@permission("products")
def picture_edit(product_id: int, image_id: int) -> ResponseReturnValue:
    """Describe a picture (alt text per language), move it, or remove it."""
    product = _product(product_id)
    image = _picture(product, image_id)
    if not _csrf_ok():
        abort(400)
    action = request.form.get("action", "describe")
    if action == "remove":
        images.remove_image(product, image)
        flash(_("Picture removed."), "success")
    elif action in ("earlier", "later"):
        images.move_image(product, image, -1 if action == "earlier" else 1)
    else:
        translations = {
            locale: request.form.get(f"alt-{locale}", "")[:300] for locale in other_locales()
        }
        images.describe_image(product, image, request.form.get("alt", "")[:300], translations)
        flash(_("Picture description saved."), "success")
    db.session.commit()
    return _back(product, "pictures")


# Options and variants ---------------------------------------------------------------


def _submitted_options() -> list[variants.OptionIn]:
    options = []
    for n in range(1, variants.MAX_OPTIONS + 1):
        name = request.form.get(f"option-{n}-name", "")[:200].strip()
        values = _split(request.form.get(f"option-{n}-values", ""))
        if not name and not values:
            continue
        translations = {
            locale: (
                request.form.get(f"option-{n}-name-{locale}", "")[:200],
                tuple(_split(request.form.get(f"option-{n}-values-{locale}", ""), keep=True)),
            )
            for locale in other_locales()
        }
        options.append(variants.OptionIn(name, tuple(values), translations))
    return options


def _split(text: str, keep: bool = False) -> list[str]:
    """Comma-separated values; ``keep`` keeps empty places (a translation left out)."""
    parts = [part.strip() for part in text[:4000].split(",")]
    return parts if keep else [part for part in parts if part]


@bp.post("/options")
@permission("products")
def options(product_id: int) -> ResponseReturnValue:
    """Set the product's options; its variants follow (see catalog.variants)."""
    product = _product(product_id)
    if not _csrf_ok():
        abort(400)
    try:
        made, removed = variants.set_options(product, _submitted_options())
        db.session.commit()
    except variants.VariantError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _back(product, "options")
    message = [_("Options saved.")]
    if made:
        message.append(ngettext("%(num)s variant added.", "%(num)s variants added.", made))
    if removed:
        message.append(ngettext("%(num)s variant removed.", "%(num)s variants removed.", removed))
    flash(" ".join(message), "success")
    return _back(product, "variants")


@bp.post("/variants")
@permission("products")
def variants_save(product_id: int) -> ResponseReturnValue:
    """Save every variant's SKU, price, compare-at price and picture at once."""
    product = _product(product_id)
    if not _csrf_ok():
        abort(400)
    currency = shop_currency()
    try:
        for variant in list(product.variants):
            field = f"variant-{variant.id}-"
            price = request.form.get(field + "price", "").strip()[:20]
            compare = request.form.get(field + "compare", "").strip()[:20]
            picture = request.form.get(field + "image", "")[:64]
            try:
                variants.update_variant(
                    product,
                    variant,
                    sku=request.form.get(field + "sku", variant.sku)[:100],
                    price=parse_money(price, currency) if price else None,
                    compare_at_price=parse_money(compare, currency) if compare else None,
                    image_key=picture or None,
                )
            except ValueError as exc:
                raise variants.VariantError(
                    _(
                        "%(variant)s: %(reason)s",
                        variant=" / ".join(variant.option_values),
                        reason=exc,
                    )
                ) from None
        db.session.commit()
    except variants.VariantError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _back(product, "variants")
    flash(_("Variants saved."), "success")
    return _back(product, "variants")


@bp.post("/variants/<int:variant_id>/stock")
@permission("products")
def variant_stock(product_id: int, variant_id: int) -> ResponseReturnValue:
    """Add or remove units of one variant, atomically."""
    product = _product(product_id)
    variant: Variant | None = variants.variant_of(product, variant_id)
    if variant is None:
        abort(404)
    form = StockForm(prefix="vstock")
    if not form.validate_on_submit():
        flash(_("Enter a whole number of units, e.g. 5 or -2."), "error")
        return _back(product, "variants")
    try:
        stock = variants.adjust_variant_stock(product, variant, form.delta.data)
        db.session.commit()
    except variants.VariantError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        flash(
            _(
                "%(variant)s: stock is now %(stock)s.",
                variant=" / ".join(variant.option_values),
                stock=stock,
            ),
            "success",
        )
    return _back(product, "variants")
