"""The API's request and response models. The OpenAPI document's schemas are generated
from these, and every response is built through them, so the two cannot drift."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from flask_babel import gettext as _
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from ..cart.services import MAX_QUANTITY
from ..catalog.schemas import (
    MAX_PRICE,
    MAX_STOCK,
    MAX_TRANSLATIONS,
    SLUG_PATTERN,
    WHOLE,
    ProductIn,
    ProductPatch,
    ProductText,
    Sku,
)
from ..emails import InvalidEmail, checked_email
from ..listing import MAX_ID
from ..orders.models import STATUSES
from ..problems import ErrorCode
from ..webhooks.models import EVENTS
from .review_schemas import REVIEW_MODELS

# The one email rule (storefront.emails), as registration applies it: what it refuses
# beyond the format (a special-use domain such as .test) is a 422 naming the field.
OrderStatus = StrEnum("OrderStatus", {status: status for status in STATUSES})  # type: ignore[misc]


def _email(address: str) -> str:
    """``checked_email``, its refusal in the reader's language (email_validator's reasons
    are English; the pages say the same words)."""
    try:
        return checked_email(address)
    except InvalidEmail:
        raise ValueError(_("Invalid email address.")) from None


Email = Annotated[
    str,
    Field(min_length=3, max_length=255, json_schema_extra={"format": "email"}),
    AfterValidator(_email),
]
Id = Annotated[int, Field(ge=1, le=MAX_ID), WHOLE]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Money(BaseModel):
    """Every amount the API gives: minor units, the currency, and as the shop writes it."""

    amount: int = Field(description="In minor units (cents).")
    currency: str = Field(min_length=3, max_length=3)
    display: str = Field(description="Formatted in the reader's locale.")


class Rendition(BaseModel):
    url: str = Field(description="Absolute URL.")
    width: int
    type: str = Field(description="image/avif, image/webp, image/jpeg or image/png.")


class Image(BaseModel):
    """A picture of a product: the fallback URL and the renditions made of it (a srcset)."""

    id: int | None = Field(description="For DELETE (null: an image address, not an upload).")
    url: str = Field(description="Absolute URL of the largest fallback (JPEG or PNG).")
    width: int
    height: int
    alt: str = Field(description="What a screen reader says, in the answer's locale.")
    renditions: list[Rendition] = Field(description="Empty until they are made (seconds).")


class OptionText(BaseModel):
    name: str
    values: list[str]


class Option(BaseModel):
    """What a shopper chooses, e.g. Size: S, M, L (in the answer's locale)."""

    name: str
    values: list[str]


class Variant(BaseModel):
    id: int = Field(description="Send as variant_id to put this one into a cart.")
    sku: str
    options: dict[str, str] = Field(description='Option name -> value, e.g. {"Size": "M"}.')
    price: Money
    compare_at_price: Money | None
    stock: int
    in_stock: bool
    image: str | None = Field(description="Absolute URL of its own picture, if it has one.")


class Product(BaseModel):
    id: int
    sku: str
    slug: str
    title: str
    description: str
    price: Money
    compare_at_price: Money | None
    stock: int
    in_stock: bool
    active: bool
    featured: bool
    image: str = Field(description="Absolute URL of the product's image.")
    categories: list[str]
    locale: str = Field(
        description="The locale title and description are in (Accept-Language or ?locale=)."
    )
    translations: dict[str, ProductText] = Field(
        description="Title and description in the shop's other locales, by locale."
    )
    images: list[Image] = Field(description="In order; the first is the main one.")
    options: list[Option] = Field(description="Empty: no variants.")
    variants: list[Variant] = Field(
        description="Each combination of the options; a cart line needs one of them."
    )
    meta_title: str | None = Field(
        None,
        description="The title search engines show, in the answer's locale "
        "(null: made from the title and the shop's name).",
    )
    meta_description: str | None = Field(
        None,
        description="The description search engines show, in the answer's locale "
        "(null: made from the description).",
    )
    rating_count: int = Field(description="Its published reviews (GET .../reviews lists them).")
    rating_average: str | None = Field(
        description='Their average rating to one decimal, e.g. "4.5"; null without reviews.'
    )


class AdminOption(BaseModel):
    """An option as stored: in the shop's language, with its translations."""

    name: str
    values: list[str]
    translations: dict[str, OptionText]


class AdminProduct(Product):
    """A product as staff see it: hidden ones too, with what only staff change."""

    option_definitions: list[AdminOption] = Field(
        description="The options in the shop's language (what PUT .../options takes)."
    )
    tax_class: str
    gift_card: bool = Field(
        False, description="A gift card: each unit bought becomes a card worth its price."
    )
    image_url: str | None = Field(description="As stored (null: the generated picture).")
    meta_title: str | None = Field(
        None, description="The title search engines show (null: the title and the shop's name)."
    )
    meta_description: str | None = Field(
        None, description="The description search engines show (null: the description's start)."
    )
    created_at: str = Field(description="UTC, ISO 8601.")
    updated_at: str = Field(description="UTC, ISO 8601; any change moves it.")


class Category(BaseModel):
    slug: str
    name: str
    children: list[Category]


class AdminCategory(BaseModel):
    slug: str
    name: str
    parent: str | None = Field(description="The parent's slug (one level of nesting).")
    position: int
    meta_title: str | None = Field(
        None, description="The title search engines show (null: the name and the shop's name)."
    )
    meta_description: str | None = Field(
        None, description="The description search engines show (null: made from the name)."
    )
    translations: dict[str, dict[str, str]]


CategoryName = Annotated[str, Field(min_length=1, max_length=200)]
CategorySlug = Annotated[str, Field(min_length=1, max_length=120, pattern=SLUG_PATTERN)]
Position = Annotated[int, Field(ge=0, le=10_000), WHOLE]
# What search engines show for the category (null: made from its name).
CategoryMetaTitle = Annotated[str, Field(max_length=200)] | None
CategoryMetaDescription = Annotated[str, Field(max_length=320)] | None


class NameText(_In):
    """A category's name, and what search engines show, in one of the shop's other locales
    (a field not sent keeps its text; empty removes it)."""

    name: str = Field("", max_length=200)
    meta_title: str = Field("", max_length=200)
    meta_description: str = Field("", max_length=320)


NameTranslations = Annotated[
    dict[Annotated[str, Field(min_length=2, max_length=16)], NameText],
    Field(max_length=MAX_TRANSLATIONS),
]


class CategoryIn(_In):
    name: CategoryName
    slug: CategorySlug | None = Field(None, description="From the name when not given.")
    parent: CategorySlug | None = None
    position: Position = 0
    translations: NameTranslations = Field({}, description='{"de": {"name": "Zelte"}}')
    meta_title: CategoryMetaTitle = None
    meta_description: CategoryMetaDescription = None


def _not_nullable(*names: str) -> Any:
    """The document says what the model enforces: these fields, if sent, are not null."""

    def edit(schema: dict[str, Any]) -> None:
        for name in names:
            field = schema["properties"][name]
            options = [o for o in field.pop("anyOf", []) if o.get("type") != "null"]
            field.pop("default", None)
            if options:
                field.update(options[0])

    return edit


class CategoryPatch(_In):
    """Only the fields sent change; ``parent: null`` makes it a top-level category."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra=_not_nullable("name", "position", "translations"),
    )

    name: CategoryName | None = None
    parent: CategorySlug | None = None
    position: Position | None = None
    translations: NameTranslations | None = None
    meta_title: CategoryMetaTitle = None
    meta_description: CategoryMetaDescription = None

    @model_validator(mode="after")
    def _sent_not_null(self) -> CategoryPatch:
        for name in ("name", "position", "translations"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(_("%(name)s may not be null", name=name))
        return self


class CartProduct(BaseModel):
    id: int
    slug: str
    title: str


class CartVariant(BaseModel):
    id: int
    sku: str
    label: str = Field(description='The options chosen, e.g. "M / Red".')


class CartLine(BaseModel):
    id: int
    product: CartProduct
    variant: CartVariant | None
    quantity: int
    unit_price: Money
    line_total: Money


class TaxLine(BaseModel):
    rate: str = Field(description='Percent, e.g. "19" or "8.25".')
    amount: Money


class Totals(BaseModel):
    """What checkout charges (a cart's, for a country) or charged (an order's)."""

    subtotal: Money
    discount: Money = Field(description="Off the lines.")
    discount_code: str | None
    shipping: Money
    tax: Money = Field(description="All the tax: included in total, or added to it.")
    tax_included: bool
    tax_lines: list[TaxLine]
    total: Money
    gift_card: Money | None = Field(
        None, description="What gift cards paid of the total (an order's; null: none)."
    )
    amount_due: Money | None = Field(
        None, description="What the payment method takes: the total less gift cards."
    )


class CartTotals(Totals):
    """The totals for ``?country=`` (ISO code) and ``?discount_code=``."""

    country: str
    ships: bool = Field(description="Whether the shop ships to the country.")
    shipping_rate: str | None = Field(description="The rate's name (send it at checkout).")
    discount_error: str | None = Field(description="Why the code does not apply, if not.")


class Cart(BaseModel):
    token: str | None = Field(
        description="Send it back as X-Cart-Token to keep this cart without a cookie "
        "(null: the cart of the signed-in account, or none yet)."
    )
    items: list[CartLine]
    count: int
    subtotal: Money
    totals: CartTotals | None = Field(
        None, description="With ?country= (and ?discount_code=): the totals checkout charges."
    )


class OrderLine(BaseModel):
    product_id: int | None = Field(
        description="The product (GET /products by its slug, /admin/products/{id}); null "
        "once the product was deleted: the line keeps its SKU, title and price."
    )
    variant_id: int | None = Field(
        description="The variant bought (Product.variants); null for a product without "
        "variants, or once the variant or its product was deleted."
    )
    sku: str
    title: str
    variant: str | None = Field(description='The options chosen, e.g. "M / Red".')
    quantity: int
    unit_price: Money
    line_total: Money


class Order(BaseModel):
    number: str
    status: OrderStatus  # type: ignore[valid-type]
    created_at: str = Field(description="UTC, ISO 8601.")
    email: str
    lines: list[OrderLine]
    currency: str
    totals: Totals
    payment_method: str
    carrier: str | None = None
    tracking_number: str | None = None
    allowed_statuses: list[OrderStatus] = Field(  # type: ignore[valid-type]
        description="The statuses this order may move to."
    )


class Address(BaseModel):
    name: str
    address: str
    postal_code: str
    city: str
    country: str
    country_area: str = Field("", description="State, province...: where the country has one.")
    city_area: str = Field("", description="District or neighbourhood, where the country has one.")
    sorting_code: str = ""
    phone: str = ""
    lines: list[str] = Field(
        default_factory=list,
        description="The address as its country prints it, the country's name last.",
    )


class AdminOrder(Order):
    updated_at: str = Field(description="UTC, ISO 8601; any change moves it.")
    customer_id: int | None = Field(description="The account, or null for a guest.")
    shipping_address: Address
    refunded: Money
    note: str


class Refund(BaseModel):
    id: int
    amount: Money
    reason: str
    restocked: bool
    created_at: str


class Customer(BaseModel):
    id: int
    email: str
    active: bool
    confirmed: bool
    locale: str | None
    created_at: str = Field(description="UTC, ISO 8601.")


class SavedAddress(BaseModel):
    """An address in the shopper's address book, as stored: checked against its
    country's rules (the postal code in its usual spelling, a state as its key)."""

    id: int
    name: str
    address: str
    city_area: str
    city: str
    country_area: str
    postal_code: str
    sorting_code: str
    country: str = Field(description="ISO 3166-1 alpha-2.")
    phone: str
    is_default: bool = Field(description="Checkout's first choice; one per account.")
    lines: list[str] = Field(
        description="As the country prints it, one line per entry, the country's name last."
    )
    created_at: str = Field(description="UTC, ISO 8601.")


_ADDRESS_DOC = (
    "Held to its country's rules like the address book's page: a field that does not "
    "hold is a 422 naming it (error.fields). GET /checkout/address-fields on the shop "
    "tells which fields a country uses."
)


class AddressIn(_In):
    __doc__ = "A new address. " + _ADDRESS_DOC

    name: str = Field(min_length=1, max_length=200)
    address: str = Field(min_length=1, max_length=300)
    city_area: str = Field("", max_length=100)
    city: str = Field("", max_length=100)
    country_area: str = Field("", max_length=100, description="State or province, if any.")
    postal_code: str = Field("", max_length=20)
    sorting_code: str = Field("", max_length=20)
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2.")
    phone: str = Field("", max_length=40)
    is_default: bool = Field(False, description="Make it the account's default.")


class AddressPatch(_In):
    __doc__ = "Fields to change (the rest stay). " + _ADDRESS_DOC

    name: str | None = Field(None, min_length=1, max_length=200)
    address: str | None = Field(None, min_length=1, max_length=300)
    city_area: str | None = Field(None, max_length=100)
    city: str | None = Field(None, max_length=100)
    country_area: str | None = Field(None, max_length=100)
    postal_code: str | None = Field(None, max_length=20)
    sorting_code: str | None = Field(None, max_length=20)
    country: str | None = Field(None, pattern=r"^[A-Z]{2}$")
    phone: str | None = Field(None, max_length=40)
    is_default: bool | None = Field(
        None, description="true makes it the default (false is refused: choose another)."
    )

    @model_validator(mode="after")
    def _sent_not_null(self) -> AddressPatch:
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(_("%(name)s may not be null", name=name))
        return self


class PageMeta(BaseModel):
    page: int
    per_page: int
    total: int
    pages: int


class CursorMeta(BaseModel):
    limit: int
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null on the last one."
    )


