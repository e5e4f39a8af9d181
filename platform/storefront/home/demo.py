"""The demo shops' home pages, arranged as an owner would in the dashboard."""

from __future__ import annotations

from typing import Any

from .. import media
from ..catalog import demo_pictures
from ..catalog.services import get_category
from . import services

# Per shop: (kind, shared settings, texts per locale); "@category" names a category by
# slug, "@picture" a demo drawing (its id and key are the shop's own once made).
DEMO_SECTIONS: dict[str, list[tuple[str, dict[str, Any], dict[str, dict[str, str]]]]] = {
    "acme": [
        (
            "image_banner",
            {"link": "/c/rockets"},
            {
                "en_US": {
                    "heading": "Rocket season is here",
                    "text": "Everything you need to catch what you are chasing.",
                    "button": "See the rockets",
                },
                "fr_FR": {
                    "heading": "La saison des fusées est ouverte",
                    "text": "Tout ce qu’il faut pour attraper ce que vous poursuivez.",
                    "button": "Voir les fusées",
                },
            },
        ),
        (
            "featured_category",
            {"@category": "rockets", "limit": 4},
            {"en_US": {"heading": "Rockets"}, "fr_FR": {"heading": "Fusées"}},
        ),
        (
            "image_with_text",
            {"@picture": "rocket_kit", "image_side": "right", "link": "/pages/shipping"},
            {
                "en_US": {
                    "heading": "Built in the desert since 1949",
                    "body": (
                        "Every anvil is **drop-tested** from a cliff. "
                        "Every rocket ships with a spare fuse."
                    ),
                    "button": "Shipping",
                    "alt": "A rocket kit in its crate",
                },
                "fr_FR": {
                    "heading": "Fabriqué dans le désert depuis 1949",
                    "body": (
                        "Chaque enclume est **testée** du haut d’une falaise. "
                        "Chaque fusée part avec une mèche de rechange."
                    ),
                    "button": "Livraison",
                    "alt": "Un kit fusée dans sa caisse",
                },
            },
        ),
        (
            "featured_products",
            {},
            {"en_US": {"heading": "Featured"}, "fr_FR": {"heading": "À la une"}},
        ),
        (
            "newsletter",
            {},
            {
                "en_US": {"heading": "Beep beep!", "text": "New gadgets by mail, once a month."},
                "fr_FR": {
                    "heading": "Bip bip !",
                    "text": "Les nouveaux gadgets par mail, une fois par mois.",
                },
            },
        ),
    ],
    "globex": [
        (
            "image_with_text",
            {"@picture": "tent", "image_side": "left", "link": "/c/camping"},
            {
                "de_DE": {
                    "heading": "Draußen zu Hause",
                    "body": "Zelte, Schlafsäcke und Kocher für **jedes Klima**.",
                    "button": "Zum Camping",
                    "alt": "Ein Zelt im Grünen",
                },
                "en_GB": {
                    "heading": "At home outdoors",
                    "body": "Tents, sleeping bags and stoves for **every climate**.",
                    "button": "Go camping",
                    "alt": "A tent in the green",
                },
            },
        ),
        (
            "featured_category",
            {"@category": "jacken", "limit": 4},
            {"de_DE": {"heading": "Jacken"}, "en_GB": {"heading": "Jackets"}},
        ),
        (
            "rich_text",
            {},
            {
                "de_DE": {
                    "heading": "Klimaneutral verschickt",
                    "body": (
                        "Jedes Paket reist klimaneutral. "
                        "Ab 100 € liefern wir **kostenlos** innerhalb Deutschlands."
                    ),
                },
                "en_GB": {
                    "heading": "Shipped carbon-neutral",
                    "body": (
                        "Every parcel travels carbon-neutral. "
                        "Free delivery within Germany **from €100**."
                    ),
                },
            },
        ),
        (
            "newsletter",
            {},
            {
                "de_DE": {
                    "heading": "Newsletter",
                    "text": "Neue Ausrüstung und Tourentipps, einmal im Monat.",
                },
                "en_GB": {
                    "heading": "Newsletter",
                    "text": "New gear and trail tips, once a month.",
                },
            },
        ),
    ],
}
PICTURES = {
    "rocket_kit": ("#f59e0b", demo_pictures.rocket_kit),
    "tent": ("#16a34a", demo_pictures.tent),
}


def seed_home(slug: str) -> int:
    """Arrange the demo shop's home page unless it has sections already; how many added."""
    if slug not in DEMO_SECTIONS or services.all_sections():
        return 0
    for kind, shared, texts in DEMO_SECTIONS[slug]:
        settings = dict(shared)
        if "@category" in settings:
            try:
                settings["category_id"] = get_category(settings.pop("@category")).id
            except LookupError:
                settings["category_id"] = None
        if "@picture" in settings:
            hue, drawing = PICTURES[settings.pop("@picture")]
            settings["image"] = media.store_image(demo_pictures.draw(hue, drawing)).master_key
        section = services.add_section(kind)
        for locale, words in texts.items():
            services.save_section(section, locale, settings, words)
    return len(DEMO_SECTIONS[slug])
