"""Options and variants: each combination has its own SKU, price, stock and picture, from
the product page through the cart, checkout, orders, restocks, the API and the CSV; stock
moves exactly once under any concurrency and the product's stock stays their sum."""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import func, select

from storefront.catalog import services as catalog
from storefront.catalog import variants
from storefront.catalog.models import Product, Variant
from storefront.extensions import db
from storefront.orders import services as orders
from storefront.orders.models import Order, OrderLine
from storefront.tenancy import tenant_context
from tests.fixtures.factories import csrf_from, host, login
from tests.test_commerce import ADDRESS, checkout, order_count

SIZES = variants.OptionIn("Size", ("S", "M", "L"), {"de_DE": ("Größe", ("S", "M", "L"))})
COLOURS = variants.OptionIn("Colour", ("Red", "Blue"), {"de_DE": ("Farbe", ("Rot", "Blau"))})
TOML = 'name = "Acme"\nlocales = ["en_US", "de_DE"]\n'


@pytest.fixture
def shop(make_shop):
    return make_shop("acme", settings=TOML)


def make_shirt(app, shop, stock=5, options=(SIZES, COLOURS), price=2000):
    """A shirt with variants; returns {("S", "Red"): variant id, …}."""
    with app.app_context(), tenant_context(shop):
        shirt = catalog.create_product("SHIRT", "Shirt", price, stock=stock)
        variants.set_options(shirt, list(options))
        db.session.commit()
        return {tuple(v.option_values): v.id for v in shirt.variants}


def rows(app, shop):
    with app.app_context(), tenant_context(shop):
        shirt = catalog.product_by_sku("SHIRT")
        stock = {tuple(v.option_values): v.stock for v in shirt.variants}
        return shirt.stock, stock, {tuple(v.option_values): v.sku for v in shirt.variants}


def set_stock(app, shop, stocks):
    with app.app_context(), tenant_context(shop):
        shirt = catalog.product_by_sku("SHIRT")
        for variant in shirt.variants:
            delta = stocks.get(tuple(variant.option_values), 0) - variant.stock
            if delta:
                variants.adjust_variant_stock(shirt, variant, delta)
        db.session.commit()


def test_every_combination_is_a_variant_and_the_product_stock_is_their_sum(app, shop):
    ids = make_shirt(app, shop, stock=7)
    assert len(ids) == 6
    total, stock, skus = rows(app, shop)
    # The simple product's units go to its first variant; the others start empty.
    assert stock[("S", "Red")] == 7 and sum(stock.values()) == total == 7
    assert skus[("M", "Blue")] == "SHIRT-M-BLUE"
    with app.app_context(), tenant_context(shop):
        shirt = catalog.product_by_sku("SHIRT")
        # Renaming a value in place keeps its variants (SKU, stock); dropping one takes
        # its stock along; a third option extends every variant with its first value.
        variants.set_options(
            shirt,
            [
                variants.OptionIn("Size", ("Small", "M")),
                COLOURS,
                variants.OptionIn("Fit", ("Slim", "Wide")),
            ],
        )
        db.session.commit()
    total, stock, skus = rows(app, shop)
    assert stock[("Small", "Red", "Slim")] == 7 and skus[("Small", "Red", "Slim")] == "SHIRT-S-RED"
    assert len(stock) == 8 and total == 7
    with app.app_context(), tenant_context(shop):
        variants.set_options(catalog.product_by_sku("SHIRT"), [])
        db.session.commit()
    total, stock, _ = rows(app, shop)
    assert stock == {} and total == 7  # a simple product again, with the units it had


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            [SIZES, COLOURS, variants.OptionIn("A", ("1",)), variants.OptionIn("B", ("2",))],
            "at most 3 options",
        ),
        ([variants.OptionIn("Size", ("S", "s"))], "names a value twice"),
        ([variants.OptionIn("Size", ()), COLOURS], "at least one value"),
        ([SIZES, variants.OptionIn("size", ("X",))], "Two options are called"),
        (
            [
                variants.OptionIn("N", tuple(str(i) for i in range(11))),
                variants.OptionIn("M", tuple(str(i) for i in range(10))),
            ],
            "at most 100",
        ),
        ([variants.OptionIn("x" * 41, ("S",))], "longer than 40"),
    ],
)
def test_options_that_cannot_be_say_why_and_change_nothing(app, shop, options, message):
    make_shirt(app, shop)
    with app.app_context(), tenant_context(shop):
        shirt = catalog.product_by_sku("SHIRT")
        with pytest.raises(variants.VariantError, match=message):
            variants.set_options(shirt, options)
        db.session.rollback()
    assert len(rows(app, shop)[1]) == 6


