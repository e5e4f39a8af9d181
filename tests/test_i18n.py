"""Every shop speaks its shoppers' languages: locale choice, complete catalogs, per-shop
wording kept apart, translated content, mails in the shopper's language."""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from sqlalchemy import select

from storefront.accounts.models import User
from storefront.catalog import services as catalog
from storefront.catalog.csv_io import export_csv, import_rows, parse_rows
from storefront.catalog.models import Product
from storefront.extensions import db
from storefront.i18n import ShopDomain, format_when, url_tags
from storefront.orders import services as orders
from storefront.tenancy import services as shops
from storefront.tenancy.context import tenant_context
from storefront.tenancy.settings import SettingsError, parse_settings
from tests.fixtures.factories import PASSWORD, csrf_from, host, login, register, tenant_folder

REPO = Path(__file__).resolve().parent.parent
TRANSLATIONS = REPO / "platform" / "storefront" / "translations"
LANGUAGES = ("en", "de", "fr", "es", "nl")
TEMPLATE_ROOTS = (
    REPO / "platform" / "storefront" / "templates",
    REPO / "platform" / "storefront" / "themes" / "shipped",
)
ADDRESS = {
    "name": "Ada Kundin",
    "address": "Hauptstraße 1",
    "postal_code": "10115",
    "city": "Berlin",
    "country": "DE",
    "payment_method": "manual",
}


def shop_toml(locales: list[str], texts: str = "", timezone: str = "Europe/Berlin") -> str:
    quoted = ", ".join(f'"{loc}"' for loc in locales)
    return (
        f'name = "Testladen"\nlocales = [{quoted}]\ntimezone = "{timezone}"\n'
        'contact_email = "chef@example.com"\n' + texts
    )


# The catalogs -------------------------------------------------------------------------


def _catalog(lang: str):
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f)


def test_the_template_lists_every_message_the_sources_use():
    """`make i18n` was run: no message in the code is missing from messages.pot."""
    with open(REPO / "babel.cfg") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
    used = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(REPO), method_map, options_map, keywords=keywords
    ):
        used.add(message[0] if isinstance(message, tuple) else message)
    with open(TRANSLATIONS / "messages.pot", "rb") as f:
        listed = {m.id[0] if isinstance(m.id, tuple) else m.id for m in read_po(f) if m.id}
    assert used - listed == set(), "run `make i18n`: messages missing from messages.pot"
    assert listed - used == set(), "run `make i18n`: messages.pot lists messages nobody uses"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_shipped_catalog_is_complete_and_compiled(lang):
    with open(TRANSLATIONS / "messages.pot", "rb") as f:
        wanted = {m.id for m in read_po(f) if m.id}
    po = _catalog(lang)
    assert not po.fuzzy, f"{lang}: the catalog header is fuzzy"
    problems = []
    for message in po:
        if not message.id:
            continue
        forms = message.string if isinstance(message.string, tuple | list) else [message.string]
        if message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        if not all(forms):
            problems.append(f"untranslated: {message.id!r}")
    problems += [f"{m.id!r}: {errors}" for m, errors in po.check() if m.id]
    have = {m.id for m in po if m.id}
    problems += [f"missing: {msgid!r}" for msgid in wanted - have]
    assert problems == []
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.mo", "rb") as f:
        compiled = read_mo(f)
    strings = {m.id: m.string for m in po if m.id}

    def plain(text):
        return tuple(text) if isinstance(text, list | tuple) else text

    assert {plain(m.id): plain(m.string) for m in compiled if m.id} == {
        plain(k): plain(v) for k, v in strings.items()
    }, f"run `make i18n` ({lang})"


def test_translations_keep_the_placeholders_and_plural_forms():
    placeholder = re.compile(r"%\((\w+)\)s")
    for lang in LANGUAGES:
        for message in _catalog(lang):
            if not message.id:
                continue
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            wanted = set(placeholder.findall(ids[-1]))
            for text in strings:
                found = set(placeholder.findall(text))
                # A singular form may spell the number out ("one product"): num is optional.
                assert found - {"num"} == wanted - {"num"}, (lang, message.id, text)


class TextNodes(HTMLParser):
    """The text a reader sees or hears: text nodes and the labelling attributes."""

    ATTRIBUTES = {"placeholder", "aria-label", "alt", "title", "data-confirm"}

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._skip = 0
        self._skipping: list[str] = []

    def handle_starttag(self, tag, attrs):
        # Identifiers marked translate="no" (the audit trail's field names) are data.
        if tag in ("script", "style") or ("translate", "no") in attrs:
            self._skip += 1
            self._skipping.append(tag)
        hidden = tag == "input" and ("type", "hidden") in attrs  # a form's data, never read
        for name, value in attrs:
            if value and (name in self.ATTRIBUTES or (name == "value" and tag == "input")):
                if hidden and name == "value":
                    continue
                self.texts.append(value.strip())

    def handle_endtag(self, tag):
        if self._skipping and self._skipping[-1] == tag:
            self._skipping.pop()
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.texts.append(" ".join(data.split()))