class CatalogPageMeta(PageMeta):
    """A catalog page by number, with cursors to go on from it by cursor."""

    next_cursor: str | None = Field(
        description="The products after this page, as ?cursor=; null on the last page."
    )
    prev_cursor: str | None = Field(
        description="The products before this page, as ?cursor=; null on the first page."
    )


class CatalogCursorMeta(BaseModel):
    """A catalog window by cursor: go on either way (Link: rel=next, rel=prev)."""

    limit: int
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the products after these; null at the end."
    )
    prev_cursor: str | None = Field(
        description="Pass as ?cursor= for the products before these; null at the start."
    )


# A Literal, not an enum: strict validation takes a JSON string for it.
WebhookEvent = Literal[EVENTS]  # type: ignore[valid-type]
WebhookUrl = Annotated[
    str,
    Field(
        min_length=1,
        max_length=500,
        json_schema_extra={"format": "uri"},
        description="https, on a public address (never the platform's own).",
    ),
]
WebhookEvents = Annotated[
    list[WebhookEvent],  # type: ignore[valid-type]
    Field(min_length=1, max_length=len(EVENTS) * 2),
]


class Webhook(BaseModel):
    """One of the shop's webhook endpoints: where its events go (never its secret)."""

    id: int
    url: str
    events: list[WebhookEvent]  # type: ignore[valid-type]
    active: bool = Field(description="False: switched off by hand or after failures.")
    failures: int = Field(description="Deliveries that gave up in a row.")
    disabled_reason: str = Field(description="Why it was switched off, if it was.")
    created_at: str = Field(description="UTC, ISO 8601.")


