"""Metrics: /_metrics is for this machine or a token holder, requests are counted with
bounded labels (page-cache answers too), jobs, webhooks and mails move their counters,
per-shop figures live in usage (today, busiest, ``tenantctl usage``), and neither a
Redis outage nor a database outage fails a request or a scrape."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from storefront.extensions import db
from storefront.metrics import usage
from storefront.outbox import services as outbox
from storefront.outbox.models import OutboxMessage
from storefront.tenancy import all_tenants, tenant_context
from storefront.tenancy.models import utcnow
from tests.fixtures.factories import add_products, host
from tests.test_commerce import add_to_cart, checkout
from tests.test_sandbox_budgets import BUDGET_PAGE, hostile_shop
from tests.test_webhooks import Receiver, add_endpoint, settle

TOKEN = "scrape-token-0123456789"
REMOTE = {"REMOTE_ADDR": "203.0.113.9"}


def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = client.get("/_metrics")
    assert answer.status_code == 200, answer.status_code
    assert answer.content_type.startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def shops(app, two_shops):
    acme, globex = two_shops
    add_products(app, acme, "Anvil")
    add_products(app, globex, "Tent")
    return acme, globex


@pytest.mark.settings(METRICS_TOKEN=TOKEN)
def test_the_endpoint_is_for_this_machine_or_a_token_holder(client, shops):
    acme, _ = shops
    assert client.get("/_metrics").status_code == 200  # loopback (the test client's)
    assert client.get("/_metrics", headers=host(acme)).status_code == 200  # any host
    assert client.get("/_metrics", environ_base=REMOTE).status_code == 404
    relayed = {"X-Forwarded-For": "203.0.113.9"}
    assert client.get("/_metrics", headers=relayed).status_code == 404
    wrong = {"Authorization": "Bearer nope"}
    assert client.get("/_metrics", headers=wrong, environ_base=REMOTE).status_code == 404
    right = {"Authorization": f"Bearer {TOKEN}"}
    answer = client.get("/_metrics", headers=right, environ_base=REMOTE)
    assert answer.status_code == 200 and "storefront_http_requests_total" in answer.text


def test_without_a_token_configured_only_this_machine(client):
    right = {"Authorization": "Bearer "}
    assert client.get("/_metrics", headers=right, environ_base=REMOTE).status_code == 404


def test_requests_are_counted_by_route_method_and_status_class(app, client, shops):
    acme, globex = shops
    before = scrape(client)
    for shop in (acme, globex):
        client.get("/products", headers=host(shop))  # rendered, kept in the page cache
        client.get("/products", headers=host(shop))  # answered from the cache
    client.get("/products", headers=host(acme))
    client.get("/nowhere-at-all", headers=host(acme))
    client.post("/products", headers=host(acme))
    after = scrape(client)

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    total = "storefront_http_requests_total"
    assert moved(total, route="/products", method="GET", status="2xx") == 5
    assert moved(total, route="unmatched", method="GET", status="4xx") == 1
    assert moved(total, route="unmatched", method="POST", status="4xx") == 1  # 405
    assert moved("storefront_page_cache_total", result="hit") == 3  # the cached answers
    assert moved("storefront_page_cache_total", result="miss") == 3  # the 404 was looked up too
    assert moved("storefront_page_cache_total", result="bypass") == 1  # the POST
    count = "storefront_http_request_duration_seconds_count"
    assert moved(count, route="/products", method="GET") == 5
    assert moved("storefront_http_request_sql_statements_count") >= 4  # not the hits
    assert moved("storefront_http_request_sql_statements_sum") > 0
    assert moved("storefront_http_request_sql_seconds_sum") > 0

    with app.app_context():
        a, g = usage.today(acme.id), usage.today(globex.id)
        assert a["requests"] == 5 and g["requests"] == 2
        assert a["request_seconds"] > 0 and a["sql_statements"] > 0
        assert a["errors"] == 0
        busiest = {load.shop_id: load for load in usage.busiest()}
        assert set(busiest) >= {acme.id, globex.id}
        assert busiest[acme.id].requests_per_minute == pytest.approx(5 / usage.WINDOW_MINUTES)
        assert 0 < busiest[acme.id].busy_share < 1
        assert sum(load.busy_share for load in busiest.values()) == pytest.approx(1, abs=0.01)
    per_shop = "storefront_shop_requests_per_minute"
    assert value(after, per_shop, shop="acme") == pytest.approx(5 / usage.WINDOW_MINUTES)
    assert value(after, per_shop, shop="globex") == pytest.approx(2 / usage.WINDOW_MINUTES)
    assert value(after, "storefront_shops_active") == 2


def test_a_5xx_counts_as_an_error_of_its_shop_and_a_sandbox_refusal(app, client, make_shop):
    shop = hostile_shop(app, make_shop, "{{ range(10 ** 9)|list|length }}")
    calm = make_shop("calm")
    before = scrape(client)
    answer = client.get("/", headers=host(shop))
    assert answer.status_code == 503 and BUDGET_PAGE in answer.text
    assert client.get("/", headers=host(calm)).status_code == 200
    after = scrape(client)
    status = "storefront_http_requests_total"
    assert (
        value(after, status, route="/", method="GET", status="5xx")
        - value(before, status, route="/", method="GET", status="5xx")
        == 1
    )
    refusals = "storefront_sandbox_refusals_total"
    assert value(after, refusals, budget="range") - value(before, refusals, budget="range") == 1
    with app.app_context():
        assert usage.today(shop.id)["errors"] == 1
        assert usage.today(calm.id)["errors"] == 0 and usage.today(calm.id)["requests"] == 1
    errors = "storefront_shop_errors_per_minute"
    assert value(after, errors, shop="acme") == pytest.approx(1 / usage.WINDOW_MINUTES)
    assert value(after, errors, shop="calm") == 0


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def test_jobs_webhooks_mails_and_orders_move_their_counters(
    app, client, make_shop, product, receiver, monkeypatch
):
    shop = make_shop("acme")
    add_endpoint(app, shop, receiver.url)
    product(shop, "anvil")
    receiver.status = 500
    before = scrape(client)
    add_to_cart(client, shop, "anvil")
    assert checkout(client, shop).status_code == 302  # a confirmation mail and a webhook
    settle(app)
    assert len(receiver.requests) == 1

    with app.app_context(), tenant_context(shop):
        row = outbox.enqueue_mail("ada@example.com", "Hello", "Body")
        db.session.commit()
        assert outbox.deliver([row.id]) == 1

    def refused(*args, **kwargs):
        raise ConnectionRefusedError("the mail server is away")

    monkeypatch.setattr(outbox.EmailMultiAlternatives, "send", refused)
    with app.app_context(), tenant_context(shop):
        row = outbox.enqueue_mail("ada@example.com", "Hello", "Body")
        db.session.commit()
        outbox.deliver([row.id])
    after = scrape(client)

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("storefront_job_runs_total", kind="mail", outcome="ok") >= 1
    assert moved("storefront_job_runs_total", kind="mail", outcome="failed") == 1
    assert moved("storefront_job_runs_total", kind="webhook", outcome="failed") == 1
    assert moved("storefront_job_duration_seconds_count", kind="webhook") == 1
    assert moved("storefront_webhook_deliveries_total", outcome="failed") == 1
    assert moved("storefront_mails_total", outcome="sent") >= 1
    assert moved("storefront_mails_total", outcome="failed") == 1
    with app.app_context():
        today = usage.today(shop.id)
    assert today["orders"] == 1
    assert today["webhook_failed"] == 1 and today["mail_failed"] == 1


def test_outbox_gauges_and_no_outbox_figures_while_the_database_is_down(
    app, client, make_shop, monkeypatch
):
    shop = make_shop("acme")
    with app.app_context(), tenant_context(shop):
        rows = [outbox.enqueue("nothing-handles-this", {}) for _ in range(3)]
        db.session.commit()
        ids = [row.id for row in rows]
    with app.app_context(), all_tenants():
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids[:2]))
            .values(next_attempt_at=utcnow() - timedelta(minutes=10))
        )
        db.session.execute(
            update(OutboxMessage).where(OutboxMessage.id == ids[2]).values(status="dead")
        )
        db.session.commit()
    samples = scrape(client)
    assert value(samples, "storefront_outbox_depth", status="pending") == 2
    assert value(samples, "storefront_outbox_depth", status="dead") == 1
    assert value(samples, "storefront_outbox_depth", status="sending") == 0
    assert value(samples, "storefront_outbox_oldest_age_seconds") >= 600

    def down(*args, **kwargs):
        raise OperationalError("SELECT", {}, Exception("the database is away"))

    monkeypatch.setattr("storefront.probes.all_tenants", down)
    samples = scrape(client)  # still answers, without the outbox's figures
    assert ("storefront_outbox_depth", (("status", "pending"),)) not in samples
    assert value(samples, "storefront_shops_active") == 1


def test_stripe_events_with_a_bad_signature_count_as_refused(client, make_shop):
    shop = make_shop("acme")
    before = scrape(client)
    answer = client.post(
        "/payments/stripe/webhook",
        data=b"{}",
        headers={**host(shop), "Stripe-Signature": "t=1,v1=00"},
    )
    assert answer.status_code == 400
    after = scrape(client)
    name = "storefront_payment_events_total"
    labels = {"provider": "stripe", "outcome": "refused"}
    assert value(after, name, **labels) - value(before, name, **labels) == 1


def test_tenantctl_usage_prints_a_shops_days(app, client, runner, shops):
    acme, _ = shops
    for _ in range(3):
        client.get("/", headers=host(acme))
    result = runner.invoke(["usage", "acme", "--days", "3"])
    assert result.exit_code == 0, result.output
    assert "Usage of acme" in result.output and "total" in result.output
    result = runner.invoke(["usage", "acme", "--days", "2", "--json"])
    document = json.loads(result.output)
    assert document["shop"] == "acme" and len(document["days"]) == 2
    assert document["days"][0]["requests"] == 3 and document["total"]["requests"] == 3
    assert document["days"][0]["request_seconds"] > 0
    assert document["shared"] is bool(app.config.get("REDIS_URL"))

    missing = runner.invoke(["usage", "nope"])
    assert missing.exit_code == 1
    assert "error:" in missing.output and len(missing.output.strip().splitlines()) == 1
    assert "Traceback" not in missing.output


def test_a_redis_outage_fails_no_request_and_no_scrape(app_config, caplog):
    from storefront import create_app
    from storefront.catalog import services as catalog
    from storefront.tenancy.services import NewShop, create_shop

    dead = "redis://127.0.0.1:1/0"  # nothing listens there
    app = create_app({**app_config, "REDIS_URL": dead, "USAGE_FLUSH_SECONDS": 0})
    try:
        with app.app_context():
            create_shop(NewShop(slug="acme", name="Acme", domains=("acme.test",)))
            shop = app.extensions["storefront.registry"].lookup("acme.test").tenant
            with tenant_context(shop):
                catalog.create_product("a-1", "Anvil", 100, stock=1)
                db.session.commit()
        client = app.test_client()
        for _ in range(3):
            answer = client.get("/products", headers={"Host": "acme.test"})
            assert answer.status_code == 200 and "Anvil" in answer.text
        samples = scrape(client)
        assert not any(name.startswith("storefront_shop_") for name, _ in samples)
        assert value(samples, "storefront_shops_active") == 1
        with app.app_context():
            assert usage.today(shop.id)["requests"] == 0  # unknown, not an error
        assert any("usage figures" in r.getMessage() for r in caplog.records)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_busiest_names_ten_shops_by_worker_seconds_and_days_go_back(app):
    with app.app_context():
        for shop_id in range(1, 13):
            usage.record(shop_id, requests=shop_id, request_seconds=shop_id * 0.5)
        usage.record(1, errors=2, orders=1, unknown_field=5)
        top = usage.busiest()
        assert [load.shop_id for load in top] == list(range(12, 2, -1))
        total = sum(i * 0.5 for i in range(1, 13))
        assert top[0].busy_share == pytest.approx(6 / total, abs=0.001)
        assert top[0].busy_seconds_per_minute == pytest.approx(6 / usage.WINDOW_MINUTES)
        week = usage.days(1, 7)
        assert len(week) == 7 and week[0]["requests"] == 1 and week[0]["errors"] == 2
        assert week[0]["orders"] == 1 and all(day["requests"] == 0 for day in week[1:])
        assert set(week[0]) == {"day", *usage.FIELDS}
        assert usage.today(99) == usage.empty()


@pytest.mark.settings(RATELIMIT_ENABLED=True, API_RATE_LIMIT="2 per minute")
def test_a_refusal_is_counted_under_its_limit_and_for_its_shop(app, client, make_shop):
    shop = make_shop("acme")
    before = scrape(client)
    answers = [client.get("/api/v1/categories", headers=host(shop)).status_code for _ in range(3)]
    assert answers == [200, 200, 429]
    after = scrape(client)
    name = "storefront_rate_limit_refusals_total"
    assert value(after, name, limit="api") - value(before, name, limit="api") == 1
    with app.app_context():
        assert usage.today(shop.id)["rate_limited"] == 1
