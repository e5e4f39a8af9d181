"""The bound shop's prices for a destination: its shipping zones and tax rates, fed to
``pricing.quote`` (which knows nothing of shops)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from babel import Locale

from ..i18n import current_locale
from ..tenancy.context import current_tenant
from ..tenancy.settings import ShippingZone, ShopSettings
from .pricing import DiscountIn, LineIn, Quote, ShippingIn, TaxRule, quote

EVERYWHERE = "*"


def _settings() -> ShopSettings:
    settings = current_tenant().settings
    if settings is None:
        raise LookupError("the shop has no valid settings")
    return settings


def zones(settings: ShopSettings | None = None) -> list[ShippingZone]:
    """The shop's zones; a shop without any ships everywhere at its flat rate."""
    settings = settings or _settings()
    if settings.shipping.zones:
        return list(settings.shipping.zones)
    return [
        ShippingZone(
            name="default",
            countries=[EVERYWHERE],
            rate=settings.shipping.flat_rate,
            free_above=settings.shipping.free_above,
        )
    ]


def zone_for(country: str, settings: ShopSettings | None = None) -> ShippingZone | None:
    """The zone that ships to ``country`` (ISO code), or None: the shop does not ship there."""
    everywhere = None
    for zone in zones(settings):
        if country in zone.countries:
            return zone
        if EVERYWHERE in zone.countries:
            everywhere = zone
    return everywhere if _is_country(country) else None


def _is_country(code: str) -> bool:
    return len(code) == 2 and code.isalpha() and code.isupper() and code in _territories()


def _territories() -> dict[str, str]:
    names = Locale.parse(current_locale()).territories
    return {code: name for code, name in names.items() if len(code) == 2 and code.isalpha()}


def countries(settings: ShopSettings | None = None) -> list[tuple[str, str]]:
    """(code, name in the reader's language) of every country the shop ships to, by name."""
    names = _territories()
    codes: set[str] = set()
    for zone in zones(settings):
        codes.update(names if EVERYWHERE in zone.countries else zone.countries)
    return sorted(((c, names.get(c, c)) for c in codes), key=lambda item: item[1])


def country_name(code: str) -> str:
    return _territories().get(code, code)


def tax_rule(country: str, settings: ShopSettings | None = None) -> TaxRule:
    settings = settings or _settings()
    rates = settings.tax.rates.get(country) or settings.tax.rates.get(EVERYWHERE) or {}
    return TaxRule(
        include_tax=settings.tax.prices_include_tax,
        rates={cls: Decimal(str(percent)) / 100 for cls, percent in rates.items()},
    )


def shipping_for(zone: ShippingZone) -> ShippingIn:
    return ShippingIn(zone.rate, zone.free_above)


def price(
    lines: Iterable[LineIn],
    country: str,
    discount: DiscountIn | None = None,
    *,
    ships: bool = True,
) -> tuple[Quote, ShippingZone | None]:
    """The quote for ``lines`` shipped to ``country`` (no shipping if nothing ships there,
    or when nothing is to ship: ``ships`` off, an order of gift cards alone)."""
    settings = _settings()
    zone = zone_for(country, settings)
    shipping = shipping_for(zone) if zone and ships else None
    return quote(list(lines), tax_rule(country, settings), shipping, discount), zone


def free_shipping_from() -> int | None:
    """The order value above which shipping is free everywhere the shop ships (for a
    banner that cannot lie), or None when it is not the same everywhere."""
    thresholds = {zone.free_above for zone in zones()}
    if len(thresholds) == 1:
        (only,) = thresholds
        return only
    return None
