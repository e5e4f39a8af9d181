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

The file is read, checked and written a batch at a time (``CsvReader``, ``import_csv``),
so its length does not matter. Every problem names its line and column; ``tenantctl
catalog import`` keeps a file all or nothing (one bad row and nothing changes), a
background import from the dashboard skips the refused rows and reports them.

A column in a language the shop does not offer (``title:fr`` from a shop that speaks
French, imported into one that does not) is skipped, with one warning naming every such
column: a shop holds translations only for its own languages (``merge_translations``).
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from babel import Locale, UnknownLocaleError
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import func, select

from .. import plans
from ..csvcells import read_cell, safe_cell
from ..extensions import db
from ..i18n import match_locale, other_locales, shop_locales_of_bound, url_tags
from ..plans import PlanLimitReached
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
    "meta_title",  # what search engines show (storefront.seo); empty: from the content
    "meta_description",
)
REQUIRED = ("sku", "title", "price")
VARIANT_COLUMNS = ("sku", "variant_of", "values", "price", "compare_at_price", "stock")
# title:de, values:de, meta_title:de, …
TRANSLATED = ("title", "description", "options", "values", "meta_title", "meta_description")
TRUE, FALSE = {"true", "yes", "1", "y"}, {"false", "no", "0", "n", ""}
MAX_ROWS = 1_000_000  # rows of one file; read a batch at a time, never held whole
BATCH = 1000  # rows checked and written together
BAD_TEXT = "\ufffd"  # what undecodable bytes read as (the jobs decode with "replace")
NOT_UTF8 = _l("not UTF-8 text (save the CSV as UTF-8)")
QUOTED = 60  # characters of a cell a reason quotes
REASON_MAX = 300  # characters of one reason kept in a report
NAMED = 20  # unknown columns a header problem names
# Control characters refused in a cell, as the variant options refuse them; a
# description keeps its tabs and line breaks.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
MULTILINE = ("description", "meta_description")
Localized = dict[str, tuple[str, str]]  # column -> (field, locale), e.g. title:de
# The product schema (the API's and the dashboard's), applied to a whole file's rows in
# one call: pydantic's per-call overhead once, not once per row.
PRODUCTS = TypeAdapter(list[ProductSchema])


class ImportError_(ValueError):  # not the builtin ImportError
    """The file cannot be imported; ``problems`` lists every bad line."""

    def __init__(self, problems: list[str], more: int = 0) -> None:
        """``more``: how many problems there are in all, when ``problems`` is a sample."""
        count = max(len(problems), more)
        shown = problems[:20] + ([_("… and %(num)s more", num=count - 20)] if count > 20 else [])
        # One problem on one line (the CLI's error line); several, one per line.
        sep = " " if len(shown) == 1 else "\n"
        super().__init__(_("nothing imported:") + sep + "\n".join(shown))
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
    raise ValueError(
        _("%(column)s: %(value)s is not true or false", column=column, value=_quote(value))
    )


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
    reader = CsvReader(lines, warn)
    rows: list[Row | VariantRow] = []
    problems: list[str] = []
    for batch, refused in reader.batches():
        rows += batch
        problems += refused
    if problems:
        raise ImportError_(sorted(problems, key=_line_of))
    if not rows:
        raise ImportError_([_("the file has a header but no rows")])
    return rows


