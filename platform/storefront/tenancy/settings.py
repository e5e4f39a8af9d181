"""``tenant.toml``: the schema of a shop's operator-owned settings, and its overlay.

Validation errors name the file, the key and what was expected, in one line each, so an
operator can fix a shop without reading a traceback; one broken shop never stops another.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

import pytz
from babel import Locale, UnknownLocaleError
from babel.numbers import list_currencies
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

SETTINGS_FILE = "tenant.toml"
COLOR = r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$"

# Platform config keys a shop may set in its [config] table, with their types. Anything
# else (database URL, secret key, infrastructure) is platform-only.
SHOP_CONFIG_KEYS: dict[str, type] = {
    "PRODUCTS_PER_PAGE": int,
    "LOW_STOCK_THRESHOLD": int,  # the dashboard's and the daily digest's "running low"
    "RATELIMIT_LOGIN": str,
    "SECURITY_EMAIL_SUBJECT_REGISTER": str,
    "SECURITY_EMAIL_SUBJECT_PASSWORD_RESET": str,
    "SECURITY_EMAIL_SUBJECT_CONFIRM": str,
    "SECURITY_EMAIL_SUBJECT_PASSWORD_NOTICE": str,
}


# The themes a shop may name. The themes layer tells this module (``register_themes``)
# rather than this module importing it: tenancy sits below themes.
KNOWN_THEMES: set[str] = set()


def register_themes(names: Iterable[str]) -> None:
    """Add theme names that ``tenant.toml`` may choose."""
    KNOWN_THEMES.update(names)


class SettingsError(ValueError):
    """A shop's folder or ``tenant.toml`` is not valid; ``str()`` is one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Link(_Strict):
    label: str = Field(min_length=1, max_length=60)
    url: str = Field(min_length=1, max_length=500)
    # The label in the shop's other locales, e.g. {"fr_FR" = "Livraison"}.
    labels: dict[str, str] = {}


def _color(value: str) -> str:
    if not re.fullmatch(COLOR, value):
        raise ValueError(f"{value!r} is not a colour: write it as #1f4e79 (3, 6 or 8 hex digits)")
    return value


# A colour as CSS takes it, with an error that says so (not the pattern).
Color = Annotated[str, AfterValidator(_color)]


class Branding(_Strict):
    logo: str | None = None
    favicon: str | None = None
    primary_color: Color = "#1f4e79"
    accent_color: Color = "#e8590c"
    background_color: Color = "#ffffff"
    text_color: Color = "#1d1d1f"
    font_family: str = Field("system-ui, -apple-system, 'Segoe UI', sans-serif", max_length=200)
    heading_font: str | None = Field(None, max_length=200)
    footer_text: str = Field("", max_length=500)
    # A line above every page (a sale, a shipping promise); empty: none.
    banner_text: str = Field("", max_length=200)
    footer_links: list[Link] = []


class Features(_Strict):
    registration: bool = True
    confirm_email: bool = False
    guest_checkout: bool = True


class MailSettings(_Strict):
    sender: str | None = Field(None, max_length=200)
    footer: str = Field("", max_length=500)


COUNTRY = r"^(?:[A-Z]{2}|\*)$"  # ISO 3166-1 alpha-2, or * for "everywhere else"
MAX_PRICE = 2_000_000_000


class ShippingZone(_Strict):
    """Countries a shop ships to at one rate (minor units), free above an order value."""

    name: str = Field(min_length=1, max_length=100)
    countries: list[Annotated[str, Field(pattern=COUNTRY)]] = Field(min_length=1, max_length=300)
    rate: int = Field(0, ge=0, le=MAX_PRICE)
    free_above: int | None = Field(None, ge=0, le=MAX_PRICE)
    label: str | None = Field(None, max_length=100)  # None: [shipping] label


