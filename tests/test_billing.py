"""Billing of shops by the platform (issue 34): subscriptions on the platform's Stripe
account (the local fake, tests/fixtures/stripe_billing_fake.py), signed webhooks applied
once and only to their own shop, prorated plan changes, dunning through a clock the
tests move (no sleeping), the closed page, and the operator's acts in tenantctl."""

from __future__ import annotations

import json
import re
import textwrap
import time
from datetime import UTC, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storefront import clock
from storefront.audit.models import AuditEntry
from storefront.billing.models import BillingEvent, ShopBilling
from storefront.extensions import db
from storefront.jobs import periodic
from storefront.plans.definitions import forget_cached
from storefront.tenancy import tenant_context
from storefront.tenancy.models import Tenant
from tests.fixtures.factories import csrf_from, host, login
from tests.fixtures.stripe_billing_fake import sign
from tests.fixtures.stripe_fake import fake_stripe

SECRET = "whsec_platform_billing_1234"
OWNER = "owner@example.com"
WEBHOOK = "/_billing/stripe/webhook"
PLANS = """
default = "free"

[plans.free]
label = "Free"
languages = 1

[plans.starter]
label = "Starter"
languages = 1
stripe_price = "price_starter"
trial_days = 14

[plans.pro]
label = "Pro"
languages = 3
stripe_price = "price_pro"
"""


@pytest.fixture(autouse=True)
def _clock():
    clock.set_offset(timedelta(0))
    yield
    clock.set_offset(timedelta(0))


def post_event(app, body: bytes, headers: dict[str, str]) -> int:
    client = app.test_client()
    answer = client.post(WEBHOOK, data=body, headers={**headers, "Host": "platform.test"})
    return answer.status_code


@pytest.fixture
def fake(app):
    server = fake_stripe()
    (Path(app.instance_path) / "plans.toml").write_text(textwrap.dedent(PLANS), encoding="utf-8")
    forget_cached()
    app.config.update(
        STRIPE_API_BASE=server.base,
        BILLING_STRIPE_SECRET_KEY="sk_test_platform_1234",
        BILLING_STRIPE_WEBHOOK_SECRET=SECRET,
        BILLING_GRACE_DAYS=7,
    )
    server.billing.reset(SECRET, lambda body, headers: post_event(app, body, headers))
    server.billing.prices = {"price_starter": 1000, "price_pro": 3000}
    yield server.billing
    forget_cached()


@pytest.fixture
def shop(fake, make_shop, make_user):
    acme = make_shop("acme")
    make_user(acme, OWNER, roles=["owner"])
    return acme


def tenant(app, slug="acme") -> Tenant:
    with app.app_context():
        row = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
        db.session.expunge(row)
        return row


def account(app, slug="acme") -> ShopBilling:
    with app.app_context():
        row = db.session.scalar(
            select(ShopBilling)
            .join(Tenant, Tenant.id == ShopBilling.tenant_id)
            .where(Tenant.slug == slug)
        )
        db.session.expunge(row)
        return row


def subscribe(runner, slug="acme", plan="starter"):
    result = runner.invoke(["billing", "subscribe", slug, "--plan", plan, "--email", OWNER])
    assert result.exit_code == 0, result.output
    return result


def active_on_starter(app, runner, fake, slug="acme"):
    """Subscribed, trial over, first month paid."""
    subscribe(runner, slug)
    sub = account(app, slug).subscription_id
    fake.customers[account(app, slug).customer_id]["card"] = True  # given in the portal
    clock.advance(timedelta(days=14))
    fake.renew(sub, pays=True)
    assert set(fake.deliver()) == {200}
    assert tenant(app, slug).billing_state == "active"
    return sub


def owner_client(app, shop):
    client = app.test_client()
    login(client, shop, OWNER)
    return client


# Subscriptions and the webhook's signature --------------------------------------------


