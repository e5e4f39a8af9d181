"""tenantctl: config, check, doctor, report, export/import/delete, catalog and orders CSV."""

from __future__ import annotations

import csv
import io
import json
import re
import tarfile

import pytest
from sqlalchemy import func, select

from storefront.accounts.models import User
from storefront.catalog import services as catalog
from storefront.catalog.models import Product
from storefront.extensions import db
from storefront.orders import services as orders
from storefront.orders.models import Order
from storefront.tenancy import tenant_context
from storefront.tenancy.context import all_tenants
from storefront.tenancy.models import Tenant
from storefront.tenancy.registry import context_for
from tests.fixtures.factories import PASSWORD, host, login, tenant_folder
from tests.test_commerce import add_to_cart, checkout

# config -----------------------------------------------------------------------------


def test_config_get_set_unset_keeps_comments_and_refuses_bad_values(app, runner, make_shop, client):
    shop = make_shop("acme")
    path = tenant_folder(app, "acme") / "tenant.toml"
    comments = [line for line in path.read_text().splitlines() if line.startswith("#")]
    assert (
        runner.invoke(["config", "set", "acme", "branding.primary_color", '"#cc0000"']).exit_code
        == 0
    )
    assert (
        runner.invoke(["config", "get", "acme", "branding.primary_color"]).output.strip()
        == "#cc0000"
    )
    assert "#cc0000" in client.get("/branding.css", headers=host(shop)).text
    kept = [line for line in path.read_text().splitlines() if line.startswith("#")]
    assert kept == comments

    before = path.read_text()
    bad = runner.invoke(["config", "set", "acme", "branding.primary_color", '"red"'])
    assert bad.exit_code == 1 and "primary_color" in bad.output and "Traceback" not in bad.output
    unknown = runner.invoke(["config", "set", "acme", "colour", "1"])
    assert unknown.exit_code == 1 and "colour" in unknown.output
    wrong_type = runner.invoke(["config", "set", "acme", "features.registration", '"maybe"'])
    assert wrong_type.exit_code == 1
    assert path.read_text() == before  # nothing written

    assert runner.invoke(["config", "set", "acme", "features.registration", "false"]).exit_code == 0
    assert client.get("/register", headers=host(shop)).status_code == 404
    assert runner.invoke(["config", "unset", "acme", "features.registration"]).exit_code == 0
    assert client.get("/register", headers=host(shop)).status_code == 200
    missing = runner.invoke(["config", "get", "acme", "features.registration"])
    assert missing.exit_code == 1 and "not set" in missing.output
    assert runner.invoke(["config", "get", "nope", "name"]).exit_code == 1


# check / doctor ---------------------------------------------------------------------


def test_check_reports_broken_templates_bad_toml_and_drift(app, runner, make_shop):
    make_shop("acme")
    make_shop("globex")
    assert runner.invoke(["check"]).exit_code == 0
    templates = tenant_folder(app, "acme") / "templates"
    templates.mkdir(exist_ok=True)
    (templates / "index.html").write_text("{% block x %}never closed")
    (tenant_folder(app, "globex") / "tenant.toml").write_text('name = "Globex"\ncolour = 1\n')
    (tenant_folder(app, "acme").parent / "orphan").mkdir()
    result = runner.invoke(["check"])
    assert result.exit_code == 1
    assert "index.html:1" in result.output
    assert "colour" in result.output
    assert "orphan" in result.output and "no shop in the database" in result.output
    rows = json.loads(runner.invoke(["check", "acme", "--json"]).output)
    assert rows[0]["shop"] == "acme" and rows[0]["problems"]


def test_check_passes_the_demo_shops_whose_own_templates_sandbox_their_pages(
    app, runner, demo_tenants
):
    # Both demo shops supply templates, so their pages render sandboxed; the dashboard's
    # never do, and its filters (status_label) exist only in the trusted environment.
    # The check compiled the dashboard in the sandbox and failed every such shop.
    assert runner.invoke(["demo"]).exit_code == 0
    result = runner.invoke(["check"])
    assert result.exit_code == 0, result.output
    assert "status_label" not in result.output


