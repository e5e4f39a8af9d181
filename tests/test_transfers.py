"""Exports and imports that scale: the streamed orders CSV, transfers run as jobs.

The streamed export must say what the old one said, a batch at a time; a transfer goes
queued → running → done with its progress moving, its file reaches only its own shop's
staff, a shop runs one transfer at a time without holding back another shop, and a
hostile CSV gets row errors, never a traceback or a half-told story.
"""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from flask_babel import get_locale
from sqlalchemy import event, func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from storefront.catalog.models import Product
from storefront.extensions import db
from storefront.orders import services as orders
from storefront.orders.csv_export import stream_orders_csv, write_orders_csv
from storefront.orders.models import Order, OrderLine
from storefront.outbox import BACKGROUND_KEY
from storefront.tenancy import tenant_context
from storefront.tenancy.models import utcnow
from storefront.transfers import services
from storefront.transfers.models import DONE, FAILED, QUEUED, RUNNING, Transfer
from tests.fixtures.factories import csrf_from, host, login

OWNER = "owner@example.com"


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


def add_orders(app, shop, count, prefix="A"):
    """``count`` orders with two lines each, written straight to the tables."""
    with app.app_context(), tenant_context(shop):
        for i in range(count):
            order = Order(
                number=f"{prefix}-{1000 + i}",
                email=f"buyer{i}@example.com",
                name=f"Buyer {i}" if i % 3 else '=HYPERLINK("http://evil.example")',
                address="1 Main St",
                postal_code="10001",
                city="New York",
                country="US",
                shipping_label="Standard",
                shipping=500,
                subtotal=1000 + i,
                total=1500 + i,
                currency="USD",
                payment_method="bank_transfer",
                status="paid" if i % 2 else "pending",
                tax_lines=[["8.875", 89]],
            )
            order.lines = [
                OrderLine(sku=f"S-{i}", title="Thing", unit_price=500, quantity=1, line_total=500),
                OrderLine(sku="=1+1", title="Other", unit_price=500, quantity=2, line_total=1000),
            ]
            db.session.add(order)
        db.session.commit()


def test_the_streamed_export_says_what_the_old_one_said(app, shop, owner):
    add_orders(app, shop, 7)
    with app.app_context(), tenant_context(shop):
        old = io.StringIO()
        write_orders_csv(db.session.scalars(orders.order_query()), old)
        assert "".join(stream_orders_csv(batch=3)) == old.getvalue()
        paid = io.StringIO()
        write_orders_csv(db.session.scalars(orders.order_query("paid")), paid)
        assert "".join(stream_orders_csv("paid", batch=2)) == paid.getvalue()
    answer = owner.get("/admin/orders.csv", headers=host(shop))
    assert answer.status_code == 200
    assert answer.get_data(as_text=True) == old.getvalue()
    assert "'=HYPERLINK" in answer.get_data(as_text=True)  # csvcells still applies


def test_the_export_reads_one_batch_at_a_time(app, shop):
    add_orders(app, shop, 10)
    statements: list[str] = []
    with app.app_context(), tenant_context(shop):
        engine = db.engine

        def seen(_conn, _cursor, statement, *_args):
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", seen)
        try:
            held = []
            for _chunk in stream_orders_csv(batch=4):
                held.append(len(db.session.identity_map))
        finally:
            event.remove(engine, "before_cursor_execute", seen)
    reads = [s for s in statements if s.startswith("SELECT orders.id")]
    lines = [s for s in statements if "order_lines" in s]
    assert len(reads) == 3 and all("LIMIT" in s for s in reads)  # 4 + 4 + 2
    assert len(lines) == 3  # each batch's lines in one statement
    # What the session holds never grows past one batch of orders and their lines.
    assert max(held) <= 4 * 3


def start_export(client, shop, status=""):
    page = client.get("/admin/transfers/", headers=host(shop))
    assert page.status_code == 200
    return client.post(
        "/admin/transfers/export",
        data={"csrf_token": csrf_from(page.text), "status": status},
        headers=host(shop),
    )