def _english_only(lang_dir: str) -> set[str]:
    """Messages (ours and Flask-Security's) that read differently in ``lang_dir``, or
    that nobody translated: seen in English on such a page, they are a miss."""
    english = {m.id: m.string for m in _catalog(lang_dir) if m.id and isinstance(m.id, str)}
    import flask_security

    fs = Path(flask_security.__file__).parent / "translations"
    fs_dir = {"de": "de_DE", "fr": "fr_FR", "es": "es_ES", "nl": "nl_NL"}[lang_dir]
    catalogs = [fs / fs_dir / "LC_MESSAGES" / "flask_security.po"]
    catalogs.append(TRANSLATIONS / lang_dir / "LC_MESSAGES" / "flask_security.po")
    for path in catalogs:
        if path.exists():
            with open(path, "rb") as f:
                for m in read_po(f):
                    if m.id and isinstance(m.id, str) and (m.string or m.id not in english):
                        english[m.id] = m.string
    return {msgid for msgid, text in english.items() if text != msgid and len(msgid) > 2}


@pytest.fixture
def untranslated(monkeypatch):
    """Every message a page asks for that the active catalog does not have."""
    misses: list[str] = []
    original = ShopDomain.get_translations

    class Recorder:
        def __init__(self, translations):
            self.translations = translations

        def ugettext(self, message):
            if message not in getattr(self.translations, "_catalog", {}):
                misses.append(message)
            return self.translations.ugettext(message)

        def ungettext(self, singular, plural, n):
            if (singular, 0) not in getattr(self.translations, "_catalog", {}):
                misses.append(singular)
            return self.translations.ungettext(singular, plural, n)

        gettext, ngettext = ugettext, ungettext

        def __getattr__(self, name):
            return getattr(self.translations, name)

    monkeypatch.setattr(ShopDomain, "get_translations", lambda self: Recorder(original(self)))
    return misses


@pytest.fixture
def german_shop(app, make_shop, make_user):
    shop = make_shop("laden", settings=shop_toml(["de_DE", "en_GB"]))
    with app.app_context(), tenant_context(shop):
        catalog.create_category("Zelte", "zelte")
        catalog.create_product(
            "Z-1", "Kuppelzelt", 19900, stock=5, categories=["zelte"], featured=True
        )
        catalog.create_product("Z-2", "Tunnelzelt", 24900, stock=0, categories=["zelte"])
        db.session.commit()
    make_user(shop, "chef@example.com", roles=["owner"])
    make_user(shop, "kundin@example.com")
    return shop


def _place_order(client, shop, prefix="", email="kundin@example.com"):
    page = client.get(f"{prefix}/p/kuppelzelt", headers=host(shop))
    product_id = re.search(r'name="product_id" value="(\d+)"', page.text).group(1)
    client.post(
        f"{prefix}/cart/add",
        data={"product_id": product_id, "quantity": 1},
        headers=host(shop),
    )
    form = client.get(f"{prefix}/checkout", headers=host(shop))
    data = {**ADDRESS, "email": email, "csrf_token": csrf_from(form.text)}
    return client.post(f"{prefix}/checkout", data=data, headers=host(shop))


def _walk(client, shop, paths, english, misses, lang):
    for path in paths:
        response = client.get(path, headers=host(shop))
        assert response.status_code in (200, 403, 404), (path, response.status_code)
        assert f'<html lang="{lang}' in response.text, path
        title = re.search(r"<title>(.*?)</title>", response.text, re.S)
        assert title and "<" not in title.group(1), f"{path}: markup in the <title>"
        parser = TextNodes()
        parser.feed(response.text)
        leftovers = [text for text in parser.texts if text in english]
        assert leftovers == [], f"{path}: English text on a {lang} page: {leftovers}"
    assert misses == [], f"messages without a translation: {sorted(set(misses))}"


def test_every_page_of_a_german_shop_speaks_german(app, german_shop, untranslated):
    """Visitor, shopper and owner pages, the error and empty states, the flashes."""
    shop, english = german_shop, _english_only("de")
    visitor = app.test_client()
    _walk(
        visitor,
        shop,
        [
            "/",
            "/products",
            "/products?sort=price_asc",
            "/c/zelte",
            "/p/kuppelzelt",
            "/p/tunnelzelt",
            "/search?q=zelt",
            "/search?q=nichts",
            "/cart/",
            "/login",
            "/register",
            "/reset",
            "/confirm",
            "/gibt-es-nicht",
            "/p/gibt-es-nicht",
        ],
        english,
        untranslated,
        "de",
    )
    placed = _place_order(visitor, shop, email="gast@example.com")
    assert placed.status_code == 302
    _walk(visitor, shop, [placed.headers["Location"], "/cart/"], english, untranslated, "de")

    shopper = app.test_client()
    assert login(shopper, shop, "kundin@example.com").status_code == 302
    _place_order(shopper, shop)
    _walk(
        shopper,
        shop,
        ["/", "/account", "/change", "/orders/LADEN-1002", "/admin/"],
        english,
        untranslated,
        "de",
    )
    owner = app.test_client()
    assert login(owner, shop, "chef@example.com").status_code == 302
    with app.app_context(), tenant_context(shop):
        product_id = db.session.scalar(select(Product.id).where(Product.sku == "Z-1"))
        customer_id = db.session.scalar(select(User.id).where(User.email == "kundin@example.com"))
    admin_pages = [
        "/admin/",
        "/admin/products",
        "/admin/products?q=nichts",
        "/admin/products/new",
        f"/admin/products/{product_id}",
        "/admin/categories",
        "/admin/orders",
        "/admin/orders?status=shipped",
        "/admin/orders?q=nichts",
        "/admin/orders/LADEN-1001",
        "/admin/customers",
        "/admin/customers?q=nichts",
        f"/admin/customers/{customer_id}",
        "/admin/settings",
        "/admin/api-keys/",
        "/admin/webhooks/",
        "/admin/discounts/",
        "/admin/shipping-payment/",
        "/admin/domains/",
        # What shops grow with, and what they pay for.
        "/admin/home/",
        "/admin/reviews/",
        "/admin/gift-cards/",
        "/admin/cart-reminders/",
        "/admin/seo/",
        "/admin/pages/",
        "/admin/plan/",
        "/admin/transfers/",
    ]
    _walk(owner, shop, admin_pages, english, untranslated, "de")
    # A refused form answers in German too (WTForms' and our own messages).
    page = owner.get("/admin/products/new", headers=host(shop))
    refused = owner.post(
        "/admin/products/new",
        data={"csrf_token": csrf_from(page.text), "price": "zwölf"},
        headers=host(shop),
    )
    parser = TextNodes()
    parser.feed(refused.text)
    assert "Dieses Feld wird benötigt." in refused.text
    assert "„zwölf“ ist kein Betrag" in refused.text
    assert [t for t in parser.texts if t in english] == []
    assert untranslated == []