class WebhookWithSecret(Webhook):
    """An endpoint with its signing secret: answered once, when it is made or renewed."""

    secret: str = Field(
        description="whsec_<base64>: verify deliveries with it (Standard Webhooks). Shown "
        "once: store it now."
    )


class WebhookIn(_In):
    url: WebhookUrl
    events: WebhookEvents
    active: bool = True


class WebhookPatch(_In):
    """Only the fields sent change; active: true switches a failed endpoint on again."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra=_not_nullable("url", "events", "active"),
    )

    url: WebhookUrl | None = None
    events: WebhookEvents | None = None
    active: bool | None = None

    @model_validator(mode="after")
    def _sent_not_null(self) -> WebhookPatch:
        for name in ("url", "events", "active"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(_("%(name)s may not be null", name=name))
        return self


# The API's one language rule (docs/api.md), said where a generated client reads it.
LANGUAGE_RULE = (
    "error.code is the stable machine code: switch on it, in every language. "
    "error.message and the texts in error.fields are for people, in the answer's language: "
    "the one the request negotiates among the shop's languages (?locale=, then the "
    "shop's language cookie, then Accept-Language, else the shop's default), the same "
    "rule as every other text in the answer; Content-Language names it. Their wording "
    "may change."
)


class ErrorBody(BaseModel):
    code: ErrorCode = Field(  # type: ignore[valid-type]
        description="Stable: switch on it. A 409's says which conflict (the Conflict "
        "values); the others name their status (not_found, invalid, …) or the credential "
        "problem (invalid_token, token_expired, insufficient_scope). The same in every "
        "language."
    )
    message: str = Field(
        description="For a person, in the answer's language (Content-Language); may change wording."
    )
    fields: dict[str, str] | None = Field(
        None, description="Field -> what is wrong, in the answer's language."
    )
    limit: str | None = Field(
        None,
        description="plan_limit_reached: the plan's limit (products, staff, storage_bytes, "
        "api_requests_per_minute, webhook_endpoints, mails_per_day, custom_domains, "
        "languages) or the feature it leaves off (api, webhooks, custom_domains).",
    )
    plan: str | None = Field(None, description="plan_limit_reached: the shop's plan.")
    allowed: int | None = Field(None, description="plan_limit_reached: what the plan allows.")
    used: int | None = Field(None, description="plan_limit_reached: what the shop uses.")
    requested: int | None = Field(None, description="plan_limit_reached: how many more asked.")
    upgrade: str | None = Field(
        None, description="plan_limit_reached: the first plan that allows it (null: none)."
    )


class Error(BaseModel):
    model_config = ConfigDict(json_schema_extra={"description": LANGUAGE_RULE})

    error: ErrorBody


class CartItemIn(_In):
    product_id: Id
    variant_id: Id | None = Field(
        None, description="Which variant (Product.variants): needed when the product has any."
    )
    quantity: Annotated[int, Field(ge=1, le=MAX_QUANTITY), WHOLE] = 1


class QuantityIn(_In):
    quantity: Annotated[int, Field(ge=0, le=MAX_QUANTITY), WHOLE] = Field(
        description="0 removes the line."
    )


SHIPPED_ONLY = "Required when something in the cart ships (not for a cart of gift cards only)."


class CheckoutIn(_In):
    """Who buys, where it goes, how it is paid. The cart is the request's (X-Cart-Token,
    or the signed-in account's)."""

    email: Email
    name: str = Field(min_length=1, max_length=200)
    # Needed when something in the cart ships; a cart of gift cards only (mailed) needs
    # none (a 422 names the missing ones otherwise).
    address: str = Field("", max_length=300, description=SHIPPED_ONLY)
    postal_code: str = Field("", max_length=20, description=SHIPPED_ONLY)
    city: str = Field("", max_length=100, description=SHIPPED_ONLY)
    country: str = Field(
        pattern=r"^[A-Z]{2}$",
        description="ISO 3166-1 alpha-2; the billing country when nothing ships.",
    )
    # Optional, so bodies written before them still place orders; the API does not hold
    # an address to its country's rules (the shop's pages do): clients check their own.
    country_area: str = Field("", max_length=100, description="State or province, if any.")
    city_area: str = Field("", max_length=100, description="District, if the country has one.")
    sorting_code: str = Field("", max_length=20)
    phone: str = Field("", max_length=40, description="For the carrier, if a delivery needs it.")
    payment_method: str = Field(
        min_length=1, max_length=32, description="One of GET /checkout/options' methods."
    )
    discount_code: str = Field("", max_length=40)
    gift_card_code: str = Field(
        "",
        max_length=40,
        description="A gift card paying for part or all of the order (see POST "
        "/cart/gift-card); covering all, no payment step follows (the order is paid).",
    )
    gift_card_recipient: Email | None = Field(
        None, description="Who gets the codes of gift cards the cart buys (null: the buyer)."
    )
    shipping_rate: str | None = Field(
        None,
        max_length=100,
        description="The rate the shopper saw (CartTotals.shipping_rate): 409 if it changed.",
    )
    expected_total: Annotated[int, Field(ge=0, le=10**15), WHOLE] | None = Field(
        None,
        description="The total (minor units) the shopper saw: 409 `total_changed`, with the "
        "new `total`, if the order would cost anything else; nothing is placed. With a "
        "gift card, what is left to pay after it (GiftCardCheck.amount_due).",
    )


