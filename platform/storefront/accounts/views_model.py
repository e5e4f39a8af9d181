"""What templates see of the shop and the user: plain read-only views, never ORM rows."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from ..catalog.money import shop_money
from ..i18n import current_locale, link_label, shop_text
from ..orders.totals import free_shipping_from
from ..permissions import is_staff
from ..shared import SafeView
from ..tenancy.context import TenantContext
from ..tenancy.request_hooks import shop_base_url

ROLE_LABELS = {
    "owner": _l("Owner"),
    "manager": _l("Manager"),
    "catalog_editor": _l("Catalog editor"),
    "fulfilment": _l("Order fulfilment"),
    "support": _l("Customer support"),
    "read_only": _l("Read-only"),
    "customer": _l("Customer"),
}


# What each dashboard role may do, as the Staff page explains it (the sets themselves:
# storefront.permissions).
ROLE_SUMMARIES = {
    "owner": _l("Everything, including the staff, domains, payments, API keys and settings."),
    "manager": _l(
        "The daily work: products, orders and refunds, discounts and pages; reads the "
        "customers and the payment events."
    ),
    "catalog_editor": _l("Products, categories, stock and pages; reads the discounts."),
    "fulfilment": _l("Orders: ships, cancels and refunds them; reads the products."),
    "support": _l("Reads orders, customers, products, discounts and pages to help shoppers."),
    "read_only": _l("Reads the products, orders, customers, discounts, pages and payments."),
}


def role_label(role: str) -> str:
    """A role in the reader's language."""
    label = ROLE_LABELS.get(role)
    return str(label) if label is not None else role


@dataclass(frozen=True)
class LinkView(SafeView):
    label: str
    url: str


@dataclass(frozen=True)
class ShopView(SafeView):
    slug: str
    name: str
    theme: str
    base_url: str
    logo: str | None
    favicon: str | None
    footer_text: str
    mail_footer: str
    banner_text: str
    footer_links: tuple[LinkView, ...]
    contact_email: str | None
    registration_open: bool
    currency: str
    locale: str
    # "$50.00" when shipping is free above the same order value everywhere the shop
    # ships, from its zones: what banners promise comes from the settings.
    free_shipping_from: str = ""
    # Suspended: its pages show the notice, without links into the closed shop.
    closed: bool = False
    # Billing (storefront.billing): past_due (in grace until ``billing_until``, a date),
    # closed or suspended for non-payment; the dashboard's banner reads them.
    billing_state: str = ""
    billing_until: str = ""

    @classmethod
    def of(cls, ctx: TenantContext) -> ShopView:
        s = ctx.settings
        if s is None:
            raise ValueError(f"shop {ctx.slug} has no valid settings")
        return cls(
            slug=ctx.slug,
            name=ctx.name,
            theme=ctx.theme,
            base_url=shop_base_url(ctx) if ctx.primary_host else "",
            logo=s.branding.logo,
            favicon=s.branding.favicon,
            footer_text=shop_text(s, "footer_text"),
            mail_footer=shop_text(s, "mail_footer"),
            banner_text=shop_text(s, "banner_text"),
            footer_links=tuple(
                LinkView(link_label(x.labels, x.label), x.url) for x in s.branding.footer_links
            ),
            contact_email=s.contact_email,
            registration_open=s.features.registration,
            currency=s.currency,
            locale=current_locale(),
            free_shipping_from=_free_shipping_from(),
            closed=ctx.status == "suspended",
            billing_state=ctx.billing_state,
            billing_until=(ctx.billing_until or "")[:10],
        )


def _free_shipping_from() -> str:
    threshold = free_shipping_from()
    return shop_money(threshold) if threshold is not None else ""


@dataclass(frozen=True)
class UserView(SafeView):
    is_authenticated: bool
    email: str = ""
    name: str = ""
    roles: tuple[str, ...] = ()

    @property
    def is_staff(self) -> bool:
        return is_staff(self.roles)

    @classmethod
    def of(cls, user: object) -> UserView:
        if not getattr(user, "is_authenticated", False):
            return ANONYMOUS
        return cls(
            is_authenticated=True,
            email=user.email,  # type: ignore[attr-defined]
            name=user.name or "",  # type: ignore[attr-defined]
            roles=tuple(r.name for r in user.roles),  # type: ignore[attr-defined]
        )


ANONYMOUS = UserView(is_authenticated=False)