def test_check_says_a_shops_dashboard_template_is_never_used(app, runner, make_shop):
    make_shop("acme")
    templates = tenant_folder(app, "acme") / "templates"
    (templates / "admin").mkdir(parents=True)
    (templates / "index.html").write_text("{% extends '@theme/index.html' %}")
    (templates / "admin" / "index.html").write_text("<p>mine</p>")
    result = runner.invoke(["check", "acme"])
    assert result.exit_code == 1
    assert "admin/index.html: never used" in result.output
    assert "status_label" not in result.output
    assert result.output.count("- ") == 1  # the shop's own index.html is fine


def test_doctor_says_what_is_wrong_and_how_to_fix_it(app, runner, make_shop):
    make_shop("acme")
    result = runner.invoke(["doctor", "--json"])
    findings = {f["name"]: f for f in json.loads(result.stdout)}
    assert findings["database"]["ok"] and findings["migrations"]["ok"]
    assert findings["tenants folder"]["ok"] and findings["secret key"]["ok"]
    app.config["SECRET_KEY"] = "short"
    result = runner.invoke(["doctor"])
    assert result.exit_code == 1 and "secret key" in result.output and "fix:" in result.output


# report -----------------------------------------------------------------------------


def test_report_reads_across_shops(app, runner, make_shop, make_user):
    acme = make_shop("acme")
    make_shop("globex")
    with app.app_context(), tenant_context(acme):
        catalog.create_product("A", "Anvil", 1000, stock=5, slug="anvil")
        db.session.commit()
    make_user(acme, "ada@example.com")
    for _ in range(2):
        shopper = app.test_client()
        add_to_cart(shopper, acme, "anvil")
        checkout(shopper, acme)
    rows = {r["slug"]: r for r in json.loads(runner.invoke(["report", "--json"]).output)}
    assert rows["acme"]["orders"] == 0  # awaiting payment: not sales yet
    with app.app_context(), tenant_context(acme):
        for order in db.session.scalars(select(Order)).all():
            orders.set_status(order, "paid", notify=False)
        db.session.commit()
    rows = {r["slug"]: r for r in json.loads(runner.invoke(["report", "--json"]).output)}
    assert rows["acme"]["orders"] == 2 and rows["acme"]["revenue"] == {"USD": 2000}
    assert rows["acme"]["new_customers"] == 1
    assert rows["globex"]["orders"] == 0
    table = runner.invoke(["report"]).output
    assert "$20.00" in table
    assert runner.invoke(["report", "--since", "yesterday"]).exit_code == 1
    assert (
        runner.invoke(["report", "--since", "2030-01-01", "--until", "2029-01-01"]).exit_code == 1
    )


# export / import / delete -----------------------------------------------------------


@pytest.fixture
def populated(app, make_shop, make_user):
    """A shop with categories, products, an account, an order and a theme override."""
    shop = make_shop("acme", domains=("acme.test", "www.acme.test"))
    with app.app_context(), tenant_context(shop):
        catalog.create_category("Tools")
        catalog.create_category("Hammers", parent="tools")
        catalog.create_product("A-1", "Anvil", 1999, stock=5, categories=["tools"], slug="anvil")
        catalog.create_product("H-1", "Hammer", 500, stock=2, categories=["hammers"])
        db.session.commit()
    templates = tenant_folder(app, "acme") / "templates"
    templates.mkdir(exist_ok=True)
    (templates / "index.html").write_text(
        "{% extends '@theme/index.html' %}{% block hero %}<p>Acme custom hero</p>{% endblock %}"
    )
    make_user(shop, "ada@example.com")
    client = app.test_client()
    login(client, shop, "ada@example.com")
    add_to_cart(client, shop, "anvil", 2)
    checkout(client, shop)
    return shop


