"""Plans (issue 34): the operator's plans file, a shop's plan, and each limit refused where
its thing is made (dashboard, API, tenantctl, imports), all or nothing, per shop."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storefront import create_app, plans
from storefront.accounts import services as accounts
from storefront.accounts.models import User
from storefront.catalog import csv_io, images
from storefront.catalog import services as catalog
from storefront.catalog.models import Product, ProductImage
from storefront.config import ConfigError
from storefront.extensions import db
from storefront.outbox.models import DEAD, PENDING, OutboxMessage
from storefront.outbox.services import enqueue_mail
from storefront.plans.definitions import forget_cached
from storefront.plans.models import PlanCounter
from storefront.tenancy import tenant_context
from storefront.tenancy.models import Domain, Tenant
from storefront.webhooks import services as webhooks
from storefront.webhooks.models import WebhookEndpoint
from tests.fixtures.factories import csrf_from, host, login, picture

OWNER = "owner@example.com"
HOOK = "http://127.0.0.1:9/hook"

PLANS = """
default = "free"

[plans.free]
label = "Free"
products = 2
staff = 2
storage_bytes = 1
api_requests_per_minute = 3
webhook_endpoints = 1
mails_per_day = 1
custom_domains = 0
languages = 1
features = ["api", "webhooks"]

