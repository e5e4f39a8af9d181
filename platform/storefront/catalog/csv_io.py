"""Catalog CSV import and export (``tenantctl catalog import|export``).

Columns: ``sku,title,price,stock,description,compare_at_price,categories,active,featured,
image_url,slug,tax_class``, and ``title:<locale>`` / ``description:<locale>`` for each of the shop's
other languages (``title:de`` or ``title:de_DE``). Only ``sku``, ``title`` and ``price``
are required. Prices are in major
units (``19.99``); ``categories`` lists category slugs separated by ``;`` (ones the shop
lacks are created); booleans are
``true``/``false`` (also ``yes``/``no``, ``1``/``0``). A row whose SKU exists updates
that product; any other row creates one.

Variants: the product's row names its options in ``options`` (``Size;Colour``, and
``options:de`` in another language); each variant is a row of its own after it, with
``variant_of`` (the product's SKU), its own ``sku``, its ``values`` (``M;Red``, and
``values:de``) and, where it differs, its ``price``, ``compare_at_price`` and ``stock``.

Every row is checked before anything is written: one bad row means nothing changes, and
the error names its line and column.

A column in a language the shop does not offer (``title:fr`` from a shop that speaks
French, imported into one that does not) is skipped, with one warning naming every such
column: a shop holds translations only for its own languages (``merge_translations``).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from babel import Locale, UnknownLocaleError
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select

from ..csvcells import read_cell, safe_cell
from ..extensions import db
from ..i18n import match_locale, other_locales, shop_locales_of_bound, url_tags
from . import variants
from .bulk import ProductIn, upsert_products
from .loading import load_variants
from .models import Category, Product
from .money import parse_money, shop_currency, to_major
from .schemas import SLUG_PATTERN
from .schemas import ProductIn as ProductSchema
from .services import CatalogError, create_category, product_by_sku

COLUMNS = (
    "sku",
    "title",
    "price",
    "stock",
    "description",
    "compare_at_price",
    "categories",
    "active",
    "featured",
    "image_url",
    "slug",
    "tax_class",
    "options",
    "variant_of",
    "values",
)
REQUIRED = ("sku", "title", "price")
VARIANT_COLUMNS = ("sku", "variant_of", "values", "price", "compare_at_price", "stock")
TRANSLATED = ("title", "description", "options", "values")  # title:de, values:de, …
TRUE, FALSE = {"true", "yes", "1", "y"}, {"false", "no", "0", "n", ""}
MAX_ROWS = 100_000
Localized = dict[str, tuple[str, str]]  # column -> (field, locale), e.g. title:de
# The product schema (the API's and the dashboard's), applied to a whole file's rows in
# one call: pydantic's per-call overhead once, not once per row.
PRODUCTS = TypeAdapter(list[ProductSchema])


class ImportError_(ValueError):  # not the builtin ImportError
    """The file cannot be imported; ``problems`` lists every bad line."""

    def __init__(self, problems: list[str]) -> None:
        shown = problems[:20] + (
            [f"... and {len(problems) - 20} more"] if len(problems) > 20 else []
        )
        # One problem on one line (the CLI's error line); several, one per line.
        sep = " " if len(shown) == 1 else "\n"
        super().__init__("nothing imported:" + sep + "\n".join(shown))
        self.problems = problems


@dataclass
class Row:
    line: int
    sku: str
    fields: dict[str, Any]
    categories: list[str] | None
    options: list[str] | None = None  # option names (a product with variants)
    option_translations: dict[str, list[str]] | None = None


@dataclass
class VariantRow:
    line: int
    sku: str
    parent: str  # the product's SKU
    values: list[str]
    translations: dict[str, list[str]]
    price: int | None
    compare_at_price: int | None
    stock: int | None


def _bool(value: str, column: str) -> bool:
    lowered = value.strip().lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise ValueError(f"{column}: {value!r} is not true or false")


def _locale_column(column: str) -> tuple[str, str] | None:
    """``title:de`` -> ("title", "de_DE") when the shop speaks it; None otherwise."""
    field, _sep, wanted = column.partition(":")
    if field not in TRANSLATED or not wanted:
        return None
    locale = match_locale(wanted, other_locales())
    return (field, locale) if locale else None


def _foreign_language(column: str) -> bool:
    """``title:fr`` in a shop without French: a translated field in a real language the
    shop does not offer (its default, or none of its locales). A typo stays unknown."""
    field, _sep, wanted = column.partition(":")
    if field not in TRANSLATED or not wanted or len(wanted) > 20:
        return False
    try:
        Locale.parse(wanted.strip().replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return False
    return True


def export_columns() -> tuple[str, ...]:
    """The import format's columns, with the shop's other languages (``title:de``)."""
    locales = other_locales()
    tags = {loc: tag for tag, loc in url_tags(shop_locales_of_bound()).items()}
    return COLUMNS + tuple(f"{field}:{tags[loc]}" for loc in locales for field in TRANSLATED)


def parse_rows(
    lines: Iterable[str], warn: Callable[[str], None] | None = None
) -> list[Row | VariantRow]:
    """Read and check every row; raise ImportError_ listing all problems. Columns in
    languages the shop does not offer are skipped, and ``warn`` gets one line naming them."""
    reader = csv.DictReader(lines)
    try:
        header = [h.strip() for h in reader.fieldnames or []]
    except csv.Error as exc:
        raise ImportError_([_unreadable(reader, exc)]) from None
    missing = [c for c in REQUIRED if c not in header]
    outside = [c for c in header if c not in COLUMNS and not _locale_column(c)]
    skipped = [c for c in outside if _foreign_language(c)]
    unknown = [c for c in outside if c not in skipped]
    if missing or unknown:
        header_problems = []
        if missing:
            header_problems.append(f"line 1: missing column(s): {', '.join(missing)}")
        if unknown:
            header_problems.append(
                f"line 1: unknown column(s): {', '.join(unknown)} (known: {', '.join(COLUMNS)})"
            )
        raise ImportError_(header_problems)
    if skipped and warn is not None:
        warn(
            f"skipped column(s) in a language the shop does not offer: {', '.join(skipped)} "
            f"(its languages: {', '.join(shop_locales_of_bound())})"
        )
    reader.fieldnames = header
    # Which columns carry another language ("title:de" -> ("title", "de_DE")): once per
    # file, not once per cell.
    localized = {c: hit for c in header if (hit := _locale_column(c))}
    currency = shop_currency()
    known_categories = set(db.session.scalars(select(Category.slug)))
    rows: list[Row | VariantRow] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for record in _records(reader, problems):
        line = reader.line_num
        if len(rows) >= MAX_ROWS:
            raise ImportError_([f"more than {MAX_ROWS} rows: split the file"])
        if None in record:
            problems.append(f"line {line}: more values than columns")
            continue
        values = {k: read_cell((v or "").strip()) for k, v in record.items() if k not in skipped}
        try:
            if values.get("variant_of"):
                rows.append(_check_variant(line, values, currency, seen, localized))
            else:
                rows.append(_check_row(line, values, currency, known_categories, seen, localized))
        except ValueError as exc:
            problems.append(f"line {line}: {exc}")
    problems += _check_schema([row for row in rows if isinstance(row, Row)])
    problems += _check_families(rows)
    if problems:
        raise ImportError_(sorted(problems, key=_line_of))
    if not rows:
        raise ImportError_(["the file has a header but no rows"])
    return rows


def _records(reader: csv.DictReader[str], problems: list[str]) -> Iterator[dict[str, Any]]:
    """The file's records, until a line the csv module cannot read: that line becomes a
    problem naming it (a cell past the field limit, a stray quote), never a traceback."""
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            problems.append(_unreadable(reader, exc))
            return
        yield record


def _unreadable(reader: csv.DictReader[str], exc: csv.Error) -> str:
    reason = str(exc)
    if "field larger than field limit" in reason:
        reason = f"a cell is longer than {csv.field_size_limit():,} characters"
    return f"line {reader.reader.line_num}: {reason}"  # DictReader's own lags on errors


def _line_of(problem: str) -> int:
    """The line a problem names ("line 12: …"), to list them in the file's order."""
    found = re.match(r"line (\d+):", problem)
    return int(found.group(1)) if found else 0


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(";")] if text.strip() else []


