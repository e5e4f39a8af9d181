"""The product's rules, written once: the API, the CSV import, the dashboard's form and the
OpenAPI document all validate through these models (CTFd's way: one pydantic model per
resource, fed to the docs too)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from .models import IMAGE_URL_MAX, IMAGE_URL_PATTERN, check_image_url

MAX_PRICE = 2_000_000_000  # minor units: what an INT column holds, with room to add
MAX_STOCK = 1_000_000
MAX_DESCRIPTION = 20_000
MAX_CATEGORIES = 50
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


def _whole(value: Any) -> Any:
    """JSON Schema counts ``14.0`` as an integer: take it as 14 (``14.5`` stays refused)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# An integer as JSON Schema has it (strict models refuse "14" and true, take 14.0).
WHOLE = BeforeValidator(_whole)

# Identifiers are exact (docs/decisions.md), so spaces at either end are stripped: ``x ``
# is ``x``. The document's limits hold for what is sent (1 to 64 characters, a visible one
# among them, as JSON Schema's unanchored pattern says) and the value is stripped after, so
# the server takes exactly what the document allows. The models using it run Python's
# regex engine: its ``\S`` is what ``str.strip`` keeps.
Sku = Annotated[str, Field(min_length=1, max_length=64, pattern=r"\S"), AfterValidator(str.strip)]
Title = Annotated[str, Field(min_length=1, max_length=200)]
Price = Annotated[int, Field(ge=0, le=MAX_PRICE), WHOLE]
Slug = Annotated[str, Field(min_length=1, max_length=120, pattern=SLUG_PATTERN)]
Description = Annotated[str, Field(max_length=MAX_DESCRIPTION)]
Stock = Annotated[int, Field(ge=0, le=MAX_STOCK), WHOLE]
ImageUrl = Annotated[
    Annotated[
        str, Field(max_length=IMAGE_URL_MAX, json_schema_extra={"pattern": IMAGE_URL_PATTERN})
    ]
    | None,
    AfterValidator(check_image_url),
]
# What search engines show (storefront.seo); null or absent: made from the content.
MetaTitle = Annotated[str, Field(max_length=200)] | None
MetaDescription = Annotated[str, Field(max_length=320)] | None
CategorySlugs = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=120)]],
    Field(max_length=MAX_CATEGORIES),
]


MAX_TRANSLATIONS = 10
TaxClass = Literal["standard", "reduced", "zero"]


class ProductText(BaseModel):
    """A product's title and description in one of the shop's other locales."""

    model_config = ConfigDict(extra="forbid", strict=True)

    title: Annotated[str, Field(max_length=200)] = ""
    description: Description = ""


Translations = Annotated[
    dict[Annotated[str, Field(min_length=2, max_length=16)], ProductText],
    Field(max_length=MAX_TRANSLATIONS),
]


class ProductIn(BaseModel):
    """A new product. Prices are in minor units (cents)."""

    model_config = ConfigDict(extra="forbid", strict=True, regex_engine="python-re")

    sku: Sku
    title: Title
    price: Price
    slug: Slug | None = None
    description: Description = ""
    compare_at_price: Price | None = None
    stock: Stock = 0
    active: bool = True
    featured: bool = False
    image_url: ImageUrl = None
    categories: CategorySlugs = []
    translations: Translations = {}
    tax_class: TaxClass = "standard"
    meta_title: MetaTitle = None
    meta_description: MetaDescription = None


def _no_null_where_refused(schema: dict[str, Any]) -> None:
    """The document says what ``changes`` enforces: ``null`` only where a product may
    lack the field (``compare_at_price``, ``image_url``)."""
    for name in ProductPatch.NOT_NULL:
        field = schema["properties"][name]
        options = [o for o in field.pop("anyOf", []) if o.get("type") != "null"]
        field.pop("default", None)
        if options:
            field.update(options[0])


class ProductPatch(BaseModel):
    """A change to a product: only the fields sent change; ``null`` only where allowed."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        regex_engine="python-re",
        json_schema_extra=_no_null_where_refused,
    )

    sku: Sku | None = None
    title: Title | None = None
    price: Price | None = None
    slug: Slug | None = None
    description: Description | None = None
    compare_at_price: Price | None = None
    stock: Stock | None = None
    active: bool | None = None
    featured: bool | None = None
    image_url: ImageUrl = None
    categories: CategorySlugs | None = None
    translations: Translations | None = None
    tax_class: TaxClass | None = None
    meta_title: MetaTitle = None
    meta_description: MetaDescription = None

    # Fields that exist on every product: sent as null they are an error, not "unset".
    NOT_NULL: ClassVar[tuple[str, ...]] = (
        "sku",
        "title",
        "price",
        "slug",
        "description",
        "stock",
        "active",
        "featured",
        "tax_class",
    )

    def changes(self) -> dict[str, Any]:
        """The fields that were sent; raises ``ValueError`` for a null one that may not be."""
        sent = self.model_dump(exclude_unset=True)
        nulls = [name for name in self.NOT_NULL if name in sent and sent[name] is None]
        if nulls:
            raise NullField(nulls)
        return sent


class NullField(ValueError):
    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = names


def field_errors(exc: ValidationError) -> dict[str, str]:
    """``{"field": "what is wrong"}`` from pydantic's errors, one message per field."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"]) or "body"
        message = error["msg"].removeprefix("Value error, ")
        errors.setdefault(name, message)
    return errors


def check_product(values: dict[str, Any], partial: bool = False) -> dict[str, Any]:
    """Validate product fields (already parsed: money in minor units) against the schema.

    Returns the fields as the model has them; raises ``ValidationError``.
    """
    if partial:
        return ProductPatch.model_validate(values).changes()
    return ProductIn.model_validate(values).model_dump(exclude_unset=True)