class Payment(BaseModel):
    method: str
    redirect_url: str | None = Field(description="Send the shopper here to pay (cards).")
    instructions: str = Field(description="What the shopper reads (bank transfer, COD).")


class Placed(BaseModel):
    order: Order
    payment: Payment
    order_url: str = Field(description="The order's page; opens for the shopper without login.")
    order_key: str = Field(
        description="Send as X-Order-Key to read the order later without an account."
    )


class PaymentRetryIn(_In):
    """How to pay again for an order awaiting payment."""

    payment_method: str | None = Field(
        default=None,
        min_length=1,
        max_length=32,
        description="One of GET /checkout/options' methods; the order's own when left out.",
    )


class PaymentMethod(BaseModel):
    code: str
    label: str


class ShippingRate(BaseModel):
    name: str
    label: str
    amount: Money
    free_above: Money | None


class CheckoutOptions(BaseModel):
    countries: list[str] = Field(description="ISO codes the shop ships to.")
    payment_methods: list[PaymentMethod]
    shipping_rate: ShippingRate | None = Field(description="For ?country=, when given.")


class OrderStatusIn(_In):
    """A move of an order along its allowed statuses (staff)."""

    status: str = Field(
        min_length=1,
        max_length=16,
        description="pending → paid | shipped | cancelled; paid → shipped | cancelled | "
        "refunded; shipped → delivered | refunded; delivered → refunded.",
    )
    carrier: str | None = Field(None, max_length=100, description="When shipping.")
    tracking_number: str | None = Field(None, max_length=100, description="When shipping.")