class CsvReader:
    """A catalog CSV read and checked a batch at a time, so a file of any length is
    never held whole: the header is checked when the reader is made (ImportError_ for a
    bad one), then ``batches`` hands out each batch's good rows and its problems.

    What must hold across the file stays in memory, and only that: the SKUs seen so far
    (a SKU twice is refused) and the option names of the file's products with options
    (their variants' rows are checked against them). A batch never ends between a
    product's row and the variant rows that follow it.
    """

    def __init__(self, lines: Iterable[str], warn: Callable[[str], None] | None = None) -> None:
        self.reader = csv.DictReader(lines)
        try:
            header = [h.strip() for h in self.reader.fieldnames or []]
        except csv.Error as exc:
            raise ImportError_([_unreadable(self.reader, exc)]) from None
        if any(BAD_TEXT in h for h in header):
            raise ImportError_([_at(1, str(NOT_UTF8))])
        missing = [c for c in REQUIRED if c not in header]
        outside = [c for c in header if c not in COLUMNS and not _locale_column(c)]
        self.skipped = [c for c in outside if _foreign_language(c)]
        unknown = [c for c in outside if c not in self.skipped]
        if missing or unknown:
            header_problems = []
            if missing:
                header_problems.append(
                    _at(1, _("missing column(s): %(names)s", names=", ".join(missing)))
                )
            if unknown:
                named = ", ".join(c[:QUOTED] for c in unknown[:NAMED])
                more = (
                    _(" and %(num)s more", num=f"{len(unknown) - NAMED:,}")
                    if len(unknown) > NAMED
                    else ""
                )
                header_problems.append(
                    _at(
                        1,
                        _(
                            "unknown column(s): %(names)s%(more)s (known: %(known)s)",
                            names=named,
                            more=more,
                            known=", ".join(COLUMNS),
                        ),
                    )
                )
            raise ImportError_(header_problems)
        if self.skipped and warn is not None:
            warn(
                _(
                    "skipped column(s) in a language the shop does not offer: %(names)s "
                    "(its languages: %(languages)s)",
                    names=", ".join(self.skipped[:NAMED])
                    + ("…" if len(self.skipped) > NAMED else ""),
                    languages=", ".join(shop_locales_of_bound()),
                )
            )
        self.reader.fieldnames = header
        # Which columns carry another language ("title:de" -> ("title", "de_DE")): once
        # per file, not once per cell.
        self.localized = {c: hit for c in header if (hit := _locale_column(c))}
        self.currency = shop_currency()
        self.known_categories = set(db.session.scalars(select(Category.slug)))
        self.seen: dict[str, int] = {}
        self.families: dict[str, list[str]] = {}  # the option names of the file's products
        self.rows = 0  # records read so far
        self.unread = 0  # records past MAX_ROWS, counted but not read

    def batches(self, size: int = BATCH) -> Iterator[tuple[list[Row | VariantRow], list[str]]]:
        """(good rows, problems) per batch of about ``size`` records, in the file's order.
        A line the csv module cannot read ends the file there, as a problem naming it."""
        rows: list[Row | VariantRow] = []
        problems: list[str] = []
        stopped: list[str] = []
        for record in _records(self.reader, stopped):
            line = self.reader.line_num
            self.rows += 1
            if self.rows > MAX_ROWS:
                self.rows = MAX_ROWS
                self.unread = 1 + sum(1 for _record in _records(self.reader, []))
                problems.append(
                    _at(
                        line,
                        _(
                            "more than %(max)s rows: stopped here, %(num)s rows not read "
                            "(split the file)",
                            max=f"{MAX_ROWS:,}",
                            num=f"{self.unread:,}",
                        ),
                    )
                )
                break
            if isinstance(record, str):  # a line the csv module could not read
                problems.append(record)
                continue
            is_variant = bool((record.get("variant_of") or "").strip())
            if len(rows) + len(problems) >= size and not is_variant:
                yield self._finish(rows, problems)
                rows, problems = [], []
            if None in record:
                problems.append(_at(line, _("more values than columns")))
                continue
            values = {
                k: read_cell((v or "").strip()) for k, v in record.items() if k not in self.skipped
            }
            try:
                if any(BAD_TEXT in value for value in values.values()):
                    raise ValueError(str(NOT_UTF8))
                _refuse_control(values)
                if is_variant:
                    rows.append(
                        _check_variant(line, values, self.currency, self.seen, self.localized)
                    )
                else:
                    rows.append(
                        _check_row(
                            line,
                            values,
                            self.currency,
                            self.known_categories,
                            self.seen,
                            self.localized,
                        )
                    )
            except ValueError as exc:
                problems.append(_at(line, _shorten(str(exc))))
        yield self._finish(rows, problems + stopped)

    def _finish(
        self, rows: list[Row | VariantRow], problems: list[str]
    ) -> tuple[list[Row | VariantRow], list[str]]:
        """Hold the batch's product rows to the schema and its variants to their
        products; the rows refused there leave the batch, with their reasons."""
        problems += _check_schema([row for row in rows if isinstance(row, Row)])
        bad = {_line_of(problem) for problem in problems}
        rows = [row for row in rows if row.line not in bad]
        family_problems = _check_families(rows, self.families)
        bad = {_line_of(problem) for problem in family_problems}
        rows = [row for row in rows if row.line not in bad]
        for row in rows:
            if isinstance(row, Row) and row.options:
                self.families[row.sku] = row.options
        return rows, sorted(problems + family_problems, key=_line_of)


