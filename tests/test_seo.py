"""Found by search engines: sitemaps, robots.txt, canonical links, structured data read
back with a maintained extractor (extruct, as search engines' own tools read JSON-LD),
and 301s for moved addresses."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import extruct
import pytest

from storefront.catalog import services as catalog
from storefront.catalog.models import Product
from storefront.content import services as content
from storefront.extensions import db
from storefront.tenancy import tenant_context
from tests.fixtures.factories import add_products, csrf_from, host, login, tenant_folder

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
XHTML = "{http://www.w3.org/1999/xhtml}"
TWO_LANGUAGES = 'name = "Acme"\nlocales = ["en_US", "de_DE"]\ncurrency = "EUR"\n'


def json_ld(html: str, url: str) -> dict[str, dict]:
    """The page's JSON-LD items by @type, as extruct reads them."""
    found = extruct.extract(html, base_url=url, syntaxes=["json-ld"], uniform=True)
    return {item["@type"]: item for item in found["json-ld"]}


def head_links(html: str) -> tuple[str | None, dict[str, str]]:
    canonical = re.search(r'<link rel="canonical" href="([^"]+)">', html)
    alternates = dict(re.findall(r'<link rel="alternate" hreflang="([^"]+)" href="([^"]+)">', html))
    return (canonical.group(1) if canonical else None), alternates


def meta(html: str, name: str) -> str | None:
    found = re.search(rf'<meta (?:name|property)="{re.escape(name)}" content="([^"]*)">', html)
    return found.group(1) if found else None


@pytest.fixture
def shop(make_shop):
    return make_shop("acme", settings=TWO_LANGUAGES)


def _product(app, shop, title="Anvil", stock=5, description="A **heavy** anvil.", category=None):
    with app.app_context(), tenant_context(shop):
        if category:
            catalog.create_category(category)
        made = catalog.create_product(
            "SKU-" + re.sub(r"[^A-Za-z]", "", title)[:5],
            title,
            2500,
            stock=stock,
            description=description,
            categories=[category.lower()] if category else None,
        )
        db.session.commit()
        return made.slug


def test_a_product_page_tells_search_engines_what_it_sells(app, client, shop):
    slug = _product(app, shop, category="Tools")
    page = client.get(f"/de/p/{slug}", headers=host(shop))
    assert page.status_code == 200
    url = f"http://acme.test/de/p/{slug}"
    items = json_ld(page.text, url)
    product = items["Product"]
    assert product["name"] == "Anvil" and product["sku"] == "SKU-Anvil"
    offer = product["offers"]
    assert offer["@type"] == "Offer" and offer["price"] == "25.00"
    assert offer["priceCurrency"] == "EUR"
    assert offer["availability"] == "https://schema.org/InStock"
    assert offer["url"] == url
    crumbs = items["BreadcrumbList"]["itemListElement"]
    assert [c["name"] for c in crumbs] == ["Acme", "Tools", "Anvil"]
    assert crumbs[-1]["item"] == url and crumbs[1]["item"] == "http://acme.test/de/c/tools"
    canonical, alternates = head_links(page.text)
    assert canonical == url
    assert alternates["en-US"] == f"http://acme.test/en/p/{slug}"
    assert alternates["de-DE"] == url and alternates["x-default"] == f"http://acme.test/p/{slug}"
    assert meta(page.text, "description") == "A heavy anvil."
    assert meta(page.text, "og:title") == "Anvil" and meta(page.text, "og:type") == "product"
    assert meta(
        page.text,
        "og:image",
    ).startswith("http://acme.test/")
    assert meta(page.text, "twitter:card") == "summary_large_image"
    assert meta(page.text, "twitter:image") == meta(page.text, "og:image")


def test_sold_out_and_owner_set_titles(app, client, shop):
    slug = _product(app, shop, stock=0, description="x " * 200)
    page = client.get(f"/p/{slug}", headers=host(shop)).text
    offer = json_ld(page, f"http://acme.test/p/{slug}")["Product"]["offers"]
    assert offer["availability"] == "https://schema.org/OutOfStock"
    default = meta(page, "description")
    assert default and len(default) <= 155 and default.endswith("…")
    with app.app_context(), tenant_context(shop):
        catalog.update_product(
            catalog.get_product(slug),
            meta_title="Best anvil in town",
            meta_description="Heavy & cheap",
        )
        db.session.commit()
    page = client.get(f"/p/{slug}", headers=host(shop)).text
    assert "<title>Best anvil in town</title>" in page
    assert meta(page, "description") == "Heavy &amp; cheap"