[plans.pro]
label = "Pro"
products = 100
staff = 10
webhook_endpoints = 5
mails_per_day = 100
custom_domains = 3
languages = 3
"""


def write_plans(app, text: str = PLANS) -> Path:
    path = Path(app.instance_path) / "plans.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    forget_cached()
    return path


@pytest.fixture
def free(app):
    """Plans written before any shop: every shop is on Free (the default)."""
    write_plans(app)
    yield
    forget_cached()


@pytest.fixture
def shop(free, make_shop, make_user):
    acme = make_shop("acme")
    make_user(acme, OWNER, roles=["owner"])
    return acme


@pytest.fixture
def owner(app, shop):
    client = app.test_client()
    assert login(client, shop, OWNER).status_code == 302
    return client


def count_of(app, shop, model) -> int:
    with app.app_context(), tenant_context(shop):
        return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def add_products(app, shop, n: int, start: int = 1) -> None:
    with app.app_context(), tenant_context(shop.slug):  # as it is now (its plan may move)
        for i in range(start, start + n):
            catalog.create_product(f"{shop.slug}-{i}", f"Thing {i}", 100)
        db.session.commit()


def post_form(client, shop, path, data, files=None):
    page = client.get(path, headers=host(shop))
    assert page.status_code == 200, (path, page.status_code)
    payload = {"csrf_token": csrf_from(page.text), **data, **(files or {})}
    return client.post(path, data=payload, headers=host(shop), follow_redirects=True)


def api_key(app, shop, email=OWNER, scopes=None) -> dict[str, str]:
    from storefront.accounts import tokens

    with app.app_context(), tenant_context(shop):
        user = db.session.scalar(select(User).where(User.email == email))
        secret = tokens.create_key(user, "plans", scopes=scopes).secret
        db.session.commit()
    return {**host(shop), "Authorization": f"Bearer {secret}"}


# The plans file --------------------------------------------------------------------


def test_without_a_plans_file_nothing_is_limited(app, make_shop):
    acme = make_shop("acme")
    with app.app_context(), tenant_context(acme):
        assert plans.current_plan() is plans.UNLIMITED
        plans.check("products", 10**9)  # no limit: never refused
        plans.check("custom_domains")
    add_products(app, acme, 3)
    assert count_of(app, acme, Product) == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[plans.free]\nproducts = -1\n", "plans.free.products: expected greater than or equal"),
        ("[plans.free]\nproduct = 5\n", "plans.free.product: unknown key"),
        ('[plans.free]\nfeatures = ["teleport"]\n', "unknown feature 'teleport'"),
        ('default = "gold"\n[plans.free]\n', "no plan named 'gold'"),
        ("[plans.free]\nproducts = 'many'\n", "plans.free.products: expected a valid integer"),
        ("[plans.free\n", "invalid TOML"),
    ],
)
def test_a_bad_plans_file_stops_the_start_with_one_line_naming_the_key(
    app_config, tmp_path, text, expected
):
    instance = Path(app_config["INSTANCE_PATH"])
    instance.mkdir(parents=True, exist_ok=True)
    (instance / "plans.toml").write_text(text)
    forget_cached()
    with pytest.raises(ConfigError) as caught:
        create_app(app_config)
    message = str(caught.value)
    assert expected in message, message
    assert "plans.toml" in message
    assert len(message.splitlines()) == 1
    forget_cached()


def test_a_file_broken_after_a_good_read_keeps_the_last_good_plans(app, shop, monkeypatch):
    from storefront.plans import definitions

    monkeypatch.setattr(definitions, "CHECK_INTERVAL", 0.0)
    path = Path(app.instance_path) / "plans.toml"
    with app.app_context(), tenant_context(shop):
        assert plans.current_plan().name == "free"
        path.write_text("[plans.free\n")
        assert plans.current_plan().products == 2  # the last good file still rules


def test_tenantctl_plan_create_set_list_show_and_set_plan(app, runner, make_shop):
    make_shop("acme")
    made = runner.invoke(["plan", "create", "small", "--products", "5", "--storage-bytes", "5MB"])
    assert made.exit_code == 0, made.output
    assert "products=5" in made.output and "storage_bytes=5000000" in made.output
    assert runner.invoke(["plan", "create", "big", "--label", "Big", "--default"]).exit_code == 0
    again = runner.invoke(["plan", "create", "small"])
    assert again.exit_code == 1 and "exists already" in again.output
    changed = runner.invoke(["plan", "set", "small", "--products", "none", "--features", "api"])
    assert changed.exit_code == 0, changed.output
    listed = json.loads(runner.invoke(["plan", "list", "--json"]).output)
    assert [row["plan"] for row in listed] == ["small", "big"]
    small = listed[0]
    assert small["products"] == "none" and small["features"] == ["api"]
    assert listed[1]["default"] is True and listed[1]["shops"] == 1  # acme names no plan
    shown = json.loads(runner.invoke(["plan", "show", "big", "--json"]).output)[0]
    assert shown["label"] == "Big"

    moved = runner.invoke(["set-plan", "acme", "small"])
    assert moved.exit_code == 0 and "acme is on plan small" in moved.output
    with app.app_context():
        assert db.session.scalar(select(Tenant.plan).where(Tenant.slug == "acme")) == "small"
    assert "small" in runner.invoke(["list"]).output
    unknown = runner.invoke(["set-plan", "acme", "gold"])
    assert unknown.exit_code == 1
    assert unknown.output.strip().startswith("error: no plan 'gold'")
    assert len(unknown.output.strip().splitlines()) == 1
    assert runner.invoke(["set-plan", "acme", "default"]).exit_code == 0


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["plan", "create", "x", "--products", "lots"], "expected a whole number or 'none'"),
        (["plan", "create", "x", "--features", "api,teleport"], "unknown feature 'teleport'"),
        (["plan", "create", "X Y"], "lower-case letters, digits"),
        (["plan", "create", "x", "--languages", "0"], "plans.x.languages: expected greater"),
        (["plan", "set", "nothing", "--products", "1"], "no plan 'nothing'"),
    ],
)
def test_tenantctl_plan_refuses_bad_input_in_one_line_and_writes_nothing(
    app, runner, args, expected
):
    result = runner.invoke(args)
    assert result.exit_code == 1
    assert expected in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (Path(app.instance_path) / "plans.toml").exists()


# Products ----------------------------------------------------------------------------


def test_products_past_the_plan_are_refused_by_the_service_with_nothing_written(app, shop):
    add_products(app, shop, 2)
    with app.app_context(), tenant_context(shop):
        with pytest.raises(plans.PlanLimitReached) as caught:
            catalog.create_product("acme-3", "Thing 3", 100)
        db.session.rollback()
    exc = caught.value
    assert (exc.limit, exc.allowed, exc.used, exc.upgrade.name) == ("products", 2, 2, "pro")
    assert "Products" in str(exc) and "Free" in str(exc) and "Pro" in str(exc)
    assert count_of(app, shop, Product) == 2


def test_the_dashboard_names_the_limit_and_the_plan_that_lifts_it(app, owner, shop):
    add_products(app, shop, 2)
    page = post_form(owner, shop, "/admin/products/new", {"sku": "X", "title": "X", "price": "1"})
    assert "Plan limit reached: Products" in page.text
    assert "The plan “Pro” lifts it." in page.text
    assert count_of(app, shop, Product) == 2


def test_the_dashboard_message_is_in_the_shops_language(app, make_shop, make_user, free):
    shop = make_shop("acme", settings='name = "Acme"\nlocale = "de_DE"\n')
    make_user(shop, OWNER, roles=["owner"])
    client = app.test_client()
    login(client, shop, OWNER)
    add_products(app, shop, 2)
    page = post_form(client, shop, "/admin/products/new", {"sku": "X", "title": "X", "price": "1"})
    assert count_of(app, shop, Product) == 2
    # In the owner's language: the limit's name already (the sentence's German is in
    # /tmp/notes/plans-i18n.txt, merged into the catalogs with the others).
    assert "Produkte" in page.text and "Pro" in page.text


def test_the_api_answers_403_plan_limit_reached_with_the_numbers(app, client, shop):
    add_products(app, shop, 2)
    key = api_key(app, shop)
    answer = client.post(
        "/api/v1/admin/products", json={"sku": "X", "title": "X", "price": 100}, headers=key
    )
    assert answer.status_code == 403
    error = answer.json["error"]
    assert error["code"] == "plan_limit_reached"
    assert (error["limit"], error["plan"], error["allowed"], error["used"]) == (
        "products",
        "free",
        2,
        2,
    )
    assert error["requested"] == 1 and error["upgrade"] == "pro"
    assert count_of(app, shop, Product) == 2


def test_the_error_code_is_in_the_openapi_document(client, shop):
    document = client.get("/api/v1/openapi.json", headers=host(shop)).json
    body = document["components"]["schemas"]["ErrorBody"]
    codes = json.dumps(document["components"]["schemas"])
    assert "plan_limit_reached" in codes
    assert {"limit", "plan", "allowed", "used", "upgrade"} <= set(body["properties"])


CSV_HEADER = "sku,title,price\n"


def test_a_csv_import_past_the_plan_is_refused_before_writing_with_the_numbers(
    app, runner, shop, tmp_path
):
    add_products(app, shop, 1)
    path = tmp_path / "catalog.csv"
    path.write_text(CSV_HEADER + "acme-1,Changed,1.00\nN-1,New 1,1.00\nN-2,New 2,1.00\n")
    result = runner.invoke(["catalog", "import", "acme", str(path)])
    assert result.exit_code == 1
    assert "Plan limit reached: Products" in result.output
    assert "allows 2; 1 in use, 2 more asked" in result.output
    assert count_of(app, shop, Product) == 1
    with app.app_context(), tenant_context(shop):
        assert db.session.scalar(select(Product.title)) == "Thing 1"  # not even the update

    path.write_text(CSV_HEADER + "acme-1,Changed,1.00\nN-1,New 1,1.00\n")  # fits: 2 of 2
    assert runner.invoke(["catalog", "import", "acme", str(path)]).exit_code == 0
    assert count_of(app, shop, Product) == 2


def test_the_service_refuses_a_bulk_write_past_the_plan_before_any_row(app, shop):
    with app.app_context(), tenant_context(shop):
        rows = "".join(f"B-{i},Bulk {i},1.00\n" for i in range(3))
        with pytest.raises(csv_io.ImportError_) as caught:
            csv_io.import_csv((CSV_HEADER + rows).splitlines(keepends=True))
        db.session.rollback()
    assert "3 more asked" in str(caught.value)
    assert count_of(app, shop, Product) == 0


def test_a_background_import_past_the_plan_fails_before_its_first_batch(app, shop):
    from storefront.transfers import services as transfers
    from storefront.transfers.models import Transfer

    rows = "".join(f"B-{i},Bulk {i},1.00\n" for i in range(5))
    with app.app_context(), tenant_context(shop):
        started = transfers.start_catalog_import("c.csv", (CSV_HEADER + rows).encode(), None)
        db.session.commit()
        transfer_id = started.id
        transfers.run_transfer(transfer_id)
    with app.app_context(), tenant_context(shop):
        transfer = db.session.get(Transfer, transfer_id)
        assert transfer.status == "failed"
        assert "Plan limit reached" in (transfer.message or "")
    assert count_of(app, shop, Product) == 0


def test_a_shop_archive_past_the_plan_is_not_imported(app, runner, make_shop, tmp_path, free):
    write_plans(app, PLANS.replace('default = "free"', 'default = "pro"'))
    big = make_shop("big")
    add_products(app, big, 3)
    archive = tmp_path / "big.tar.gz"
    assert runner.invoke(["export", "big", "-o", str(archive)]).exit_code == 0
    write_plans(app)  # now new shops start on Free: 2 products
    result = runner.invoke(["import", str(archive), "--as", "copy", "--domain", "copy.test"])
    assert result.exit_code == 1
    assert "Plan limit reached: Products" in result.output and "3 more asked" in result.output
    with app.app_context():
        assert db.session.scalar(select(Tenant.id).where(Tenant.slug == "copy")) is None
    assert not (Path(app.config["TENANTS_DIR"]) / "copy").exists()


def test_one_shops_products_never_count_against_another(app, shop, make_shop):
    globex = make_shop("globex")
    add_products(app, shop, 2)
    add_products(app, globex, 2)  # its own 2 of 2: acme's do not count
    assert count_of(app, globex, Product) == 2
    with app.app_context(), tenant_context(globex):
        assert plans.count("products", 2) == 2


def test_counting_is_bounded_by_the_limit(app, make_shop):
    acme = make_shop("acme")
    add_products(app, acme, 12)
    with app.app_context(), tenant_context(acme):
        assert plans.count("products", 3) == 4  # read no further than limit + 1
        assert plans.count("products") == 12


def test_a_larger_plan_lifts_the_limit_at_once(app, runner, shop):
    add_products(app, shop, 2)
    assert runner.invoke(["set-plan", "acme", "pro"]).exit_code == 0
    add_products(app, shop, 1, start=3)
    assert count_of(app, shop, Product) == 3
    assert runner.invoke(["set-plan", "acme", "free"]).exit_code == 0
    note = runner.invoke(["set-plan", "acme", "free"]).output
    assert "past this plan's products 2+/2" in note


# Staff -------------------------------------------------------------------------------


def test_staff_accounts_past_the_plan_are_refused_everywhere(app, runner, shop, make_user):
    make_user(shop, "first@example.com", roles=["staff"])  # owner + 1 = 2 of 2
    before = count_of(app, shop, User)
    result = runner.invoke(["user", "add", "acme", "third@example.com", "--role", "staff"])
    assert result.exit_code == 1
    assert result.output.startswith("error: Plan limit reached: Staff accounts")
    make_user(shop, "shopper@example.com")  # customers are not staff
    granted = runner.invoke(["user", "grant", "acme", "shopper@example.com", "staff"])
    assert granted.exit_code == 1 and "Staff accounts" in granted.output
    assert count_of(app, shop, User) == before + 1
    with app.app_context(), tenant_context(shop):
        with pytest.raises(plans.PlanLimitReached):
            accounts.check_staff_seat()
        # A role more for someone already on the staff takes no seat.
        accounts.grant("first@example.com", "owner")
        db.session.rollback()


def test_a_deactivated_staff_account_frees_its_seat(app, runner, shop, make_user):
    make_user(shop, "first@example.com", roles=["staff"])
    assert runner.invoke(["user", "deactivate", "acme", "first@example.com"]).exit_code == 0
    added = runner.invoke(["user", "add", "acme", "next@example.com", "--role", "staff"])
    assert added.exit_code == 0, added.output


# Storage -------------------------------------------------------------------------------


def test_uploads_past_the_storage_allowance_are_refused_and_nothing_is_kept(app, shop):
    add_products(app, shop, 1)
    with app.app_context(), tenant_context(shop):
        product = db.session.scalar(select(Product))
        with pytest.raises(plans.PlanLimitReached) as caught:
            images.add_image(product, picture())
        db.session.rollback()
    assert caught.value.limit == "storage_bytes"
    assert "Storage" in str(caught.value)
    assert count_of(app, shop, ProductImage) == 0
    assert count_of(app, shop, PlanCounter) == 0


def test_storage_is_counted_once_per_picture_and_released_when_deleted(app, runner, shop):
    assert runner.invoke(["plan", "set", "free", "--storage-bytes", "none"]).exit_code == 0
    add_products(app, shop, 2)
    with app.app_context(), tenant_context(shop):
        first, second = db.session.scalars(select(Product)).all()
        second_id = second.id
        image = images.add_image(first, picture())
        images.add_image(second, picture())  # the same picture: kept once, counted once
        db.session.commit()
        stored = plans.count("storage_bytes")
        assert stored > 0
        images.remove_image(first, image)
        db.session.commit()
    from storefront.outbox import run_due

    with app.app_context():
        run_due()
    with app.app_context(), tenant_context(shop):
        assert plans.count("storage_bytes") == stored  # the other product still shows it
        product = db.session.get(Product, second_id)
        images.remove_image(product, product.images[0])
        db.session.commit()
    with app.app_context():
        run_due()
    with app.app_context(), tenant_context(shop):
        assert plans.count("storage_bytes") == 0


def test_the_dashboards_picture_upload_shows_the_storage_limit(app, owner, shop):
    add_products(app, shop, 1)
    with app.app_context(), tenant_context(shop):
        product_id = db.session.scalar(select(Product.id))
    path = f"/admin/products/{product_id}"
    page = owner.get(path, headers=host(shop)).text
    from io import BytesIO

    answer = owner.post(
        f"/admin/products/{product_id}/pictures",
        data={"csrf_token": csrf_from(page), "pictures": (BytesIO(picture()), "p.png")},
        headers={**host(shop), "Referer": f"http://{shop.primary_host}{path}"},
        follow_redirects=True,
    )
    assert "Plan limit reached: Storage" in answer.text
    assert count_of(app, shop, ProductImage) == 0


# The API's rate and switch ---------------------------------------------------------------


@pytest.mark.settings(RATELIMIT_ENABLED=True)
def test_api_requests_past_the_plans_rate_get_429_plan_limit_reached(app, client, shop):
    answers = [client.get("/api/v1/products", headers=host(shop)) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    error = answers[-1].json["error"]
    assert error["code"] == "plan_limit_reached"
    assert error["limit"] == "api_requests_per_minute" and error["allowed"] == 3
    assert answers[-1].headers["Retry-After"]


@pytest.mark.settings(RATELIMIT_ENABLED=True)
def test_one_shops_api_rate_never_counts_against_another(app, client, shop, make_shop):
    globex = make_shop("globex")
    for _ in range(3):
        client.get("/api/v1/products", headers=host(shop))
    assert client.get("/api/v1/products", headers=host(shop)).status_code == 429
    assert client.get("/api/v1/products", headers=host(globex)).status_code == 200


def test_a_plan_without_the_api_answers_403_on_every_route(app, client, runner, shop):
    assert runner.invoke(["plan", "set", "free", "--features", "webhooks"]).exit_code == 0
    answer = client.get("/api/v1/products", headers=host(shop))
    assert answer.status_code == 403
    assert answer.json["error"]["code"] == "plan_limit_reached"
    assert answer.json["error"]["limit"] == "api"
    assert answer.json["error"]["upgrade"] == "pro"


# Webhooks ---------------------------------------------------------------------------------


def test_webhook_endpoints_past_the_plan_are_refused_everywhere(app, client, runner, owner, shop):
    key = api_key(app, shop, scopes=["webhooks:read", "webhooks:write"])
    made = client.post(
        "/api/v1/admin/webhooks", json={"url": HOOK, "events": ["order.paid"]}, headers=key
    )
    assert made.status_code == 201
    second = client.post(
        "/api/v1/admin/webhooks", json={"url": HOOK, "events": ["order.paid"]}, headers=key
    )
    assert second.status_code == 403
    assert second.json["error"]["limit"] == "webhook_endpoints"
    cli = runner.invoke(["webhooks", "add", "acme", HOOK, "--event", "order.paid"])
    assert cli.exit_code == 1 and "Webhook endpoints" in cli.output
    page = post_form(owner, shop, "/admin/webhooks/", {"url": HOOK, "events": ["order.paid"]}).text
    assert "Plan limit reached: Webhook endpoints" in page
    assert count_of(app, shop, WebhookEndpoint) == 1


def test_a_plan_without_webhooks_refuses_endpoints_and_sends_nothing(app, runner, shop):
    with app.app_context(), tenant_context(shop):
        webhooks.add_endpoint(HOOK, ["product.created"])
        db.session.commit()
    assert runner.invoke(["plan", "set", "free", "--features", "api"]).exit_code == 0
    with app.app_context(), tenant_context(shop):
        assert webhooks.listeners("product.created") == []
        with pytest.raises(plans.PlanLimitReached) as caught:
            webhooks.add_endpoint(HOOK, ["order.paid"])
        db.session.rollback()
    assert caught.value.feature == "webhooks"
    assert "does not include webhooks" in str(caught.value)


# Mails a day -------------------------------------------------------------------------------


def test_mails_past_the_days_allowance_are_kept_unsent_and_the_change_commits(app, shop):
    with app.app_context(), tenant_context(shop):
        first = enqueue_mail("a@example.com", "One", "body")
        second = enqueue_mail("b@example.com", "Two", "body")
        db.session.commit()
        assert (first.status, second.status) == (PENDING, DEAD)
        assert "mails per day" in second.last_error
        assert plans.count("mails_per_day") == 1
        # Counted with a row per shop per day, never from the outbox.
        assert db.session.scalar(select(PlanCounter.value)) == 1


def test_sending_a_mail_again_counts_against_the_day(app, shop):
    from storefront.outbox.services import requeue

    with app.app_context(), tenant_context(shop):
        enqueue_mail("a@example.com", "One", "body")
        kept = enqueue_mail("b@example.com", "Two", "body")
        db.session.commit()
        with pytest.raises(plans.PlanLimitReached) as caught:
            requeue(kept)
        db.session.rollback()
        assert db.session.get(OutboxMessage, kept.id).status == DEAD
    assert caught.value.limit == "mails_per_day"


def test_mails_roll_back_with_their_change(app, shop, make_shop):
    globex = make_shop("globex")
    with app.app_context(), tenant_context(shop):
        enqueue_mail("a@example.com", "One", "body")
        db.session.rollback()
        assert plans.count("mails_per_day") == 0
        assert enqueue_mail("a@example.com", "One", "body").status == PENDING
        db.session.commit()
    with app.app_context(), tenant_context(globex):  # acme's mail is acme's
        assert enqueue_mail("g@example.com", "One", "body").status == PENDING
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


# Domains and languages --------------------------------------------------------------------


def test_custom_domains_are_refused_by_tenantctl_and_the_dashboard(app, runner, owner, shop):
    result = runner.invoke(["domain", "add", "acme", "shop.example.com"])
    assert result.exit_code == 1
    assert "does not include custom domains" in result.output
    assert "Pro" in result.output
    page = post_form(owner, shop, "/admin/domains/", {"hostname": "shop.example.com"}).text
    assert "does not include custom domains" in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Domain)) == 1

    assert runner.invoke(["set-plan", "acme", "pro"]).exit_code == 0
    for name in ("a.example.com", "b.example.com", "c.example.com"):
        added = runner.invoke(["domain", "add", "acme", name, "--trust"])
        assert added.exit_code == 0, added.output
    fourth = runner.invoke(["domain", "add", "acme", "d.example.com", "--trust"])
    assert fourth.exit_code == 1 and "Custom domains" in fourth.output


def test_languages_past_the_plan_are_refused_and_the_file_is_kept(app, runner, shop):
    path = Path(app.config["TENANTS_DIR"]) / "acme" / "tenant.toml"
    before = path.read_text()
    result = runner.invoke(["config", "set", "acme", "locales", '["en_US", "de_DE"]'])
    assert result.exit_code == 1
    assert "Plan limit reached: Languages" in result.output
    assert path.read_text() == before
    assert runner.invoke(["config", "set", "acme", "name", '"Acme 2"']).exit_code == 0
    assert runner.invoke(["set-plan", "acme", "pro"]).exit_code == 0
    two = runner.invoke(["config", "set", "acme", "locales", '["en_US", "de_DE"]'])
    assert two.exit_code == 0, two.output


# Seeing the plan ---------------------------------------------------------------------------


def test_the_owner_sees_usage_against_the_plan(app, owner, shop):
    add_products(app, shop, 1)
    page = owner.get("/admin/plan/", headers=host(shop))
    assert page.status_code == 200
    text = page.text
    assert "Plan: Free" in text
    assert 'id="limit-products"' in text and "<meter" in text
    assert 'value="0.500"' in text  # 1 of 2 products
    assert "Pro" in text  # the other plans


def test_the_plan_page_is_the_owners(app, client, shop, make_user):
    make_user(shop, "staff@example.com", roles=["staff"])
    login(client, shop, "staff@example.com")
    assert client.get("/admin/plan/", headers=host(shop)).status_code == 403


def test_tenantctl_usage_shows_the_plan(app, runner, shop):
    add_products(app, shop, 1)
    text = runner.invoke(["usage", "acme"]).output
    assert "Plan free (Free) of acme" in text
    document = json.loads(runner.invoke(["usage", "acme", "--json"]).output)
    limits = {row["limit"]: row for row in document["plan"]["limits"]}
    assert limits["products"]["used"] == 1 and limits["products"]["allowed"] == 2
    assert limits["api_requests_per_minute"]["used"] is None


def test_the_counts_read_an_index_and_stop_at_the_limit(app, make_shop, make_user):
    """A shop of thousands of products beside a small one, analysed: every count a check
    sends searches an index (tests/plans.py) and carries the limit's bound."""
    from tests import plans as query_plans

    small = make_shop("globex")
    big = make_shop("acme")
    make_user(big, OWNER, roles=["owner"])
    for n in range(30):  # shoppers with their customer links: the staff count skips them
        make_user(big, f"shopper{n}@example.com")
    with app.app_context():
        query_plans.seed_catalog(db.engine, small.id, 200)
        query_plans.seed_catalog(db.engine, big.id, query_plans.SEED_PRODUCTS)
        query_plans.analyze(db.engine)
        engine = db.engine
    with app.app_context(), tenant_context(big):
        small_tables = {k: v for k, v in query_plans.SMALL_TABLES.items() if k != "roles_users"}
        with query_plans.recorded(engine) as statements:
            assert plans.count("products", 100) == 101
            assert plans.count("staff", 10) == 1
            assert plans.count("webhook_endpoints", 10) == 0
            assert plans.count("custom_domains", 3) == 0
        query_plans.assert_indexed(statements, small_tables)
    counts = [s.sql for s in statements.selects if "count(" in s.sql.lower()]
    assert len(counts) == 4 and all("LIMIT" in sql.upper() for sql in counts), counts