def test_flash_messages_and_flask_security_answers_speak_german(app, german_shop, untranslated):
    client = app.test_client()
    page = client.get("/login", headers=host(german_shop))
    wrong = client.post(
        "/login",
        data={
            "email": "kundin@example.com",
            "password": "falsch",
            "csrf_token": csrf_from(page.text),
        },
        headers=host(german_shop),
    )
    assert "E-Mail-Adresse oder Passwort ist falsch." in wrong.text
    product = client.get("/p/kuppelzelt", headers=host(german_shop))
    product_id = re.search(r'name="product_id" value="(\d+)"', product.text).group(1)
    client.post(
        "/cart/add",
        data={"product_id": product_id, "quantity": 1},
        headers=host(german_shop),
    )
    assert "Zum Warenkorb hinzugefügt." in client.get("/cart/", headers=host(german_shop)).text
    assert untranslated == []


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        ("fr_FR", ("Panier", "Tous les produits", "Se connecter")),
        ("es_ES", ("Carrito", "Todos los productos", "Iniciar sesión")),
        ("nl_NL", ("Winkelwagen", "Alle producten", "Inloggen")),
        ("en_GB", ("Cart", "All products", "Log in")),
    ],
)
def test_the_other_languages_on_a_sample_of_pages(
    app, make_shop, make_user, untranslated, locale, words
):
    shop = make_shop("boutique", settings=shop_toml([locale]))
    make_user(shop, "chef@example.com", roles=["owner"])
    with app.app_context(), tenant_context(shop):
        catalog.create_product("B-1", "Produit", 1000, stock=2)
        db.session.commit()
    client = app.test_client()
    lang = locale.split("_")[0]
    english = _english_only(lang) if lang != "en" else set()
    text = client.get("/products", headers=host(shop)).text
    assert all(word in text for word in words), (locale, words)
    _walk(
        client,
        shop,
        ["/", "/products", "/p/b-1", "/cart/", "/login", "/register"],
        english,
        untranslated,
        lang,
    )
    assert login(client, shop, "chef@example.com").status_code == 302
    _walk(
        client, shop, ["/admin/", "/admin/products", "/admin/orders"], english, untranslated, lang
    )


@pytest.mark.parametrize("locale", ["de_DE", "fr_FR", "es_ES", "nl_NL"])
def test_the_sign_in_staff_audit_and_privacy_pages_speak_every_language(
    app, make_shop, make_user, untranslated, locale
):
    """Issue 32's pages in each shipped language: a staff invitation (new person, known
    account, dead link), the code and recovery steps of a sign-in, setting up codes and
    passkeys, the privacy pages, and the owner's activity, staff and erasure pages."""
    from storefront.accounts import staff
    from storefront.extensions import security

    shop = make_shop("boutique", settings=shop_toml([locale]))
    make_user(shop, "chef@example.com", roles=["owner"])
    make_user(shop, "kundin@example.com")
    make_user(shop, "hilfe@example.com", roles=["support"])
    with app.app_context(), tenant_context(shop):
        customer = db.session.scalar(select(User).where(User.email == "kundin@example.com"))
        coded = db.session.scalar(select(User).where(User.email == "hilfe@example.com"))
        coded.tf_primary_method = "authenticator"
        coded.tf_totp_secret = security._totp_factory.generate_totp_secret()
        fresh, known = (
            "/staff-invitation/" + staff.token_for(staff.invite(email, "support", None))
            for email in ("neu@example.com", "kundin@example.com")
        )
        customer_id = customer.id
        db.session.commit()
    lang = locale.split("_")[0]
    english = _english_only(lang)
    visitor = app.test_client()
    _walk(visitor, shop, [fresh, known, "/staff-invitation/kaputt", "/privacy"], english,
          untranslated, lang)  # fmt: skip
    coded_client = app.test_client()
    assert "/tf-validate" in login(coded_client, shop, "hilfe@example.com").location
    _walk(coded_client, shop, ["/tf-validate", "/mf-recovery"], english, untranslated, lang)
    owner = app.test_client()
    assert login(owner, shop, "chef@example.com").status_code == 302
    _walk(
        owner,
        shop,
        ["/account", "/account/privacy", "/tf-setup", "/wan-register", "/mf-recovery-codes",
         "/admin/activity/", "/admin/activity/?actor=user", "/admin/staff/",
         f"/admin/customers/{customer_id}/erase", "/admin/settings"],
        english,
        untranslated,
        lang,
    )  # fmt: skip