def start_import(client, shop, body, name="catalog.csv"):
    page = client.get("/admin/transfers/", headers=host(shop))
    # Encoded in memory: the test client's own encoding of a large file leaves a
    # temporary file open (a ResourceWarning).
    boundary, payload = encode_multipart(
        {"csrf_token": csrf_from(page.text), "file": FileStorage(io.BytesIO(body), name)}
    )
    return client.post(
        "/admin/transfers/import",
        data=payload,
        headers=host(shop),
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def wait_for_jobs(app):
    assert app.extensions[BACKGROUND_KEY].wait_idle(30)


def transfer_row(app, shop, transfer_id):
    with app.app_context(), tenant_context(shop):
        row = db.session.get(Transfer, transfer_id)
        db.session.expunge(row)
        return row


def test_an_export_job_runs_reports_progress_and_serves_only_its_shop(
    app, shop, owner, make_shop, make_user, monkeypatch
):
    add_orders(app, shop, 5)
    with app.app_context(), tenant_context(shop):
        transfer = services.start_orders_export(None, None)
        db.session.commit()
        transfer_id = transfer.id
        assert transfer.status == QUEUED
    beats: list[dict] = []
    real_beat = services._beat
    monkeypatch.setattr(services, "_beat", lambda tid, **v: (beats.append(v), real_beat(tid, **v)))
    monkeypatch.setattr("storefront.orders.csv_export.BATCH", 2)
    with app.app_context(), tenant_context(shop):
        services.run_transfer(transfer_id)
    progress = [b["done"] for b in beats if "done" in b]
    assert progress == [2, 4, 5, 5]  # each batch, then the end
    row = transfer_row(app, shop, transfer_id)
    assert (row.status, row.done, row.total, row.busy) == (DONE, 5, 5, None)
    assert "/private/transfers/" in row.file_key

    page = owner.get(f"/admin/transfers/{transfer_id}", headers=host(shop))
    assert "Download" in page.text and 'http-equiv="refresh"' not in page.text
    got = owner.get(f"/admin/transfers/{transfer_id}/download", headers=host(shop))
    assert got.status_code == 200
    with app.app_context(), tenant_context(shop):
        assert got.get_data(as_text=True) == "".join(stream_orders_csv())
    assert (
        owner.get(f"/admin/transfers/{transfer_id}.json", headers=host(shop)).json["status"] == DONE
    )
    # Not media: the file's key below the shop's prefix is no public URL.
    media_key = row.file_key.split("/", 2)[2]
    assert owner.get(f"/media/{media_key}", headers=host(shop)).status_code == 404

    globex = make_shop("globex")
    make_user(globex, "boss@globex.example", roles=["owner"])
    other = app.test_client()
    login(other, globex, "boss@globex.example")
    for path in ("", "/download", ".json"):
        url = f"/admin/transfers/{transfer_id}{path}"
        assert other.get(url, headers=host(globex)).status_code == 404
    anonymous = app.test_client()
    answer = anonymous.get(f"/admin/transfers/{transfer_id}/download", headers=host(shop))
    assert answer.status_code == 302 and "/login" in answer.location
    make_user(shop, "shopper@example.com")
    customer = app.test_client()
    login(customer, shop, "shopper@example.com")
    url = f"/admin/transfers/{transfer_id}/download"
    assert customer.get(url, headers=host(shop)).status_code == 403


def test_the_dashboard_starts_an_export_and_the_background_runs_it(app, shop, owner):
    add_orders(app, shop, 3)
    started = start_export(owner, shop, "paid")
    assert started.status_code == 302
    transfer_id = int(started.location.rsplit("/", 1)[-1])
    wait_for_jobs(app)
    row = transfer_row(app, shop, transfer_id)
    assert (row.status, row.done, row.params) == (DONE, 1, {"status": "paid"})
    body = owner.get(f"/admin/transfers/{transfer_id}/download", headers=host(shop)).text
    assert body.count("\n") == 2 and ",paid," in body


def test_a_second_transfer_in_a_shop_is_refused_and_another_shop_goes_on(
    app, shop, owner, make_shop, make_user
):
    with app.app_context(), tenant_context(shop):
        services.start_orders_export(None, None)  # queued, never run here
        db.session.commit()
    refused = start_import(owner, shop, b"sku,title,price\nA-1,Anvil,1\n")
    assert refused.status_code == 302
    page = owner.get(refused.location, headers=host(shop))
    assert "already running for this shop" in page.text
    with app.app_context(), tenant_context(shop):
        assert db.session.scalar(select(func.count()).select_from(Transfer)) == 1
        with pytest.raises(services.TransferBusy):
            services.start_orders_export(None, None)
        db.session.rollback()

    globex = make_shop("globex")
    make_user(globex, "boss@globex.example", roles=["owner"])
    other = app.test_client()
    login(other, globex, "boss@globex.example")
    started = start_import(other, globex, b"sku,title,price\nG-1,Tent,10\n")
    wait_for_jobs(app)
    row = transfer_row(app, globex, int(started.location.rsplit("/", 1)[-1]))
    assert row.status == DONE and row.report["created"] == 1


def test_a_transfer_whose_worker_died_fails_and_frees_the_shop(app, shop):
    with app.app_context(), tenant_context(shop):
        transfer = services.start_orders_export(None, None)
        db.session.flush()
        transfer.status, transfer.updated_at = RUNNING, utcnow() - timedelta(hours=1)
        db.session.commit()
        dead = transfer.id
        services.start_orders_export(None, None)  # the dead one no longer blocks
        db.session.commit()
        row = db.session.get(Transfer, dead)
        assert (row.status, row.busy, row.message) == (FAILED, None, "stopped")


def test_an_import_job_reports_created_updated_and_refused_rows(app, shop, owner):
    body = (
        b"sku,title,price,stock\n"
        b"A-1,Anvil,10.00,3\n"
        b"B-1,Bell,not money,1\n"
        b"A-1,Anvil again,11,1\n"
        b"C-1,Cup,2,1\n"
    )
    started = start_import(owner, shop, body, name="../../etc/catalog.csv")
    wait_for_jobs(app)
    transfer_id = int(started.location.rsplit("/", 1)[-1])
    row = transfer_row(app, shop, transfer_id)
    assert row.status == DONE and row.filename == "catalog.csv"
    assert (row.report["created"], row.report["updated"], row.report["refused_count"]) == (2, 0, 2)
    refused = row.report["refused"]
    assert refused[0].startswith("line 3: price") and refused[1].startswith("line 4: sku 'A-1'")
    page = owner.get(f"/admin/transfers/{transfer_id}", headers=host(shop)).text
    assert "Products created: 2" in page and "line 3: price" in page

    again = start_import(owner, shop, b"sku,title,price\nA-1,Anvil XL,12\n")
    wait_for_jobs(app)
    row = transfer_row(app, shop, int(again.location.rsplit("/", 1)[-1]))
    assert (row.report["created"], row.report["updated"]) == (0, 1)


def test_hostile_csv_cells_get_row_errors(app, shop, owner):
    huge = "x" * (200 * 1024)
    body = (
        b"sku,title,price,description\n"
        b'F-1,=HYPERLINK("http://evil.example"),1,@home\n'
        b"E-1,Caf\xe9 latin-1,2,\n"
        b"S-1,<script>alert(1)</script>,abc,\n"
        + f"H-1,Huge,3,{huge}\n".encode()
        + b"Z-1,Read on,4,\n"
    )
    started = start_import(owner, shop, body)
    wait_for_jobs(app)
    transfer_id = int(started.location.rsplit("/", 1)[-1])
    row = transfer_row(app, shop, transfer_id)
    refused = row.report["refused"]
    assert row.status == DONE and row.report["created"] == 2  # F-1, and Z-1 after the huge cell
    assert refused[0] == "line 3: not UTF-8 text (save the CSV as UTF-8)"
    assert refused[1].startswith("line 4: price")
    assert refused[2] == "line 5: a cell is longer than 131,072 characters"
    page = owner.get(f"/admin/transfers/{transfer_id}", headers=host(shop)).text
    assert "<script>alert" not in page
    with app.app_context(), tenant_context(shop):
        product = db.session.scalar(select(Product).where(Product.sku == "F-1"))
        assert product.title.startswith("=HYPERLINK")  # kept as text …
        out = io.StringIO()
        from storefront.catalog.csv_io import export_csv

        export_csv(out)
        assert "'=HYPERLINK" in out.getvalue() and "'@home" in out.getvalue()  # … never run


def test_a_catalog_import_looks_up_only_the_skus_and_slugs_it_names(app, shop, runner, tmp_path):
    with app.app_context(), tenant_context(shop):
        from storefront.catalog import services as catalog

        for i in range(30):
            catalog.create_product(f"OLD-{i}", f"Old {i}", 100)
        catalog.create_product("ANV", "Anvil", 100)
        db.session.commit()
    target = tmp_path / "catalog.csv"
    rows = [f"N-{i},Anvil,{i + 1}" for i in range(2500)] + ["OLD-3,Old three,5"]
    target.write_text("sku,title,price\n" + "\n".join(rows) + "\n")
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def seen(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        result = runner.invoke(["catalog", "import", "acme", str(target)])
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert result.exit_code == 0, result.output
    assert "2500 products created, 1 updated" in result.output
    reads = [s for s in statements if s.lstrip().startswith("SELECT") and "FROM products" in s]
    assert reads and all(" IN (" in s or " LIKE " in s for s in reads), [
        s for s in reads if " IN (" not in s and " LIKE " not in s
    ]
    with app.app_context(), tenant_context(shop):
        slugs = db.session.scalars(select(Product.slug).where(Product.title == "Anvil")).all()
        assert len(set(slugs)) == 2501  # anvil, anvil-2 … each free slug found batch by batch


def test_the_cli_import_shows_progress_and_stays_all_or_nothing(
    app, shop, runner, tmp_path, monkeypatch
):
    from storefront.cli.common import err_console

    monkeypatch.setattr(err_console, "_force_terminal", True)  # as on an operator's terminal
    monkeypatch.setattr(err_console, "is_interactive", True)
    target = tmp_path / "catalog.csv"
    target.write_text("sku,title,price\n" + "\n".join(f"P-{i},Pot {i},1" for i in range(1500)))
    result = runner.invoke(["catalog", "import", "acme", str(target)])
    assert result.exit_code == 0 and "rows" in result.output and "1500/1500" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,title,price\n" + "\n".join(f"Q-{i},Q,1" for i in range(1200)) + "\nX,X,?\n")
    result = runner.invoke(["catalog", "import", "acme", str(bad)])
    assert result.exit_code == 1 and "line 1202: price" in result.output
    with app.app_context(), tenant_context(shop):
        assert db.session.scalar(select(func.count()).select_from(Product)) == 1500


@pytest.mark.parametrize("locale", ["de_DE", "en_US", "es_ES", "fr_FR", "nl_NL"])
def test_the_transfer_pages_work_in_every_language(app, make_shop, make_user, locale):
    from tests.test_i18n import shop_toml

    shop = make_shop("laden", settings=shop_toml([locale]))
    make_user(shop, "chef@example.com", roles=["owner"])
    with app.app_context(), tenant_context(shop):
        export = services.start_orders_export("paid", None)
        db.session.commit()
        services.run_transfer(export.id)
        imported = services.start_catalog_import("c.csv", b"sku,title,price\nA,B,x\n", None)
        db.session.commit()
        services.run_transfer(imported.id)
        ids = (export.id, imported.id)
    client = app.test_client()
    login(client, shop, "chef@example.com")
    lang = locale.split("_")[0]
    for path in ("/admin/transfers/", *(f"/admin/transfers/{i}" for i in ids)):
        page = client.get(path, headers=host(shop))
        assert page.status_code == 200 and f'lang="{lang}' in page.text, (locale, path)


def test_a_transfer_row_naming_another_shops_file_serves_nothing(app, shop, owner, make_shop):
    """A file key is the platform's, never taken at its word: one outside this shop's
    private area (an edited row, say) downloads nothing."""
    add_orders(app, shop, 2)
    globex = make_shop("globex")
    with app.app_context(), tenant_context(globex):
        theirs = services.start_orders_export(None, None)
        db.session.commit()
        services.run_transfer(theirs.id)
        key = db.session.get(Transfer, theirs.id).file_key
    with app.app_context(), tenant_context(shop):
        mine = services.start_orders_export(None, None)
        db.session.commit()
        services.run_transfer(mine.id)
        db.session.get(Transfer, mine.id).file_key = key
        db.session.commit()
        mine_id = mine.id
    got = owner.get(f"/admin/transfers/{mine_id}/download", headers=host(shop))
    assert got.status_code == 404


def import_id(started):
    assert started.status_code == 302, started.status_code
    return int(started.location.rsplit("/", 1)[-1])


def test_a_catalog_upload_has_its_own_limit_and_other_forms_keep_10_mb(app, shop, owner):
    """CSRFProtect reads the form before any view runs: the upload's limit is set before
    that, so an 11 MB catalog goes in while every other form still stops at 10 MB."""
    cell = "d" * 100_000
    body = "sku,title,price,description\n" + "".join(f"B-{i},Big,1,{cell}\n" for i in range(110))
    assert 11_000_000 < len(body) < 12_000_000
    started = start_import(owner, shop, body.encode())
    wait_for_jobs(app)
    assert transfer_row(app, shop, import_id(started)).status == DONE

    page = owner.get("/admin/transfers/", headers=host(shop))
    elsewhere = owner.post(
        "/admin/transfers/export",
        data={"csrf_token": csrf_from(page.text), "status": "", "pad": "x" * 11_000_000},
        headers=host(shop),
    )
    assert elsewhere.status_code == 413 and "larger than 10 MB" in elsewhere.text

    app.config["TRANSFER_UPLOAD_MAX_BYTES"] = 12 * 1024 * 1024
    try:
        too_big = start_import(owner, shop, b"sku,title,price\n" + b"x" * (13 * 1024 * 1024))
    finally:
        app.config.pop("TRANSFER_UPLOAD_MAX_BYTES")
    assert too_big.status_code == 413
    assert "larger than 12 MB" in too_big.text and "<nav" in too_big.text  # the shop's page


def test_a_huge_failure_is_kept_short_and_always_frees_the_shop(app, shop, owner, caplog):
    header = "sku,title,price," + ",".join(f"unknown_column_{i}" for i in range(8000))
    started = start_import(owner, shop, (header + "\nA,B,1\n").encode())
    wait_for_jobs(app)
    row = transfer_row(app, shop, import_id(started))
    assert (row.status, row.busy) == (FAILED, None)
    assert "and 7,980 more" in row.message and len(row.message) <= services.MESSAGE_MAX
    logged = [r for r in caplog.records if r.name == services.log.name]
    assert [r.levelname for r in logged] == ["WARNING"] and logged[0].exc_info is None
    assert str(row.id) in logged[0].getMessage() and len(logged[0].getMessage()) < 1000


def test_a_failure_whose_message_cannot_be_written_still_fails_the_transfer(app, shop, monkeypatch):
    finish = services._finish

    def first_write_fails(transfer_id, status, **values):
        if values.get("message") != "error":
            raise RuntimeError("Data too long for column 'message'")
        finish(transfer_id, status, **values)

    monkeypatch.setattr(services, "_finish", first_write_fails)
    with app.app_context(), tenant_context(shop):
        started = services.start_catalog_import("c.csv", b"nope\n", None)
        db.session.commit()
        services.run_transfer(started.id)
        row = db.session.get(Transfer, started.id)
        assert (row.status, row.busy, row.message) == (FAILED, None, "error")


def test_refused_rows_quote_little_of_a_cell_and_the_report_stays_small(app, shop, owner):
    price = "9" * 120_000
    body = "sku,title,price\n" + "".join(f"P-{i},Pot,{price}\n" for i in range(300))
    started = start_import(owner, shop, body.encode())
    wait_for_jobs(app)
    row = transfer_row(app, shop, import_id(started))
    report = row.report
    assert row.status == DONE and report["refused_count"] == 300
    assert all(len(reason) <= 300 for reason in report["refused"])
    assert len(json.dumps(report)) < 100_000
    page = owner.get(f"/admin/transfers/{row.id}", headers=host(shop)).text
    assert "and 100 more" in page


def test_a_file_past_the_row_limit_says_so_first(app, shop, owner, monkeypatch):
    from storefront.catalog import csv_io

    monkeypatch.setattr(csv_io, "MAX_ROWS", 5)
    body = "sku,title,price\n" + "".join(f"R-{i},Row,1\n" for i in range(8))
    started = start_import(owner, shop, body.encode())
    wait_for_jobs(app)
    row = transfer_row(app, shop, import_id(started))
    assert (row.report["created"], row.report["unread"]) == (5, 3)
    page = owner.get(f"/admin/transfers/{row.id}", headers=host(shop)).text
    said = "the 3 rows after it were not read"
    assert said in page and page.index(said) < page.index("Import report")


def test_a_huge_cell_refuses_its_row_and_reading_goes_on(app, shop, owner):
    body = (
        b"sku,title,price,description\nH-1,Huge,1," + b"x" * (5 * 1024 * 1024) + b"\nN-1,Next,2,\n"
    )
    started = start_import(owner, shop, body)
    wait_for_jobs(app)
    row = transfer_row(app, shop, import_id(started))
    assert row.status == DONE and row.report["created"] == 1
    assert row.report["refused"] == ["line 2: a cell is longer than 131,072 characters"]


@pytest.mark.parametrize(
    "body", [b"PK\x03\x04\x14\x00\x00\x00binary", b"\x1f\x8b\x08\x00", b"sku\x00title,price\n"]
)
def test_a_file_that_is_no_csv_is_refused_in_words(app, shop, owner, body):
    started = start_import(owner, shop, body, name="catalog.xlsx")
    assert started.status_code == 302 and started.location.endswith("/admin/transfers/")
    page = owner.get("/admin/transfers/", headers=host(shop)).text
    assert "This is not a CSV file" in page
    with app.app_context(), tenant_context(shop):
        assert db.session.scalar(select(func.count()).select_from(Transfer)) == 0


def test_control_characters_in_cells_refuse_their_row(app, shop, owner):
    body = (
        b"sku,title,price,description\n"
        b"N-1,Nul\x00title,1,\n"
        b"E-1,Escape\x1b[31m,1,\n"
        b'T-1,Tabbed,1,"one\ttwo\nthree"\n'
        b"D-1,Bell,1,ring\x07\n"
    )
    started = start_import(owner, shop, body)
    wait_for_jobs(app)
    row = transfer_row(app, shop, import_id(started))
    assert row.report["refused"] == [
        "line 2: title: control characters are not allowed",
        "line 3: title: control characters are not allowed",
        "line 6: description: control characters are not allowed",
    ]
    with app.app_context(), tenant_context(shop):
        kept = db.session.scalar(select(Product).where(Product.sku == "T-1"))
        assert kept.description == "one\ttwo\nthree"


def test_the_status_line_is_one_message(app, shop, owner):
    started = start_import(owner, shop, b"sku,title,price\nA,B,1\n")
    wait_for_jobs(app)
    page = owner.get(f"/admin/transfers/{import_id(started)}", headers=host(shop)).text
    assert "Done: 1 of 1 rows" in page


def test_an_import_speaks_its_requesters_language(app, make_shop, make_user, monkeypatch):
    """The job has no request: it runs in the language of whoever started it, and the
    report's line numbers are read back whatever the language writes around them."""
    from storefront.catalog import csv_io
    from tests.test_i18n import shop_toml

    shop = make_shop("boutique", settings=shop_toml(["fr_FR"]))
    make_user(shop, "chef@example.com", roles=["owner"])
    client = app.test_client()
    login(client, shop, "chef@example.com")
    heard = []
    monkeypatch.setattr(
        csv_io,
        "_at",
        lambda line, reason: heard.append(str(get_locale())) or f"ligne {line} : {reason}",
    )
    started = start_import(client, shop, b"sku,title,price\nA,B,1\nC,,1\n")
    wait_for_jobs(app)
    row = transfer_row(app, shop, import_id(started))
    assert row.params["locale"] == "fr_FR" and heard == ["fr_FR"]
    assert row.report["refused"] == ["ligne 3 : title est vide"] and row.report["through"] == 3
    assert csv_io._line_of("Zeile 12: x") == 12 and csv_io._line_of("no line") == 0


def test_finished_transfers_lose_their_files_after_a_week_and_say_so(
    app, shop, owner, make_shop, make_user
):
    """An export holds customers' addresses and an upload the whole catalog: the daily
    task deletes both a week after they finished, in the shop that owns them only."""
    from storefront.jobs.periodic import TASKS
    from storefront.storage import current_storage

    globex = make_shop("globex")
    add_orders(app, shop, 2)
    add_orders(app, globex, 2, prefix="G")
    ids = {}
    for which, tenant in (("old", shop), ("new", shop), ("other", globex)):
        with app.app_context(), tenant_context(tenant):
            transfer = services.start_orders_export(None, None)
            db.session.commit()
            ids[which] = transfer.id
            services.run_transfer(transfer.id)
    with app.app_context(), tenant_context(shop):
        upload = services.start_catalog_import("c.csv", b"sku,title,price\nA-1,Anvil,1\n", None)
        db.session.commit()
        ids["upload"] = upload.id
        services.run_transfer(upload.id)
    week_ago = utcnow() - timedelta(days=8)
    keys = {}
    for which, tenant in (("old", shop), ("upload", shop), ("other", globex), ("new", shop)):
        with app.app_context(), tenant_context(tenant):
            row = db.session.get(Transfer, ids[which])
            keys[which] = row.file_key
            if which != "new":
                row.finished_at = week_ago
            db.session.commit()

    assert any(task.name == "expire-transfer-files" for task in TASKS)
    with app.app_context(), tenant_context(shop):
        assert services.expire_files() == 2
        db.session.commit()
        storage = current_storage()
        assert storage.get(keys["old"]) is None and storage.get(keys["upload"]) is None
        assert storage.get(keys["new"]) is not None
        assert storage.get(keys["other"]) is not None  # another shop's, however old
        old = db.session.get(Transfer, ids["old"])
        assert (old.status, old.file_key, old.message) == (DONE, None, services.EXPIRED)
        assert services.expire_files() == 0  # nothing left to do

    page = owner.get(f"/admin/transfers/{ids['old']}", headers=host(shop))
    assert "was deleted 7 days after" in page.text and "/download" not in page.text
    old, new = f"/admin/transfers/{ids['old']}", f"/admin/transfers/{ids['new']}"
    assert owner.get(f"{old}/download", headers=host(shop)).status_code == 404
    assert owner.get(f"{old}.json", headers=host(shop)).json["download"] is None
    assert owner.get(f"{new}/download", headers=host(shop)).status_code == 200


def test_an_import_batch_that_loses_a_write_race_runs_again_whole_and_counts_once(app, shop):
    """Each batch, its rows with the report as it stands after them, is one unit of work
    (``db.unit_of_work``): a conflict while recording the batch rolls its rows back too,
    and the batch runs again from the same place, so nothing is written or counted twice."""
    from sqlalchemy.exc import OperationalError

    from tests.test_write_conflicts import Deadlock

    with app.app_context():
        engine = db.engine
    lost: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _lose_the_batch_once(_conn, _cursor, statement, _params, _context, _many):
        batch_progress = statement.startswith("UPDATE transfers") and "report" in statement
        if batch_progress and "status" not in statement and not lost:
            lost.append(statement)
            raise OperationalError(statement, {}, Deadlock(1213, "Deadlock found"))

    try:
        with app.app_context(), tenant_context(shop):
            started = services.start_catalog_import(
                "c.csv", b"sku,title,price,stock\nA-1,Anvil,10.00,3\nC-1,Cup,2,1\n", None
            )
            db.session.commit()
            services.run_transfer(started.id)
            row = db.session.get(Transfer, started.id)
            assert row.status == DONE, row.message
            assert (row.report["created"], row.report["rows"], row.done) == (2, 2, 2)
            assert db.session.scalar(select(func.count()).select_from(Product)) == 2
    finally:
        event.remove(engine, "before_cursor_execute", _lose_the_batch_once)
    assert len(lost) == 1