def _records(reader: csv.DictReader[str], problems: list[str]) -> Iterator[dict[str, Any] | str]:
    """The file's records. A cell past the field limit refuses its line (a problem, as a
    string, in the record's place) and reading goes on; any other line the csv module
    cannot read (a stray quote) ends the file there, as a problem in ``problems``."""
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                yield _unreadable(reader, exc)
                continue
            problems.append(_unreadable(reader, exc))
            return
        yield record


def _quote(text: str) -> str:
    """A cell as a reason quotes it: its first characters, never a whole huge cell."""
    return repr(text if len(text) <= QUOTED else text[:QUOTED] + "…")


def _shorten(reason: str) -> str:
    """A reason kept to REASON_MAX characters: its start and its end, which says why."""
    if len(reason) <= REASON_MAX:
        return reason
    return reason[: REASON_MAX - 81] + "…" + reason[-80:]


def _refuse_control(values: dict[str, str]) -> None:
    """Control characters (a NUL, an escape) in a cell refuse its row: they would be
    stored and exported back. A description keeps tabs and line breaks."""
    for column, value in values.items():
        pattern = CONTROL_IN_TEXT if column.partition(":")[0] in MULTILINE else CONTROL
        if pattern.search(value):
            raise ValueError(_("%(column)s: control characters are not allowed", column=column))


def _unreadable(reader: csv.DictReader[str], exc: csv.Error) -> str:
    reason = str(exc)
    if "field larger than field limit" in reason:
        reason = _("a cell is longer than %(num)s characters", num=f"{csv.field_size_limit():,}")
    return _at(reader.reader.line_num, reason)  # DictReader's own lags on errors


def _at(line: int, reason: str) -> str:
    """A problem as a report lists it, "line 12: …", in the reader's language (a job
    runs in its requester's; the CLI speaks English). ``_line_of`` reads the number."""
    return _("line %(num)s: %(reason)s", num=line, reason=reason)


def _line_of(problem: str) -> int:
    """The line a problem names ("line 12: …", "ligne 12 : …"), to list them in the
    file's order."""
    found = re.match(r"[^\d:]*?(\d+)\s*:", problem)
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
        raise ValueError(
            _(
                "a variant's row only has %(columns)s (not %(column)s)",
                columns=", ".join(VARIANT_COLUMNS),
                column=extra[0],
            )
        )
    sku = values.get("sku", "")
    if not sku or len(sku) > 64:
        raise ValueError(_("sku: a variant needs a SKU of 1 to 64 characters"))
    if sku in seen:
        raise ValueError(
            _("sku %(sku)s already appears on line %(num)s", sku=_quote(sku), num=seen[sku])
        )
    seen[sku] = line
    money: dict[str, int | None] = {}
    for column in ("price", "compare_at_price"):
        try:
            money[column] = parse_money(values[column], currency) if values.get(column) else None
        except ValueError as exc:
            raise ValueError(f"{column}: {exc}") from None
    stock = values.get("stock", "")
    if stock and not stock.isdigit():
        raise ValueError(
            _("stock: %(value)s is not a whole number of 0 or more", value=_quote(stock))
        )
    chosen = _split(values.get("values", ""))
    if not chosen or not all(chosen):
        raise ValueError(_("values: name the variant's value of each option, e.g. M;Red"))
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