def test_platform_templates_have_no_text_outside_a_translation_call(app):
    """Every word a platform template shows goes through _() (shop templates may do
    as they like): a new untranslated label fails here before it reaches a page."""
    problems = []
    for root in TEMPLATE_ROOTS:
        for path in sorted([*root.rglob("*.html"), *root.rglob("*.txt")]):
            if path.match("platform/error.html"):
                continue  # the page for hosts with no shop: no shop, no language
            # The template's own text, with every Jinja expression or tag as a marker.
            flat = "".join(
                value if kind == "data" else "\x00"
                for _line, kind, value in app.jinja_env.lex(path.read_text())
                if kind in ("data", "variable_begin", "block_begin")
            )
            if path.suffix == ".txt":
                texts = [flat]
            else:
                parser = TextNodes()
                parser.feed(flat)
                texts = parser.texts
            for text in texts:
                words = re.findall(r"[A-Za-z]{2,}", text)
                if words:
                    problems.append(f"{path.relative_to(REPO)}: {words}")
    assert problems == []


# Which language a request speaks ------------------------------------------------------


def test_the_language_comes_from_the_url_the_choice_the_browser_or_the_shop(app, german_shop):
    client = app.test_client()
    h = host(german_shop)
    assert '<html lang="de-DE"' in client.get("/", headers=h).text  # the shop's default
    english = client.get("/", headers={**h, "Accept-Language": "en-US,en;q=0.8"})
    assert '<html lang="en-GB"' in english.text and "Log in" in english.text
    # Money the reader's way (the test shop sells in USD).
    assert "US$199.00" in client.get("/en/p/kuppelzelt", headers=h).text
    assert "199,00\xa0$" in client.get("/de/p/kuppelzelt", headers=h).text
    assert "Accept-Language" in english.headers["Vary"]
    assert english.headers["Content-Language"] == "en-GB"
    # A language the shop does not speak falls back to the default.
    assert '<html lang="de-DE"' in client.get("/", headers={**h, "Accept-Language": "fr"}).text
    # The URL wins and its links keep the prefix; the page sets no cookie (it is the
    # same page for everyone: shared caches may keep it).
    prefixed = client.get("/en/products", headers={**h, "Accept-Language": "de"})
    assert '<html lang="en-GB"' in prefixed.text
    assert 'href="/en/cart/"' in prefixed.text and 'action="/en/search"' in prefixed.text
    assert "Set-Cookie" not in prefixed.headers
    plain = client.get("/", headers={**h, "Accept-Language": "de"}).text
    assert '<html lang="de-DE"' in plain
    # Links built once per prefix (themes.page_url_for): the prefix never leaks across.
    assert 'href="/cart/"' in plain and 'href="/en/cart/"' not in plain
    # The switcher remembers the choice for the pages without a prefix.
    assert '<a href="http://laden.test/_language/en?next=%2Fproducts"' in prefixed.text
    chosen = client.get("/_language/en?next=/products%3Fsort%3Dtitle", headers=h)
    assert chosen.status_code == 303 and chosen.location == "/en/products?sort=title"
    assert "locale=en_GB" in chosen.headers["Set-Cookie"]
    assert '<html lang="en-GB"' in client.get("/", headers={**h, "Accept-Language": "de"}).text
    assert '<html lang="de-DE"' in client.get("/de/", headers=h).text
    for elsewhere in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        away = client.get(f"/_language/en?next={elsewhere}", headers=h)
        assert away.location == "/en/", elsewhere
    assert client.get("/_language/fr?next=/", headers=h).status_code == 404
    # ?locale= (the API's way) and a prefix the shop does not speak.
    assert '<html lang="de-DE"' in app.test_client().get("/?locale=de", headers=h).text
    assert client.get("/fr/", headers=h).status_code == 404
    assert client.get("/xx/products", headers=h).status_code == 404


def test_search_engines_see_every_language_of_a_page(app, german_shop):
    page = app.test_client().get("/products?sort=title", headers=host(german_shop)).text
    base = f"http://{german_shop.primary_host}"
    assert f'hreflang="de-DE" href="{base}/de/products?sort=title"' in page
    assert f'hreflang="en-GB" href="{base}/en/products?sort=title"' in page
    assert f'hreflang="x-default" href="{base}/products?sort=title"' in page
    assert 'class="language-switcher"' in page and ">Deutsch<" in page and ">English<" in page


