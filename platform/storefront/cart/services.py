"""The cart of the current visitor: by account, else by a token the visitor holds (the
``X-Cart-Token`` header an API client sends, or the shop's session cookie)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from flask import request, session
from flask_babel import gettext as _
from sqlalchemy import delete, select

from ..caching import PERSONAL_SESSION_KEYS
from ..catalog import variants
from ..catalog.loading import load_details
from ..catalog.models import Product, Variant
from ..catalog.money import shop_money
from ..catalog.views_model import ProductView, option_views, variant_label, view
from ..extensions import db
from ..i18n import localized
from ..problems import Conflict, Refused
from ..shared import SafeView, signed_in_user
from .models import Cart, CartItem

SESSION_KEY = "cart"
PERSONAL_SESSION_KEYS.add(SESSION_KEY)  # a visitor with a cart sees its count: no shared page
TOKEN_HEADER = "X-Cart-Token"  # noqa: S105 - a header name
TOKEN_FORMAT = re.compile(r"[A-Za-z0-9_-]{16,64}")
MAX_QUANTITY = 99


class CartError(Refused):
    """A cart change that cannot be made; the message is for the shopper."""

    code = Conflict.PRODUCT_UNAVAILABLE


class NotInCart(CartError):
    """The line named is not (or no longer) in the visitor's cart."""


@dataclass(frozen=True)
class CartLine(SafeView):
    id: int
    product: ProductView
    quantity: int
    line_total: int
    line_total_display: str
    # The line as bought: the variant's label, price, picture and stock where it has one.
    variant: str = ""
    variant_id: int | None = None
    sku: str = ""
    unit_price: int = 0
    unit_price_display: str = ""
    image: str = ""
    available: int = 0  # units in stock for this line


@dataclass(frozen=True)
class CartView(SafeView):
    lines: tuple[CartLine, ...]
    count: int
    subtotal: int
    subtotal_display: str


def signed_in_user_id() -> int | None:
    """The signed-in account's id, or None for a guest."""
    user = signed_in_user()
    return user.id if user is not None else None


def header_token() -> str | None:
    """The cart token an API client sent, if it is one (anything else names no cart)."""
    token = request.headers.get(TOKEN_HEADER, "").strip()
    return token if TOKEN_FORMAT.fullmatch(token) else None


def visitor_token() -> str | None:
    """The anonymous cart's token: the header's, else the session's."""
    return header_token() or session.get(SESSION_KEY)


def nothing_ships(cart: Cart | None) -> bool:
    """Whether the cart holds only gift cards (mailed, never shipped): its checkout asks
    for no shipping address."""
    return bool(cart is not None and cart.items) and all(
        item.product.gift_card
        for item in cart.items  # type: ignore[union-attr]
    )


def current_cart(create: bool = False) -> Cart | None:
    """The visitor's cart; with ``create`` a new empty one when there is none."""
    user_id = signed_in_user_id()
    if user_id is not None:
        cart = db.session.scalar(select(Cart).where(Cart.user_id == user_id))
    else:
        token = visitor_token()
        cart = (
            db.session.scalar(select(Cart).where(Cart.token == token, Cart.user_id.is_(None)))
            if token
            else None
        )
    if cart is None and create:
        cart = Cart(token=secrets.token_urlsafe(24), user_id=user_id)
        db.session.add(cart)
        db.session.flush()
        if user_id is None and header_token() is None:
            session[SESSION_KEY] = cart.token
    return cart or None


def cart_owner() -> str | None:
    """Who the cart belongs to, stable across its checkout: the account, or the token's
    holder (the same key for the header and the cookie: it is one cart)."""
    user_id = signed_in_user_id()
    if user_id is not None:
        return f"user:{user_id}"
    token = visitor_token()
    return f"session:{token}" if token else None


def add_item(
    product_id: int,
    quantity: int = 1,
    variant_id: int | None = None,
    values: list[str] | None = None,
) -> Cart:
    """Put ``quantity`` of a product (of one of its variants: by id, or by the option
    values chosen, in the shop's language) into the visitor's cart."""
    if not 1 <= quantity <= MAX_QUANTITY:
        raise CartError(_("Choose a quantity between 1 and %(max)s.", max=MAX_QUANTITY))
    product = db.session.get(Product, product_id)
    if product is None or not product.active:
        raise CartError(_("That product is not available."))
    variant = _chosen_variant(product, variant_id, values)
    cart = current_cart(create=True)
    assert cart is not None  # noqa: S101 - create=True always returns one
    chosen = variant.id if variant else None
    item = next(
        (i for i in cart.items if i.product_id == product_id and i.variant_id == chosen), None
    )
    wanted = quantity + (item.quantity if item else 0)
    available = _available(product, variant)
    if wanted > available:
        title = localized(product.translations, "title", product.title)
        if variant is not None:
            title = f"{title} ({variant_label(product, variant)})"
        raise CartError(
            _("Only %(num)s of “%(title)s” left in stock.", num=available, title=title),
            Conflict.SOLD_OUT,
        )
    if item is None:
        cart.items.append(CartItem(product_id=product_id, variant_id=chosen, quantity=quantity))
    else:
        item.quantity = min(wanted, MAX_QUANTITY)
    db.session.flush()
    return cart