def _check_families(rows: list[Row | VariantRow], earlier: dict[str, list[str]]) -> list[str]:
    """Each variant row follows its product's row in the same batch (or names an existing
    product) with options, and gives one value per option. ``earlier``: the option names
    of the file's products in batches already written."""
    problems = []
    products = {row.sku: row for row in rows if isinstance(row, Row)}
    parents = {row.parent for row in rows if isinstance(row, VariantRow)} - set(products)
    existing = _existing_options(parents - set(earlier))
    for row in rows:
        if not isinstance(row, VariantRow):
            continue
        parent = products.get(row.parent)
        names = parent.options if parent is not None else existing.get(row.parent)
        if parent is None and row.parent in earlier:
            reason = _(
                "variant_of: a variant's row follows its product's row (%(sku)s is further "
                "up the file)",
                sku=_quote(row.parent),
            )
        elif names is None:
            reason = _("variant_of: no product %(sku)s", sku=_quote(row.parent))
        elif not names:
            reason = _(
                "product %(sku)s has no options (its row's options column names them, "
                "e.g. Size;Colour)",
                sku=_quote(row.parent),
            )
        elif len(row.values) != len(names):
            reason = _(
                "values: %(options)s option(s) (%(names)s), %(values)s value(s) given",
                options=len(names),
                names=";".join(names),
                values=len(row.values),
            )
        else:
            continue
        problems.append(_at(row.line, reason))
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
            raise ValueError(_("%(column)s is empty", column=column))
    sku = values["sku"]
    if sku in seen:
        raise ValueError(
            _("sku %(sku)s already appears on line %(num)s", sku=_quote(sku), num=seen[sku])
        )
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
            raise ValueError(
                _(
                    "stock: %(value)s is not a whole number of 0 or more",
                    value=_quote(values["stock"]),
                )
            )
        parsed["stock"] = int(values["stock"])
    for column in ("active", "featured"):
        if values.get(column):
            parsed[column] = _bool(values[column], column)
    for column in ("description", "image_url", "slug", "tax_class"):
        if values.get(column) or (column == "description" and column in values):
            parsed[column] = values[column]
    for column in ("meta_title", "meta_description"):
        if column in values:  # an empty cell clears it: the page makes it from the content
            parsed[column] = values[column] or None
    translations: dict[str, dict[str, str]] = {}
    for column, (field, locale) in localized.items():
        if field in ("title", "description", "meta_title", "meta_description") and column in values:
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
                _(
                    "categories: %(slug)s is not a category slug (lowercase letters, digits "
                    "and hyphens, e.g. camping-gear)",
                    slug=_quote(malformed[0]),
                )
            )
    options = _split(values["options"]) if "options" in values else None
    # ``parsed`` is held to the product schema with the file's other rows (_check_schema).
    return Row(line, sku, parsed, categories, options, _translated(values, "options", localized))


def _check_schema(rows: list[Row]) -> list[str]:
    """Hold every product row's parsed fields to the product schema, in one call; each
    good row's ``fields`` become what the schema made of them. Returns the problems by
    line (the refused rows' fields are left as they were)."""
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
        problems = [
            _at(rows[i].line, "; ".join(f"{k}: {v}" for k, v in fields.items()))
            for i, fields in sorted(wrong.items())
        ]
        good = [row for i, row in enumerate(rows) if i not in wrong]
        return problems + (_check_schema(good) if good else [])
    for row, fields in zip(rows, checked, strict=True):
        fields.pop("sku")
        fields.pop("categories", None)
        row.fields = fields
    return []


def _is_slug(text: str) -> bool:
    return len(text) <= 120 and re.fullmatch(SLUG_PATTERN, text) is not None


def new_categories(rows: list[Row | VariantRow]) -> list[str]:
    """The category slugs the rows name that the shop does not have yet."""
    wanted = dict.fromkeys(c for row in rows if isinstance(row, Row) for c in row.categories or [])
    if not wanted:
        return []
    known = set(db.session.scalars(select(Category.slug).where(Category.slug.in_(wanted))))
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
    except (CatalogError, PlanLimitReached) as exc:
        raise ImportError_([str(exc)]) from None
    _import_variants(products, [row for row in rows if isinstance(row, VariantRow)])
    return created, updated


def check_plan(lines: Iterable[str]) -> None:
    """Refuse (ImportError_, with the numbers) a file that would take the shop past its
    plan's ``products``, before a row is written: one pass over its SKU column, the new
    ones found a batch at a time. Nothing is read when the plan has no such limit."""
    if plans.current_plan().products is None:
        return
    reader = csv.DictReader(lines)
    seen: set[str] = set()
    batch: list[str] = []
    new = 0
    try:
        for record in reader:
            cells = {(k or "").strip(): v for k, v in record.items()}
            sku = str(cells.get("sku") or "").strip()
            if not sku or str(cells.get("variant_of") or "").strip() or sku in seen:
                continue
            seen.add(sku)
            batch.append(sku)
            if len(batch) >= BATCH:
                new, batch = new + _unknown_skus(batch), []
            if len(seen) > MAX_ROWS:
                break
    except csv.Error:
        pass  # the import itself names the line it cannot read
    new += _unknown_skus(batch)
    try:
        plans.check("products", new)
    except PlanLimitReached as exc:
        raise ImportError_([str(exc)]) from None


def _unknown_skus(skus: list[str]) -> int:
    if not skus:
        return 0
    known = db.session.scalar(
        select(func.count()).select_from(Product).where(Product.sku.in_(skus))
    )
    return len(skus) - int(known or 0)


REPORT_MAX = 200  # refusals kept (each at most REASON_MAX characters); past that, counted


