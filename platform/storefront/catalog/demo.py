"""Demo catalogs for the two demo shops: a dozen products each, in a few categories."""

from __future__ import annotations

from sqlalchemy import func, select

from ..extensions import db
from .models import Product
from .services import create_category, create_product

CATALOGS: dict[str, dict[str, list[tuple[str, str, int, int, str]]]] = {
    "acme": {
        "Anvils": [
            ("ACME-ANV-50", "Classic Anvil, 50 lb", 8900, 12, "Drop-forged, cliff-tested."),
            ("ACME-ANV-100", "Heavy Anvil, 100 lb", 14900, 5, "For the most determined plans."),
            ("ACME-ANV-MINI", "Desk Anvil", 1900, 40, "A paperweight with ambition."),
        ],
        "Rockets": [
            ("ACME-RKT-SKATES", "Rocket Skates", 12900, 8, "Top speed: unwise."),
            ("ACME-RKT-BIKE", "Jet-Propelled Unicycle", 24900, 3, "Balance not included."),
            (
                "ACME-RKT-KIT",
                "Do-It-Yourself Rocket Kit",
                5900,
                20,
                "Instructions in 12 languages.",
            ),
            ("ACME-RKT-SLED", "Rocket Sled", 39900, 0, "Back in stock soon."),
        ],
        "Gadgets": [
            ("ACME-GAD-MAGNET", "Giant Magnet", 4900, 15, "Attracts everything. Everything."),
            ("ACME-GAD-HOLE", "Portable Hole", 2900, 50, "Fold, carry, unfold."),
            ("ACME-GAD-GLUE", "Super Glue, 1 gal", 1500, 60, "Sticks to roads and plans alike."),
            ("ACME-GAD-SEED", "Bird Seed, 5 lb", 900, 99, "Irresistible. Guaranteed."),
            ("ACME-GAD-TNT", "Dehydrated Boulders", 3900, 25, "Just add water."),
        ],
    },
    "globex": {
        "Jackets": [
            ("GLX-JKT-STORM", "Storm Shell Jacket", 18900, 10, "Waterproof, breathable, packable."),
            ("GLX-JKT-DOWN", "Alpine Down Parka", 29900, 6, "800-fill down for deep winter."),
            ("GLX-JKT-WIND", "Featherweight Windbreaker", 7900, 18, "Weighs less than an apple."),
        ],
        "Packs": [
            ("GLX-PCK-30", "Trail Pack 30 L", 11900, 14, "Day hikes and city days."),
            ("GLX-PCK-55", "Expedition Pack 55 L", 21900, 4, "Built for a week outside."),
            ("GLX-PCK-SLING", "Everyday Sling", 4900, 30, "Keys, phone, snacks."),
        ],
        "Camp": [
            ("GLX-CMP-TENT2", "Two-Person Tent", 24900, 7, "Pitches in five minutes."),
            ("GLX-CMP-BAG", "Three-Season Sleeping Bag", 15900, 9, "Comfort to -5 °C."),
            ("GLX-CMP-STOVE", "Titanium Stove", 6900, 22, "Boils a litre in three minutes."),
            ("GLX-CMP-LAMP", "Solar Lantern", 3900, 40, "Charges by day, glows by night."),
            ("GLX-CMP-MUG", "Insulated Mug", 2400, 60, "Coffee stays hot on the ridge."),
            ("GLX-CMP-MAT", "Inflatable Sleeping Mat", 8900, 0, "Back in stock soon."),
        ],
    },
}


def seed_catalog(slug: str) -> int:
    """Add the demo products of ``slug`` if it has none; returns how many were added."""
    catalog = CATALOGS.get(slug)
    if not catalog or db.session.scalar(select(func.count(Product.id))):
        return 0
    added = 0
    for position, (category, products) in enumerate(catalog.items()):
        create_category(category, position=position)
        for index, (sku, title, price, stock, description) in enumerate(products):
            create_product(
                sku,
                title,
                price,
                description=description,
                stock=stock,
                compare_at_price=price + 2000 if index == 1 else None,
                categories=[category.lower()],
                featured=index == 0,
            )
            added += 1
    db.session.commit()
    return added