@pytest.mark.parametrize(
    "hostile",
    [
        "</script><script>alert(1)</script>",
        "<!--<script>",
        "Anvil </SCRIPT ><img src=x onerror=alert(1)>",
        'Quote " and \\ and \u2028 line',
    ],
)
def test_hostile_titles_cannot_leave_the_json_ld(app, client, shop, hostile):
    slug = _product(app, shop, title=hostile, description=hostile)
    page = client.get(f"/p/{slug}", headers=host(shop)).text
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert len(blocks) == 2  # Product and BreadcrumbList, each whole
    for block in blocks:
        assert "<" not in block and ">" not in block
    assert "<script>alert" not in page and "<img src=x" not in page
    assert json_ld(page, f"http://acme.test/p/{slug}")["Product"]["name"] == hostile


def test_category_page_and_home(app, client, shop):
    _product(app, shop, category="Tools")
    page = client.get("/c/tools?page=2&sort=price_asc", headers=host(shop))
    canonical, alternates = head_links(page.text)
    assert canonical == "http://acme.test/c/tools?page=2"
    assert "de-DE" in alternates
    crumbs = json_ld(page.text, canonical)["BreadcrumbList"]["itemListElement"]
    assert [c["name"] for c in crumbs] == ["Acme", "Tools"]
    home = client.get("/en/", headers=host(shop)).text
    org = json_ld(home, "http://acme.test/en/")["Organization"]
    assert org["name"] == "Acme" and org["url"] == "http://acme.test/"
    assert head_links(home)[0] == "http://acme.test/en/"


def test_a_content_page_has_its_canonical_and_description(app, client, shop):
    with app.app_context(), tenant_context(shop):
        content.save_page(None, title="Shipping", slug="shipping", body="We ship **fast**.")
        db.session.commit()
    page = client.get("/pages/shipping", headers=host(shop)).text
    assert head_links(page)[0] == "http://acme.test/pages/shipping"
    assert meta(page, "description") == "We ship fast."


def _locs(xml: str, tag: str) -> list[str]:
    root = ET.fromstring(xml)
    return [el.findtext(f"{SM}loc") for el in root.iter(f"{SM}{tag}")]


def test_the_sitemap_index_leads_to_every_product_a_page_at_a_time(app, client, make_shop):
    app.config["SITEMAP_PAGE_SIZE"] = 3
    shop = make_shop("acme", settings=TWO_LANGUAGES)
    other = make_shop("globex")
    add_products(app, shop, *[f"Thing {n}" for n in range(8)])
    add_products(app, other, "Secret gadget")
    index = client.get("/de/sitemap.xml", headers=host(shop))
    assert index.status_code == 200 and index.mimetype == "application/xml"
    maps = _locs(index.text, "sitemap")
    assert maps[0] == "http://acme.test/de/sitemap-pages.xml"
    assert len(maps) == 1 + 3  # 8 products, 3 a page
    seen: list[str] = []
    for address in maps[1:]:
        urlset = client.get(address.removeprefix("http://acme.test"), headers=host(shop))
        locs = _locs(urlset.text, "url")
        assert 1 <= len(locs) <= 3
        seen += locs
        root = ET.fromstring(urlset.text)
        langs = [a.get("hreflang") for a in root.find(f"{SM}url").iter(f"{XHTML}link")]
        assert sorted(langs) == ["de-DE", "en-US", "x-default"]
    assert seen == [f"http://acme.test/de/p/thing-{n}" for n in range(8)]
    assert not any("secret" in url for url in seen)
    pages = client.get("/de/sitemap-pages.xml", headers=host(shop)).text
    assert "http://acme.test/de/products" in _locs(pages, "url")
    others = client.get("/sitemap-products.xml", headers=host(other)).text
    assert _locs(others, "url") == ["http://globex.test/p/secret-gadget"]
    assert "thing" not in others
    assert client.get("/sitemap-products.xml?after=x", headers=host(shop)).status_code == 404


