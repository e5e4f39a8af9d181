"""What search engines show, per shop language: the owner sets a product's, category's and
page's title and description in each language (dashboard, CSV, API); a page shows the
shopper's language's, else one made from that language's content, else the default
language's own text where the content itself is untranslated."""

from __future__ import annotations

import csv
import io

import pytest

from storefront.catalog import csv_io
from storefront.catalog import services as catalog
from storefront.catalog.models import Category, Product
from storefront.content.models import Page
from storefront.extensions import db
from storefront.tenancy import tenant_context
from tests.fixtures.factories import csrf_from, host, login
from tests.test_seo import TWO_LANGUAGES, meta


@pytest.fixture
def shop(make_shop):
    return make_shop("acme", settings=TWO_LANGUAGES)


@pytest.fixture
def owner(app, shop, make_user):
    make_user(shop, "owner@example.com", roles=["owner"])
    client = app.test_client()
    login(client, shop, "owner@example.com")
    return client


def _anvil(app, shop, **fields):
    with app.app_context(), tenant_context(shop):
        made = catalog.create_product("AN-1", "Anvil", 2500, stock=3, **fields)
        db.session.commit()
        return made.id


def test_the_owner_sets_a_products_search_texts_per_language(app, client, shop, owner):
    pid = _anvil(app, shop, description="A heavy anvil.")
    form = owner.get(f"/admin/products/{pid}", headers=host(shop))
    assert form.status_code == 200
    assert "Title for search engines in German" in form.text
    saved = owner.post(
        f"/admin/products/{pid}",
        data={
            "csrf_token": csrf_from(form.text),
            "sku": "AN-1",
            "title": "Anvil",
            "slug": "anvil",
            "description": "A heavy anvil.",
            "price": "25.00",
            "tax_class": "standard",
            "active": "y",
            "meta_title": "Anvils | Acme",
            "meta_description": "Heavy anvils.",
            "title__de_DE": "Amboss",
            "meta_title__de_DE": "Ambosse | Acme",
            "meta_description__de_DE": "Schwere Ambosse & mehr.",
        },
        headers=host(shop),
    )
    assert saved.status_code == 302, saved.text[:2000]
    english = client.get("/p/anvil", headers=host(shop)).text
    assert "<title>Anvils | Acme</title>" in english
    assert meta(english, "description") == "Heavy anvils."
    german = client.get("/de/p/anvil", headers=host(shop)).text
    assert "<title>Ambosse | Acme</title>" in german
    assert meta(german, "description") == "Schwere Ambosse &amp; mehr."
    assert meta(german, "og:title") == "Ambosse | Acme"
    # read back into the form, per language
    again = owner.get(f"/admin/products/{pid}", headers=host(shop)).text
    assert 'value="Ambosse | Acme"' in again
    with app.app_context(), tenant_context(shop):
        row = db.session.get(Product, pid)
        assert row.translations["de_DE"]["meta_title"] == "Ambosse | Acme"
        assert row.meta_title == "Anvils | Acme"


def test_a_language_without_its_own_texts_falls_back_sensibly(app, client, shop):
    """German title but no German meta: made from the German title (the English meta
    would not describe a German page). No German content at all: the English meta, as
    the page itself is English."""
    with app.app_context(), tenant_context(shop):
        catalog.create_product(
            "T-1",
            "Tongs",
            900,
            stock=1,
            meta_title="Tongs | Acme",
            translations={"de": {"title": "Zange"}},
        )
        catalog.create_product("H-1", "Hammer", 900, stock=1, meta_title="Hammers | Acme")
        db.session.commit()
    tongs = client.get("/de/p/tongs", headers=host(shop)).text
    assert "Tongs | Acme" not in tongs and "<title>Zange · Acme</title>" in tongs
    hammer = client.get("/de/p/hammer", headers=host(shop)).text
    assert "<title>Hammers | Acme</title>" in hammer