def test_a_subscription_starts_with_the_plans_trial(app, runner, fake, shop):
    subscribe(runner)
    row = tenant(app)
    assert row.plan == "starter" and row.billing_state == "trialing"
    assert timedelta(days=13, hours=23) < row.billing_until - clock.now() <= timedelta(days=14)
    sub = fake.subscriptions[account(app).subscription_id]
    assert sub["status"] == "trialing" and sub["metadata"] == {"shop": row.uid}
    assert fake.deliver() == [200]  # customer.subscription.created: the same state again
    assert tenant(app).billing_state == "trialing"


def test_the_trial_ends_paid_then_the_shop_is_active(app, runner, fake, shop):
    active_on_starter(app, runner, fake)
    assert tenant(app).billing_until is None
    assert [t for t, _ in fake.sent][-2:] == ["invoice.paid", "customer.subscription.updated"]


def _event(fake, kind, obj):
    event = fake.emit(kind, obj)
    fake.queue.remove(event)
    return event


def test_a_bad_signature_is_refused_and_changes_nothing(app, runner, fake, shop):
    active_on_starter(app, runner, fake)
    invoice = {"id": "in_x", "customer": account(app).customer_id, "subscription": "sub_x"}
    event = _event(fake, "invoice.payment_failed", invoice)
    body = json.dumps(event).encode()
    assert post_event(app, body, {"Stripe-Signature": sign("whsec_wrong", body)}) == 400
    assert post_event(app, body, {"Stripe-Signature": "t=1,v1=00"}) == 400
    assert post_event(app, body, {}) == 400
    stale = sign(SECRET, body, at=int(time.time()) - 3600)  # past Stripe's tolerance
    assert post_event(app, body, {"Stripe-Signature": stale}) == 400
    tampered = body.replace(b"invoice.payment_failed", b"invoice.paid__________")
    assert post_event(app, tampered, {"Stripe-Signature": sign(SECRET, body)}) == 400
    assert tenant(app).billing_state == "active"
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(BillingEvent)
                .where(BillingEvent.event_id == event["id"])
            )
            == 0
        )


def test_a_replayed_event_is_applied_once(app, runner, fake, shop):
    sub = active_on_starter(app, runner, fake)
    fake.renew(sub, pays=False)
    failed = [e for e in fake.queue if e["type"] == "invoice.payment_failed"][0]
    assert set(fake.deliver()) == {200}
    first_until = tenant(app).billing_until
    clock.advance(timedelta(days=3))
    body = json.dumps(failed).encode()
    client = app.test_client()
    again = client.post(
        WEBHOOK, data=body, headers={"Stripe-Signature": sign(SECRET, body), "Host": "x.test"}
    )
    assert again.status_code == 200 and again.json["outcome"] == "replayed"
    assert tenant(app).billing_until == first_until  # the grace period did not restart
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(BillingEvent)
                .where(BillingEvent.event_id == failed["id"])
            )
            == 1
        )


def test_an_event_applies_only_to_the_shop_its_subscription_belongs_to(
    app, runner, fake, shop, make_shop
):
    other = make_shop("globex")
    active_on_starter(app, runner, fake)
    active_on_starter(app, runner, fake, "globex")
    mine, theirs = account(app), account(app, "globex")
    # Another shop's subscription under my customer: refused (ids disagree).
    mixed = {"id": "in_1", "customer": mine.customer_id, "subscription": theirs.subscription_id}
    # Another shop's subscription claiming to be mine in its metadata: refused.
    sub = json.loads(json.dumps(fake.subscriptions[theirs.subscription_id]))
    sub["status"], sub["metadata"] = "past_due", {"shop": tenant(app).uid}
    # A customer nobody has.
    stranger = {"id": "in_2", "customer": "cus_nobody", "subscription": "sub_nobody"}
    for kind, obj in (
        ("invoice.payment_failed", mixed),
        ("customer.subscription.updated", sub),
        ("invoice.payment_failed", stranger),
    ):
        fake.emit(kind, obj)
    assert fake.deliver() == [200, 200, 200]  # refused, recorded, not retried
    assert tenant(app).billing_state == tenant(app, "globex").billing_state == "active"
    with app.app_context():
        outcomes = [
            e.outcome for e in db.session.scalars(select(BillingEvent).order_by(BillingEvent.id))
        ][-3:]
    assert outcomes == ["refused:ambiguous", "refused:other_shop", "refused:unknown_customer"]
    assert other.slug == "globex"