def add_variant(client, shop, values=None, variant_id=None, quantity=1):
    page = client.get("/p/shirt", headers=host(shop))
    data = {
        "product_id": re.search(r'name="product_id" value="(\d+)"', page.text).group(1),
        "quantity": quantity,
    }
    for n, value in enumerate(values or [], 1):
        data[f"option-{n}"] = value
    if variant_id is not None:
        data["variant_id"] = str(variant_id)
    return client.post("/cart/add", data=data, headers=host(shop))


def test_a_shopper_picks_options_buys_that_variant_and_cancelling_puts_it_back(app, client, shop):
    ids = make_shirt(app, shop)
    set_stock(app, shop, {("M", "Blue"): 3, ("L", "Red"): 1})
    with app.app_context(), tenant_context(shop):
        shirt = catalog.product_by_sku("SHIRT")
        blue = variants.variant_of(shirt, ids[("M", "Blue")])
        variants.update_variant(shirt, blue, price=2500)
        db.session.commit()
    page = client.get("/p/shirt", headers=host(shop)).text
    assert 'name="option-1" value="S"' in page and 'name="option-2" value="Blue"' in page
    assert "variant-data" in page and "$25.00" in page
    listing = client.get("/products", headers=host(shop)).text
    assert "From $20.00" in listing  # the variants cost different amounts
    german = app.test_client().get("/de/p/shirt", headers=host(shop)).text
    assert "<legend>Größe</legend>" in german and "<span>Blau</span>" in german

    # No JavaScript: the options chosen name the variant. Nothing chosen: say what to pick.
    missing = add_variant(client, shop, [])
    assert "Choose Size / Colour first." in client.get(missing.location, headers=host(shop)).text
    assert add_variant(client, shop, ["M", "Blue"], quantity=2).status_code == 302
    assert add_variant(client, shop, variant_id=ids[("L", "Red")]).status_code == 302
    too_many = add_variant(client, shop, ["M", "Blue"], quantity=2)  # 2 in the cart, 3 left
    assert (
        "Only 3 of “Shirt (M / Blue)” left"
        in client.get(too_many.location, headers=host(shop)).text
    )
    cart = client.get("/cart/", headers=host(shop)).text
    assert "M / Blue" in cart and "L / Red" in cart and "$50.00" in cart  # 2 × 25.00

    assert checkout(client, shop).status_code == 302
    total, stock, _ = rows(app, shop)
    assert stock[("M", "Blue")] == 1 and stock[("L", "Red")] == 0 and total == 1
    with app.app_context(), tenant_context(shop):
        lines = db.session.scalars(select(OrderLine).order_by(OrderLine.sku)).all()
        assert [(li.sku, li.variant, li.unit_price) for li in lines] == [
            ("SHIRT-L-RED", "L / Red", 2000),
            ("SHIRT-M-BLUE", "M / Blue", 2500),
        ]
        order = db.session.scalar(select(Order))
        orders.set_status(order, "cancelled")
        db.session.commit()
    order_page = client.get("/orders/ACME-1001", headers=host(shop)).text
    assert "(M / Blue)" in order_page
    total, stock, _ = rows(app, shop)
    assert stock[("M", "Blue")] == 3 and stock[("L", "Red")] == 1 and total == 4


def test_a_sold_out_variant_cannot_be_bought_and_its_product_keeps_selling(app, client, shop):
    ids = make_shirt(app, shop)
    set_stock(app, shop, {("S", "Red"): 0, ("S", "Blue"): 2})
    sold_out = add_variant(client, shop, variant_id=ids[("S", "Red")])
    assert "Only 0 of" in client.get(sold_out.location, headers=host(shop)).text
    page = client.get("/p/shirt", headers=host(shop)).text
    assert "In stock" in page  # the page opens on the first variant in stock
    assert 'value="Blue" data-index="1" checked' in page


def test_another_shops_variant_cannot_be_put_in_a_cart(app, client, shop, make_shop):
    make_shirt(app, shop)
    globex = make_shop("globex")
    theirs = make_shirt(app, globex)
    answer = add_variant(client, shop, variant_id=theirs[("S", "Red")])
    assert "Choose Size / Colour first." in client.get(answer.location, headers=host(shop)).text
    with app.app_context(), tenant_context(shop):
        assert db.session.get(Variant, theirs[("S", "Red")]) is None