def test_category_and_page_texts_per_language(app, client, shop, owner):
    with app.app_context(), tenant_context(shop):
        catalog.create_category("Tools")
        db.session.commit()
    form = owner.get("/admin/categories/tools", headers=host(shop))
    assert "Description for search engines in German" in form.text
    saved = owner.post(
        "/admin/categories/tools",
        data={
            "csrf_token": csrf_from(form.text),
            "name": "Tools",
            "parent": "",
            "position": "0",
            "meta_title": "Hand tools | Acme",
            "name__de_DE": "Werkzeug",
            "meta_title__de_DE": "Handwerkzeug | Acme",
            "meta_description__de_DE": "Hämmer und Ambosse.",
        },
        headers=host(shop),
    )
    assert saved.status_code == 302
    assert "<title>Hand tools | Acme</title>" in client.get("/c/tools", headers=host(shop)).text
    german = client.get("/de/c/tools", headers=host(shop)).text
    assert "<title>Handwerkzeug | Acme</title>" in german
    assert meta(german, "description") == "Hämmer und Ambosse."

    form = owner.get("/admin/pages/new", headers=host(shop))
    saved = owner.post(
        "/admin/pages/new",
        data={
            "csrf_token": csrf_from(form.text),
            "title": "Returns",
            "slug": "returns",
            "body": "Send it back.",
            "published": "y",
            "meta_title": "Returns | Acme",
            "title__de_DE": "Rücksendung",
            "body__de_DE": "Zurückschicken.",
            "meta_title__de_DE": "Rücksendung leicht gemacht",
            "meta_description__de_DE": "Dreißig Tage.",
        },
        headers=host(shop),
    )
    assert saved.status_code == 302
    german = client.get("/de/pages/returns", headers=host(shop)).text
    assert "<title>Rücksendung leicht gemacht</title>" in german
    assert meta(german, "og:description") == "Dreißig Tage."
    assert "<title>Returns | Acme</title>" in client.get("/pages/returns", headers=host(shop)).text
    with app.app_context(), tenant_context(shop):
        page = db.session.query(Page).one()
        assert page.translations["de_DE"]["meta_description"] == "Dreißig Tage."


def test_a_too_long_translated_search_title_is_refused(app, shop, owner):
    pid = _anvil(app, shop)
    form = owner.get(f"/admin/products/{pid}", headers=host(shop))
    refused = owner.post(
        f"/admin/products/{pid}",
        data={
            "csrf_token": csrf_from(form.text),
            "sku": "AN-1",
            "title": "Anvil",
            "slug": "anvil",
            "price": "25.00",
            "tax_class": "standard",
            "meta_title__de_DE": "x" * 201,
        },
        headers=host(shop),
    )
    assert refused.status_code == 200  # the form again, with its error
    with app.app_context(), tenant_context(shop):
        assert not (db.session.get(Product, pid).translations or {})


def _export(app, shop) -> list[dict[str, str]]:
    with app.app_context(), tenant_context(shop):
        out = io.StringIO()
        csv_io.export_csv(out)
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def test_the_catalog_csv_carries_search_texts_per_language(app, shop):
    with app.app_context(), tenant_context(shop):
        catalog.create_product(
            "AN-1",
            "Anvil",
            2500,
            meta_title="Anvils | Acme",
            meta_description="Heavy.\nVery.",
            translations={"de": {"title": "Amboss", "meta_title": "Ambosse"}},
        )
        db.session.commit()
    rows = _export(app, shop)
    assert rows[0]["meta_title"] == "Anvils | Acme"
    assert rows[0]["meta_description"] == "Heavy.\nVery."
    assert rows[0]["meta_title:de"] == "Ambosse" and rows[0]["meta_description:de"] == ""
    # round trip into the same shop: nothing changes
    header = list(rows[0])
    out = io.StringIO()
    writer = csv.DictWriter(out, header)
    writer.writeheader()
    rows[0]["meta_description:de"] = "Schwer."
    rows[0]["meta_title"] = ""
    writer.writerow(rows[0])
    with app.app_context(), tenant_context(shop):
        report = csv_io.import_csv(out.getvalue().splitlines(keepends=True))
        db.session.commit()
        assert report.refused_count == 0, report.refused
    with app.app_context(), tenant_context(shop):
        row = db.session.query(Product).one()
        assert row.meta_title is None  # an empty cell clears it
        assert row.meta_description == "Heavy.\nVery."
        assert row.translations["de_DE"] == {
            "title": "Amboss",
            "meta_title": "Ambosse",
            "meta_description": "Schwer.",
        }
    # an older file without the search columns leaves them be
    old = "sku,title,price,title:de\nAN-1,Anvil,25.00,Amboß\n"
    with app.app_context(), tenant_context(shop):
        csv_io.import_csv(old.splitlines(keepends=True))
        db.session.commit()
    with app.app_context(), tenant_context(shop):
        row = db.session.query(Product).one()
        assert row.meta_description == "Heavy.\nVery."
        assert row.translations["de_DE"]["title"] == "Amboß"
        assert row.translations["de_DE"]["meta_title"] == "Ambosse"


