"""The one vocabulary of what people and API keys may do in a shop, and the roles built
from it.

A permission is ``area:read`` or ``area:write``. The dashboard's pages declare the one they
need (``admin.access``: a page needs ``:read``, a form sent to it ``:write``), the API's
routes declare theirs as the scope an API key needs (``api.access``), and both read these
same words: an API key's scopes are permissions, and a key never holds more than the role
of the account that made it (``accounts.tokens``).

A role is a fixed set of permissions, defined here and nowhere else. A shop's ``roles``
rows carry the names; Flask-Security's ``has_permission`` reads the sets through
``Role.get_permissions``. Everyone with a dashboard role is "staff" (``STAFF_ROLES``);
``customer`` is the shopper's role and opens nothing in the dashboard.

Pure data (no imports at all): the tenancy layer asks ``is_staff`` too.
"""

from __future__ import annotations

from collections.abc import Iterable

# What each permission allows (in English: the API's document and tenantctl show it; the
# dashboard shows its own translated labels). The shop's own
# business first; the key-only scopes (a key acting as its owner's own shopper account)
# at the end.
PERMISSIONS = {
    "dashboard:read": "Open the dashboard's overview",
    "products:read": "Read every product, hidden ones too",
    "products:write": "Create, change and delete products and categories; adjust stock",
    "orders:read": "Read every order",
    "orders:write": "Change orders: status, shipping, cancel, refund",
    "customers:read": "Read customer accounts",
    "customers:write": "Download or erase a customer's whole data",
    "discounts:read": "Read discount codes",
    "discounts:write": "Create, switch on and off discount codes",
    "content:read": "Read the shop's pages and its home page's sections",
    "content:write": "Write and delete the shop's pages; arrange its home page's sections",
    "payments:read": "Read the payment events",
    "payments:write": "Choose the payment methods",
    "settings:read": "Read the shop's settings, shipping, taxes and search-engine rules",
    "settings:write": "Change the shop's settings, branding, shipping, taxes and SEO",
    "domains:read": "Read the shop's domains",
    "domains:write": "Add, verify and remove domains",
    "keys:read": "Read the API keys (never the keys themselves)",
    "keys:write": "Create and revoke API keys; allow browser origins",
    "staff:read": "Read the shop's staff and invitations",
    "staff:write": "Invite staff, change their roles and remove them",
    "audit:read": "Read and export the shop's activity trail",
    "audit:write": "Set how long the shop keeps its activity trail",
    "reviews:read": "Read every review, those waiting for approval and hidden ones too",
    "reviews:write": "Publish, hide, answer and delete reviews; review the key owner's purchases",
    # Where the shop's events go: an endpoint receives every order.
    "webhooks:read": "Read the shop's webhook endpoints (never their secrets)",
    "webhooks:write": "Add, change and remove webhook endpoints; make new secrets",
    # A key acts as its owner: these let it shop as that account, which few integrations
    # need, so no key has them unless asked for.
    "cart:read": "Read the key owner's own cart",
    "cart:write": "Add, change and remove lines in the key owner's own cart",
    "checkout:write": "Place orders as the key's owner",
    "account:read": "Read the key owner's own account, orders and addresses",
    "account:write": "Change the key owner's own address book",
}
# Every signed-in person may do these with their own account; an API key asks for them
# by name. They are not part of any role: they concern no one else's data.
PERSONAL = frozenset({"cart:read", "cart:write", "checkout:write", "account:read", "account:write"})
# The permissions an API route can ask for: what a key may be given (the others exist in
# the dashboard alone; a key holding one could do nothing with it).
API_SCOPES = (
    "products:read",
    "products:write",
    "orders:read",
    "orders:write",
    "customers:read",
    "webhooks:read",
    "webhooks:write",
    "reviews:read",
    "reviews:write",
    *sorted(PERSONAL),
)


def _both(*areas: str) -> frozenset[str]:
    return frozenset(f"{area}:{kind}" for area in areas for kind in ("read", "write"))


def _read(*areas: str) -> frozenset[str]:
    return frozenset(f"{area}:read" for area in areas)


OVERVIEW = frozenset({"dashboard:read"})
# Role name -> what it may do. ``owner`` has everything; the rest as their names say.
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "owner": frozenset(PERMISSIONS) - PERSONAL,
    # Runs the shop's daily work; not its staff, domains, payment set-up, keys, webhooks
    # or settings, nor a customer's whole data (its download and erasure: the owner's).
    "manager": OVERVIEW
    | _both("products", "orders", "discounts", "content", "reviews")
    | _read("customers", "payments"),
    "catalog_editor": OVERVIEW | _both("products", "content", "reviews") | _read("discounts"),
    "fulfilment": OVERVIEW | _both("orders") | _read("products"),
    "support": OVERVIEW
    | _read("orders", "customers", "products", "discounts", "content", "reviews"),
    "read_only": OVERVIEW
    | _read("products", "orders", "customers", "discounts", "content", "payments", "reviews"),
}
STAFF_ROLES = tuple(ROLE_PERMISSIONS)  # every dashboard role, owner first
CUSTOMER = "customer"
SHOP_ROLES = (*STAFF_ROLES, CUSTOMER)
# A role Flask-Security's rows named before roles had permissions; migrated to "manager".
LEGACY_STAFF = "staff"


def role_permissions(role: str) -> frozenset[str]:
    """What ``role`` allows (nothing for ``customer`` or a name not defined here)."""
    return ROLE_PERMISSIONS.get(role, frozenset())


def permissions_of(role_names: Iterable[str]) -> frozenset[str]:
    """Everything the roles together allow."""
    allowed: frozenset[str] = frozenset()
    for name in role_names:
        allowed |= role_permissions(name)
    return allowed


def is_staff(role_names: Iterable[str]) -> bool:
    """Whether one of the roles opens the dashboard."""
    return any(name in ROLE_PERMISSIONS for name in role_names)


def key_allowed(role_names: Iterable[str]) -> frozenset[str]:
    """The most an API key made by an account with these roles may hold: what the roles
    allow of the API's scopes, and the personal ones, for staff only."""
    names = list(role_names)
    if not is_staff(names):
        return frozenset()
    return (permissions_of(names) | PERSONAL) & frozenset(API_SCOPES)


def check_vocabulary() -> None:
    """Every role is built of defined permissions (tests/test_roles.py calls it)."""
    for role, allowed in ROLE_PERMISSIONS.items():
        unknown = allowed - set(PERMISSIONS)
        if unknown:
            raise ValueError(f"role {role} names unknown permissions {sorted(unknown)}")
