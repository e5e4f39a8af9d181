"""Dashboard forms. Money is typed in major units and stored in minor units."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField
from wtforms import (
    BooleanField,
    ColorField,
    DateField,
    DecimalField,
    EmailField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from ..catalog.models import check_image_url
from ..i18n import language_name, other_locales
from ..i18n.numbers import format_plain, parse_decimal


def _image_url(form: FlaskForm, field: StringField) -> None:
    try:
        check_image_url(field.data)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


class LocaleDecimalField(DecimalField):
    """A decimal typed the reader's way ("8,6" in French; "8.6" everywhere), shown back
    the same way."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        try:
            self.data = parse_decimal(str(valuelist[0]))
        except ValueError:
            self.data = None
            raise ValueError(self.gettext("Not a valid decimal value.")) from None

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return format_plain(self.data) if self.data is not None else ""


SLUG = Regexp(r"^[a-z0-9]+(?:-[a-z0-9]+)*$", message=_l("Lowercase letters, digits and dashes."))


def stripped(value: Any) -> Any:
    """A filter for identifiers (SKUs, slugs): spaces at either end go, ``x `` is ``x``
    (they are compared exactly, docs/decisions.md)."""
    return value.strip() if isinstance(value, str) else value


def meta_title_field() -> StringField:
    """The title search engines show for a product, category or page (seo)."""
    return StringField(
        _l("Title for search engines"),
        validators=[Optional(), Length(max=200)],
        filters=[stripped],
        description=_l("Optional. Leave empty to use the title and the shop's name."),
    )


def meta_description_field(hint: Any) -> TextAreaField:
    """The description search engines show; ``hint`` says what stands in when empty."""
    return TextAreaField(
        _l("Description for search engines"),
        validators=[Optional(), Length(max=320)],
        filters=[stripped],
        description=hint,
    )


class ProductForm(FlaskForm):
    sku = StringField(_l("SKU"), validators=[DataRequired(), Length(max=64)], filters=[stripped])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    slug = StringField(
        _l("URL slug"),
        validators=[Optional(), Length(max=120), SLUG],
        filters=[stripped],
        description=_l("Leave empty to derive it from the title."),
    )
    description = TextAreaField(
        _l("Description"),
        validators=[Length(max=20000)],
        description=_l(
            "Markdown: **bold**, *italic*, # headings, - lists, [links](https://…). "
            "HTML is shown as text."
        ),
    )
    price = StringField(_l("Price"), validators=[DataRequired(), Length(max=20)])
    compare_at_price = StringField(
        _l("Compare-at price"), validators=[Optional(), Length(max=20)], description=_l("Optional.")
    )
    stock = IntegerField(_l("Stock"), default=0, validators=[NumberRange(min=0, max=1_000_000)])
    tax_class = SelectField(
        _l("Tax class"),
        choices=[
            SelectChoice("standard", _l("Standard rate")),
            SelectChoice("reduced", _l("Reduced rate")),
            SelectChoice("zero", _l("Zero rate")),
        ],
        default="standard",
    )
    categories = SelectMultipleField(_l("Categories"), choices=[], validate_choice=True)
    image_url = StringField(_l("Image URL"), validators=[Optional(), Length(max=500), _image_url])
    image = FileField(
        _l("Picture"),
        validators=[FileAllowed(["png", "jpg", "jpeg", "gif", "webp", "avif"], _l("Images only."))],
        description=_l("More pictures, and their order, once the product is saved."),
    )
    meta_title = meta_title_field()
    meta_description = meta_description_field(
        _l("Optional. Leave empty to use the start of the description.")
    )
    active = BooleanField(_l("Active (visible in the shop)"), default=True)
    featured = BooleanField(_l("Featured on the home page"))
    gift_card = BooleanField(
        _l("This product is a gift card"),
        description=_l(
            "Each unit bought becomes a gift card worth its price (give it options such as "
            "25, 50, 100 for the amounts). No stock is counted and nothing ships."
        ),
    )
    submit = SubmitField(_l("Save product"))


