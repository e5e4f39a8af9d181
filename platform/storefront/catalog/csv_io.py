"""Catalog CSV import and export (``tenantctl catalog import|export``).

Columns: ``sku,title,price,stock,description,compare_at_price,categories,active,featured,
image_url,slug,tax_class``, and ``title:<locale>`` / ``description:<locale>`` for each of the shop's
other languages (``title:de`` or ``title:de_DE``). Only ``sku``, ``title`` and ``price``
are required. Prices are in major
units (``19.99``); ``categories`` lists category slugs separated by ``;`` (ones the shop
lacks are created); booleans are
``true``/``false`` (also ``yes``/``no``, ``1``/``0``). A row whose SKU exists updates
that product; any other row creates one.

Every row is checked before anything is written: one bad row means nothing changes, and
the error names its line and column.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO, Any

from pydantic import ValidationError
from sqlalchemy import select

from ..csvcells import read_cell, safe_cell
from ..extensions import db
from ..i18n import match_locale, other_locales, shop_locales_of_bound, url_tags
from .models import Category, Product
from .money import parse_money, shop_currency, to_major
from .schemas import SLUG_PATTERN, check_product, field_errors
from .services import create_category, create_product, product_by_sku, slugify, update_product

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
)
REQUIRED = ("sku", "title", "price")
TRANSLATED = ("title", "description")  # columns with per-locale versions: title:de
TRUE, FALSE = {"true", "yes", "1", "y"}, {"false", "no", "0", "n", ""}
MAX_ROWS = 100_000


class ImportError_(ValueError):  # not the builtin ImportError
    """The file cannot be imported; ``problems`` lists every bad line."""

    def __init__(self, problems: list[str]) -> None:
        shown = problems[:20] + (
            [f"... and {len(problems) - 20} more"] if len(problems) > 20 else []
        )
        super().__init__("nothing imported:\n" + "\n".join(shown))
        self.problems = problems


@dataclass
class Row:
    line: int
    sku: str
    fields: dict[str, Any]
    categories: list[str] | None


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


def export_columns() -> tuple[str, ...]:
    """The import format's columns, with the shop's other languages (``title:de``)."""
    locales = other_locales()
    tags = {loc: tag for tag, loc in url_tags(shop_locales_of_bound()).items()}
    return COLUMNS + tuple(f"{field}:{tags[loc]}" for loc in locales for field in TRANSLATED)


def parse_rows(lines: Iterable[str]) -> list[Row]:
    """Read and check every row; raise ImportError_ listing all problems."""
    reader = csv.DictReader(lines)
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in COLUMNS and not _locale_column(c)]
    if missing or unknown:
        header_problems = []
        if missing:
            header_problems.append(f"line 1: missing column(s): {', '.join(missing)}")
        if unknown:
            header_problems.append(
                f"line 1: unknown column(s): {', '.join(unknown)} (known: {', '.join(COLUMNS)})"
            )
        raise ImportError_(header_problems)
    reader.fieldnames = header
    currency = shop_currency()
    known_categories = set(db.session.scalars(select(Category.slug)))
    rows: list[Row] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        if len(rows) >= MAX_ROWS:
            raise ImportError_([f"more than {MAX_ROWS} rows: split the file"])
        if None in record:
            problems.append(f"line {line}: more values than columns")
            continue
        values = {k: read_cell((v or "").strip()) for k, v in record.items()}
        try:
            rows.append(_check_row(line, values, currency, known_categories, seen))
        except ValueError as exc:
            problems.append(f"line {line}: {exc}")
    if problems:
        raise ImportError_(problems)
    if not rows:
        raise ImportError_(["the file has a header but no rows"])
    return rows


def _check_row(
    line: int, values: dict[str, str], currency: str, known: set[str], seen: dict[str, int]
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
    for column, value in values.items():
        found = _locale_column(column)
        if found:
            field, locale = found
            translations.setdefault(locale, {})[field] = value
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
    try:
        fields = check_product(parsed)
    except ValidationError as exc:
        problems = field_errors(exc)
        raise ValueError("; ".join(f"{k}: {v}" for k, v in problems.items())) from None
    fields.pop("sku")
    fields.pop("categories", None)
    return Row(line, sku, fields, categories)


def _is_slug(text: str) -> bool:
    return len(text) <= 120 and re.fullmatch(SLUG_PATTERN, text) is not None


def new_categories(rows: list[Row]) -> list[str]:
    """The category slugs the rows name that the shop does not have yet."""
    known = set(db.session.scalars(select(Category.slug)))
    wanted = dict.fromkeys(c for row in rows for c in row.categories or [])
    return [slug for slug in wanted if slug not in known]


def import_rows(
    rows: list[Row], progress: Callable[[int, int], None] | None = None
) -> tuple[int, int]:
    """Write checked rows (flushes; the caller commits, once); returns (created, updated).
    Categories the rows name and the shop lacks are created first, named after their slug
    (``camping-gear`` → "Camping gear"; rename them in the dashboard)."""
    for slug in new_categories(rows):
        create_category(slug.replace("-", " ").capitalize(), slug)
    created = updated = 0
    for index, row in enumerate(rows, 1):
        existing = product_by_sku(row.sku)
        if existing is None:
            fields = dict(row.fields)
            fields.setdefault("slug", _free_slug(slugify(fields["title"])))
            create_product(
                row.sku,
                fields.pop("title"),
                fields.pop("price"),
                categories=row.categories,
                **fields,
            )
            created += 1
        else:
            update_product(existing, categories=row.categories, **row.fields)
            updated += 1
        if progress is not None and (index % 100 == 0 or index == len(rows)):
            progress(index, len(rows))
    return created, updated


def _free_slug(base: str) -> str:
    slug, n = base, 2
    while db.session.scalar(select(Product.id).where(Product.slug == slug)) is not None:
        slug, n = f"{base}-{n}", n + 1
    return slug


def export_csv(out: IO[str]) -> int:
    """Every product of the bound shop, in the import format; returns the row count."""
    currency = shop_currency()
    writer = csv.writer(out)
    columns = export_columns()
    writer.writerow(columns)
    locales = other_locales()
    count = 0
    for product in db.session.scalars(select(Product).order_by(Product.id)):
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
                *(
                    (product.translations or {}).get(locale, {}).get(field, "")
                    for locale in locales
                    for field in TRANSLATED
                ),
            ]
        )
        count += 1
    return count
