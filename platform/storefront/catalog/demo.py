"""Demo catalogs for the two demo shops: a dozen products each, in a few categories,
with pictures drawn at install (``demo_pictures``) and a few products sold in sizes and
colours."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import func, select

from ..extensions import db
from ..i18n import other_locales
from . import images, variants
from .demo_pictures import pictures_for
from .models import Product
from .services import (
    all_categories,
    create_category,
    create_product,
    product_by_sku,
    slugify,
)

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
    # Globex speaks German first: its own texts are German, English is the translation.
    "globex": {
        "Jacken": [
            (
                "GLX-JKT-STORM",
                "Sturmjacke",
                18900,
                10,
                "Wasserdicht, atmungsaktiv, packbar.",
            ),
            ("GLX-JKT-DOWN", "Alpine Daunenparka", 29900, 6, "800er Daune für tiefen Winter."),
            ("GLX-JKT-WIND", "Federleichte Windjacke", 7900, 18, "Wiegt weniger als ein Apfel."),
        ],
        "Rucksäcke": [
            ("GLX-PCK-30", "Wanderrucksack 30 l", 11900, 14, "Für Tagestouren und Stadttage."),
            ("GLX-PCK-55", "Expeditionsrucksack 55 l", 21900, 4, "Gebaut für eine Woche draußen."),
            ("GLX-PCK-SLING", "Alltags-Umhängetasche", 4900, 30, "Schlüssel, Handy, Proviant."),
        ],
        "Camping": [
            ("GLX-CMP-TENT2", "Zwei-Personen-Zelt", 24900, 7, "In fünf Minuten aufgebaut."),
            ("GLX-CMP-BAG", "Drei-Jahreszeiten-Schlafsack", 15900, 9, "Komfortbereich bis -5 °C."),
            ("GLX-CMP-STOVE", "Titan-Kocher", 6900, 22, "Kocht einen Liter in drei Minuten."),
            ("GLX-CMP-LAMP", "Solarlaterne", 3900, 40, "Lädt am Tag, leuchtet in der Nacht."),
            ("GLX-CMP-MUG", "Isolierbecher", 2400, 60, "Der Kaffee bleibt auf dem Grat heiß."),
            ("GLX-CMP-MAT", "Aufblasbare Isomatte", 8900, 0, "Bald wieder auf Lager."),
        ],
    },
}


# The demo texts in each shop's other language: sku or category -> (title, description).
TRANSLATIONS: dict[str, tuple[str, dict[str, tuple[str, str]]]] = {
    "acme": (
        "fr_FR",
        {
            "Anvils": ("Enclumes", ""),
            "Rockets": ("Fusées", ""),
            "Gadgets": ("Gadgets", ""),
            "ACME-ANV-50": ("Enclume classique, 23 kg", "Forgée, testée en chute de falaise."),
            "ACME-ANV-100": ("Enclume lourde, 45 kg", "Pour les plans les plus déterminés."),
            "ACME-ANV-MINI": ("Enclume de bureau", "Un presse-papier qui a de l’ambition."),
            "ACME-RKT-SKATES": ("Patins-fusées", "Vitesse de pointe : déraisonnable."),
            "ACME-RKT-BIKE": ("Monocycle à réaction", "Équilibre non fourni."),
            "ACME-RKT-KIT": ("Fusée à monter soi-même", "Notice en 12 langues."),
            "ACME-RKT-SLED": ("Luge-fusée", "Bientôt de retour en stock."),
            "ACME-GAD-MAGNET": ("Aimant géant", "Attire tout. Absolument tout."),
            "ACME-GAD-HOLE": ("Trou portatif", "Pliez, emportez, dépliez."),
            "ACME-GAD-GLUE": ("Super glue, 4 l", "Colle aux routes comme aux plans."),
            "ACME-GAD-SEED": ("Graines pour oiseaux, 2 kg", "Irrésistibles. Garanti."),
            "ACME-GAD-TNT": ("Rochers déshydratés", "Il suffit d’ajouter de l’eau."),
        },
    ),
    "globex": (
        "en_GB",
        {
            "Jacken": ("Jackets", ""),
            "Rucksäcke": ("Packs", ""),
            "Camping": ("Camp", ""),
            "GLX-JKT-STORM": ("Storm Shell Jacket", "Waterproof, breathable, packable."),
            "GLX-JKT-DOWN": ("Alpine Down Parka", "800-fill down for deep winter."),
            "GLX-JKT-WIND": ("Featherweight Windbreaker", "Weighs less than an apple."),
            "GLX-PCK-30": ("Trail Pack 30 L", "Day hikes and city days."),
            "GLX-PCK-55": ("Expedition Pack 55 L", "Built for a week outside."),
            "GLX-PCK-SLING": ("Everyday Sling", "Keys, phone, snacks."),
            "GLX-CMP-TENT2": ("Two-Person Tent", "Pitches in five minutes."),
            "GLX-CMP-BAG": ("Three-Season Sleeping Bag", "Comfort to -5 °C."),
            "GLX-CMP-STOVE": ("Titanium Stove", "Boils a litre in three minutes."),
            "GLX-CMP-LAMP": ("Solar Lantern", "Charges by day, glows by night."),
            "GLX-CMP-MUG": ("Insulated Mug", "Coffee stays hot on the ridge."),
            "GLX-CMP-MAT": ("Inflatable Sleeping Mat", "Back in stock soon."),
        },
    ),
}


def _translations(slug: str, key: str, field: str) -> dict[str, dict[str, str]]:
    locale, texts = TRANSLATIONS.get(slug, ("", {}))
    if key not in texts or locale not in other_locales():
        return {}
    title, description = texts[key]
    values = {field: title, "description": description} if field == "title" else {field: title}
    return {locale: {k: v for k, v in values.items() if v}}


# Products sold in sizes and colours: options in the shop's language, their translation,
# and how the product's stock is spread over the combinations (in order).
SIZES = ("S", "M", "L", "XL")
SIZE_DE = variants.OptionIn("Größe", SIZES, {"en_GB": ("Size", SIZES)})
OPTIONS: dict[str, tuple[list[variants.OptionIn], list[int]]] = {
    "ACME-RKT-SKATES": (
        [
            variants.OptionIn(
                "Size",
                ("8", "9", "10", "11", "12"),
                {"fr_FR": ("Pointure", ("41", "42", "43", "44", "45"))},
            )
        ],
        [1, 2, 3, 2, 0],
    ),
    "GLX-JKT-STORM": (
        [
            SIZE_DE,
            variants.OptionIn(
                "Farbe", ("Rot", "Blau", "Grün"), {"en_GB": ("Colour", ("Red", "Blue", "Green"))}
            ),
        ],
        [1, 1, 0, 2, 2, 1, 2, 1, 0, 0, 0, 0],
    ),
    "GLX-JKT-DOWN": ([SIZE_DE], [1, 2, 2, 1]),
    "GLX-PCK-30": (
        [variants.OptionIn("Farbe", ("Grün", "Grau"), {"en_GB": ("Colour", ("Green", "Grey"))})],
        [8, 6],
    ),
}
PRICES: dict[tuple[str, tuple[str, ...]], int] = {
    ("ACME-RKT-SKATES", ("12",)): 13900
}  # the big size costs more
_RENDITIONS: dict[str, dict[str, bytes]] = {}  # the same drawings for every provisioning


@cache
def _pictures(sku: str) -> list[tuple[str, bytes]]:
    return pictures_for(sku)


def dress_product(sku: str) -> None:
    """Give a demo product its pictures (renditions made now: the demo is ready when it
    says so) and, for some, sizes and colours."""
    product = product_by_sku(sku)
    if product is None:
        return
    by_colour = {}
    for colour, data in _pictures(sku):
        image = images.add_image(product, data)
        images.make_renditions(image, _RENDITIONS)
        by_colour[colour] = image.key
    if sku not in OPTIONS:
        return
    options, spread = OPTIONS[sku]
    variants.set_options(product, options)
    for variant, stock in zip(product.variants, spread, strict=True):
        if stock != variant.stock:
            variants.adjust_variant_stock(product, variant, stock - variant.stock)
        picture = next((by_colour[v] for v in variant.option_values if v in by_colour), None)
        price = PRICES.get((sku, tuple(variant.option_values)))
        if picture is not None or price is not None:
            variants.update_variant(product, variant, price=price, image_key=picture)


def seed_catalog(slug: str) -> int:
    """Add the demo products of ``slug`` if it has none; returns how many were added."""
    catalog = CATALOGS.get(slug)
    if not catalog or db.session.scalar(select(func.count(Product.id))):
        return 0
    added = 0
    for position, (category, products) in enumerate(catalog.items()):
        category_slug = slugify(category)
        create_category(
            category,
            category_slug,
            position=position,
            translations=_translations(slug, category, "name"),
        )
        for index, (sku, title, price, stock, description) in enumerate(products):
            create_product(
                sku,
                title,
                price,
                description=description,
                stock=stock,
                compare_at_price=price + 2000 if index == 1 else None,
                categories=[category_slug],
                translations=_translations(slug, sku, "title"),
                featured=index == 0,
            )
            dress_product(sku)
            added += 1
    db.session.commit()
    return added


# The gift card each demo shop sells (orders.giftcards): its amounts are its options, each
# unit bought becomes a card worth its price, mailed with its code; nothing ships.
# shop -> (sku, title, description, category, option, amounts and prices, translation).
GIFT_CARDS: dict[str, tuple[str, str, str, str, str, dict[str, int], dict[str, Any]]] = {
    "acme": (
        "ACME-GIFT",
        "Gift Card",
        "For the schemer who has everything. Sent by email with its code; spend it on "
        "anything in the shop, in one go or over several orders.",
        "Gadgets",
        "Amount",
        {"$25": 2500, "$50": 5000, "$100": 10000},
        {
            "fr_FR": (
                "Carte cadeau Acme",
                "Pour le comploteur qui a déjà tout. Envoyée par e-mail avec son code, à "
                "dépenser en une ou plusieurs commandes.",
                "Montant",
                ("25 $", "50 $", "100 $"),
            )
        },
    ),
    "globex": (
        "GLX-GIFT",
        "Globex Geschenkkarte",
        "Für alle, die draußen zu Hause sind. Kommt per E-Mail mit ihrem Code und gilt für "
        "alles im Shop, auf einmal oder über mehrere Bestellungen.",
        "Camping",
        "Betrag",
        {"25 €": 2500, "50 €": 5000, "100 €": 10000},
        {
            "en_GB": (
                "Globex Gift Card",
                "For anyone at home outdoors. Sent by email with its code; spend it on "
                "anything in the shop, at once or over several orders.",
                "Amount",
                ("€25", "€50", "€100"),
            )
        },
    ),
}


def seed_gift_card(slug: str) -> bool:
    """Add the demo gift card of ``slug`` if it lacks it (a shop provisioned before the
    demo sold one gets it too); True when it was added. Flushes; the caller commits."""
    if slug not in GIFT_CARDS:
        return False
    sku, title, description, category, option, amounts, texts = GIFT_CARDS[slug]
    if product_by_sku(sku) is not None:
        return False
    spoken = {loc: t for loc, t in texts.items() if loc in other_locales()}
    category_slug = slugify(category)
    product = create_product(
        sku,
        title,
        min(amounts.values()),
        description=description,
        stock=0,  # a gift card counts no stock
        gift_card=True,
        categories=[category_slug] if category_slug in {c.slug for c in all_categories()} else None,
        translations={loc: {"title": t[0], "description": t[1]} for loc, t in spoken.items()},
    )
    variants.set_options(
        product,
        [
            variants.OptionIn(
                option, tuple(amounts), {loc: (t[2], tuple(t[3])) for loc, t in spoken.items()}
            )
        ],
    )
    for variant in product.variants:
        variants.update_variant(product, variant, price=amounts[variant.option_values[0]])
    return True