class StockForm(FlaskForm):
    delta = IntegerField(
        _l("Add (or remove with a minus sign)"),
        validators=[DataRequired(), NumberRange(min=-1_000_000, max=1_000_000)],
    )
    submit = SubmitField(_l("Adjust stock"))


class CategoryForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    slug = StringField(
        _l("Slug"), validators=[Optional(), Length(max=120), SLUG], filters=[stripped]
    )
    parent = SelectField(_l("Parent"), choices=[], validate_choice=True)
    submit = SubmitField(_l("Add category"))


class CategoryEditForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    parent = SelectField(_l("Parent"), choices=[], validate_choice=True)
    position = IntegerField(
        _l("Position"),
        validators=[InputRequired(), NumberRange(min=0, max=10000)],
        description=_l("Lower numbers come first in the shop's menus."),
    )
    meta_title = meta_title_field()
    meta_description = meta_description_field(_l("Optional."))
    submit = SubmitField(_l("Save category"))


class StatusForm(FlaskForm):
    status = SelectField(_l("Status"), choices=[], validate_choice=True)
    carrier = StringField(
        _l("Carrier"), validators=[Optional(), Length(max=100)], description=_l("When shipping.")
    )
    tracking_number = StringField(_l("Tracking number"), validators=[Optional(), Length(max=100)])
    submit = SubmitField(_l("Update status"))


class SettingsForm(FlaskForm):
    name = StringField(_l("Shop name"), validators=[DataRequired(), Length(max=200)])
    # The shape of an address, not email_validator's rules: those refuse reserved names
    # (hello@acme.localhost, the demo's), which tenant.toml takes and a shop may use.
    contact_email = EmailField(
        _l("Contact email"),
        validators=[
            Optional(),
            Length(max=200),
            Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Invalid email address.")),
        ],
    )
    banner_text = StringField(
        _l("Banner"),
        validators=[Length(max=200)],
        description=_l("A line above every page, e.g. a sale; leave empty for none."),
    )
    footer_text = TextAreaField(_l("Footer text"), validators=[Length(max=500)])
    guest_data_days = IntegerField(
        _l("Keep guests' personal data for (days)"),
        validators=[Optional(), NumberRange(min=30, max=3650)],
        description=_l(
            "Orders placed without an account lose name, address, email and phone this long "
            "after the guest's last order; leave empty to keep them."
        ),
    )
    inactive_account_days = IntegerField(
        _l("Close accounts unused for (days)"),
        validators=[Optional(), NumberRange(min=90, max=3650)],
        description=_l(
            "An account nobody signed in to for this long is closed and its data erased; "
            "leave empty to keep accounts."
        ),
    )
    staff_second_factor = BooleanField(
        _l("Ask everyone who runs the shop for a code at sign-in (two-step sign-in)"),
    )
    submit = SubmitField(_l("Save settings"))


# Per-language versions of a form's text fields: "title" -> title__de_DE, one per locale
# the shop speaks besides its default, labelled in the reader's language.
TRANSLATABLE: dict[str, tuple[Any, int, Callable[[str], Any]]] = {
    "title": (StringField, 200, lambda lang: _l("Title in %(language)s", language=lang)),
    "description": (
        TextAreaField,
        20000,
        lambda lang: _l("Description in %(language)s", language=lang),
    ),
    "name": (StringField, 200, lambda lang: _l("Name in %(language)s", language=lang)),
    "body": (TextAreaField, 50000, lambda lang: _l("Text in %(language)s", language=lang)),
    "footer_text": (
        TextAreaField,
        500,
        lambda lang: _l("Footer text in %(language)s", language=lang),
    ),
    "banner_text": (
        StringField,
        200,
        lambda lang: _l("Banner in %(language)s", language=lang),
    ),
    # What search engines show on the language's pages (empty: made from that language's
    # content, or the shop's default language's own text where the content is untranslated).
    "meta_title": (
        StringField,
        200,
        lambda lang: _l("Title for search engines in %(language)s", language=lang),
    ),
    "meta_description": (
        TextAreaField,
        320,
        lambda lang: _l("Description for search engines in %(language)s", language=lang),
    ),
}