def snapshot(app, client, shop):
    """What a shopper and the operator see of a shop."""
    with app.app_context(), tenant_context(context_for(shop)):
        counts = {
            model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Product, User, Order)
        }
    ctx = context_for_app(app, shop)
    pages = {
        path: client.get(path, headers=host(ctx)).text
        for path in ("/", "/products", "/c/tools", "/c/hammers", "/p/anvil")
    }
    # CSRF tokens differ per request, and ids are new after an import.
    pages = {k: re.sub(r'value="[^"]{20,}"|value="\d+"', "", v) for k, v in pages.items()}
    return counts, pages


def context_for_app(app, slug):
    with app.app_context():
        return context_for(slug)


def test_export_delete_import_round_trip_keeps_every_page_and_count(
    app, runner, populated, tmp_path
):
    client = app.test_client()
    before = snapshot(app, client, "acme")
    archive = tmp_path / "acme.tar.gz"
    result = runner.invoke(["export", "acme", "-o", str(archive)])
    assert result.exit_code == 0, result.output
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        assert manifest["format"] == "storefront-shop-export" and manifest["version"] == 1
        assert manifest["tables"]["products"] == 2 and manifest["tables"]["orders"] == 1
        assert "folder/tenant.toml" in tar.getnames()

    deleted = runner.invoke(["delete", "acme", "--yes", "--no-export"])
    assert deleted.exit_code == 0, deleted.output
    assert not tenant_folder(app, "acme").exists()
    assert client.get("/", headers={"Host": "acme.test"}).status_code == 404
    with app.app_context(), all_tenants():
        assert db.session.scalar(select(func.count()).select_from(Product)) == 0

    # A restore at the shop's own domains: the operator names them (an archive's own
    # domains would come in pending, tests/test_shop_archive.py).
    imported = runner.invoke(
        ["import", str(archive), "--domain", "acme.test", "--domain", "www.acme.test"]
    )
    assert imported.exit_code == 0, imported.output
    assert snapshot(app, client, "acme") == before
    # The shopper's password and order history came along.
    ctx = context_for_app(app, "acme")
    shopper = app.test_client()
    assert login(shopper, ctx, "ada@example.com", PASSWORD).status_code == 302
    assert "ACME-1001" in shopper.get("/account", headers=host(ctx)).text
    assert client.get("/", headers={"Host": "www.acme.test"}).status_code == 301


def test_import_as_a_second_shop_with_new_ids_and_domains(app, runner, populated, tmp_path):
    archive = tmp_path / "acme.tar.gz"
    runner.invoke(["export", "acme", "-o", str(archive)])
    clash = runner.invoke(["import", str(archive)])
    assert clash.exit_code == 1 and "already exists" in clash.output
    taken = runner.invoke(["import", str(archive), "--as", "acme2"])
    assert taken.exit_code == 1 and "claimed by shop 'acme'" in taken.output
    assert "import it under other domains with --domain HOST" in taken.output
    result = runner.invoke(["import", str(archive), "--as", "acme2", "--domain", "acme2.test"])
    assert result.exit_code == 0, result.output
    client = app.test_client()
    assert "Anvil" in client.get("/products", headers={"Host": "acme2.test"}).text
    with app.app_context(), all_tenants():
        ids = db.session.execute(select(Product.tenant_id, Product.id)).all()
        assert len(ids) == 4 and len({pid for _, pid in ids}) == 4
    # The original is untouched and the copy's accounts are its own.
    assert "Anvil" in client.get("/products", headers={"Host": "acme.test"}).text


def test_a_damaged_archive_leaves_neither_rows_nor_folder(app, runner, populated, tmp_path):
    archive = tmp_path / "acme.tar.gz"
    runner.invoke(["export", "acme", "-o", str(archive)])
    broken = tmp_path / "broken.tar.gz"
    with tarfile.open(archive) as src, tarfile.open(broken, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member) if member.isfile() else None
            if member.name == "data/order_lines.jsonl":
                payload = b'{"id": 1, "order_id": 999, "product_id": 1}'
                member.size = len(payload)
                data = io.BytesIO(payload)
            dst.addfile(member, data)
    result = runner.invoke(["import", str(broken), "--as", "copy", "--domain", "copy.test"])
    assert result.exit_code == 1 and "inconsistent" in result.output
    assert not tenant_folder(app, "copy").exists()
    assert not [p for p in tenant_folder(app, "copy").parent.iterdir() if "copy" in p.name]
    with app.app_context():
        assert db.session.scalar(select(Tenant.id).where(Tenant.slug == "copy")) is None
    not_an_archive = tmp_path / "x.tar.gz"
    not_an_archive.write_text("hello")
    assert "cannot read" in runner.invoke(["import", str(not_an_archive)]).output
    assert runner.invoke(["import", str(tmp_path / "missing.tar.gz")]).exit_code == 1