def test_racing_checkouts_and_adjustments_never_oversell_a_variant(app, shop):
    """30 shoppers race for the last 5 units of one variant while the owner adds and takes
    units of another variant of the same product: exactly 5 orders, no deadlock, and the
    product's stock is still the sum of its variants'."""
    ids = make_shirt(app, shop)
    set_stock(app, shop, {("M", "Red"): 5, ("L", "Blue"): 50})
    shoppers = [app.test_client() for _ in range(30)]
    forms = []
    for shopper in shoppers:
        add_variant(shopper, shop, variant_id=ids[("M", "Red")])
        page = shopper.get("/checkout", headers=host(shop))
        forms.append({**ADDRESS, "email": "x@example.com", "csrf_token": csrf_from(page.text)})
    start = threading.Barrier(len(shoppers) + 4)
    errors: list[BaseException] = []

    def buy(shopper, form):
        try:
            start.wait()
            assert shopper.post("/checkout", data=form, headers=host(shop)).status_code == 302
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def adjust(delta):
        try:
            start.wait()
            with app.app_context(), tenant_context(shop):
                shirt = catalog.product_by_sku("SHIRT")
                variant = variants.variant_of(shirt, ids[("L", "Blue")])
                variants.adjust_variant_stock(shirt, variant, delta)
                db.session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=buy, args=pair) for pair in zip(shoppers, forms, strict=True)
    ]
    threads += [threading.Thread(target=adjust, args=(d,)) for d in (5, -3, 7, -1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert order_count(app, shop) == 5
    total, stock, _ = rows(app, shop)
    assert stock[("M", "Red")] == 0 and stock[("L", "Blue")] == 58
    assert total == sum(stock.values())


def test_the_product_stock_of_a_product_with_variants_moves_only_through_them(app, shop):
    make_shirt(app, shop)
    with app.app_context(), tenant_context(shop):
        shirt = catalog.product_by_sku("SHIRT")
        with pytest.raises(catalog.CatalogError, match="has variants"):
            catalog.adjust_stock(shirt, 5)
        with pytest.raises(catalog.CatalogError, match="has variants"):
            catalog.update_product(shirt, stock=99)
        assert db.session.scalar(select(func.sum(Variant.stock))) == shirt.stock


def test_the_dashboard_sets_options_edits_variants_and_adjusts_their_stock(app, shop, make_user):
    make_user(shop, "owner@example.com", roles=["owner"])
    owner = app.test_client()
    login(owner, shop, "owner@example.com")
    with app.app_context(), tenant_context(shop):
        product_id = catalog.create_product("SHIRT", "Shirt", 2000, stock=4).id
        db.session.commit()
    edit = f"/admin/products/{product_id}"
    token = csrf_from(owner.get(edit, headers=host(shop)).text)
    saved = owner.post(
        f"{edit}/options",
        data={
            "confirm-csrf_token": token,
            "option-1-name": "Size",
            "option-1-values": "S, M",
            "option-1-name-de_DE": "Größe",
            "option-1-values-de_DE": "Klein, Mittel",
        },
        headers=host(shop),
    )
    page = owner.get(saved.location, headers=host(shop)).text
    assert "Options saved. 2 variants added." in page and "SHIRT-S" in page
    ids = {v[1]: v[0] for v in _variants(app, shop)}
    owner.post(
        f"{edit}/variants",
        data={
            "confirm-csrf_token": token,
            f"variant-{ids['M']}-sku": "SHIRT-MED",
            f"variant-{ids['M']}-price": "24.50",
            f"variant-{ids['S']}-sku": "SHIRT-S",
            f"variant-{ids['S']}-price": "",
        },
        headers=host(shop),
    )
    bad = owner.post(
        f"{edit}/variants",
        data={
            "confirm-csrf_token": token,
            f"variant-{ids['M']}-price": "lots",
            f"variant-{ids['S']}-sku": "SHIRT-S",
        },
        headers=host(shop),
    )
    assert "M:" in owner.get(bad.location, headers=host(shop)).text
    stock_token = re.search(
        r'name="vstock-csrf_token" type="hidden" value="([^"]+)"',
        owner.get(edit, headers=host(shop)).text,
    ).group(1)
    owner.post(
        f"{edit}/variants/{ids['M']}/stock",
        headers=host(shop),
        data={"vstock-csrf_token": stock_token, "vstock-delta": "6"},
    )
    refused = owner.post(
        f"{edit}/variants/{ids['S']}/stock",
        headers=host(shop),
        data={"vstock-csrf_token": stock_token, "vstock-delta": "-9"},
    )
    assert "only 4 in stock" in owner.get(refused.location, headers=host(shop)).text
    assert sorted(_variants(app, shop)) == sorted(
        [(ids["S"], "S", "SHIRT-S", None, 4), (ids["M"], "M", "SHIRT-MED", 2450, 6)]
    )
    with app.app_context(), tenant_context(shop):
        assert catalog.product_by_sku("SHIRT").stock == 10
    german = app.test_client().get("/de/p/shirt", headers=host(shop)).text
    assert "<legend>Größe</legend>" in german and "<span>Mittel</span>" in german


def _variants(app, shop):
    with app.app_context(), tenant_context(shop):
        return [
            (v.id, v.option_values[0], v.sku, v.price, v.stock)
            for v in db.session.scalars(select(Variant))
        ]


def test_the_api_reads_variants_carts_them_and_staff_write_them(app, shop, make_user):
    from storefront.accounts import tokens
    from storefront.accounts.models import User

    ids = make_shirt(app, shop)
    set_stock(app, shop, {("M", "Red"): 4})
    make_user(shop, "staff@example.com", roles=["staff"])
    with app.app_context(), tenant_context(shop):
        user = db.session.scalar(select(User).where(User.email == "staff@example.com"))
        key = tokens.create_key(user, "erp").secret
        db.session.commit()
    staff = {**host(shop), "Authorization": f"Bearer {key}"}
    client = app.test_client()
    product = client.get("/api/v1/products/shirt", headers=host(shop)).get_json()["data"]
    assert product["options"] == [
        {"name": "Size", "values": ["S", "M", "L"]},
        {"name": "Colour", "values": ["Red", "Blue"]},
    ]
    red = next(v for v in product["variants"] if v["id"] == ids[("M", "Red")])
    assert red["options"] == {"Size": "M", "Colour": "Red"} and red["stock"] == 4
    german = client.get("/api/v1/products/shirt?locale=de", headers=host(shop)).get_json()["data"]
    assert german["options"][1] == {"name": "Farbe", "values": ["Rot", "Blau"]}

    def add(**line):
        return client.post(
            "/api/v1/cart/items", json={"product_id": product["id"], **line}, headers=host(shop)
        )

    assert add(quantity=1).status_code == 409  # which one?
    cart = add(variant_id=ids[("M", "Red")], quantity=2).get_json()["data"]
    assert cart["items"][0]["variant"] == {
        "id": ids[("M", "Red")],
        "sku": "SHIRT-M-RED",
        "label": "M / Red",
    }

    base = f"/api/v1/admin/products/{product['id']}"
    stock = client.post(
        f"{base}/inventory", json={"delta": 3, "variant_id": ids[("L", "Blue")]}, headers=staff
    )
    assert stock.status_code == 200
    assert client.post(f"{base}/inventory", json={"delta": 3}, headers=staff).status_code == 409
    assert client.patch(base, json={"stock": 1}, headers=staff).status_code == 409
    patched = client.patch(
        f"{base}/variants/{ids[('L', 'Blue')]}",
        json={"price": 2999, "sku": "SHIRT-LB"},
        headers=staff,
    )
    assert patched.status_code == 200, patched.get_json()
    assert (
        client.patch(
            f"{base}/variants/{ids[('L', 'Blue')]}", json={"sku": None}, headers=staff
        ).status_code
        == 422
    )
    tag = patched.headers["ETag"]
    options = client.put(
        f"{base}/options",
        headers={**staff, "If-Match": tag},
        json={"options": [{"name": "Size", "values": ["S", "M", "L", "XL"]}]},
    )
    assert options.status_code == 200, options.get_json()
    written = options.get_json()["data"]
    assert [v["sku"] for v in written["variants"]] == [
        "SHIRT-S-RED",
        "SHIRT-M-RED",
        "SHIRT-L-RED",
        "SHIRT-XL",
    ]
    assert written["option_definitions"][0]["values"] == ["S", "M", "L", "XL"]
    stale = client.put(f"{base}/options", headers={**staff, "If-Match": tag}, json={"options": []})
    assert stale.status_code == 412


def test_orders_and_mails_name_the_variant(app, client, shop, outbox):
    ids = make_shirt(app, shop)
    set_stock(app, shop, {("S", "Blue"): 2})
    add_variant(client, shop, variant_id=ids[("S", "Blue")])
    checkout(client, shop)
    (mail,) = [m for m in outbox if "ACME-1001" in m.subject]
    assert "1 x Shirt (S / Blue)" in mail.body
    with app.app_context(), tenant_context(shop):
        assert db.session.scalar(select(func.count()).select_from(Product)) == 1


def test_variants_travel_through_the_catalog_csv_and_import_into_another_shop(
    app, runner, shop, make_shop, tmp_path
):
    ids = make_shirt(app, shop)
    set_stock(app, shop, {("M", "Blue"): 3, ("S", "Red"): 2})
    with app.app_context(), tenant_context(shop):
        shirt = catalog.product_by_sku("SHIRT")
        variants.update_variant(shirt, variants.variant_of(shirt, ids[("M", "Blue")]), price=2500)
        db.session.commit()
    exported = tmp_path / "catalog.csv"
    assert runner.invoke(["catalog", "export", "acme", "-o", str(exported)]).exit_code == 0
    text = exported.read_text()
    header, *lines = text.splitlines()
    assert header.endswith(
        "options,variant_of,values,meta_title,meta_description,"
        "title:de,description:de,options:de,values:de,meta_title:de,meta_description:de"
    )
    assert lines[0].startswith("SHIRT,Shirt,20.00,5,") and ",Size;Colour,,," in lines[0]
    assert ",Größe;Farbe," in lines[0]
    assert lines[4] == "SHIRT-M-BLUE,,25.00,3,,,,,,,,,,SHIRT,M;Blue,,,,,,M;Blau,,"

    copy = make_shop("copy", settings=TOML)
    imported = runner.invoke(["catalog", "import", "copy", str(exported)])
    assert imported.exit_code == 0, imported.output
    assert rows(app, copy) == rows(app, shop)
    with app.app_context(), tenant_context(copy):
        shirt = catalog.product_by_sku("SHIRT")
        assert shirt.options == catalog.product_by_sku("SHIRT").options
        assert shirt.options[1]["translations"]["de_DE"] == {
            "name": "Farbe",
            "values": ["Rot", "Blau"],
        }
        assert {v.sku: v.price for v in shirt.variants}["SHIRT-M-BLUE"] == 2500

    # Edited in a spreadsheet: a new size, a different stock; importing again updates.
    edited = text.replace("SHIRT-M-BLUE,,25.00,3,", "SHIRT-M-BLUE,,25.00,9,")
    edited += "SHIRT-XL-RED,,,4,,,,,,,,,,SHIRT,XL;Red,,,,,,XL;Rot,,\n"
    exported.write_text(edited)
    again = runner.invoke(["catalog", "import", "copy", str(exported)])
    assert again.exit_code == 0, again.output
    total, stock, skus = rows(app, copy)
    assert stock[("M", "Blue")] == 9 and stock[("XL", "Red")] == 4 and total == 2 + 9 + 4
    assert skus[("XL", "Blue")] == "SHIRT-XL-BLUE"  # every combination exists


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("V-1,,,,,,,,,,,,,NOPE,M", "variant_of: no product 'NOPE'"),
        ("V-1,,,,,,,,,,,,,PLAIN,M", "product 'PLAIN' has no options"),
        ("V-1,,,,,,,,,,,,,TEE,M;Red;Extra", "values: 2 option(s) (Size;Colour), 3 value(s) given"),
        ("V-1,Oops,,,,,,,,,,,,TEE,M;Red", "a variant's row only has"),
        ("V-1,,abc,,,,,,,,,,,TEE,M;Red", "price:"),
        ("TEE,,,,,,,,,,,,,TEE,M;Red", "sku 'TEE' already appears on line 2"),
    ],
)
def test_bad_variant_rows_are_named_and_nothing_is_written(
    app, runner, shop, tmp_path, line, problem
):
    from storefront.catalog.csv_io import COLUMNS

    header = ",".join(COLUMNS)
    body = "TEE,Tee,10,,,,,,,,,,Size;Colour,,\nPLAIN,Plain,5,,,,,,,,,,,,\n" + line + "\n"
    path = tmp_path / "bad.csv"
    path.write_text(header + "\n" + body)
    result = runner.invoke(["catalog", "import", "acme", str(path)])
    assert result.exit_code == 1 and problem in result.output, result.output
    with app.app_context(), tenant_context(shop):
        assert db.session.scalar(select(func.count()).select_from(Product)) == 0


def test_option_texts_with_control_characters_are_refused(app, shop):
    make_shirt(app, shop)
    with app.app_context(), tenant_context(shop):
        shirt = catalog.product_by_sku("SHIRT")
        for bad in (
            variants.OptionIn("Size", ("S", "M\x00")),
            variants.OptionIn("Si\x1bze", ("S",)),
            variants.OptionIn("Size", ("S",), {"de_DE": ("Grö\x07ße", ("S",))}),
        ):
            with pytest.raises(variants.VariantError, match="control characters"):
                variants.set_options(shirt, [bad])
            db.session.rollback()