class Shipping(_Strict):
    label: str | None = Field(None, max_length=100)  # None: "Standard shipping", translated
    flat_rate: int = Field(0, ge=0, le=MAX_PRICE)  # without zones: one rate, every country
    free_above: int | None = Field(None, ge=0, le=MAX_PRICE)
    zones: list[ShippingZone] = Field([], max_length=100)

    @field_validator("zones")
    @classmethod
    def _each_country_once(cls, zones: list[ShippingZone]) -> list[ShippingZone]:
        seen: dict[str, str] = {}
        for zone in zones:
            for country in zone.countries:
                if country in seen:
                    raise ValueError(
                        f"{country} is in two zones ({seen[country]!r}, {zone.name!r})"
                    )
                seen[country] = zone.name
        return zones


TAX_CLASSES = ("standard", "reduced", "zero")


class Tax(_Strict):
    """Prices entered with tax included (EU) or not (US); rates in percent by destination
    country (ISO code, or * for every other country) and product tax class."""

    prices_include_tax: bool = False
    rates: dict[
        Annotated[str, Field(pattern=COUNTRY)],
        dict[Literal["standard", "reduced", "zero"], Annotated[float, Field(ge=0, le=100)]],
    ] = Field({}, max_length=300)


class Payment(_Strict):
    # The methods checkout offers, first the default: bank_transfer, cash_on_delivery,
    # or any registered provider's code ("manual": the older one-size method).
    methods: list[str] = Field(["manual"], min_length=1, max_length=10)
    # Bank transfer: what to pay to (None: the platform's generic wording, translated).
    instructions: str | None = Field(None, max_length=2000)
    cash_on_delivery_instructions: str | None = Field(None, max_length=2000)
    # Orders still awaiting payment this many hours after checkout are cancelled and their
    # stock released (0: never, e.g. for cash on delivery).
    release_unpaid_hours: int = Field(0, ge=0, le=24 * 365)


ORIGIN = r"^https?://[a-z0-9.-]+(?::[0-9]{1,5})?$"  # scheme://host[:port], lowercase


class ApiSettings(_Strict):
    """The JSON API: the web origins (a headless storefront's site) whose pages may call
    it from a browser. None by default: a page on another site cannot read its answers."""

    cors_origins: list[Annotated[str, Field(pattern=ORIGIN, max_length=200)]] = Field(
        [], max_length=20
    )


class Privacy(_Strict):
    """How long the shop keeps personal data it no longer needs (None: for as long as
    the shop exists). The daily retention task erases guests whose last order is older
    than ``guest_data_days`` (their orders stay, anonymised) and accounts unseen for
    ``inactive_account_days`` (privacy.retention)."""

    guest_data_days: int | None = Field(None, ge=30, le=3650)
    inactive_account_days: int | None = Field(None, ge=90, le=3650)


class AuditSettings(_Strict):
    """The shop's audit trail: how long entries are kept (None: as long as the platform
    allows). The platform's ``AUDIT_RETENTION_MIN_DAYS`` and ``..._MAX_DAYS`` bound it."""

    retention_days: int | None = Field(None, ge=1, le=36500)


class SecuritySettings(_Strict):
    """Sign-in rules the owner sets: ``staff_second_factor`` asks every owner and staff
    account for a second factor (set up at their next sign-in)."""

    staff_second_factor: bool = False


class ShopTexts(_Strict):
    """The shop's own texts in one of its other locales (the defaults are the ones in
    ``[branding]``, ``[mail]``, ``[shipping]`` and ``[payment]``)."""

    footer_text: str | None = Field(None, max_length=500)
    banner_text: str | None = Field(None, max_length=200)
    mail_footer: str | None = Field(None, max_length=500)
    shipping_label: str | None = Field(None, max_length=100)
    payment_instructions: str | None = Field(None, max_length=2000)
    cash_on_delivery_instructions: str | None = Field(None, max_length=2000)


MAX_LOCALES = 10
MAX_OVERRIDES = 2000  # [texts.<locale>] entries per locale


