"""The demo shops behind ``make demo``: provisioned from ``tenants/``, idempotently."""

from __future__ import annotations

from collections.abc import Iterator

from flask import current_app
from sqlalchemy import select

from .accounts.services import create_user, find_user
from .catalog.demo import seed_catalog, seed_gift_card
from .content import services as content
from .extensions import db
from .home.demo import seed_home
from .orders import discounts
from .reviews.demo import seed_reviews
from .tenancy.context import tenant_context
from .tenancy.models import Tenant
from .tenancy.secrets import load_secrets, set_secret
from .tenancy.services import NewShop, create_shop, get_shop, tenants_dir

DEMO_SHOPS = {
    "acme": ("acme.localhost", "www.acme.localhost"),
    "globex": ("globex.localhost", "www.globex.localhost"),
}
DEMO_STRIPE = {  # not secrets: they only open the local fake Stripe of `make demo`
    "stripe.secret_key": "sk_test_demoacme00000000",
    "stripe.publishable_key": "pk_test_demoacme00000000",
    "stripe.webhook_secret": "whsec_demoacme00000000",
}
# The pages the demo shops' footers link to (Markdown; translations by locale).
DEMO_PAGES = {
    "acme": {
        "slug": "shipping",
        "title": "Shipping and returns",
        "body": (
            "We ship every order from our warehouse in **Walla Walla** within two working "
            "days.\n\n"
            "| Where | Rate | Free from |\n|---|---|---|\n"
            "| Contiguous US | $5.00 | $50.00 |\n| Canada and Mexico | $15.00 | $100.00 |\n\n"
            "## Returns\n\nNot happy? Send it back within **30 days** for a full refund. "
            "Anvils that fell off a cliff excepted.\n\n"
            "Questions? [Write to us](mailto:hello@acme.localhost)."
        ),
        "translations": {
            "fr_FR": {
                "title": "Livraison et retours",
                "body": (
                    "Nous expédions chaque commande depuis notre entrepôt de **Walla Walla** "
                    "sous deux jours ouvrés.\n\n## Retours\n\nPas satisfait ? Renvoyez "
                    "l'article sous **30 jours** pour un remboursement complet."
                ),
            }
        },
    },
    "globex": {
        "slug": "versand",
        "title": "Versand",
        "body": (
            "Wir versenden innerhalb Deutschlands ab 4,90 € und **kostenlos ab 50 €**. "
            "Bestellungen vor 14 Uhr verlassen das Lager am selben Tag.\n\n"
            "## Rückgabe\n\n30 Tage Rückgaberecht, ohne Wenn und Aber."
        ),
        "translations": {
            "en_GB": {
                "title": "Shipping",
                "body": "We ship within Germany from €4.90 and **free over €50**.",
            }
        },
    },
}
DEMO_PASSWORD = "demo-password"  # noqa: S105  # demo accounts only; printed by `make demo`


def provision_demo() -> Iterator[str]:
    """Create each demo shop that is missing, with an owner account; report what exists."""
    for slug, hosts in DEMO_SHOPS.items():
        if db.session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is None:
            create_shop(NewShop(slug=slug, name=slug, domains=hosts), adopt_folder=True)
            yield f"created demo shop {slug}"
        tenant = get_shop(slug)
        with tenant_context(tenant):
            owner = f"owner@{slug}.example.com"
            if find_user(owner) is None:
                create_user(owner, DEMO_PASSWORD, roles=["owner"])
                db.session.commit()

            if slug in DEMO_PAGES and not content.all_pages():
                content.save_page(None, published=True, **DEMO_PAGES[slug])  # type: ignore[arg-type]
                db.session.commit()
                yield f"  page /pages/{DEMO_PAGES[slug]['slug']} added to {slug}"
            added = seed_catalog(slug)
            if added:
                yield f"  {added} demo products added to {slug}"
            if seed_gift_card(slug):
                db.session.commit()
                yield f"  a gift card (sold in three amounts) added to {slug}"
            arranged = seed_home(slug)
            if arranged:
                db.session.commit()
                yield f"  {arranged} home page sections added to {slug}"
            reviewed = seed_reviews(slug)
            if reviewed:
                db.session.commit()
                yield f"  {reviewed} demo reviews added to {slug}"
            if slug == "acme" and not load_secrets(tenants_dir(), slug).stripe.secret_key:
                # Test-mode keys for the local fake Stripe `make demo` runs beside the shops.
                for key, value in DEMO_STRIPE.items():
                    set_secret(tenants_dir(), slug, key, value)
                yield "  Stripe test-mode keys (for the local fake) added to acme"
            if slug == "acme" and not discounts.list_codes():
                discounts.create_code("WELCOME10", "percent", 10, max_uses_per_customer=1)
                db.session.commit()
                yield "  discount code WELCOME10 (10 % off, once per customer) added to acme"
        port = current_app.config.get("SHOP_URL_PORT")
        address = f"{current_app.config['PREFERRED_URL_SCHEME']}://{hosts[0]}"
        address += f":{port}/" if port else "/"
        yield f"{tenant.name}: {address}  (dashboard: {owner} / {DEMO_PASSWORD})"