def _translated(values: dict[str, str], field: str, localized: Localized) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for column, (of, locale) in localized.items():
        value = values.get(column, "")
        if of == field and value.strip():
            found[locale] = _split(value)
    return found


def _check_variant(
    line: int, values: dict[str, str], currency: str, seen: dict[str, int], localized: Localized
) -> VariantRow:
    """A variant's row: its SKU, its product's, its option values, and what differs."""
    extra = [
        c
        for c, v in values.items()
        if v and c not in VARIANT_COLUMNS and localized.get(c, ("", ""))[0] != "values"
    ]
    if extra:
        raise ValueError(f"a variant's row only has {', '.join(VARIANT_COLUMNS)} (not {extra[0]})")
    sku = values.get("sku", "")
    if not sku or len(sku) > 64:
        raise ValueError("sku: a variant needs a SKU of 1 to 64 characters")
    if sku in seen:
        raise ValueError(f"sku {sku!r} already appears on line {seen[sku]}")
    seen[sku] = line
    money: dict[str, int | None] = {}
    for column in ("price", "compare_at_price"):
        try:
            money[column] = parse_money(values[column], currency) if values.get(column) else None
        except ValueError as exc:
            raise ValueError(f"{column}: {exc}") from None
    stock = values.get("stock", "")
    if stock and not stock.isdigit():
        raise ValueError(f"stock: {stock!r} is not a whole number of 0 or more")
    chosen = _split(values.get("values", ""))
    if not chosen or not all(chosen):
        raise ValueError("values: name the variant's value of each option, e.g. M;Red")
    return VariantRow(
        line,
        sku,
        values["variant_of"],
        chosen,
        _translated(values, "values", localized),
        money["price"],
        money["compare_at_price"],
        int(stock) if stock else None,
    )


