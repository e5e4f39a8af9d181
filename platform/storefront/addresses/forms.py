"""The address fields every address form shares (checkout, the address book), checked
against the chosen country's rules, and the layout the form is drawn in for it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from ..shared import SafeView
from .countries import (
    ADDRESS_FIELDS,
    AUTOCOMPLETE,
    MAX_LENGTHS,
    AddressInvalid,
    normalize,
    rules_for,
)


def _text(label: Any, name: str, *validators: Any) -> StringField:
    return StringField(
        label,
        validators=[*validators, Length(max=MAX_LENGTHS[name])],
        render_kw={"autocomplete": AUTOCOMPLETE[name]} if name in AUTOCOMPLETE else {},
    )


# What a shipment needs beyond the name and the country (a gift-card-only checkout asks
# for none of it).
SHIPPING_LINES = tuple(n for n in ADDRESS_FIELDS if n not in ("name", "country"))


class AddressFieldsForm(FlaskForm):
    """Name, address lines, country and phone. Which lines a country has, what they are
    called and which are required come from its rules (``countries``); ``country``'s
    choices are the subclass's (the countries the shop ships to)."""

    # Set by a checkout whose cart holds only gift cards: no address lines are checked.
    nothing_ships: bool = False

    name = _text(_l("Full name"), "name", DataRequired())
    address = _text(_l("Street and number"), "address")
    city_area = _text(_l("Suburb"), "city_area")
    city = _text(_l("City"), "city")
    country_area = _text(_l("State"), "country_area")
    postal_code = _text(_l("Postal code"), "postal_code")
    sorting_code = _text(_l("Sorting code"), "sorting_code")
    country = SelectField(
        _l("Country"), choices=[], validate_choice=True, render_kw={"autocomplete": "country"}
    )
    phone = StringField(
        _l("Phone"),
        validators=[Length(max=MAX_LENGTHS["phone"])],
        description=_l("Optional: for the carrier, if a delivery needs it."),
        render_kw={"autocomplete": "tel", "type": "tel"},
    )

    def address_values(self) -> dict[str, str]:
        return {name: (getattr(self, name).data or "").strip() for name in ADDRESS_FIELDS}

    def fill(self, values: dict[str, str]) -> None:
        """Put an address (a saved one, the one typed before) into the fields."""
        for name in ADDRESS_FIELDS:
            if name in values:
                getattr(self, name).data = values[name]

    def validate(self, extra_validators: Any = None) -> bool:
        """The fields' own checks, then the country's rules; on success the fields hold
        what is kept (the postal code's usual spelling, lines the country lacks emptied)."""
        valid = super().validate(extra_validators)
        if self.country.errors:
            return False
        if self.nothing_ships:
            # A checkout of gift cards only: no address lines (the country stays, for tax).
            self.fill(dict.fromkeys(SHIPPING_LINES, ""))
            return valid
        try:
            kept = normalize(self.address_values())
        except AddressInvalid as exc:
            for name, message in exc.errors.items():
                field = getattr(self, name)
                if name in exc.missing:  # WTForms' own words (and translations) for it
                    message = field.gettext("This field is required.")
                if message not in field.errors:
                    field.errors = [*field.errors, message]
            return False
        self.fill(kept)
        return valid

    def layout(self) -> AddressLayout:
        return address_layout(self.country.data or "")


@dataclass(frozen=True)
class FieldSpec(SafeView):
    name: str
    label: str
    required: bool
    choices: tuple[tuple[str, str], ...] = ()
    hint: str = ""


@dataclass(frozen=True)
class AddressLayout(SafeView):
    """The address lines of one country's form, row by row as the address prints."""

    country: str
    rows: tuple[tuple[FieldSpec, ...], ...]


def address_layout(country: str) -> AddressLayout:
    """The form's rows for ``country``; the name is asked with the contact details, the
    phone after the address."""
    rules = rules_for(country)
    rows = []
    for row in rules.rows:
        specs = tuple(
            FieldSpec(
                name=name,
                label=rules.label(name),
                required=name in rules.required,
                choices=rules.area_choices if name == "country_area" else (),
                hint=_example(rules.postal_example) if name == "postal_code" else "",
            )
            for name in row
            if name != "name"
        )
        if specs:
            rows.append(specs)
    return AddressLayout(country=rules.country, rows=tuple(rows))


def _example(example: str) -> str:
    return str(_l("For example: %(example)s", example=example)) if example else ""