def translated(form_class: type[FlaskForm], names: tuple[str, ...]) -> type[FlaskForm]:
    """``form_class`` with a field per other locale for each of ``names``."""
    attrs: dict[str, Any] = {}
    for locale in other_locales():
        for name in names:
            kind, longest, label = TRANSLATABLE[name]
            attrs[translation_field(name, locale)] = kind(
                label(language_name(locale)), validators=[Optional(), Length(max=longest)]
            )
    return type(form_class.__name__, (form_class,), attrs) if attrs else form_class


def translation_field(name: str, locale: str) -> str:
    return f"{name}__{locale}"


def translations_of(form: FlaskForm, names: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """What the per-locale fields hold, as ``{locale: {field: text}}`` (empties included:
    they clear that locale's text)."""
    return {
        locale: {name: (form[translation_field(name, locale)].data or "").strip() for name in names}
        for locale in other_locales()
    }


class DiscountForm(FlaskForm):
    code = StringField(
        _l("Code"),
        validators=[DataRequired(), Length(max=40)],
        description=_l("What shoppers type, e.g. WELCOME10."),
    )
    kind = SelectField(
        _l("Discount"),
        choices=[
            SelectChoice("percent", _l("A percentage")),
            SelectChoice("amount", _l("A fixed amount")),
            SelectChoice("free_shipping", _l("Free shipping")),
        ],
    )
    value = StringField(
        _l("Percentage or amount"),
        validators=[Optional(), Length(max=20)],
        description=_l("10 for 10 %, or an amount like 5.00; empty for free shipping."),
    )
    min_order = StringField(_l("Minimum order"), validators=[Optional(), Length(max=20)])
    starts_on = DateField(_l("Valid from"), validators=[Optional()])
    ends_on = DateField(_l("Valid until (inclusive)"), validators=[Optional()])
    max_uses = IntegerField(
        _l("Uses in total"), validators=[Optional(), NumberRange(min=1, max=10_000_000)]
    )
    max_uses_per_customer = IntegerField(
        _l("Uses per customer"), validators=[Optional(), NumberRange(min=1, max=10_000)]
    )
    submit = SubmitField(_l("Create code"))


class RefundForm(FlaskForm):
    amount = StringField(_l("Amount"), validators=[DataRequired(), Length(max=20)])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
    restock = BooleanField(_l("Put the items back in stock"))
    to_gift_card = BooleanField(
        _l("Refund onto a gift card"),
        description=_l(
            "The gift card the order was paid with, or a new one mailed to the shopper."
        ),
    )
    refund_key = HiddenField()
    submit = SubmitField(_l("Refund"))


class PaymentMethodsForm(FlaskForm):
    methods = SelectMultipleField(
        _l("Offered at checkout"),
        choices=[
            SelectChoice("stripe", _l("Card (Stripe)")),
            SelectChoice("bank_transfer", _l("Bank transfer")),
            SelectChoice("cash_on_delivery", _l("Cash on delivery")),
        ],
        validate_choice=True,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    default = SelectField(
        _l("Selected first"),
        choices=[
            SelectChoice("stripe", _l("Card (Stripe)")),
            SelectChoice("bank_transfer", _l("Bank transfer")),
            SelectChoice("cash_on_delivery", _l("Cash on delivery")),
        ],
    )
    instructions = TextAreaField(
        _l("Bank details for transfers"), validators=[Optional(), Length(max=2000)]
    )
    cod_instructions = TextAreaField(
        _l("Note for cash on delivery"), validators=[Optional(), Length(max=2000)]
    )
    submit = SubmitField(_l("Save payment methods"))


class ZoneForm(FlaskForm):
    name = StringField(_l("Zone name"), validators=[DataRequired(), Length(max=100)])
    countries = StringField(
        _l("Countries"),
        validators=[DataRequired(), Length(max=1000)],
        description=_l("Two-letter codes, e.g. DE, AT, FR; * for every other country."),
    )
    rate = StringField(_l("Shipping rate"), validators=[DataRequired(), Length(max=20)])
    free_above = StringField(
        _l("Free from an order value of"), validators=[Optional(), Length(max=20)]
    )
    submit = SubmitField(_l("Save zone"))


class TaxStyleForm(FlaskForm):
    prices_include_tax = BooleanField(_l("My prices include tax (EU style)"))
    submit = SubmitField(_l("Save"))


class TaxRateForm(FlaskForm):
    country = StringField(
        _l("Country"),
        validators=[DataRequired(), Length(max=2)],
        description=_l("A two-letter code, or * for every other country."),
    )
    standard = LocaleDecimalField(
        _l("Standard rate (%)"), validators=[InputRequired(), NumberRange(0, 100)]
    )
    reduced = LocaleDecimalField(
        _l("Reduced rate (%)"), validators=[Optional(), NumberRange(0, 100)]
    )
    zero = LocaleDecimalField(_l("Zero rate (%)"), validators=[Optional(), NumberRange(0, 100)])
    submit = SubmitField(_l("Save rates"))


class DomainForm(FlaskForm):
    hostname = StringField(
        _l("Domain"),
        validators=[DataRequired(), Length(max=253)],
        description=_l("e.g. shop.example.com"),
    )
    submit = SubmitField(_l("Add domain"))


class ConfirmForm(FlaskForm):
    """A bare CSRF-protected form for one-click actions (deactivate, delete)."""

    submit = SubmitField(_l("Confirm"))


# What an API key may do (accounts.tokens.SCOPES), as the owner reads it.
SCOPE_LABELS = {
    "products:read": _l("Read products, hidden ones too"),
    "products:write": _l("Change products, categories and stock"),
    "orders:read": _l("Read orders"),
    "orders:write": _l("Ship, cancel and refund orders"),
    "customers:read": _l("Read customer accounts"),
    "webhooks:read": _l("Read webhook endpoints"),
    "webhooks:write": _l("Add, change and remove webhook endpoints"),
    "reviews:read": _l("Read every review, waiting and hidden ones too"),
    "reviews:write": _l("Publish, hide, answer and delete reviews"),
    "cart:read": _l("Read its owner's own cart"),
    "cart:write": _l("Fill its owner's own cart"),
    "checkout:write": _l("Place orders as its owner"),
    "account:read": _l("Read its owner's own account, orders and addresses"),
    "account:write": _l("Change its owner's own address book"),
}


class ApiKeyForm(FlaskForm):
    name = StringField(
        _l("Name"), validators=[DataRequired(), Length(max=100)], description=_l("e.g. ERP sync")
    )
    scopes = SelectMultipleField(
        _l("The key may"),
        choices=[SelectChoice(code, label) for code, label in SCOPE_LABELS.items()],
        validate_choice=True,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    days = IntegerField(
        _l("Valid for (days)"),
        validators=[Optional(), NumberRange(min=1, max=3650)],
        description=_l("Leave empty for a key that lives until you revoke it."),
    )
    submit = SubmitField(_l("Create key"))


# Font stacks an owner picks from (no web fonts to load, none that can break a rule).
FONTS = {
    "system-ui, -apple-system, 'Segoe UI', sans-serif": _l("System (sans-serif)"),
    "Georgia, 'Times New Roman', serif": _l("Classic serif"),
    "'Helvetica Neue', Arial, sans-serif": _l("Helvetica / Arial"),
    "'Trebuchet MS', Verdana, sans-serif": _l("Friendly sans-serif"),
    "'Courier New', monospace": _l("Typewriter"),
}
COLOR_RULE = Regexp(r"^#[0-9a-fA-F]{6}$", message=_l("Pick a colour."))


class BrandingForm(FlaskForm):
    logo = FileField(
        _l("Logo"),
        validators=[FileAllowed(["png", "jpg", "jpeg", "gif", "webp", "avif"])],
        description=_l("PNG, JPEG, GIF, WebP or AVIF; leave empty to keep the current one."),
    )
    primary_color = ColorField(_l("Main colour"), validators=[DataRequired(), COLOR_RULE])
    accent_color = ColorField(
        _l("Accent colour"),
        validators=[DataRequired(), COLOR_RULE],
        description=_l("Buttons darken it as far as needed to stay readable."),
    )
    background_color = ColorField(_l("Background"), validators=[DataRequired(), COLOR_RULE])
    text_color = ColorField(_l("Text colour"), validators=[DataRequired(), COLOR_RULE])
    font_family = SelectField(
        _l("Text font"), choices=[SelectChoice(k, v) for k, v in FONTS.items()]
    )
    heading_font = SelectField(
        _l("Heading font"), choices=[SelectChoice(k, v) for k, v in FONTS.items()]
    )
    submit = SubmitField(_l("Save look"))


class PageForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    slug = StringField(
        _l("Address"),
        validators=[Optional(), Length(max=120), SLUG],
        filters=[stripped],
        description=_l("The page lives at /pages/<address>; from the title when empty."),
    )
    body = TextAreaField(
        _l("Text"),
        validators=[Length(max=50000)],
        description=_l(
            "Markdown: **bold**, *italic*, # headings, - lists, [links](https://…). "
            "HTML is shown as text."
        ),
        render_kw={"rows": 14},
    )
    meta_title = meta_title_field()
    meta_description = meta_description_field(
        _l("Optional. Leave empty to use the start of the text.")
    )
    published = BooleanField(_l("Published"), default=True)
    submit = SubmitField(_l("Save page"))


class CorsForm(FlaskForm):
    origins = TextAreaField(
        _l("Sites whose pages may call the API"),
        validators=[Length(max=4500)],
        description=_l(
            "One per line, e.g. https://www.example.com (a headless storefront). "
            "Pages on any other site cannot read the API's answers."
        ),
    )
    submit = SubmitField(_l("Save sites"))


class WebhookForm(FlaskForm):
    url = StringField(
        _l("Endpoint URL"),
        validators=[DataRequired(), Length(max=500)],
        description=_l("https://… — your receiver; it gets a signed JSON POST per event."),
    )
    events = SelectMultipleField(_l("Events"), choices=[], validate_choice=True)
    submit = SubmitField(_l("Add endpoint"))


class HomeSectionForm(FlaskForm):
    """A home page section's fields; the page shows those of the section's kind
    (``admin.home.FIELDS``), and ``home.schemas`` validates what they hold."""

    heading = StringField(_l("Heading"), validators=[Length(max=200)])
    text = StringField(_l("Short text"), validators=[Length(max=200)])
    body = TextAreaField(
        _l("Text"),
        validators=[Length(max=10000)],
        description=_l(
            "Markdown: **bold**, *italic*, # headings, - lists, [links](https://…). "
            "HTML is shown as text."
        ),
        render_kw={"rows": 8},
    )
    button = StringField(_l("Button label"), validators=[Length(max=60)])
    link = StringField(
        _l("Link"),
        validators=[Length(max=500)],
        description=_l("A page of your shop (/c/tools) or an address starting with https://."),
    )
    image = FileField(
        _l("Picture"),
        validators=[FileAllowed(["png", "jpg", "jpeg", "gif", "webp", "avif"], _l("Images only."))],
    )
    remove_image = BooleanField(_l("Remove the picture"))
    alt = StringField(
        _l("Picture description"),
        validators=[Length(max=200)],
        description=_l("What the picture shows, for shoppers who cannot see it."),
    )
    image_side = SelectField(
        _l("Picture side"),
        choices=[SelectChoice("left", _l("Left")), SelectChoice("right", _l("Right"))],
        default="left",
    )
    products = StringField(
        _l("Products (SKUs)"),
        validators=[Length(max=1000)],
        description=_l("Up to 12 SKUs separated by commas; empty: your featured products."),
    )
    category = SelectField(_l("Category"), choices=[], validate_choice=False)
    limit = IntegerField(
        _l("Products shown"), validators=[Optional(), NumberRange(min=1, max=12)], default=4
    )
    submit = SubmitField(_l("Save section"))