class ShipmentIn(_In):
    carrier: str = Field("", max_length=100)
    tracking_number: str = Field("", max_length=100)


class RefundIn(_In):
    amount: Annotated[int, Field(ge=1, le=MAX_PRICE), WHOLE] = Field(
        description="Minor units; at most what is left to refund."
    )
    reason: str = Field(min_length=1, max_length=200)
    restock: bool = False
    to_gift_card: bool = Field(
        False,
        description="Onto a gift card (the one the order was paid with, else a new one mailed "
        "to the shopper), not through the payment method. What a card paid goes back so.",
    )


class InventoryIn(_In):
    delta: Annotated[int, Field(ge=-MAX_STOCK, le=MAX_STOCK), WHOLE] = Field(
        description="Units to add (negative: to remove); stock never goes below 0."
    )
    variant_id: Id | None = Field(
        None, description="A product with variants keeps its stock on them: which one."
    )


PRINTABLE = r"^[^\x00-\x1f\x7f]*$"  # the same in ECMA and Rust regex
OptionName = Annotated[str, Field(min_length=1, max_length=40, pattern=PRINTABLE)]
OptionValue = Annotated[str, Field(min_length=1, max_length=60, pattern=PRINTABLE)]


class OptionTextIn(_In):
    name: str = Field("", max_length=40, pattern=PRINTABLE)
    values: list[Annotated[str, Field(max_length=60, pattern=PRINTABLE)]] = Field([], max_length=30)