def _check_families(rows: list[Row | VariantRow]) -> list[str]:
    """Each variant row follows a product row of the file (or an existing product) with
    options, and gives one value per option."""
    problems = []
    products = {row.sku: row for row in rows if isinstance(row, Row)}
    parents = {row.parent for row in rows if isinstance(row, VariantRow)} - set(products)
    existing = _existing_options(parents)
    for row in rows:
        if not isinstance(row, VariantRow):
            continue
        parent = products.get(row.parent)
        names = parent.options if parent is not None else existing.get(row.parent)
        if names is None:
            problems.append(f"line {row.line}: variant_of: no product {row.parent!r}")
        elif not names:
            problems.append(
                f"line {row.line}: product {row.parent!r} has no options (its row's "
                "options column names them, e.g. Size;Colour)"
            )
        elif len(row.values) != len(names):
            problems.append(
                f"line {row.line}: values: {len(names)} option(s) ({';'.join(names)}), "
                f"{len(row.values)} value(s) given"
            )
    return problems


def _existing_options(skus: set[str]) -> dict[str, list[str]]:
    """The option names of the shop's products with these SKUs (one statement)."""
    if not skus:
        return {}
    rows = db.session.execute(select(Product.sku, Product.options).where(Product.sku.in_(skus)))
    return {sku: [o["name"] for o in options or []] for sku, options in rows}


def _check_row(
    line: int,
    values: dict[str, str],
    currency: str,
    known: set[str],
    seen: dict[str, int],
    localized: Localized,
) -> Row:
    """Parse a row's text (money, numbers, booleans, lists), then hold it to the product
    schema, the same one the API and the dashboard use."""
    for column in REQUIRED:
        if not values.get(column):
            raise ValueError(f"{column} is empty")
    sku = values["sku"]
    if sku in seen:
        raise ValueError(f"sku {sku!r} already appears on line {seen[sku]}")
    seen[sku] = line
    parsed: dict[str, Any] = {"sku": sku, "title": values["title"]}
    for column in ("price", "compare_at_price"):
        if values.get(column):
            try:
                parsed[column] = parse_money(values[column], currency)
            except ValueError as exc:
                raise ValueError(f"{column}: {exc}") from None
    if values.get("stock"):
        if not values["stock"].isdigit():
            raise ValueError(f"stock: {values['stock']!r} is not a whole number of 0 or more")
        parsed["stock"] = int(values["stock"])
    for column in ("active", "featured"):
        if values.get(column):
            parsed[column] = _bool(values[column], column)
    for column in ("description", "image_url", "slug", "tax_class"):
        if values.get(column) or (column == "description" and column in values):
            parsed[column] = values[column]
    translations: dict[str, dict[str, str]] = {}
    for column, (field, locale) in localized.items():
        if field in ("title", "description") and column in values:
            translations.setdefault(locale, {})[field] = values[column]
    if translations:
        parsed["translations"] = translations
    categories = None
    if "categories" in values:
        categories = [c.strip() for c in values["categories"].split(";") if c.strip()]
        parsed["categories"] = categories
        # A category the shop lacks is made on import (from its slug): a catalog exported
        # from one shop imports into a fresh one.
        malformed = [c for c in categories if c not in known and not _is_slug(c)]
        if malformed:
            raise ValueError(
                f"categories: {malformed[0]!r} is not a category slug "
                "(lowercase letters, digits and hyphens, e.g. camping-gear)"
            )
    options = _split(values["options"]) if "options" in values else None
    # ``parsed`` is held to the product schema with the file's other rows (_check_schema).
    return Row(line, sku, parsed, categories, options, _translated(values, "options", localized))