def test_delete_asks_for_the_slug_and_exports_first(app, runner, populated, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    refused = runner.invoke(["delete", "acme"], input="wrong\n")
    assert refused.exit_code == 1 and "not deleted" in refused.output
    assert tenant_folder(app, "acme").exists()
    result = runner.invoke(["delete", "acme"], input="acme\n")
    assert result.exit_code == 0, result.output
    exports = list(tmp_path.glob("acme-*.tar.gz"))
    assert len(exports) == 1 and tarfile.is_tarfile(exports[0])
    assert runner.invoke(["delete", "acme", "--yes"]).exit_code == 1  # gone: a clear error


# catalog / orders CSV ---------------------------------------------------------------


def write_csv(tmp_path, text):
    path = tmp_path / "products.csv"
    path.write_text(text)
    return str(path)


def test_catalog_import_creates_and_updates_then_exports(app, runner, make_shop, tmp_path, client):
    shop = make_shop("acme")
    with app.app_context(), tenant_context(shop):
        catalog.create_category("Tools")
        db.session.commit()
    path = write_csv(
        tmp_path,
        "sku,title,price,stock,categories,active\n"
        "A-1,Anvil,19.99,5,tools,true\n"
        "H-1,Hammer,5,2,,yes\n",
    )
    result = runner.invoke(["catalog", "import", "acme", path])
    assert result.exit_code == 0, result.output
    assert "2 products created, 0 updated" in result.output
    assert "Anvil" in client.get("/c/tools", headers=host(shop)).text
    again = write_csv(tmp_path, "sku,title,price\nA-1,Anvil XL,25\n")
    assert (
        "0 products created, 1 updated"
        in runner.invoke(["catalog", "import", "acme", again]).output
    )

    exported = runner.invoke(["catalog", "export", "acme"]).output
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [(r["sku"], r["title"], r["price"]) for r in rows] == [
        ("A-1", "Anvil XL", "25.00"),
        ("H-1", "Hammer", "5.00"),
    ]
    assert rows[0]["categories"] == "tools"


def test_catalog_import_checks_every_row_and_writes_nothing_on_error(
    app, runner, make_shop, tmp_path
):
    shop = make_shop("acme")
    path = write_csv(
        tmp_path,
        "sku,title,price,stock,categories\n"
        "A-1,Anvil,19.99,5,\n"
        "B-1,,3,1,\n"
        "C-1,Chain,12.x,1,\n"
        "D-1,Drill,3,-4,\n"
        "E-1,Eel,3,1,Not A Slug\n"
        "A-1,Dup,1,1,\n",
    )
    result = runner.invoke(["catalog", "import", "acme", path])
    assert result.exit_code == 1 and "Traceback" not in result.output
    for expected in (
        "line 3: title is empty",
        "line 4: price",
        "line 5: stock",
        "line 6: categories: 'Not A Slug' is not a category slug",
        "line 7: sku 'A-1' already appears",
    ):
        assert expected in result.output
    with app.app_context(), tenant_context(shop):
        assert db.session.scalar(select(func.count()).select_from(Product)) == 0
    header = runner.invoke(["catalog", "import", "acme", write_csv(tmp_path, "sku,name\nA,B\n")])
    assert (
        "missing column(s): title, price" in header.output
        and "unknown column(s): name" in header.output
    )
    assert "no such file" in runner.invoke(["catalog", "import", "acme", "nope.csv"]).output
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\xff\xfe\x00bad")
    assert "not UTF-8" in runner.invoke(["catalog", "import", "acme", str(binary)]).output


def test_a_cell_past_the_csv_field_limit_is_one_line_naming_its_line(
    app, runner, make_shop, tmp_path
):
    shop = make_shop("acme")
    huge = "x" * (5 * 1024 * 1024)  # 5 MB: past the csv module's field limit
    body = f"sku,title,price,description\nA-1,Anvil,1.00,\nB-1,Bell,2.00,{huge}\nC-1,Cup,3,\n"
    for text, line in ((body, 3), (f"sku,title,price,{huge}\nA-1,Anvil,1.00,\n", 1)):
        result = runner.invoke(["catalog", "import", "acme", write_csv(tmp_path, text)])
        assert result.exit_code == 1 and "Traceback" not in result.output
        (only,) = result.output.strip().splitlines()
        assert f"line {line}: a cell is longer than 131,072 characters" in only
    with app.app_context(), tenant_context(shop):
        assert db.session.scalar(select(func.count()).select_from(Product)) == 0


def test_orders_export_since(app, runner, populated, tmp_path):
    out = tmp_path / "orders.csv"
    assert runner.invoke(["orders", "export", "acme", "-o", str(out)]).exit_code == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert rows[0]["number"] == "ACME-1001" and rows[0]["lines"] == "2 x A-1"
    future = runner.invoke(["orders", "export", "acme", "--since", "2999-01-01"]).output
    assert list(csv.DictReader(io.StringIO(future))) == []
    assert runner.invoke(["orders", "export", "acme", "--since", "soon"]).exit_code == 1
    assert runner.invoke(["orders", "export", "acme", "--status", "lost"]).exit_code == 1


def test_list_shows_counts(app, runner, populated):
    rows = json.loads(runner.invoke(["list", "--json"]).output)
    assert (rows[0]["users"], rows[0]["products"], rows[0]["orders"]) == (1, 2, 1)


def test_deleting_a_shop_leaves_every_other_shop_whole(
    app, runner, populated, make_shop, make_user
):
    globex = make_shop("globex")
    with app.app_context(), tenant_context(globex):
        catalog.create_category("Tents")
        catalog.create_product("G-1", "Tent", 100, stock=3, categories=["tents"], slug="tent")
        db.session.commit()
    make_user(globex, "ada@example.com")  # the same email as acme's shopper
    client = app.test_client()
    assert runner.invoke(["delete", "acme", "--yes", "--no-export"]).exit_code == 0
    with app.app_context(), tenant_context(globex):
        assert [p.title for p in db.session.scalars(select(Product))] == ["Tent"]
        assert db.session.scalar(select(User.email)) == "ada@example.com"
    assert "Tent" in client.get("/c/tents", headers={"Host": "globex.test"}).text
    assert login(client, context_for_app(app, "globex"), "ada@example.com").status_code == 302


def test_a_catalog_exported_from_one_shop_imports_into_a_fresh_one(
    app, runner, make_shop, tmp_path
):
    from storefront.catalog import services as catalog
    from storefront.catalog.models import Category

    shop = make_shop("acme")
    make_shop("fresh")
    with app.app_context(), tenant_context(shop):
        catalog.create_category("Camping gear", "camping-gear")
        catalog.create_product("T-1", "Tent", 1999, stock=3, categories=["camping-gear"])
        db.session.commit()
    exported = tmp_path / "acme.csv"
    assert runner.invoke(["catalog", "export", "acme", "--output", str(exported)]).exit_code == 0
    result = runner.invoke(["catalog", "import", "fresh", str(exported)])
    assert result.exit_code == 0, result.output
    from storefront.tenancy.registry import context_for

    with app.app_context(), tenant_context(context_for("fresh")):
        made = db.session.scalar(select(Category).where(Category.slug == "camping-gear"))
        assert made is not None and made.name == "Camping gear"
        tent = db.session.scalar(select(Product).where(Product.sku == "T-1"))
        assert [c.slug for c in tent.categories] == ["camping-gear"]