def test_a_bad_search_text_in_the_csv_is_one_line_refused(app, shop):
    bad = "sku,title,price,meta_title:de\nAN-1,Anvil,25.00," + "x" * 201 + "\n"
    with app.app_context(), tenant_context(shop):
        report = csv_io.import_csv(bad.splitlines(keepends=True))
        db.session.rollback()
        assert report.refused_count == 1 and "meta_title" in report.refused[0]
        assert db.session.query(Product).count() == 0


def test_the_api_sets_and_shows_search_texts_per_language(app, client, shop, make_user):
    from tests.test_api import token_for

    auth = {**host(shop), "Authentication-Token": token_for(app, shop, make_user)}
    created = client.post(
        "/api/v1/admin/products",
        json={
            "sku": "M-1",
            "title": "Mallet",
            "price": 500,
            "meta_title": "Mallets | Acme",
            "translations": {"de": {"title": "Hammer", "meta_title": "Holzhämmer"}},
        },
        headers=auth,
    )
    assert created.status_code == 201, created.json
    pid = created.json["data"]["id"]
    assert created.json["data"]["translations"]["de_DE"]["meta_title"] == "Holzhämmer"
    patched = client.patch(
        f"/api/v1/admin/products/{pid}",
        json={"translations": {"de": {"meta_description": "Sanfte Schläge."}}},
        headers=auth,
    )
    assert patched.status_code == 200, patched.json
    # a field not sent keeps its text
    german = patched.json["data"]["translations"]["de_DE"]
    assert {k: v for k, v in german.items() if v} == {
        "title": "Hammer",
        "meta_title": "Holzhämmer",
        "meta_description": "Sanfte Schläge.",
    }
    too_long = client.patch(
        f"/api/v1/admin/products/{pid}",
        json={"translations": {"de": {"meta_description": "x" * 321}}},
        headers=auth,
    )
    assert too_long.status_code == 422
    public = client.get("/api/v1/products/mallet?locale=de", headers=host(shop))
    assert public.status_code == 200, public.json
    assert public.json["data"]["meta_title"] == "Holzhämmer"
    assert public.json["data"]["meta_description"] == "Sanfte Schläge."
    english = client.get("/api/v1/products/mallet", headers=host(shop)).json["data"]
    assert english["meta_title"] == "Mallets | Acme" and english["meta_description"] is None

    category = client.post(
        "/api/v1/admin/categories",
        json={"name": "Tools", "meta_title": "Tools | Acme", "translations": {"de": {"name": "W"}}},
        headers=auth,
    )
    assert category.status_code == 201, category.json
    assert category.json["data"]["meta_title"] == "Tools | Acme"
    changed = client.patch(
        "/api/v1/admin/categories/tools",
        json={"meta_description": "", "translations": {"de": {"meta_title": "Werkzeug | Acme"}}},
        headers={**auth, "If-Match": category.headers["ETag"]},
    )
    assert changed.status_code == 200, changed.json
    assert {k: v for k, v in changed.json["data"]["translations"]["de_DE"].items() if v} == {
        "name": "W",
        "meta_title": "Werkzeug | Acme",
    }
    with app.app_context(), tenant_context(shop):
        row = db.session.query(Category).one()
        assert row.meta_description is None
    german = client.get("/de/c/tools", headers=host(shop)).text
    assert "<title>Werkzeug | Acme</title>" in german