class OptionIn(_In):
    name: OptionName
    values: list[OptionValue] = Field(min_length=1, max_length=30)
    translations: Annotated[
        dict[Annotated[str, Field(min_length=2, max_length=16)], OptionTextIn],
        Field(max_length=MAX_TRANSLATIONS),
    ] = Field({}, description='{"de": {"name": "Größe", "values": ["S", "M"]}}')


class OptionsIn(_In):
    """The product's options, all of them (at most three, at most 100 combinations);
    existing variants carry over where they still fit (renamed values keep theirs)."""

    options: list[OptionIn] = Field(max_length=3)


class VariantPatch(_In):
    """A change to a variant: only the fields sent change; a null price is the product's."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        regex_engine="python-re",  # for Sku (catalog.schemas)
        json_schema_extra=_not_nullable("sku"),
    )

    sku: Sku | None = None
    price: Annotated[int, Field(ge=0, le=MAX_PRICE), WHOLE] | None = None
    compare_at_price: Annotated[int, Field(ge=0, le=MAX_PRICE), WHOLE] | None = None
    image_id: Id | None = Field(None, description="One of the product's images (null: none).")

    @model_validator(mode="after")
    def _sku_not_null(self) -> VariantPatch:
        if "sku" in self.model_fields_set and self.sku is None:
            raise ValueError(_("%(name)s may not be null", name="sku"))
        return self


# Every model the document describes, by the name it has there.
# The account's (api/account.py): signing up, in, and a new password.


class Credentials(_In):
    email: str = Field(min_length=3, max_length=255, json_schema_extra={"format": "email"})
    password: str = Field(
        min_length=8,
        max_length=128,
        description="At least 8 characters; the shop may refuse a common one (422).",
    )


class ResetRequest(_In):
    email: Email


class PasswordReset(_In):
    token: str = Field(
        min_length=1,
        max_length=1000,
        description="From the reset mail: the last part of its link (…/reset/<token>).",
    )
    password: str = Field(
        min_length=8,
        max_length=128,
        description="The new password: at least 8 characters; the shop may refuse a common "
        "one (422).",
    )


class LoginAnswer(BaseModel):
    token: str = Field(description="Send as the Authentication-Token header.")
    expires_in: int = Field(description="Seconds the token lives.")
    customer: Customer


class Registered(BaseModel):
    confirmation_required: bool
    message: str


# Gift cards ---------------------------------------------------------------------------

GiftCardCode = Annotated[
    str,
    Field(
        min_length=1,
        max_length=40,
        pattern=r"\S",
        description="As printed: 16 letters and digits; case, spaces and dashes do not count.",
    ),
]


class GiftCardCheckIn(_In):
    """A gift card code to try on the cart, for a destination (and a discount code)."""

    code: GiftCardCode
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2.")
    discount_code: str = Field("", max_length=40)


class GiftCardCheck(BaseModel):
    """What the card would pay of this cart's total, and what is left to pay."""

    last4: str = Field(description="The code's last four characters.")
    balance: Money
    total: Money = Field(description="The cart's total for the country (and discount code).")
    applied: Money = Field(description="What the card pays of it.")
    amount_due: Money = Field(description="What the payment method takes (0: nothing).")