def _check_schema(rows: list[Row]) -> list[str]:
    """Hold every product row's parsed fields to the product schema, in one call; each
    row's ``fields`` become what the schema made of them. Returns the problems by line."""
    try:
        checked = PRODUCTS.dump_python(
            PRODUCTS.validate_python([row.fields for row in rows]), exclude_unset=True
        )
    except ValidationError as exc:
        wrong: dict[int, dict[str, str]] = {}
        for error in exc.errors():
            index, *where = error["loc"]
            name = ".".join(str(part) for part in where) or "row"
            message = error["msg"].removeprefix("Value error, ")
            wrong.setdefault(int(index), {}).setdefault(name, message)
        return [
            f"line {rows[i].line}: " + "; ".join(f"{k}: {v}" for k, v in fields.items())
            for i, fields in sorted(wrong.items())
        ]
    for row, fields in zip(rows, checked, strict=True):
        fields.pop("sku")
        fields.pop("categories", None)
        row.fields = fields
    return []


def _is_slug(text: str) -> bool:
    return len(text) <= 120 and re.fullmatch(SLUG_PATTERN, text) is not None


def new_categories(rows: list[Row | VariantRow]) -> list[str]:
    """The category slugs the rows name that the shop does not have yet."""
    known = set(db.session.scalars(select(Category.slug)))
    wanted = dict.fromkeys(c for row in rows if isinstance(row, Row) for c in row.categories or [])
    return [slug for slug in wanted if slug not in known]


def import_rows(
    rows: list[Row | VariantRow], progress: Callable[[int, int], None] | None = None
) -> tuple[int, int]:
    """Write checked rows (flushes; the caller commits, once); returns (created, updated)
    products. Categories the rows name and the shop lacks are created first, named after
    their slug (``camping-gear`` → "Camping gear"; rename them in the dashboard). Then the
    variants of each product whose row names options."""
    for slug in new_categories(rows):
        create_category(slug.replace("-", " ").capitalize(), slug)
    products = [row for row in rows if isinstance(row, Row)]
    for row in products:
        if row.options:  # its stock is its variants' (their rows carry it)
            row.fields.pop("stock", None)
    items = [ProductIn(row.line, row.sku, row.fields, row.categories) for row in products]
    try:
        created, updated = upsert_products(items, progress)
    except CatalogError as exc:
        raise ImportError_([str(exc)]) from None
    _import_variants(products, [row for row in rows if isinstance(row, VariantRow)])
    return created, updated