@dataclass
class ImportReport:
    """What an import made of a file so far: products created and changed, the rows
    read, the refused lines with their reasons, and the last line written."""

    created: int = 0
    updated: int = 0
    rows: int = 0
    refused_count: int = 0
    through: int = 1  # every row up to this line is written, or refused
    refused: list[str] = dataclasses.field(default_factory=list)
    unread: int = 0  # rows past MAX_ROWS: the import stopped before them

    def refuse(self, problems: list[str]) -> None:
        self.refused_count += len(problems)
        kept = problems[: max(0, REPORT_MAX - len(self.refused))]
        self.refused += [_shorten(problem) for problem in kept]


def import_csv(
    lines: Iterable[str],
    warn: Callable[[str], None] | None = None,
    batch_done: Callable[[ImportReport], None] | None = None,
    size: int = BATCH,
    each_batch: Callable[[Callable[[], ImportReport]], ImportReport] | None = None,
) -> ImportReport:
    """Check and write a catalog CSV a batch at a time, never holding the file whole.

    Refused rows are skipped and listed in the report; whether one refusal undoes the
    rest is the caller's choice: the CLI rolls everything back (all or nothing), a
    background import runs each batch with its ``batch_done`` as its own unit of work
    (``each_batch=db.unit_of_work``), so the report says exactly which lines landed.
    Flushes, never commits; ImportError_ for a bad header, an empty file, or a row the
    shop's state refuses while writing (a slug taken meanwhile).

    A batch may run more than once (a unit of work that lost a write race runs again
    from a rolled-back session): it starts each time from the report as the batch
    before left it, so a retry counts its rows once."""
    reader = CsvReader(lines, warn)
    report = ImportReport()
    run = each_batch or (lambda work: work())
    for rows, refused in reader.batches(size):
        batch = functools.partial(
            _write_batch, report, rows, refused, reader.rows, reader.unread, batch_done
        )
        report = run(batch)
    if not report.rows:
        raise ImportError_([_("the file has a header but no rows")])
    return report


def _write_batch(
    before: ImportReport,
    rows: list[Row | VariantRow],
    refused: list[str],
    rows_read: int,
    unread: int,
    batch_done: Callable[[ImportReport], None] | None,
) -> ImportReport:
    """One batch written, and the report as it stands after it (a new one: ``before``
    is left as it was, for a run again from the start)."""
    step = dataclasses.replace(before, refused=list(before.refused))
    step.refuse(refused)
    if rows:
        created, updated = import_rows(rows)
        step.created += created
        step.updated += updated
    lines_seen = [row.line for row in rows] + [_line_of(problem) for problem in refused]
    step.through = max([step.through, *lines_seen])
    step.rows, step.unread = rows_read, unread
    if batch_done is not None:
        batch_done(step)
    return step


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
            raise ImportError_([_at(mine[0].line, str(exc))]) from None
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
                raise ImportError_([_at(vrow.line, str(exc))]) from None


def export_csv(out: IO[str], progress: Callable[[int], None] | None = None) -> int:
    """Every product of the bound shop, in the import format; returns the row count.
    Products are read a batch at a time (by id), so the shop's size does not matter;
    ``progress`` hears the running count after each batch."""
    currency = shop_currency()
    writer = csv.writer(out)
    columns = export_columns()
    writer.writerow(columns)
    locales = other_locales()
    count = 0
    for products in _product_batches():
        for product in products:
            count += _write_product(writer, product, currency, locales)
        if progress is not None:
            progress(count)
    return count


def _product_batches(size: int = BATCH) -> Iterator[list[Product]]:
    """The shop's products by id, ``size`` at a time, with their variants (one statement
    a batch); each batch leaves the session before the next is read."""
    last = 0
    while True:
        products = list(
            db.session.scalars(
                select(Product).where(Product.id > last).order_by(Product.id).limit(size)
            )
        )
        if not products:
            return
        load_variants(products)
        yield products
        last = products[-1].id
        for product in products:
            db.session.expunge(product)


def _write_product(writer: Any, product: Product, currency: str, locales: tuple[str, ...]) -> int:
    """The product's row and its variants' rows; returns 1 (one product)."""
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
            product.meta_title or "",
            product.meta_description or "",
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
                "",  # meta_title, meta_description: the product's row has them
                "",
                *(
                    _value_cell(product, variant.option_values, locale) if field == "values" else ""
                    for locale in locales
                    for field in TRANSLATED
                ),
            ]
        )
    return 1


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