class ShopSettings(_Strict):
    name: str = Field(min_length=1, max_length=200)
    theme: str = "classic"
    # ``locales`` lists every language the shop speaks, its default first; ``locale``
    # alone (the older form) is a shop with one language.
    locale: str = "en_US"
    locales: tuple[str, ...] = ()
    timezone: str = "UTC"
    # Platform wording the shop replaces, per locale: {"de_DE": {"Add to cart": "..."}}.
    texts: dict[str, dict[str, str | list[str]]] = {}
    # The shop's own texts in its other locales.
    content: dict[str, ShopTexts] = {}
    currency: str = "USD"
    contact_email: str | None = None
    branding: Branding = Branding()
    features: Features = Features()
    mail: MailSettings = MailSettings()
    shipping: Shipping = Shipping()
    tax: Tax = Tax()
    payment: Payment = Payment()
    api: ApiSettings = ApiSettings()
    privacy: Privacy = Privacy()
    audit: AuditSettings = AuditSettings()
    security: SecuritySettings = SecuritySettings()
    config: dict[str, Any] = {}

    @model_validator(mode="before")
    @classmethod
    def _default_locale(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("locales") and "locale" not in data:
            locales = data["locales"]
            if isinstance(locales, list) and locales and isinstance(locales[0], str):
                return {**data, "locale": locales[0]}
        return data

    @field_validator("locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        return _check_locale(value)

    @field_validator("locales", mode="before")
    @classmethod
    def _locale_list(cls, value: Any) -> Any:
        if isinstance(value, list):
            if len(value) > MAX_LOCALES:
                raise ValueError(f"at most {MAX_LOCALES} locales")
            if len(set(value)) != len(value):
                raise ValueError("a locale is listed twice")
            for item in value:
                if isinstance(item, str):
                    _check_locale(item)
            return tuple(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            pytz.timezone(value)  # what Flask-Babel converts with
        except (pytz.UnknownTimeZoneError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (expected e.g. 'Europe/Berlin')"
            ) from None
        return value

    @field_validator("texts")
    @classmethod
    def _bounded_texts(
        cls, value: dict[str, dict[str, str | list[str]]]
    ) -> dict[str, dict[str, str | list[str]]]:
        for locale, table in value.items():
            if len(table) > MAX_OVERRIDES:
                raise ValueError(f"{locale}: at most {MAX_OVERRIDES} texts")
            for msgid, text in table.items():
                forms = text if isinstance(text, list) else [text]
                if not forms or any(len(form) > 2000 for form in forms) or len(msgid) > 2000:
                    raise ValueError(f"{locale}: {msgid[:40]!r}: 1 to 2000 characters")
                # A shop's wording is text, escaped wherever it is shown (i18n.ShopWording);
                # markup in it is refused too, so no page or mail ever shows a tag as text.
                if any("<" in form or ">" in form for form in forms):
                    raise ValueError(f"{locale}: {msgid[:40]!r}: no markup (< or >) in a text")
                for form in forms:
                    problem = placeholder_problem(msgid, form, plural=isinstance(text, list))
                    if problem:
                        raise ValueError(f"{locale}: {msgid[:40]!r}: {problem}")
        return value

    @model_validator(mode="after")
    def _locales_agree(self) -> ShopSettings:
        if self.locales and self.locale != self.locales[0]:
            raise ValueError(
                f"locale {self.locale!r} must be the first of locales {list(self.locales)}"
            )
        known = set(self.all_locales)
        for table in ("texts", "content"):
            for locale in getattr(self, table):
                if locale not in known:
                    raise ValueError(
                        f"[{table}.{locale}]: {locale!r} is not one of the shop's locales "
                        f"({', '.join(self.all_locales)})"
                    )
        return self

    @property
    def all_locales(self) -> tuple[str, ...]:
        """Every locale the shop speaks, its default first."""
        return self.locales or (self.locale,)

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        if value not in list_currencies():
            raise ValueError(f"unknown currency {value!r} (expected an ISO 4217 code)")
        return value

    @field_validator("theme")
    @classmethod
    def _shipped_theme(cls, value: str) -> str:
        if value not in KNOWN_THEMES:
            names = ", ".join(sorted(KNOWN_THEMES)) or "none registered"
            raise ValueError(f"unknown theme {value!r} (expected one of: {names})")
        return value

    @field_validator("config")
    @classmethod
    def _whitelisted(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key, item in value.items():
            expected = SHOP_CONFIG_KEYS.get(key)
            if expected is None:
                raise ValueError(
                    f"key {key!r} is not one a shop may set "
                    f"(allowed: {', '.join(sorted(SHOP_CONFIG_KEYS))})"
                )
            if type(item) is not expected:
                raise ValueError(f"{key} expects {expected.__name__}, got {item!r}")
        return value

    def overlay(self) -> dict[str, Any]:
        """The platform config keys this shop overrides, for this shop's requests only."""
        values: dict[str, Any] = dict(self.config)
        values["SECURITY_LOGIN_WITHOUT_CONFIRMATION"] = not self.features.confirm_email
        if self.features.confirm_email:
            # Not signed in until confirmed: after registering, the login page (where the
            # "check your mail" message shows), not the account page it may not open.
            values["SECURITY_POST_REGISTER_VIEW"] = "/login"
        if self.mail.sender:
            values["SECURITY_EMAIL_SENDER"] = self.mail.sender
            values["MAIL_DEFAULT_SENDER"] = self.mail.sender
        return values


# A %-format token: a literal percent sign, a named placeholder, or a lone ``%`` (which
# formatting would reject). Every message is %-formatted with its keywords when shown
# (Jinja's new-style gettext), so a wording may use only the placeholders its message has.
_FORMAT_TOKEN = re.compile(r"%%|%\([^()]{0,60}\)[-#0 +*]*\d*(?:\.\d*)?[a-zA-Z]?|%")


def placeholder_problem(msgid: str, text: str, *, plural: bool = False) -> str | None:
    """Why ``text`` cannot stand for ``msgid`` when formatted with the message's keywords
    (an unknown placeholder, a lone ``%``), or None. A wording may repeat the message's
    own placeholders, leave some out, or show any of them with ``s``; a plural's forms may
    also show ``num``."""
    own = {part for part in _FORMAT_TOKEN.findall(msgid) if part not in ("%%", "%")}
    names = {part[2 : part.index(")")] for part in own}
    if plural:
        names.add("num")
        own.add("%(num)d")
    allowed = own | {f"%({name})s" for name in names}
    for part in _FORMAT_TOKEN.findall(text):
        if part == "%%" or part in allowed:
            continue
        if part == "%":
            return "a lone % (a percent sign is written %%, as in the platform's messages)"
        known = ", ".join(sorted(allowed)) or "none"
        return f"unknown placeholder {part} (the message's own: {known})"
    return None


def _check_locale(value: str) -> str:
    try:
        Locale.parse(value)
    except (ValueError, TypeError, UnknownLocaleError):
        raise ValueError(f"unknown locale {value!r} (expected e.g. 'en_US')") from None
    return value


def settings_path(tenants_dir: str | Path, slug: str) -> Path:
    return Path(tenants_dir) / slug / SETTINGS_FILE


def parse_settings(text: str, source: str) -> ShopSettings:
    """Parse and validate ``tenant.toml`` text; ``source`` names the file in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError([f"{source}: invalid TOML: {exc}"]) from None
    try:
        return ShopSettings.model_validate(data)
    except ValidationError as exc:
        raise SettingsError([_describe(source, err) for err in exc.errors()]) from None


def load_settings(tenants_dir: str | Path, slug: str) -> ShopSettings:
    path = settings_path(tenants_dir, slug)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SettingsError([f"{path}: missing (every shop needs a tenant.toml)"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError([f"{path}: unreadable ({exc})"]) from None
    return parse_settings(text, str(path))


def _describe(source: str, err: Any) -> str:
    key = ".".join(str(part) for part in err["loc"]) or "(top level)"
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"{source}: {key}: unknown key"
    if kind == "missing":
        return f"{source}: {key}: missing (required)"
    message = str(err["msg"]).removeprefix("Value error, ")
    message = message.replace("Input should be", "expected")
    if kind != "value_error":
        message += f", got {err.get('input')!r}"
    return f"{source}: {key}: {message}"
