"""The product's rules, written once: the API, the CSV import, the dashboard's form and the
OpenAPI document all validate through these models (CTFd's way: one pydantic model per
resource, fed to the docs too)."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from flask_babel import gettext as _
from flask_babel import ngettext
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from ..i18n import current_locale
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
    """A product's title, description and what search engines show, in one of the shop's
    other locales. A field sent replaces that locale's (empty: removes it); a field not
    sent keeps its text."""

    model_config = ConfigDict(extra="forbid", strict=True)

    title: Annotated[str, Field(max_length=200)] = ""
    description: Description = ""
    meta_title: Annotated[str, Field(max_length=200)] = Field(
        "", description="The title search engines show in this locale (empty: from the title)."
    )
    meta_description: Annotated[str, Field(max_length=320)] = Field(
        "", description="The description search engines show in this locale."
    )


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
    gift_card: bool = Field(
        False, description="A gift card: each unit bought is a card worth its price (no stock)."
    )
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
    gift_card: bool | None = None
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
        "gift_card",
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
    """``{"field": "what is wrong"}`` from pydantic's errors, one message per field, in
    the reader's language (pydantic's own are English: ``field_message``)."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"]) or "body"
        errors.setdefault(name, field_message(error))
    return errors


def field_message(error: Any) -> str:
    """One pydantic error said in the reader's language. Our validators' messages are
    translated where they are raised (``ValueError(_(…))``); pydantic's own checks are
    said here by their ``type``. A type not listed keeps pydantic's English in English
    and is a plain "not valid" in the other languages."""
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    if kind in ("value_error", "assertion_error"):
        return str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    said = _pydantic_message(kind, ctx)
    if said is not None:
        return said
    return str(error["msg"]) if current_locale().startswith("en") else _("This value is not valid.")


def _pydantic_message(kind: str, ctx: dict[str, Any]) -> str | None:
    if kind == "missing":
        return _("This field is required.")
    if kind == "extra_forbidden":
        return _("This field is not known here.")
    if kind in ("string_type", "string_unicode", "string_sub_type"):
        return _("Must be text.")
    if kind in ("int_type", "int_parsing", "int_from_float", "int_parsing_size"):
        return _("Must be a whole number.")
    if kind in ("float_type", "float_parsing", "decimal_type", "decimal_parsing", "finite_number"):
        return _("Must be a number.")
    if kind in ("bool_type", "bool_parsing"):
        return _("Must be true or false.")
    if kind in ("list_type", "tuple_type", "set_type"):
        return _("Must be a list.")
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return _("Must be an object.")
    if kind in ("datetime_type", "datetime_parsing", "datetime_from_date_parsing"):
        return _("Must be a date and time in ISO 8601, e.g. 2026-11-25T08:00:00Z.")
    if kind in ("date_type", "date_parsing", "date_from_datetime_parsing"):
        return _("Must be a date in ISO 8601, e.g. 2026-11-25.")
    if kind == "string_too_short" and "min_length" in ctx:
        num = int(ctx["min_length"])
        return ngettext(
            "Must be at least %(num)d character long.",
            "Must be at least %(num)d characters long.",
            num,
        )
    if kind == "string_too_long" and "max_length" in ctx:
        num = int(ctx["max_length"])
        return ngettext(
            "Must be at most %(num)d character long.",
            "Must be at most %(num)d characters long.",
            num,
        )
    if kind == "too_short" and "min_length" in ctx:
        num = int(ctx["min_length"])
        return ngettext(
            "Must hold at least %(num)d item.", "Must hold at least %(num)d items.", num
        )
    if kind == "too_long" and "max_length" in ctx:
        num = int(ctx["max_length"])
        return ngettext("Must hold at most %(num)d item.", "Must hold at most %(num)d items.", num)
    limit = ctx.get({"greater_than_equal": "ge", "greater_than": "gt"}.get(kind, ""))
    if limit is not None:
        if kind == "greater_than_equal":
            return _("Must be %(limit)s or more.", limit=limit)
        return _("Must be more than %(limit)s.", limit=limit)
    limit = ctx.get({"less_than_equal": "le", "less_than": "lt"}.get(kind, ""))
    if limit is not None:
        if kind == "less_than_equal":
            return _("Must be %(limit)s or less.", limit=limit)
        return _("Must be less than %(limit)s.", limit=limit)
    if kind == "multiple_of" and "multiple_of" in ctx:
        return _("Must be a multiple of %(limit)s.", limit=ctx["multiple_of"])
    if kind == "string_pattern_mismatch" and "pattern" in ctx:
        return _("Must match the pattern %(pattern)s.", pattern=ctx["pattern"])
    if kind in ("literal_error", "enum") and "expected" in ctx:
        # pydantic says "'a', 'b' or 'c'" (English); the values alone, comma-separated.
        values = re.findall(r"'((?:[^'\\]|\\.)*)'", str(ctx["expected"])) or [str(ctx["expected"])]
        return _("Must be one of: %(values)s.", values=", ".join(values))
    return None


def check_product(values: dict[str, Any], partial: bool = False) -> dict[str, Any]:
    """Validate product fields (already parsed: money in minor units) against the schema.

    Returns the fields as the model has them; raises ``ValidationError``.
    """
    if partial:
        return ProductPatch.model_validate(values).changes()
    return ProductIn.model_validate(values).model_dump(exclude_unset=True)