def test_robots_txt_default_and_owner_edits(app, client, shop, make_user):
    robots = client.get("/robots.txt", headers=host(shop))
    assert robots.mimetype == "text/plain"
    for path in ("/admin", "/cart", "/checkout", "/account"):
        assert f"Disallow: {path}\n" in robots.text
    assert "Sitemap: http://acme.test/sitemap.xml" in robots.text
    make_user(shop, "owner@example.com", roles=["owner"])
    owner = app.test_client()
    login(owner, shop, "owner@example.com")
    form = owner.get("/admin/seo/", headers=host(shop))
    assert form.status_code == 200
    token = csrf_from(form.text)
    text = "User-agent: *\nDisallow: /secret\nSitemap: http://acme.test/sitemap.xml"
    saved = owner.post(
        "/admin/seo/robots",
        data={"robots-csrf_token": token, "robots-robots_txt": text},
        headers=host(shop),
    )
    assert saved.status_code == 302
    assert client.get("/robots.txt", headers=host(shop)).text == text + "\n"
    too_long = owner.post(
        "/admin/seo/robots",
        data={"robots-csrf_token": token, "robots-robots_txt": "x" * 10_001},
        headers=host(shop),
    )
    assert too_long.status_code == 400
    owner.post(
        "/admin/seo/robots",
        data={"robots-csrf_token": token, "robots-robots_txt": ""},
        headers=host(shop),
    )
    assert "Disallow: /cart" in client.get("/robots.txt", headers=host(shop)).text


def test_a_changed_slug_answers_301_from_the_old_address(app, client, shop):
    slug = _product(app, shop)
    with app.app_context(), tenant_context(shop):
        row = catalog.get_product(slug)
        product_id = row.id
        catalog.update_product(row, slug="big-anvil")
        db.session.commit()
    moved = client.get(f"/de/p/{slug}?variant=1", headers=host(shop))
    assert moved.status_code == 301
    assert moved.headers["Location"] == "/de/p/big-anvil?variant=1"
    with app.app_context(), tenant_context(shop):
        row = db.session.get(Product, product_id)
        catalog.update_product(row, slug="huge-anvil")
        db.session.commit()
    # no chain: the first address goes straight to the newest
    assert client.get(f"/p/{slug}", headers=host(shop)).headers["Location"] == "/p/huge-anvil"
    assert client.get("/p/big-anvil", headers=host(shop)).headers["Location"] == "/p/huge-anvil"
    with app.app_context(), tenant_context(shop):
        row = db.session.get(Product, product_id)
        catalog.update_product(row, slug=slug)  # back to the first: no loop
        db.session.commit()
    assert client.get(f"/p/{slug}", headers=host(shop)).status_code == 200
    assert client.get("/p/huge-anvil", headers=host(shop)).headers["Location"] == f"/p/{slug}"
    assert client.get("/p/never-was", headers=host(shop)).status_code == 404


def test_a_page_slug_change_redirects_too(app, client, shop, make_shop):
    other = make_shop("globex")
    with app.app_context(), tenant_context(shop):
        page = content.save_page(None, title="Ship", slug="ship", body="x")
        db.session.commit()
        content.save_page(page, slug="shipping")
        db.session.commit()
    assert client.get("/pages/ship", headers=host(shop)).headers["Location"] == "/pages/shipping"
    assert client.get("/pages/ship", headers=host(other)).status_code == 404


def test_owner_redirects_are_checked(app, client, shop, make_user):
    make_user(shop, "owner@example.com", roles=["owner"])
    owner = app.test_client()
    login(owner, shop, "owner@example.com")
    token = csrf_from(owner.get("/admin/seo/", headers=host(shop)).text)

    def add(old, new):
        return owner.post(
            "/admin/seo/redirects",
            data={"redirect-csrf_token": token, "redirect-old_path": old, "redirect-new_path": new},
            headers=host(shop),
        )

    assert add("/old-shop", "/products").status_code == 302
    answer = client.get("/old-shop?x=1", headers=host(shop))
    assert answer.status_code == 301 and answer.headers["Location"] == "/products?x=1"
    assert add("https://evil.example/x", "/products").status_code == 400
    assert add("/a", "//evil.example").status_code == 400
    assert add("/a", "javascript:alert(1)").status_code == 400
    assert add("/products", "/old-shop").status_code == 400  # a loop
    assert add("/same", "/same").status_code == 400
    assert add("/old-shop", "/c/x").status_code == 400  # already redirects
    app.config["SEO_MAX_REDIRECTS"] = 1
    refused = add("/another", "/products")
    assert refused.status_code == 400 and "at most 1 redirects" in refused.text
    page = owner.get("/admin/seo/", headers=host(shop)).text
    row = re.search(r"/admin/seo/redirects/(\d+)/delete", page)
    assert row
    gone = owner.post(
        f"/admin/seo/redirects/{row.group(1)}/delete",
        data={"confirm-csrf_token": token},
        headers=host(shop),
    )
    assert gone.status_code == 302
    assert client.get("/old-shop", headers=host(shop)).status_code == 404


