"""The owner's dashboard: who gets in, products, categories, orders, customers, settings."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from storefront.catalog import services as catalog
from storefront.catalog.models import Product
from storefront.extensions import db
from storefront.orders import lists
from storefront.orders import services as orders
from storefront.orders.models import Order
from storefront.tenancy import tenant_context
from tests.fixtures.factories import csrf_from, host, login, picture, tenant_folder
from tests.test_commerce import add_to_cart, checkout

OWNER = "owner@example.com"

PNG = picture(40, 30)


@pytest.fixture
def shop(make_shop, make_user):
    acme = make_shop("acme")
    make_user(acme, OWNER, roles=["owner"])
    return acme


@pytest.fixture
def owner(app, shop):
    client = app.test_client()
    assert login(client, shop, OWNER).status_code == 302
    return client


def post_form(client, shop, path, data, files=None):
    page = client.get(path, headers=host(shop))
    assert page.status_code == 200, (path, page.status_code)
    payload = {"csrf_token": csrf_from(page.text), **data, **(files or {})}
    return client.post(path, data=payload, headers=host(shop))


def product_row(app, shop, sku):
    with app.app_context(), tenant_context(shop):
        product = db.session.scalar(select(Product).where(Product.sku == sku))
        db.session.expunge_all()
        return product


def test_dashboard_is_for_owners_and_staff_only(app, client, shop, make_user):
    assert client.get("/admin/", headers=host(shop)).status_code == 302  # log in first
    make_user(shop, "shopper@example.com")
    login(client, shop, "shopper@example.com")
    assert client.get("/admin/", headers=host(shop)).status_code == 403
    assert client.get("/admin/products", headers=host(shop)).status_code == 403

    make_user(shop, "staff@example.com", roles=["staff"])
    staff = app.test_client()
    login(staff, shop, "staff@example.com")
    assert staff.get("/admin/orders", headers=host(shop)).status_code == 200
    assert staff.get("/admin/settings", headers=host(shop)).status_code == 403  # owners only


def test_owner_of_one_shop_is_nobody_at_another(app, owner, shop, make_shop):
    globex = make_shop("globex")
    assert owner.get("/admin/", headers=host(globex)).status_code == 302


def test_owner_creates_edits_and_hides_a_product(app, owner, shop):
    created = post_form(
        owner,
        shop,
        "/admin/products/new",
        {"sku": "A-1", "title": "Anvil", "price": "19.99", "stock": "3", "active": "y"},
    )
    assert created.status_code == 302
    product = product_row(app, shop, "A-1")
    assert (product.price, product.stock, product.slug) == (1999, 3, "anvil")
    assert "Anvil" in owner.get("/products", headers=host(shop)).text

    edit = f"/admin/products/{product.id}"
    post_form(
        owner,
        shop,
        edit,
        {
            "sku": "A-1",
            "title": "Big anvil",
            "price": "25",
            "slug": "anvil",
            "stock": "3",
            "active": "y",
        },
    )
    assert product_row(app, shop, "A-1").price == 2500

    page = owner.get(edit, headers=host(shop))
    token = re.search(
        r'id="confirm-csrf_token" name="confirm-csrf_token" type="hidden" '
        r'value="([^"]+)"',
        page.text,
    ).group(1)
    owner.post(f"{edit}/deactivate", data={"confirm-csrf_token": token}, headers=host(shop))
    assert product_row(app, shop, "A-1").active is False
    assert owner.get("/p/anvil", headers=host(shop)).status_code == 404


def test_bad_product_input_is_explained_and_nothing_is_saved(app, owner, shop):
    response = post_form(
        owner,
        shop,
        "/admin/products/new",
        {"sku": "A-1", "title": "Anvil", "price": "12.345", "stock": "-1"},
    )
    assert response.status_code == 200
    assert "more than 2 decimal places" in response.text
    assert "Number must be between 0 and 1000000" in response.text
    assert product_row(app, shop, "A-1") is None

    post_form(owner, shop, "/admin/products/new", {"sku": "A-1", "title": "Anvil", "price": "1"})
    clash = post_form(
        owner, shop, "/admin/products/new", {"sku": "A-1", "title": "Other", "price": "1"}
    )
    assert "SKU &#39;A-1&#39; is already used" in clash.text or "already used" in clash.text


def test_stock_adjusts_and_never_goes_below_zero(app, owner, shop):
    post_form(
        owner,
        shop,
        "/admin/products/new",
        {"sku": "A-1", "title": "Anvil", "price": "1", "stock": "2"},
    )
    product = product_row(app, shop, "A-1")
    edit = f"/admin/products/{product.id}"
    page = owner.get(edit, headers=host(shop)).text
    token = re.search(r'name="stock-csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    owner.post(
        f"{edit}/stock", data={"stock-csrf_token": token, "stock-delta": "5"}, headers=host(shop)
    )
    assert product_row(app, shop, "A-1").stock == 7
    owner.post(
        f"{edit}/stock", data={"stock-csrf_token": token, "stock-delta": "-10"}, headers=host(shop)
    )
    assert product_row(app, shop, "A-1").stock == 7
    assert "only 7 in stock" in owner.get(edit, headers=host(shop)).text


def test_a_new_products_picture_is_stored_and_served_from_the_shops_storage(app, owner, shop):
    response = post_form(
        owner,
        shop,
        "/admin/products/new",
        {"sku": "A-1", "title": "Anvil", "price": "1"},
        files={"image": (io.BytesIO(PNG), "anvil.png")},
    )
    assert response.status_code == 302
    with app.app_context(), tenant_context(shop):
        (image,) = catalog.product_by_sku("A-1").images
        key = image.key
    assert key.startswith("img/") and (image.width, image.height) == (40, 30)
    served = owner.get(f"/media/{key}/master.png", headers=host(shop))
    assert served.status_code == 200 and served.mimetype == "image/png"
    assert "immutable" in served.headers["Cache-Control"]

    fake = post_form(
        owner,
        shop,
        "/admin/products/new",
        {"sku": "A-2", "title": "Fake", "price": "1"},
        files={"image": (io.BytesIO(b"<?php evil"), "evil.png")},
    )
    assert "Only PNG, JPEG, GIF, WebP or AVIF images can be uploaded." in fake.text
    assert product_row(app, shop, "A-2") is None


def test_another_shops_product_id_is_404_in_the_dashboard(app, owner, shop, make_shop):
    globex = make_shop("globex")
    with app.app_context(), tenant_context(globex):
        other = catalog.create_product("G-1", "Tent", 100)
        db.session.commit()
        other_id = other.id
    assert owner.get(f"/admin/products/{other_id}", headers=host(shop)).status_code == 404


def test_categories_are_added_and_deleted(app, owner, shop):
    post_form(owner, shop, "/admin/categories", {"name": "Tools", "parent": ""})
    post_form(owner, shop, "/admin/categories", {"name": "Hammers", "parent": "tools"})
    page = owner.get("/admin/categories", headers=host(shop)).text
    assert "Hammers" in page and "Tools" in page
    token = re.search(r'name="confirm-csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    owner.post(
        "/admin/categories/tools/delete", data={"confirm-csrf_token": token}, headers=host(shop)
    )
    assert "has subcategories" in owner.get("/admin/categories", headers=host(shop)).text
    owner.post(
        "/admin/categories/hammers/delete", data={"confirm-csrf_token": token}, headers=host(shop)
    )
    assert "Hammers" not in owner.get("/admin/categories", headers=host(shop)).text


def test_categories_are_renamed_moved_and_ordered(app, owner, shop, client):
    post_form(owner, shop, "/admin/categories", {"name": "Tools", "parent": ""})
    post_form(owner, shop, "/admin/categories", {"name": "Rope", "parent": ""})
    renamed = post_form(
        owner,
        shop,
        "/admin/categories/rope",
        {"name": "Ropes & cords", "parent": "", "position": "0"},
    )
    assert renamed.status_code == 302
    post_form(
        owner, shop, "/admin/categories/tools", {"name": "Tools", "parent": "", "position": "5"}
    )
    listing = client.get("/products", headers=host(shop)).text
    assert listing.index("Ropes &amp; cords") < listing.index("Tools")  # ordered by position
    moved = post_form(
        owner, shop, "/admin/categories/tools", {"name": "Tools", "parent": "rope", "position": "5"}
    )
    assert moved.status_code == 302
    with app.app_context(), tenant_context(shop):
        assert catalog.get_category("tools").parent_id == catalog.get_category("rope").id
    refused = post_form(
        owner, shop, "/admin/categories/rope", {"name": "Ropes", "parent": "", "position": "-1"}
    )
    assert refused.status_code == 200  # out of range: the form again, with the reason
    assert owner.get("/admin/categories/nope", headers=host(shop)).status_code == 404


def place(app, shop, email="ada@example.com"):
    with app.app_context(), tenant_context(shop):
        if catalog.product_by_sku("SKU-X") is None:
            catalog.create_product("SKU-X", "Anvil", 1000, stock=100, slug="anvil")
            db.session.commit()
    shopper = app.test_client()
    add_to_cart(shopper, shop, "anvil")
    # Globex (the demo) ships within the EU only, cash on delivery.
    method = shop.settings.payment.methods[0]  # the demo shops differ from the default
    country = "DE" if shop.slug == "globex" else "US"
    checkout(shopper, shop, email=email, country=country, payment_method=method)
    return shopper


def test_orders_filter_ship_with_mail_and_shopper_sees_status(app, owner, shop, outbox):
    shopper = place(app, shop)
    place(app, shop, "bob@example.com")
    listing = owner.get("/admin/orders", headers=host(shop)).text
    assert "ACME-1001" in listing and "ACME-1002" in listing
    assert (
        "No orders with the status “Shipped”"
        in owner.get("/admin/orders?status=shipped", headers=host(shop)).text
    )
    assert owner.get("/admin/orders?status=bogus", headers=host(shop)).status_code == 400

    outbox.clear()
    assert (
        post_form(owner, shop, "/admin/orders/ACME-1001", {"status": "shipped"}).status_code == 302
    )
    (mail,) = outbox
    assert mail.to == ["ada@example.com"] and "ACME-1001 has shipped" in mail.subject
    assert "http://acme.test/orders/ACME-1001" in mail.body
    assert "shipped" in shopper.get("/orders/ACME-1001", headers=host(shop)).text
    shipped = owner.get("/admin/orders?status=shipped", headers=host(shop)).text
    assert "ACME-1001" in shipped and "ACME-1002" not in shipped
    assert owner.get("/admin/orders/ACME-9999", headers=host(shop)).status_code == 404
    found = owner.get("/admin/orders?q=bob@", headers=host(shop)).text
    assert "ACME-1002" in found and "ACME-1001" not in found
    assert "No orders match" in owner.get("/admin/orders?q=nobody", headers=host(shop)).text


def test_searches_ending_in_the_highest_character_answer(app, owner, shop, make_user):
    """The prefix range's end is the last character one higher; U+10FFFF has none (it
    answered 500 on the orders and customers searches)."""
    place(app, shop)
    make_user(shop, "ada@example.com")
    top = "\U0010ffff"
    for path in ("/admin/orders", "/admin/customers"):
        for query in (top, f"ACME-1{top}", f"ada@{top}", f"ad{top}{top}"):
            response = owner.get(path, query_string={"q": query}, headers=host(shop))
            assert response.status_code == 200, (path, query)
            assert "ACME-1001" not in response.text and "ada@example.com" not in response.text
    ranged = lists.prefix(Order.email, f"ad{top}{top}")
    assert ranged.compile().params == {"email_1": f"ad{top}{top}", "email_2": "ae"}
    assert lists.prefix(Order.email, top).compile().params == {"email_1": top}


def test_orders_csv_export(app, owner, shop):
    place(app, shop)
    response = owner.get("/admin/orders.csv", headers=host(shop))
    assert response.mimetype == "text/csv"
    assert "acme-orders.csv" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 1
    assert rows[0]["number"] == "ACME-1001" and rows[0]["total"] == "10.00"
    assert rows[0]["lines"] == "1 x SKU-X"


def test_customers_list_and_detail_with_orders(app, owner, shop, make_user):
    make_user(shop, "ada@example.com")
    ada = app.test_client()
    login(ada, shop, "ada@example.com")
    with app.app_context(), tenant_context(shop):
        catalog.create_product("SKU-X", "Anvil", 1000, stock=5, slug="anvil")
        db.session.commit()
    add_to_cart(ada, shop, "anvil")
    checkout(ada, shop)
    listing = owner.get("/admin/customers", headers=host(shop)).text
    assert "ada@example.com" in listing and OWNER not in listing
    user_id = re.search(r"/admin/customers/(\d+)", listing).group(1)
    detail = owner.get(f"/admin/customers/{user_id}", headers=host(shop)).text
    assert "ACME-1001" in detail
    # A guest order with the same address, placed before logging in: shown apart.
    guest = app.test_client()
    add_to_cart(guest, shop, "anvil")
    checkout(guest, shop, email="ada@example.com", name="Ada Guest")
    with app.app_context(), tenant_context(shop):
        for order in db.session.scalars(select(Order)).all():  # both paid: both count
            orders.set_status(order, "paid", notify=False)
        db.session.commit()
    detail = owner.get(f"/admin/customers/{user_id}", headers=host(shop)).text
    assert "Guest orders with this address" in detail and "ACME-1002" in detail
    spent = detail.split("Total spent")[1][:80]
    assert "$10.00" in spent  # the account's own order; not the guest's, not shipping
    listing = owner.get("/admin/customers", headers=host(shop)).text
    guests = listing.split("Guests")[1]
    assert "ada@example.com" in guests and "$10.00" in guests
    assert "Addresses" in detail and "Ada Guest" in detail


def test_owner_changes_display_name_and_footer_keeping_comments(app, owner, shop):
    response = post_form(
        owner,
        shop,
        "/admin/settings",
        {
            "name": "Acme Deluxe",
            "contact_email": "hi@acme.example.com",
            "footer_text": "Open daily",
        },
    )
    assert response.status_code == 302
    text = (tenant_folder(app, "acme") / "tenant.toml").read_text()
    assert 'name = "Acme Deluxe"' in text and "#" in text  # the scaffold's comments stay
    home = owner.get("/", headers=host(shop)).text
    assert "Acme Deluxe" in home and "Open daily" in home
    bad = post_form(owner, shop, "/admin/settings", {"name": "", "contact_email": "nope"})
    assert (
        bad.status_code == 200
        and "Acme Deluxe" in (tenant_folder(app, "acme") / "tenant.toml").read_text()
    )
    assert "Invalid email address." in bad.text
    # An address at a reserved name (the demo's hello@acme.localhost) saves as it is.
    local = post_form(
        owner,
        shop,
        "/admin/settings",
        {"name": "Acme Deluxe", "contact_email": "hello@acme.localhost"},
    )
    assert local.status_code == 302


def test_the_owner_puts_a_banner_above_every_page_in_each_language(app, make_shop, make_user):
    shop = make_shop("laden", settings='name = "Laden"\nlocales = ["de_DE", "en_GB"]\n')
    make_user(shop, OWNER, roles=["owner"])
    owner = app.test_client()
    login(owner, shop, OWNER)
    saved = post_form(
        owner,
        shop,
        "/admin/settings",
        {"name": "Laden", "banner_text": "Sommerschlussverkauf: <b>30 %</b>",
         "banner_text__en_GB": "Summer sale: 30 % off"},
    )  # fmt: skip
    assert saved.status_code == 302
    visitor = app.test_client()
    german = visitor.get("/products", headers=host(shop)).text
    assert '<p class="shop-banner">Sommerschlussverkauf: &lt;b&gt;30 %&lt;/b&gt;</p>' in german
    assert "Summer sale: 30 % off" in visitor.get("/en/products", headers=host(shop)).text
    post_form(owner, shop, "/admin/settings", {"name": "Laden", "banner_text": ""})
    assert "shop-banner" not in app.test_client().get("/", headers=host(shop)).text


@pytest.mark.parametrize("slug", ["acme", "globex"])
def test_every_dashboard_page_renders_in_both_demo_themes(app, runner, demo_tenants, slug):
    """The demo shops use different themes and overrides; the dashboard works in both."""
    runner.invoke(["demo"])
    from storefront.tenancy.registry import context_for

    with app.app_context():
        shop = context_for(slug)
    client = app.test_client()
    assert login(client, shop, f"owner@{slug}.example.com", "demo-password").status_code == 302
    place(app, shop)
    for path in (
        "/admin/",
        "/admin/products",
        "/admin/products/new",
        "/admin/categories",
        "/admin/orders",
        f"/admin/orders/{slug.upper()}-1001",
        "/admin/customers",
        "/admin/settings",
        "/admin/products?q=zzz",
        "/admin/products?page=2",
    ):
        response = client.get(path, headers=host(shop))
        assert response.status_code == 200, (path, response.status_code)


def test_cancelling_restocks_once_and_is_final(app, owner, shop):
    place(app, shop)
    with app.app_context(), tenant_context(shop):
        assert catalog.product_by_sku("SKU-X").stock == 99
    response = post_form(owner, shop, "/admin/orders/ACME-1001", {"status": "cancelled"})
    assert response.status_code == 302
    assert "back in stock" in owner.get("/admin/orders/ACME-1001", headers=host(shop)).text
    with app.app_context(), tenant_context(shop):
        assert catalog.product_by_sku("SKU-X").stock == 100
    post_form(owner, shop, "/admin/orders/ACME-1001", {"status": "paid"})
    page = owner.get("/admin/orders/ACME-1001", headers=host(shop)).text
    assert "cannot change" in page
    with app.app_context(), tenant_context(shop):
        assert catalog.product_by_sku("SKU-X").stock == 100  # never restocked twice


def test_another_shops_orders_and_categories_are_out_of_reach(app, owner, shop, make_shop):
    globex = make_shop("globex")
    with app.app_context(), tenant_context(globex):
        catalog.create_category("Tents")
        db.session.commit()
    place(app, globex)
    assert owner.get("/admin/orders/GLOBEX-1001", headers=host(shop)).status_code == 404
    assert "GLOBEX" not in owner.get("/admin/orders", headers=host(shop)).text
    assert "GLOBEX" not in owner.get("/admin/orders.csv", headers=host(shop)).text
    post_form(owner, shop, "/admin/categories", {"name": "Tools", "parent": ""})
    page = owner.get("/admin/categories", headers=host(shop)).text
    assert "Tools" in page and "Tents" not in page
    token = re.search(r'name="confirm-csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    owner.post(
        "/admin/categories/tents/delete", data={"confirm-csrf_token": token}, headers=host(shop)
    )
    with app.app_context(), tenant_context(globex):
        assert catalog.get_category("tents").name == "Tents"  # untouched


def test_a_suspended_shop_keeps_its_look_and_its_owner_reads_the_dashboard(
    app, runner, owner, shop, client
):
    assert runner.invoke(["suspend", "acme", "--reason", "Unpaid invoice"]).exit_code == 0
    page = client.get("/", headers=host(shop))
    assert page.status_code == 503 and "Unpaid invoice" in page.text
    for link in ("/products", "/cart/", "/register"):  # no links into the closed shop
        assert f'href="{link}' not in page.text, link
    assert "/login?next=/admin/" in page.text
    css = [href for href in re.findall(r'href="([^"]+\.css[^"]*)"', page.text)]
    assert css and all(client.get(h, headers=host(shop)).status_code == 200 for h in css)
    dashboard = owner.get("/admin/", headers=host(shop))
    assert dashboard.status_code == 200 and "Your shop is suspended" in dashboard.text
    change = owner.post("/admin/settings", data={"name": "X"}, headers=host(shop))
    assert change.status_code == 503 and "can be viewed but not changed" in change.text
    shopper_side = owner.get("/products", headers=host(shop))
    assert shopper_side.status_code == 503


def test_the_platform_page_for_an_unknown_host_is_styled(client):
    page = client.get("/", headers={"Host": "203.0.113.9"})
    assert page.status_code == 404
    sheet = re.search(r'href="(/static/[^"]+\.css)"', page.text).group(1)
    assert client.get(sheet, headers={"Host": "203.0.113.9"}).status_code == 200
    assert client.get("/static/../app.py", headers={"Host": "203.0.113.9"}).status_code == 404


def test_an_existing_product_has_one_stock_control(app, owner, shop):
    with app.app_context(), tenant_context(shop):
        product = catalog.create_product("ONE-1", "One", 100, stock=4)
        db.session.commit()
        product_id = product.id
    page = owner.get(f"/admin/products/{product_id}", headers=host(shop)).text
    assert 'name="stock"' not in page and 'name="stock-delta"' in page
    saved = post_form(
        owner,
        shop,
        f"/admin/products/{product_id}",
        {"sku": "ONE-1", "title": "One", "price": "1.00"},
    )
    assert saved.status_code == 302 and product_row(app, shop, "ONE-1").stock == 4  # untouched
    assert 'name="stock"' in owner.get("/admin/products/new", headers=host(shop)).text


def test_the_overview_shows_sales_best_sellers_and_what_runs_low(app, owner, shop):
    from datetime import timedelta

    from storefront.orders import reports
    from storefront.tenancy.models import utcnow

    place(app, shop, "ada@example.com")
    place(app, shop, "bob@example.com")
    with app.app_context(), tenant_context(shop):
        catalog.create_product("LOW-1", "Last Rope", 500, stock=1)
        paid = db.session.scalar(select(Order).where(Order.email == "ada@example.com"))
        orders.set_status(paid, "paid", notify=False)  # bob's awaits payment: no sale yet
        db.session.commit()
        days = reports.daily_sales(30)
        assert len(days) == 30 and days[-1].orders == 1
        assert [b.sku for b in reports.best_sellers()] == ["SKU-X"]
        later = reports.daily_sales(30, now=utcnow() + timedelta(days=40))
        assert sum(d.orders for d in later) == 0  # outside the 30 days
    page = owner.get("/admin/", headers=host(shop)).text
    assert '<svg class="sales-chart"' in page and 'role="img"' in page
    assert "from 1 orders" in page or "from 1 order" in page
    assert "Anvil" in page.split("Best sellers")[1]
    assert "Last Rope" in page.split("Running low")[1] and "1 left" in page


def test_the_owner_sets_logo_colours_and_fonts_with_a_preview(app, owner, shop, client):
    import io

    page = owner.get("/admin/settings", headers=host(shop)).text
    assert '<svg class="branding-preview"' in page and 'type="color"' in page
    token = csrf_from(page)
    saved = owner.post(
        "/admin/settings/branding",
        data={
            "brand-csrf_token": token,
            "brand-primary_color": "#123456",
            "brand-accent_color": "#EA580C",
            "brand-background_color": "#ffffff",
            "brand-text_color": "#111111",
            "brand-font_family": "Georgia, 'Times New Roman', serif",
            "brand-heading_font": "Georgia, 'Times New Roman', serif",
            "brand-logo": (io.BytesIO(PNG), "logo.png"),
        },
        headers=host(shop),
        content_type="multipart/form-data",
    )
    assert saved.status_code == 302, saved.text[:500]
    toml = (tenant_folder(app, "acme") / "tenant.toml").read_text()
    assert 'primary_color = "#123456"' in toml and 'accent_color = "#ea580c"' in toml
    assert 'logo = "/media/branding/' in toml
    css = client.get("/branding.css", headers=host(shop)).text
    assert "--color-primary: #123456" in css and "--color-accent-strong: #ca4c0a" in css
    home = client.get("/", headers=host(shop)).text
    logo = re.search(r'<img src="([^"]+)"[^>]*class="brand-logo"', home).group(1)
    assert client.get(logo, headers=host(shop)).status_code == 200
    bad = owner.post(
        "/admin/settings/branding",
        data={"brand-csrf_token": token, "brand-primary_color": "red; }",
              "brand-accent_color": "#000000", "brand-background_color": "#ffffff",
              "brand-text_color": "#000000",
              "brand-font_family": "x; } body { display: none",
              "brand-heading_font": "Georgia, 'Times New Roman', serif"},
        headers=host(shop),
    )  # fmt: skip
    assert bad.status_code == 422 and "Pick a colour." in bad.text
    assert 'primary_color = "#123456"' in (tenant_folder(app, "acme") / "tenant.toml").read_text()