def test_a_signed_body_that_is_not_an_event_is_a_400(app, fake, shop):
    for body in (b"[]", b'{"id": "evt_1"}', b"not json", b'{"id": 1, "type": "x", "data": {}}'):
        assert post_event(app, body, {"Stripe-Signature": sign(SECRET, body)}) == 400


# Plan changes -------------------------------------------------------------------------


def change_plan(client, shop, plan):
    page = client.get("/admin/plan/", headers=host(shop))
    return client.post(
        "/admin/plan/change",
        data={"plan": plan, "csrf_token": csrf_from(page.text)},
        headers=host(shop),
    )


def test_upgrade_and_downgrade_are_prorated_by_stripe(app, runner, fake, shop):
    sub = active_on_starter(app, runner, fake)
    client = owner_client(app, shop)
    clock.advance(timedelta(days=15))  # half the month left
    up = change_plan(client, shop, "pro")
    assert up.status_code == 302 and up.location.endswith("/admin/plan/")
    assert tenant(app).plan == "pro"
    assert fake.subscriptions[sub]["items"]["data"][0]["price"]["id"] == "price_pro"
    assert fake.prorations[-1] == {
        "subscription": sub,
        "from": "price_starter",
        "to": "price_pro",
        "amount": 1000,
    }
    assert fake.deliver() == [200]  # the update's event: the same plan, nothing moves
    down = change_plan(client, shop, "starter")
    assert down.status_code == 302 and tenant(app).plan == "starter"
    assert fake.prorations[-1]["amount"] == -1000  # a credit for what is left
    assert change_plan(client, shop, "nonesuch").status_code == 302
    assert change_plan(client, shop, "free").status_code == 302  # not sold: refused
    assert tenant(app).plan == "starter"


def test_a_shop_without_a_subscription_upgrades_through_stripes_hosted_checkout(app, fake, shop):
    client = owner_client(app, shop)
    answer = change_plan(client, shop, "pro")
    assert answer.status_code == 303
    assert answer.location.startswith(f"{fake_stripe().base}/_config/billing/checkout/")
    assert tenant(app).plan is None  # nothing before Stripe says it is paid
    session = answer.location.rsplit("/", 1)[1]
    with app.app_context():
        fake.customers[account(app).customer_id]["card"] = True
    sub = fake._new_subscription(
        account(app).customer_id, "price_pro", fake.sessions[session]["subscription_data"]
    )
    fake.emit("checkout.session.completed", {**fake.sessions[session], "subscription": sub["id"]})
    assert fake.deliver() == [200, 200]
    assert tenant(app).plan == "pro" and tenant(app).billing_state == "active"
    page = client.get("/admin/plan/", headers=host(shop))
    assert "INV-" in page.text and "/_config/billing/invoice/" in page.text


def test_only_the_owner_changes_the_plan(app, runner, fake, shop, make_user):
    make_user(shop, "mgr@example.com", roles=["manager"])
    client = app.test_client()
    login(client, shop, "mgr@example.com")
    token = csrf_from(client.get("/admin/products", headers=host(shop)).text)
    answer = client.post(
        "/admin/plan/change", data={"plan": "pro", "csrf_token": token}, headers=host(shop)
    )
    assert answer.status_code == 403 and tenant(app).plan is None
    assert (
        client.post("/admin/plan/card", data={"csrf_token": token}, headers=host(shop)).status_code
        == 403
    )


# Dunning through time -----------------------------------------------------------------


def run_dunning(app, slug="acme"):
    with app.app_context(), tenant_context(slug):
        from storefront.db import unit_of_work

        unit_of_work(periodic.billing_dunning)