class GiftCard(BaseModel):
    """A gift card as staff see it (never its code: only its last four are kept readable)."""

    id: int
    last4: str
    initial: Money
    balance: Money
    status: Literal["active", "disabled"]
    source: Literal["manual", "order", "refund"] = Field(
        description="Issued by hand, bought in an order, or made for a refund."
    )
    recipient_email: str
    note: str
    created_at: str = Field(description="UTC, ISO 8601.")
    updated_at: str = Field(description="UTC, ISO 8601; any change moves it.")


class GiftCardMovement(BaseModel):
    """One change of a card's balance (or its switching off), oldest first."""

    id: int
    kind: Literal["issue", "redeem", "release", "refund", "adjust", "disable", "revoke"]
    amount: Money = Field(description="Signed: negative when the card paid.")
    balance_after: Money
    order_number: str | None = None
    actor: str = Field(description="Who made it: a staff address, or empty for checkout.")
    created_at: str = Field(description="UTC, ISO 8601.")


class GiftCardIn(_In):
    """A card issued by hand, in the shop's currency."""

    amount: Annotated[int, Field(ge=1, le=100_000_000), WHOLE] = Field(description="Minor units.")
    recipient_email: Email | None = Field(
        None,
        description="The code is mailed to them (in the shop's language and look). An "
        "address the one email rule refuses (a reserved domain) is a 422 naming the field.",
    )
    note: str = Field("", max_length=500, description="For the staff only.")


class IssuedGiftCard(BaseModel):
    card: GiftCard
    code: str | None = Field(
        description="The code, shown this once (null when a retry answers the first issue)."
    )


DOCUMENTED: tuple[type[BaseModel], ...] = (
    Credentials,
    LoginAnswer,
    Registered,
    ResetRequest,
    PasswordReset,
    SavedAddress,
    AddressIn,
    AddressPatch,
    Money,
    Rendition,
    Image,
    Option,
    OptionText,
    AdminOption,
    Variant,
    OptionIn,
    OptionTextIn,
    OptionsIn,
    VariantPatch,
    CartVariant,
    Product,
    AdminProduct,
    ProductIn,
    ProductPatch,
    Category,
    AdminCategory,
    CategoryIn,
    CategoryPatch,
    NameText,
    CartProduct,
    CartLine,
    Cart,
    CartItemIn,
    QuantityIn,
    CheckoutIn,
    CheckoutOptions,
    PaymentMethod,
    ShippingRate,
    Payment,
    Placed,
    PaymentRetryIn,
    OrderStatusIn,
    ShipmentIn,
    RefundIn,
    Refund,
    InventoryIn,
    OrderLine,
    TaxLine,
    Totals,
    CartTotals,
    Order,
    Address,
    AdminOrder,
    Customer,
    PageMeta,
    CursorMeta,
    CatalogPageMeta,
    CatalogCursorMeta,
    Webhook,
    WebhookWithSecret,
    WebhookIn,
    WebhookPatch,
    ErrorBody,
    Error,
    GiftCardCheckIn,
    GiftCardCheck,
    GiftCard,
    GiftCardMovement,
    GiftCardIn,
    IssuedGiftCard,
    *REVIEW_MODELS,
)