def test_the_owner_sets_a_page_title_and_description(app, client, shop, make_user):
    make_user(shop, "owner@example.com", roles=["owner"])
    owner = app.test_client()
    login(owner, shop, "owner@example.com")
    form = owner.get("/admin/pages/new", headers=host(shop))
    assert "Title for search engines" in form.text
    saved = owner.post(
        "/admin/pages/new",
        data={
            "csrf_token": csrf_from(form.text),
            "title": "Returns",
            "slug": "returns",
            "body": "Send it back.",
            "published": "y",
            "meta_title": "Returns made easy | Acme",
            "meta_description": "Thirty days, free.",
        },
        headers=host(shop),
    )
    assert saved.status_code == 302
    page = client.get("/pages/returns", headers=host(shop)).text
    assert "<title>Returns made easy | Acme</title>" in page
    assert meta(page, "description") == "Thirty days, free."
    assert meta(page, "og:title") == "Returns made easy | Acme"


def test_the_owner_sets_a_category_title_and_description(app, client, shop, make_user):
    _product(app, shop, category="Tools")
    make_user(shop, "owner@example.com", roles=["owner"])
    owner = app.test_client()
    login(owner, shop, "owner@example.com")
    form = owner.get("/admin/categories/tools", headers=host(shop))
    saved = owner.post(
        "/admin/categories/tools",
        data={
            "csrf_token": csrf_from(form.text),
            "name": "Tools",
            "parent": "",
            "position": "0",
            "meta_title": "Hand tools | Acme",
            "meta_description": "Hammers, anvils & more.",
        },
        headers=host(shop),
    )
    assert saved.status_code == 302
    page = client.get("/c/tools", headers=host(shop)).text
    assert "<title>Hand tools | Acme</title>" in page
    assert meta(page, "description") == "Hammers, anvils &amp; more."


def test_a_shop_template_keeps_the_tags_in_the_sandbox(app, client, shop):
    """A shop's own home page (sandboxed, extending the theme's) still has them."""
    folder = tenant_folder(app, "acme") / "templates"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "index.html").write_text(
        '{% extends "@theme/index.html" %}{% block featured %}<p>Ours</p>{% endblock %}'
    )
    home = client.get("/", headers=host(shop)).text
    assert "<p>Ours</p>" in home
    assert json_ld(home, "http://acme.test/")["Organization"]["name"] == "Acme"


def test_the_api_sets_and_shows_a_products_search_texts(app, client, shop, make_user):
    """The one product schema: the API takes meta_title/meta_description, a slug changed
    through it leaves its redirect, and the shop page shows what was set."""
    from tests.test_api import token_for

    auth = {**host(shop), "Authentication-Token": token_for(app, shop, make_user)}
    created = client.post(
        "/api/v1/admin/products",
        json={"sku": "M-1", "title": "Mallet", "price": 500, "meta_title": "Mallets | Acme"},
        headers=auth,
    )
    assert created.status_code == 201, created.json
    assert created.json["data"]["meta_title"] == "Mallets | Acme"
    too_long = client.patch(
        f"/api/v1/admin/products/{created.json['data']['id']}",
        json={"meta_description": "x" * 321},
        headers=auth,
    )
    assert too_long.status_code == 422
    patched = client.patch(
        f"/api/v1/admin/products/{created.json['data']['id']}",
        json={"meta_description": "Soft blows.", "slug": "rubber-mallet"},
        headers=auth,
    )
    assert patched.status_code == 200 and patched.json["data"]["meta_description"] == "Soft blows."
    page = client.get("/p/rubber-mallet", headers=host(shop)).text
    assert "<title>Mallets | Acme</title>" in page and meta(page, "description") == "Soft blows."
    assert client.get("/p/mallet", headers=host(shop)).headers["Location"] == "/p/rubber-mallet"