def test_dunning_past_due_grace_closed_then_reopened_when_paid(app, runner, fake, shop):
    assert "billing-dunning" in {t.name for t in periodic.TASKS}
    sub = active_on_starter(app, runner, fake)
    client = owner_client(app, shop)
    clock.advance(timedelta(days=30))
    fake.renew(sub, pays=False)
    assert set(fake.deliver()) == {200}
    row = tenant(app)
    assert row.billing_state == "past_due"
    assert row.billing_until == clock.now().replace(microsecond=0) + timedelta(days=7) or (
        timedelta(days=7) - timedelta(seconds=5) < row.billing_until - clock.now()
    )
    for page in ("/admin/", "/admin/products", "/admin/plan/"):  # every dashboard page
        assert 'id="billing-banner"' in client.get(page, headers=host(shop)).text, page
    assert app.test_client().get("/", headers=host(shop)).status_code == 200  # still open

    clock.advance(timedelta(days=6, hours=23))
    run_dunning(app)
    assert tenant(app).billing_state == "past_due"
    clock.advance(timedelta(hours=2))
    run_dunning(app)
    assert tenant(app).billing_state == "closed"

    shopper = app.test_client()
    page = shopper.get("/", headers=host(shop))
    assert page.status_code == 503 and 'id="shop-closed"' in page.text
    assert shopper.get("/products", headers=host(shop)).status_code == 503
    api = shopper.get("/api/v1/products", headers=host(shop))
    assert api.status_code == 503 and api.json["error"]["code"] == "shop_closed"
    # The owner still signs in and pays.
    late = app.test_client()
    login(late, shop, OWNER)
    plan_page = late.get("/admin/plan/", headers=host(shop))
    assert plan_page.status_code == 200 and "Closed to shoppers until paid" in plan_page.text
    portal = late.post(
        "/admin/plan/card", data={"csrf_token": csrf_from(plan_page.text)}, headers=host(shop)
    )
    assert portal.status_code == 303 and "/_config/billing/portal/" in portal.location
    fake.pay_open(account(app).customer_id)
    assert set(fake.deliver()) == {200}
    assert tenant(app).billing_state == "active"
    assert shopper.get("/", headers=host(shop)).status_code == 200
    assert 'id="billing-banner"' not in late.get("/admin/", headers=host(shop)).text


def test_the_closed_page_is_the_shops_own_in_its_language(app, runner, fake, make_shop):
    laden = make_shop("laden", settings='name = "Laden"\nlocales = ["de_DE"]\n')
    assert runner.invoke(["billing", "suspend", "laden"]).exit_code == 0
    page = app.test_client().get("/", headers=host(laden))
    assert page.status_code == 503
    assert '<html lang="de-DE"' in page.text and "Laden" in page.text
    assert "vorübergehend" in page.text  # "…is closed for now", in German
    css = re.findall(r'href="([^"]+\.css[^"]*)"', page.text)
    assert css and all(
        app.test_client().get(h, headers=host(laden)).status_code == 200 for h in css
    )


# The operator's acts ------------------------------------------------------------------


def operator_entries(app, slug):
    with app.app_context(), tenant_context(slug):
        return list(
            db.session.scalars(select(AuditEntry).where(AuditEntry.actor_kind == "operator"))
        )