def _chosen_variant(
    product: Product, variant_id: int | None, values: list[str] | None
) -> Variant | None:
    """The variant asked for; a product with variants needs one, one without takes none."""
    if not product.variants:
        if variant_id is not None:
            raise CartError(_("That product has no such option."), Conflict.UNKNOWN_OPTION)
        return None
    variant = (
        variants.variant_of(product, variant_id)
        if variant_id is not None
        else variants.find_variant(product, values or [])
    )
    if variant is None:
        names = [o.name for o in option_views(product.options)]
        raise CartError(
            _("Choose %(options)s first.", options=" / ".join(names)), Conflict.OPTION_REQUIRED
        )
    return variant


def set_quantity(item_id: int, quantity: int) -> None:
    cart = current_cart()
    item = next((i for i in cart.items if i.id == item_id), None) if cart else None
    if item is None:
        raise NotInCart(_("That item is no longer in your cart."))
    available = _available(item.product, item.variant)
    if quantity <= 0:
        cart.items.remove(item)  # type: ignore[union-attr]
    elif quantity > available:
        raise CartError(
            _(
                "Only %(num)s of “%(title)s” left in stock.",
                num=available,
                title=localized(item.product.translations, "title", item.product.title),
            ),
            Conflict.SOLD_OUT,
        )
    else:
        item.quantity = min(quantity, MAX_QUANTITY)
    db.session.flush()


def _available(product: Product, variant: Variant | None) -> int:
    """Units that may go in a cart: the stock; a gift card never runs out."""
    if product.gift_card:
        return MAX_QUANTITY
    return variant.stock if variant else product.stock


def cart_count() -> int:
    """How many units the visitor's cart holds (for the header); no query without one."""
    if signed_in_user_id() is None and not visitor_token():
        return 0
    cart = current_cart()
    return sum(item.quantity for item in cart.items) if cart else 0


def unit_price(item: CartItem) -> int:
    """What one unit of a line costs: its variant's price, else the product's."""
    if item.variant is not None and item.variant.price is not None:
        return item.variant.price
    return item.product.price


def cart_line(item: CartItem) -> CartLine:
    product = view(item.product)
    price = unit_price(item)
    variant = next((v for v in product.variants if v.id == item.variant_id), None)
    image = variant.image if variant is not None and variant.image is not None else None
    return CartLine(
        item.id,
        product,
        item.quantity,
        price * item.quantity,
        shop_money(price * item.quantity),
        variant=variant.label if variant else "",
        variant_id=item.variant_id,
        sku=variant.sku if variant else product.sku,
        unit_price=price,
        unit_price_display=shop_money(price),
        image=image.src if image else product.image,
        available=MAX_QUANTITY
        if item.product.gift_card
        else (variant.stock if variant else product.stock),
    )


def cart_view(cart: Cart | None = None) -> CartView:
    cart = cart if cart is not None else current_cart()
    if cart is not None:
        load_details(item.product for item in cart.items)
    lines = tuple(cart_line(i) for i in (cart.items if cart else []))
    subtotal = sum(line.line_total for line in lines)
    return CartView(lines, sum(line.quantity for line in lines), subtotal, shop_money(subtotal))


def merge_anonymous_cart(user_id: int, token: str | None = None) -> None:
    """On login (or when a signed-in API client still sends its cart token), move the
    anonymous cart's items into the account's cart."""
    token = token or session.pop(SESSION_KEY, None) or header_token()
    if not token:
        return
    anonymous = db.session.scalar(select(Cart).where(Cart.token == token, Cart.user_id.is_(None)))
    if anonymous is None or not anonymous.items:
        return
    mine = db.session.scalar(select(Cart).where(Cart.user_id == user_id))
    if mine is None:
        anonymous.user_id = user_id
    else:
        for item in list(anonymous.items):
            existing = next(
                (
                    i
                    for i in mine.items
                    if i.product_id == item.product_id and i.variant_id == item.variant_id
                ),
                None,
            )
            if existing:
                existing.quantity = min(existing.quantity + item.quantity, MAX_QUANTITY)
            else:
                mine.items.append(
                    CartItem(
                        product_id=item.product_id,
                        variant_id=item.variant_id,
                        quantity=item.quantity,
                    )
                )
        db.session.delete(anonymous)
    db.session.flush()  # the login view commits


def drop_product(product_id: int) -> None:
    """Take a product out of every cart (before it leaves the catalog)."""
    db.session.execute(
        delete(CartItem)
        .where(CartItem.product_id == product_id)
        .execution_options(synchronize_session=False)
    )