def _import_variants(products: list[Row], variant_rows: list[VariantRow]) -> None:
    """Give each product the options its row names and its variant rows' values; then
    each variant its SKU, prices and stock (moved by delta: the sum stays right)."""
    by_parent: dict[str, list[VariantRow]] = {}
    for each in variant_rows:
        by_parent.setdefault(each.parent, []).append(each)
    named = {each.sku: each for each in products if each.options is not None}
    for sku in dict.fromkeys([*named, *by_parent]):
        product = product_by_sku(sku)
        if product is None:
            continue
        row = named.get(sku)
        names = row.options if row else [o["name"] for o in product.options or []]
        mine = by_parent.get(sku, [])
        if row is not None and not mine and product.options:
            if not names:  # the options column emptied: a simple product again
                variants.set_options(product, [])
            continue
        if not mine:
            continue
        options = _options_of(row, names or [], mine)
        try:
            variants.set_options(product, options)
        except variants.VariantError as exc:
            raise ImportError_([f"line {mine[0].line}: {exc}"]) from None
        for vrow in mine:
            variant = variants.find_variant(product, vrow.values)
            if variant is None:  # a value refused above would have raised
                continue
            try:
                variants.update_variant(
                    product,
                    variant,
                    sku=vrow.sku,
                    price=vrow.price,
                    compare_at_price=vrow.compare_at_price,
                    image_key=variant.image_key,
                )
                if vrow.stock is not None and vrow.stock != variant.stock:
                    variants.adjust_variant_stock(product, variant, vrow.stock - variant.stock)
            except variants.VariantError as exc:
                raise ImportError_([f"line {vrow.line}: {exc}"]) from None


def export_csv(out: IO[str]) -> int:
    """Every product of the bound shop, in the import format; returns the row count."""
    currency = shop_currency()
    writer = csv.writer(out)
    columns = export_columns()
    writer.writerow(columns)
    locales = other_locales()
    count = 0
    products = list(db.session.scalars(select(Product).order_by(Product.id)))
    load_variants(products)  # one statement for every product's variants
    for product in products:
        options = product.options or []
        writer.writerow(
            safe_cell(cell)
            for cell in [
                product.sku,
                product.title,
                to_major(product.price, currency),
                product.stock,
                product.description,
                to_major(product.compare_at_price, currency) if product.compare_at_price else "",
                ";".join(c.slug for c in product.categories),
                "true" if product.active else "false",
                "true" if product.featured else "false",
                product.image_url or "",
                product.slug,
                product.tax_class or "standard",
                ";".join(o["name"] for o in options),
                "",
                "",
                *(
                    _translation_cell(product, field, locale)
                    for locale in locales
                    for field in TRANSLATED
                ),
            ]
        )
        for variant in product.variants:
            writer.writerow(
                safe_cell(cell)
                for cell in [
                    variant.sku,
                    "",  # title
                    "" if variant.price is None else to_major(variant.price, currency),
                    variant.stock,
                    "",  # description
                    ""
                    if variant.compare_at_price is None
                    else to_major(variant.compare_at_price, currency),
                    *([""] * 7),  # categories … options: the product's row has them
                    product.sku,
                    ";".join(variant.option_values),
                    *(
                        _value_cell(product, variant.option_values, locale)
                        if field == "values"
                        else ""
                        for locale in locales
                        for field in TRANSLATED
                    ),
                ]
            )
        count += 1
    return count


def _options_of(
    row: Row | None, names: list[str], mine: list[VariantRow]
) -> list[variants.OptionIn]:
    """The options a product's rows give: names from its row, values (and their
    translations, where a variant row has them for every option) from its variants'."""
    named = (row.option_translations or {}) if row else {}
    options = []
    for i, name in enumerate(names):
        values = list(dict.fromkeys(v.values[i] for v in mine))
        translations = {}
        for locale in dict.fromkeys([*named, *(loc for v in mine for loc in v.translations)]):
            shown: dict[str, str] = {}
            for v in mine:
                other = v.translations.get(locale) or []
                if len(other) == len(names):
                    shown.setdefault(v.values[i], other[i])
            other_names = named.get(locale) or []
            translations[locale] = (
                other_names[i] if i < len(other_names) else "",
                tuple(shown.get(value, "") for value in values),
            )
        options.append(variants.OptionIn(name, tuple(values), translations))
    return options


def _translation_cell(product: Product, field: str, locale: str) -> str:
    if field == "options":
        return ";".join(
            ((o.get("translations") or {}).get(locale) or {}).get("name", "")
            for o in product.options or []
        )
    if field == "values":
        return ""
    return str((product.translations or {}).get(locale, {}).get(field, ""))


def _value_cell(product: Product, values: list[str], locale: str) -> str:
    shown = []
    for option, value in zip(product.options or [], values, strict=False):
        own = ((option.get("translations") or {}).get(locale) or {}).get("values") or []
        index = option["values"].index(value) if value in option["values"] else -1
        shown.append(own[index] if 0 <= index < len(own) else "")
    return ";".join(shown) if any(shown) else ""