def test_a_one_language_shop_has_no_switcher_and_no_prefixes(app, make_shop):
    shop = make_shop("solo", settings=shop_toml(["nl_NL"]))
    client = app.test_client()
    page = client.get("/", headers=host(shop)).text
    assert '<html lang="nl-NL"' in page and "language-switcher" not in page
    assert "hreflang" not in page
    assert client.get("/nl/", headers=host(shop)).status_code == 200
    assert client.get("/en/", headers=host(shop)).status_code == 404


def test_cached_pages_are_kept_per_language(app, german_shop):
    app.config["SHOP_PAGE_CACHE"] = True
    app.jinja_env.auto_reload = False
    client = app.test_client()
    h = host(german_shop)
    assert "Alle Produkte" in client.get("/products", headers=h).text
    assert "All products" in client.get("/en/products", headers=h).text
    assert "All products" in app.test_client().get("/products?locale=en", headers=h).text
    assert "Alle Produkte" in app.test_client().get("/products", headers=h).text


def test_url_tags_name_the_region_only_where_two_locales_share_a_language():
    assert url_tags(("de_DE", "en_GB")) == {"de": "de_DE", "en": "en_GB"}
    assert url_tags(("de_DE", "de_AT", "fr_FR")) == {
        "de-de": "de_DE",
        "de-at": "de_AT",
        "fr": "fr_FR",
    }


def test_dates_read_in_the_shops_time_zone_and_language(app, make_shop):
    from datetime import datetime

    shop = make_shop("zeit", settings=shop_toml(["de_DE"], timezone="Europe/Berlin"))
    with app.test_request_context("/", headers=host(shop)), tenant_context(shop):
        assert format_when(datetime(2026, 11, 24, 22, 29)) == "24. Nov. 2026, 23:29"
    tokyo = make_shop("tokio", settings=shop_toml(["en_US"], timezone="Asia/Tokyo"))
    with app.test_request_context("/", headers=host(tokyo)), tenant_context(tokyo):
        assert format_when(datetime(2026, 11, 24, 22, 29)) == "Nov 25, 2026, 7:29\u202fAM"


# Settings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('locales = ["de_DE", "xx_YY"]', "unknown locale 'xx_YY'"),
        ('locales = ["de_DE", "de_DE"]', "listed twice"),
        ('locale = "en_US"\nlocales = ["de_DE"]', "must be the first of locales"),
        ('timezone = "Mars/Olympus"', "unknown time zone"),
        ('locales = ["de_DE"]\n[texts.fr_FR]\n"Cart" = "Panier"', "not one of the shop's locales"),
        (
            'locales = ["de_DE"]\n[content.en_GB]\nfooter_text = "x"',
            "not one of the shop's locales",
        ),
        (
            'locales = ["de_DE"]\n[texts.de_DE]\n"Cart" = "<img src=x onerror=alert(1)>"',
            "no markup",
        ),
        (
            'locales = ["de_DE"]\n[texts.de_DE]\n"Cart" = "%(nope)s"',
            "texts: de_DE: 'Cart': unknown placeholder %(nope)s (the message's own: none)",
        ),
        (
            'locales = ["de_DE"]\n[texts.de_DE]\n"Tax %(rate)s %%" = "MwSt. %(rate)d %%"',
            "unknown placeholder %(rate)d (the message's own: %(rate)s)",
        ),
        ('locales = ["de_DE"]\n[texts.de_DE]\n"Cart" = "50% Rabatt"', "a lone %"),
    ],
)
def test_bad_language_settings_say_what_is_wrong(text, says):
    with pytest.raises(SettingsError) as caught:
        parse_settings(f'name = "x"\n{text}\n', "tenant.toml")
    assert says in str(caught.value)


def test_wording_may_use_the_messages_own_placeholders_and_percent_signs():
    settings = parse_settings(
        'name = "x"\nlocales = ["de_DE"]\n[texts.de_DE]\n'
        '"Tax %(rate)s %%" = "inkl. %(rate)s %% MwSt."\n'
        '"%(num)d item" = ["ein Stück", "%(num)s Stück"]\n',
        "tenant.toml",
    )
    assert settings.texts["de_DE"]["Tax %(rate)s %%"] == "inkl. %(rate)s %% MwSt."


def test_wording_with_an_unknown_placeholder_is_refused_at_load_not_on_every_page(
    app, runner, make_shop
):
    # Formatting "%(nope)s" with the message's keywords raised on every page (500) while
    # `tenantctl check` said ok; now the settings refuse it, naming the key, and the shop
    # waits like any misconfigured one while the others answer.
    broken = make_shop(
        "kaputt", settings=shop_toml(["de_DE"], '[texts.de_DE]\n"Cart" = "%(nope)s"\n')
    )
    fine = make_shop("heil", settings=shop_toml(["de_DE"]))
    client = app.test_client()
    page = client.get("/", headers=host(broken))
    assert page.status_code == 503 and "Traceback" not in page.text
    assert client.get("/", headers=host(fine)).status_code == 200
    result = runner.invoke(["check", "kaputt"])
    assert result.exit_code == 1
    assert "texts: de_DE: 'Cart': unknown placeholder %(nope)s" in result.output