def test_tenantctl_comp_extend_suspend_reinstate_are_recorded(app, runner, fake, shop, make_shop):
    make_shop("globex")
    subscribe(runner)
    before = tenant(app).billing_until
    extended = runner.invoke(["billing", "extend-trial", "acme", "--days", "10"])
    assert extended.exit_code == 0 and "trial ends" in extended.output
    assert tenant(app).billing_until == before + timedelta(days=10)
    sub = fake.subscriptions[account(app).subscription_id]
    assert sub["trial_end"] == int(tenant(app).billing_until.replace(tzinfo=UTC).timestamp())

    assert runner.invoke(["billing", "suspend", "acme"]).exit_code == 0
    assert tenant(app).billing_state == "suspended"
    assert app.test_client().get("/", headers=host(shop)).status_code == 503
    assert runner.invoke(["billing", "reinstate", "acme"]).exit_code == 0
    assert app.test_client().get("/", headers=host(shop)).status_code == 200

    assert runner.invoke(["billing", "comp", "acme", "--plan", "pro"]).exit_code == 0
    row = tenant(app)
    assert row.billing_state == "comped" and row.plan == "pro"
    fake.renew(sub["id"], pays=False)  # Stripe's word does not move a comped shop
    fake.deliver()
    assert tenant(app).billing_state == "comped"

    listed = json.loads(runner.invoke(["billing", "list", "--json"]).output)
    assert {(r["shop"], r["plan"], r["billing"]) for r in listed} == {
        ("acme", "pro", "comped"),
        ("globex", "free", "none"),
    }
    only = json.loads(runner.invoke(["billing", "list", "--state", "comped", "--json"]).output)
    assert [r["shop"] for r in only] == ["acme"]
    assert (
        json.loads(runner.invoke(["billing", "list", "--plan", "free", "--json"]).output)[0]["shop"]
        == "globex"
    )

    trail = operator_entries(app, "acme")
    acts = {
        (e.actor_id, c["note"]["why"])
        for e in trail
        for c in json.loads(e.body)["changes"]
        if c.get("type") == "billing_state"
    }
    assert acts == {
        ("billing subscribe", "subscribed"),
        ("billing extend-trial", "trial extended by 10 days"),
        ("billing suspend", "suspended for non-payment by the operator"),
        ("billing reinstate", "reinstated by the operator"),
        ("billing comp", "comped by the operator"),
    }
    assert not any("billing_state" in e.body for e in operator_entries(app, "globex"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["billing", "suspend", "nosuch"], "nosuch"),
        (["billing", "reinstate", "acme"], "not closed for non-payment"),
        (["billing", "extend-trial", "acme", "--days", "0"], "between 1 and 365"),
        (["billing", "comp", "acme", "--plan", "nosuch"], "no plan 'nosuch'"),
        (["billing", "list", "--state", "bogus"], "unknown billing state"),
        (["billing", "subscribe", "acme", "--plan", "free"], "no stripe_price"),
    ],
)
def test_tenantctl_billing_errors_are_one_line(runner, fake, shop, args, message):
    result = runner.invoke(args)
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_stripe_down_is_one_line_for_the_operator_and_a_message_for_the_owner(
    app, runner, fake, shop
):
    app.config["STRIPE_API_BASE"] = "http://127.0.0.1:9"
    result = runner.invoke(["billing", "subscribe", "acme", "--plan", "starter"])
    assert result.exit_code == 1 and result.output.startswith("error: stripe:")
    client = owner_client(app, shop)
    answer = change_plan(client, shop, "pro")
    assert answer.status_code == 302
    page = client.get("/admin/plan/", headers=host(shop))
    assert page.status_code == 200 and "did not answer" in page.text


def test_without_billing_configured_nothing_changes(app, make_shop, make_user):
    acme = make_shop("acme")
    make_user(acme, OWNER, roles=["owner"])
    client = owner_client(app, acme)
    page = client.get("/admin/plan/", headers=host(acme))
    assert page.status_code == 200 and 'id="billing"' not in page.text
    body = b'{"id": "evt_1", "type": "invoice.paid", "data": {"object": {}}}'
    assert post_event(app, body, {"Stripe-Signature": sign(SECRET, body)}) == 400


def test_an_owner_sees_only_the_shops_own_invoices(app, runner, fake, shop, make_shop, make_user):
    globex = make_shop("globex")
    make_user(globex, "boss@example.org", roles=["owner"])
    active_on_starter(app, runner, fake)
    active_on_starter(app, runner, fake, "globex")
    mine = {i["number"] for i in fake.invoices if i["customer"] == account(app).customer_id}
    theirs = {
        i["number"] for i in fake.invoices if i["customer"] == account(app, "globex").customer_id
    }
    assert mine and theirs and not mine & theirs
    page = owner_client(app, shop).get("/admin/plan/", headers=host(shop)).text
    assert all(n in page for n in mine) and not any(n in page for n in theirs)
    # Globex's owner, with Acme's session cookie replayed at Globex: not signed in there.
    client = owner_client(app, shop)
    stolen = client.get("/admin/plan/", headers=host(globex))
    assert stolen.status_code in (302, 401, 403) and not any(n in stolen.text for n in mine)
