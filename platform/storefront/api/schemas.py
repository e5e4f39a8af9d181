"""The API's request and response models. The OpenAPI document's schemas are generated
from these, and every response is built through them, so the two cannot drift."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ..cart.services import MAX_QUANTITY
from ..catalog.schemas import ProductIn, ProductPatch, ProductText
from ..listing import MAX_ID

__all__ = [
    "Cart",
    "CartItemIn",
    "CartLine",
    "CartProduct",
    "Category",
    "Error",
    "ErrorBody",
    "Money",
    "Order",
    "OrderLine",
    "PageMeta",
    "Product",
    "ProductIn",
    "ProductPatch",
    "QuantityIn",
]


class Money(BaseModel):
    amount: int = Field(description="In minor units (cents).")
    currency: str = Field(min_length=3, max_length=3)
    display: str = Field(description="Formatted in the shop's locale.")


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
    image: str
    categories: list[str]
    locale: str = Field(
        description="The locale title and description are in (Accept-Language or ?locale=)."
    )
    translations: dict[str, ProductText] = Field(
        description="Title and description in the shop's other locales, by locale."
    )


class Category(BaseModel):
    slug: str
    name: str
    children: list[Category]


class CartProduct(BaseModel):
    id: int
    slug: str
    title: str


class CartLine(BaseModel):
    id: int
    product: CartProduct
    quantity: int
    line_total: Money


class TaxLine(BaseModel):
    rate: str = Field(description='Percent, e.g. "19" or "8.25".')
    amount: int


class CartTotals(BaseModel):
    """What checkout would charge, for ``?country=`` (ISO code) and ``?discount_code=``."""

    country: str
    ships: bool = Field(description="Whether the shop ships to the country.")
    discount_code: str | None
    discount: int
    discount_error: str | None = Field(description="Why the code does not apply, if not.")
    shipping: int
    tax: int
    tax_included: bool
    tax_lines: list[TaxLine]
    total: int


class Cart(BaseModel):
    items: list[CartLine]
    count: int
    subtotal: Money
    totals: CartTotals | None = Field(
        None, description="With ?country= (and ?discount_code=): the totals checkout charges."
    )


class OrderLine(BaseModel):
    sku: str
    title: str
    quantity: int
    unit_price: int
    line_total: int


class Order(BaseModel):
    number: str
    status: str
    created_at: str = Field(description="UTC, ISO 8601.")
    email: str
    lines: list[OrderLine]
    currency: str
    subtotal: int
    discount: int = Field(description="Off the lines, minor units.")
    discount_code: str | None = None
    shipping: int
    tax: int = Field(description="All the tax, minor units: included in total, or added.")
    tax_included: bool
    tax_lines: list[TaxLine]
    total: int
    total_display: str
    carrier: str | None = None
    tracking_number: str | None = None
    allowed_statuses: list[str] = Field(description="The statuses this order may move to.")


class PageMeta(BaseModel):
    page: int
    per_page: int
    total: int
    pages: int


class ErrorBody(BaseModel):
    code: str
    message: str
    fields: dict[str, str] | None = Field(None, description="Field -> what is wrong.")


class Error(BaseModel):
    error: ErrorBody


class CartItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    product_id: int = Field(ge=1, le=MAX_ID)
    quantity: int = Field(1, ge=1, le=MAX_QUANTITY)


class OrderStatusIn(BaseModel):
    """A move of an order along its allowed statuses (staff)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    status: str = Field(
        max_length=16,
        description="pending → paid | shipped | cancelled; paid → shipped | cancelled | "
        "refunded; shipped → delivered | refunded; delivered → refunded.",
    )
    carrier: str | None = Field(None, max_length=100, description="When shipping.")
    tracking_number: str | None = Field(None, max_length=100, description="When shipping.")


class QuantityIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    quantity: int = Field(ge=0, le=MAX_QUANTITY, description="0 removes the line.")


# Every model the document describes, by the name it has there.
DOCUMENTED: tuple[type[BaseModel], ...] = (
    Money,
    Product,
    ProductIn,
    ProductPatch,
    Category,
    CartProduct,
    CartLine,
    Cart,
    CartItemIn,
    QuantityIn,
    OrderStatusIn,
    OrderLine,
    TaxLine,
    CartTotals,
    Order,
    PageMeta,
    ErrorBody,
    Error,
)
