"""A few reviews for the demo shops: shoppers with delivered orders, their words in the
shop's language, published (one left waiting, so the dashboard's queue has work)."""

from __future__ import annotations

from sqlalchemy import select

from ..accounts.services import create_user, find_user
from ..catalog.services import product_by_sku
from ..extensions import db
from ..orders.models import Order, OrderLine
from ..tenancy.context import current_tenant
from .models import PUBLISHED, Review
from .services import Reviewable, create_review, set_state

# shop -> [(shopper's name, [(sku, rating, title, body, published)])]
DEMO_REVIEWS: dict[str, list[tuple[str, list[tuple[str, int, str, str, bool]]]]] = {
    "acme": [
        (
            "Wile Coyote",
            [
                (
                    "ACME-ANV-50",
                    5,
                    "Heavy, as promised",
                    "Fell exactly where planned.\n\nThe roadrunner, sadly, did not.",
                    True,
                ),
                ("ACME-RKT-SKATES", 3, "Fast", "Very fast. Steering is left to the buyer.", True),
            ],
        ),
        (
            "Elmer Fudd",
            [
                ("ACME-ANV-50", 4, "Sturdy", "Solid anvil. Shipping took a while.", True),
                ("ACME-GAD-HOLE", 5, "Handy", "Folds flat, works every time.", False),
            ],
        ),
    ],
    "globex": [
        (
            "Hank Scorpio",
            [
                (
                    "GLX-JKT-WIND",
                    5,
                    "Leicht und dicht",
                    "Hält den Wind ab und passt in jede Tasche.",
                    True,
                ),
                (
                    "GLX-PCK-30",
                    4,
                    "Gute Tagestasche",
                    "Bequem, nur die Seitentaschen sind etwas klein.",
                    True,
                ),
            ],
        ),
    ],
}
DEMO_SHOPPER_PASSWORD = "demo-password"  # noqa: S105  # demo accounts only


def seed_reviews(slug: str) -> int:
    """Add the shop's demo reviews once (none when it has any review); returns how many."""
    if slug not in DEMO_REVIEWS or db.session.scalar(select(Review.id).limit(1)) is not None:
        return 0
    added = 0
    settings = current_tenant().settings
    for index, (name, items) in enumerate(DEMO_REVIEWS[slug], start=1):
        email = f"{name.split()[0].lower()}@{slug}.example.com"
        user = find_user(email) or create_user(
            email, DEMO_SHOPPER_PASSWORD, roles=["customer"], name=name
        )
        chosen = [
            (product, (rating, title, body, published))
            for sku, rating, title, body, published in items
            if (product := product_by_sku(sku)) is not None
        ]
        if not chosen:
            continue
        total = sum(p.price for p, _item in chosen)
        order = Order(
            number=f"DEMO-{index}",
            user_id=user.id,
            email=email,
            name=name,
            address="1 Desert Road",
            postal_code="99362",
            city="Walla Walla",
            country="US" if slug == "acme" else "DE",
            shipping_label="Standard",
            shipping=0,
            subtotal=total,
            total=total,
            currency=settings.currency if settings else "USD",
            payment_method="bank_transfer",
            status="delivered",
        )
        db.session.add(order)
        db.session.flush()
        for product, (rating, title, body, published) in chosen:
            line = OrderLine(
                order_id=order.id,
                product_id=product.id,
                sku=product.sku,
                title=product.title,
                unit_price=product.price,
                quantity=1,
                line_total=product.price,
            )
            db.session.add(line)
            db.session.flush()
            target = Reviewable(
                line.id,
                product.id,
                product.slug,
                product.title,
                None,
                order.number,
                order.created_at,
            )
            review = create_review(user, target, rating, title, body, locale=None)
            if published:
                set_state(review, PUBLISHED)
            added += 1
    return added