class _Inputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[dict[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "input":
            self.inputs.append(dict(attrs))


ATTACK = 'Find" autofocus onfocus="alert(document.cookie)'


def test_a_quote_in_wording_stays_inside_the_html_attribute(app, make_shop):
    # No < or >, so the markup check let it through; Jinja marked the translation Markup
    # and the quote ended placeholder="…", adding an event handler to the search box.
    shop = make_shop(
        "zitat", settings=shop_toml(["en_US"], f"[texts.en_US]\nSearch = '{ATTACK}'\n")
    )
    html = app.test_client().get("/", headers=host(shop)).text
    parser = _Inputs()
    parser.feed(html)
    search = next(i for i in parser.inputs if i.get("type") == "search")
    assert search["placeholder"] == ATTACK
    assert "onfocus" not in search and "autofocus" not in search
    assert "&#34;" in html or "&quot;" in html


def test_lazy_and_python_side_wording_is_escaped_as_text_too(app, make_shop):
    # Flask-Babel's lazy strings declare themselves markup (__html__ returns the text),
    # so a label or a form's render_kw carried the raw wording into an attribute.
    from flask_babel import gettext, lazy_gettext
    from markupsafe import Markup, escape

    shop = make_shop("lazy", settings=shop_toml(["en_US"], f"[texts.en_US]\nEmail = '{ATTACK}'\n"))
    escaped = str(escape(ATTACK))
    with app.test_request_context("/", headers=host(shop)):
        app.preprocess_request()
        lazy = lazy_gettext("Email")
        assert str(lazy) == ATTACK  # text stays text for mails and JSON
        assert escape(lazy) == escaped
        assert Markup('<input placeholder="%s">') % lazy == f'<input placeholder="{escaped}">'
        assert escape(gettext("Email")) == escaped
        template = app.jinja_env.from_string('<input placeholder="{{ _("Email") }}">')
        assert template.render() == f'<input placeholder="{escaped}">'


# Per-shop wording ---------------------------------------------------------------------


def test_two_shops_with_the_same_locale_each_keep_their_own_wording(app, make_shop, product):
    first = make_shop(
        "eins", settings=shop_toml(["de_DE"], '[texts.de_DE]\n"Add to cart" = "Ab in die Tüte"\n')
    )
    second = make_shop(
        "zwei", settings=shop_toml(["de_DE"], '[texts.de_DE]\n"Add to cart" = "Einpacken"\n')
    )
    plain = make_shop("drei", settings=shop_toml(["de_DE"]))
    for shop in (first, second, plain):
        product(shop, "zelt")
    client = app.test_client()
    for _round in range(2):  # and again, with every catalog cached
        assert "Ab in die Tüte" in client.get("/p/zelt", headers=host(first)).text
        assert "Einpacken" in client.get("/p/zelt", headers=host(second)).text
        page = client.get("/p/zelt", headers=host(plain)).text
        assert "In den Warenkorb" in page and "Einpacken" not in page and "Tüte" not in page


def test_a_shops_own_templates_speak_its_languages_in_the_sandbox(app, make_shop):
    shop = make_shop(
        "eigen",
        settings=shop_toml(
            ["de_DE", "en_GB"], '[texts.en_GB]\n"Frisch eingetroffen" = "Just in"\n'
        ),
    )
    templates = tenant_folder(app, "eigen") / "templates"
    templates.mkdir(parents=True, exist_ok=True)
    (templates / "index.html").write_text(
        '{% extends "@theme/index.html" %}{% block featured %}'
        '<p class="own">{{ _("Frisch eingetroffen") }} · {{ _("Cart") }}</p>'
        "{% trans %}Hello from the shop{% endtrans %}{% endblock %}"
    )
    client = app.test_client()
    german = client.get("/", headers=host(shop)).text
    assert "Frisch eingetroffen · Warenkorb" in german
    english = client.get("/en/", headers=host(shop)).text
    assert "Just in · Cart" in english and "Hello from the shop" in english


# Content in several languages ---------------------------------------------------------


def test_owners_translate_products_and_categories_in_the_dashboard(app, german_shop):
    client = app.test_client()
    h = host(german_shop)
    assert login(client, german_shop, "chef@example.com").status_code == 302
    with app.app_context(), tenant_context(german_shop):
        product_id = db.session.scalar(select(Product.id).where(Product.sku == "Z-1"))
    form = client.get(f"/admin/products/{product_id}", headers=h)
    assert "Titel auf Englisch (Vereinigtes Königreich)" in form.text
    data = {
        "csrf_token": csrf_from(form.text),
        "sku": "Z-1",
        "title": "Kuppelzelt",
        "slug": "kuppelzelt",
        "price": "199.00",
        "stock": "5",
        "active": "y",
        "title__en_GB": "Dome Tent",
        "description__en_GB": "Up in two minutes.",
    }
    assert client.post(f"/admin/products/{product_id}", data=data, headers=h).status_code == 302
    categories = client.get("/admin/categories", headers=h)
    client.post(
        "/admin/categories",
        data={
            "csrf_token": csrf_from(categories.text),
            "name": "Schlafsäcke",
            "name__en_GB": "Sleeping bags",
            "parent": "",
        },
        headers=h,
    )
    assert "Kuppelzelt" in client.get("/p/kuppelzelt", headers=h).text
    english = client.get("/en/p/kuppelzelt", headers=h).text
    assert "Dome Tent" in english and "Up in two minutes." in english
    assert "Sleeping bags" in client.get("/en/products", headers=h).text
    assert "Schlafsäcke" in client.get("/de/products", headers=h).text
    # The shop's own footer in each language, from the settings page.
    settings = client.get("/admin/settings", headers=h)
    assert "Fußzeilentext auf Englisch" in settings.text
    saved = client.post(
        "/admin/settings",
        data={
            "csrf_token": csrf_from(settings.text),
            "name": "Testladen",
            "footer_text": "Zelte seit 1970",
            "footer_text__en_GB": "Tents since 1970",
        },
        headers=h,
    )
    assert saved.status_code == 302
    assert "Tents since 1970" in client.get("/en/", headers=h).text
    assert "Zelte seit 1970" in client.get("/de/", headers=h).text
    # The order keeps the title the shopper read; the confirmation says it too.
    shopper = app.test_client()
    assert _place_order(shopper, german_shop, prefix="/en").status_code == 302
    with app.app_context(), tenant_context(german_shop):
        order = orders.get_order("LADEN-1001")
        assert order.locale == "en_GB" and order.lines[0].title == "Dome Tent"


def test_the_api_answers_in_the_requested_language(app, german_shop, make_user):
    with app.app_context(), tenant_context(german_shop):
        product = db.session.scalar(select(Product).where(Product.sku == "Z-1"))
        catalog.update_product(
            product, translations={"en": {"title": "Dome Tent", "description": "Roomy."}}
        )
        db.session.commit()
    client = app.test_client()
    h = host(german_shop)
    german = client.get("/api/v1/products/kuppelzelt", headers=h).get_json()["data"]
    assert german["title"] == "Kuppelzelt" and german["locale"] == "de_DE"
    assert german["translations"]["en_GB"]["title"] == "Dome Tent"
    english = client.get(
        "/api/v1/products/kuppelzelt", headers={**h, "Accept-Language": "en"}
    ).get_json()["data"]
    assert english["title"] == "Dome Tent" and english["locale"] == "en_GB"
    by_param = client.get("/api/v1/products/kuppelzelt?locale=en-GB", headers=h).get_json()["data"]
    assert by_param["description"] == "Roomy."
    # Untranslated fields fall back to the default text.
    other = client.get("/api/v1/products/tunnelzelt?locale=en", headers=h).get_json()["data"]
    assert other["title"] == "Tunnelzelt"


def test_translations_a_shop_does_not_speak_are_refused(app, german_shop):
    with app.app_context(), tenant_context(german_shop):
        product = db.session.scalar(select(Product).where(Product.sku == "Z-1"))
        with pytest.raises(catalog.CatalogError, match="not one of the shop's other languages"):
            catalog.update_product(product, translations={"fr": {"title": "Tente"}})
        with pytest.raises(catalog.CatalogError):
            catalog.update_product(product, translations={"de": {"title": "Zelt"}})  # default


def test_the_csv_carries_a_column_per_language(app, german_shop):
    with app.app_context(), tenant_context(german_shop):
        out = io.StringIO()
        export_csv(out)
        header = next(csv.reader(io.StringIO(out.getvalue())))
        # One column per text and language the shop speaks besides its default.
        assert {"title:en", "description:en", "options:en", "values:en"} <= set(header)
        assert {"meta_title:en", "meta_description:en"} <= set(header)
        text = "sku,title,price,title:en,description:en\nZ-1,Kuppelzelt,199,Dome Tent,Roomy\n"
        import_rows(parse_rows(io.StringIO(text)))
        db.session.commit()
        product = db.session.scalar(select(Product).where(Product.sku == "Z-1"))
        assert product.translations == {"en_GB": {"title": "Dome Tent", "description": "Roomy"}}
        out = io.StringIO()
        export_csv(out)
        assert "Dome Tent,Roomy" in out.getvalue()


# Mails --------------------------------------------------------------------------------


def test_mails_speak_the_language_the_shopper_used(app, german_shop, outbox):
    english_shopper = app.test_client()
    assert _place_order(english_shopper, german_shop, "/en", "ada@example.com").status_code == 302
    german_shopper = app.test_client()
    assert _place_order(german_shopper, german_shop, "", "bea@example.com").status_code == 302
    confirmations = {mail.to[0]: mail for mail in outbox}  # the owner's own mails besides
    ada, bea = confirmations["ada@example.com"], confirmations["bea@example.com"]
    assert ada.subject == "Testladen: thank you for your order LADEN-1001"
    assert "Hello Ada Kundin," in ada.body
    assert "/en/orders/LADEN-1001" in ada.body
    assert bea.subject == "Testladen: vielen Dank für Ihre Bestellung LADEN-1002"
    assert "Guten Tag Ada Kundin," in bea.body
    # The owner, reading German, ships both: each shopper hears it in their language.
    owner = app.test_client()
    assert login(owner, german_shop, "chef@example.com").status_code == 302
    for number in ("LADEN-1001", "LADEN-1002"):
        page = owner.get(f"/admin/orders/{number}", headers=host(german_shop))
        assert "Bestellung " + number in page.text
        done = owner.post(
            f"/admin/orders/{number}",
            data={"csrf_token": csrf_from(page.text), "status": "shipped"},
            headers=host(german_shop),
        )
        assert done.status_code == 302
    shipped = {m.to[0]: m for m in outbox if "shipped" in m.subject or "versandt" in m.subject}
    assert shipped["ada@example.com"].subject == "Testladen: your order LADEN-1001 has shipped"
    german = "Testladen: Ihre Bestellung LADEN-1002 wurde versandt"
    assert shipped["bea@example.com"].subject == german


def test_registering_remembers_the_language_and_welcomes_in_it(app, make_shop, outbox):
    shop = make_shop("sprache", settings=shop_toml(["de_DE", "fr_FR"]))
    client = app.test_client()
    page = client.get("/fr/register", headers=host(shop))
    assert "Créez votre compte" in page.text
    client.post(
        "/fr/register",
        data={
            "email": "zoe@example.com",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
            "csrf_token": csrf_from(page.text),
        },
        headers=host(shop),
    )
    with app.app_context(), tenant_context(shop):
        assert db.session.scalar(select(User.locale).where(User.email == "zoe@example.com")) == (
            "fr_FR"
        )
    assert outbox and "Bienvenue chez" in outbox[-1].body
    register(app.test_client(), shop, "max@example.com")
    assert "Willkommen bei" in outbox[-1].body


def test_the_owners_mails_from_the_worker_speak_the_shops_default(app, german_shop, outbox):
    from storefront.jobs.periodic import low_stock_digest
    from storefront.outbox import deliver_committed

    with app.app_context(), tenant_context(german_shop):
        low_stock_digest()
        db.session.commit()
        deliver_committed()
    digest = outbox[-1]
    assert "bei Testladen werden knapp" in digest.subject or "wird knapp" in digest.subject
    assert "Tunnelzelt (Z-2): noch 0 Stück" in digest.body


def test_an_unknown_shop_still_speaks_plainly(app):
    response = app.test_client().get("/", headers={"Host": "nobody.test"})
    assert response.status_code == 404 and '<html lang="en"' in response.text


def test_suspended_shops_say_so_in_their_language(app, german_shop):
    with app.app_context():
        shops.suspend_shop("laden", "Inventur")
    page = app.test_client().get("/", headers=host(german_shop))
    assert page.status_code == 503
    assert "vorübergehend geschlossen" in page.text and '<html lang="de-DE"' in page.text


def test_what_flask_security_lacks_in_a_language_the_platform_adds(app, make_shop, make_user):
    """Flask-Security ships no Dutch for its generic login failure; our catalog has it."""
    shop = make_shop("winkel", settings=shop_toml(["nl_NL"]))
    make_user(shop, "klant@example.com")
    client = app.test_client()
    page = client.get("/login", headers=host(shop))
    assert "E-mailadres" in page.text or "E-mail" in page.text
    refused = client.post(
        "/login",
        data={"email": "klant@example.com", "password": "fout", "csrf_token": csrf_from(page.text)},
        headers=host(shop),
    )
    assert "Onjuist e-mailadres of wachtwoord." in refused.text


def test_the_demo_globex_speaks_german_everywhere(app, runner, demo_tenants, untranslated):
    """The demo shop itself (its own footer template, its German catalog), visitor to owner."""
    runner.invoke(["demo"])
    from storefront.tenancy.registry import context_for

    with app.app_context():
        shop = context_for("globex")
    english = _english_only("de")
    client = app.test_client()
    paths = ["/", "/products", "/c/jacken", "/p/zwei-personen-zelt", "/cart/", "/login"]
    _walk(client, shop, paths, english, untranslated, "de")
    assert login(client, shop, "owner@globex.example.com", "demo-password").status_code == 302
    admin = ["/admin/", "/admin/products", "/admin/categories", "/admin/orders", "/admin/settings"]
    _walk(client, shop, admin, english, untranslated, "de")
    page = client.get("/", headers=host(shop)).text
    assert "Ausrüstung für jedes Klima" in page and ">English<" in page
    assert "Gear for every climate" in client.get("/en/", headers=host(shop)).text


def test_account_mails_speak_the_language_the_account_registered_in(app, make_shop, outbox):
    """A shopper who registered in French asks for a password reset from a German page:
    the mail is French (body and subject), the page stays German."""
    shop = make_shop("konto", settings=shop_toml(["de_DE", "fr_FR"]))
    client = app.test_client()
    page = client.get("/fr/register", headers=host(shop))
    client.post(
        "/fr/register",
        data={
            "email": "lea@example.com",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
            "csrf_token": csrf_from(page.text),
        },
        headers=host(shop),
    )
    other = app.test_client()
    form = other.get("/de/reset", headers=host(shop))
    answer = other.post(
        "/de/reset",
        data={"email": "lea@example.com", "csrf_token": csrf_from(form.text)},
        headers=host(shop),
        follow_redirects=True,
    )
    assert '<html lang="de-DE"' in answer.text
    reset = outbox[-1]
    assert "Choisissez un nouveau mot de passe" in reset.body
    assert (
        reset.subject != "Password reset instructions" and "mot de passe" in reset.subject.lower()
    )
