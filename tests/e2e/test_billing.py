"""The owner upgrades the plan through Stripe's hosted Checkout (the local fake) and a
plan limit that refused a staff invitation allows it (issue 34). Self-contained: the
sign-up journey (tests/e2e/test_signup.py) had not reached main when this was written;
once it has, this walk belongs at its end."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import select

from storefront.extensions import db
from storefront.plans.definitions import forget_cached
from storefront.tenancy.models import Tenant
from storefront.tenancy.registry import bump_generation
from tests.fixtures.stripe_fake import fake_stripe

SECRET = "whsec_e2e_platform_billing"
PLANS = """
[plans.starter]
label = "Starter"
staff = 1
stripe_price = "price_starter"

[plans.pro]
label = "Pro"
staff = 50
stripe_price = "price_pro"
"""


def shop_url(slug: str, port: str, path: str = "/") -> str:
    return f"http://{slug}.localhost:{port}{path}"


@pytest.mark.settings(
    BILLING_STRIPE_SECRET_KEY="sk_test_platform_e2e", BILLING_STRIPE_WEBHOOK_SECRET=SECRET
)
def test_the_owner_upgrades_through_stripe_and_the_limit_lifts(browser, live_server, screenshots):
    port, app = live_server.port, live_server.app
    (Path(app.instance_path) / "plans.toml").write_text(textwrap.dedent(PLANS), "utf-8")
    forget_cached()
    with app.app_context():
        acme = db.session.scalar(select(Tenant).where(Tenant.slug == "acme"))
        acme.plan = "starter"
        bump_generation()
        db.session.commit()
    billing = fake_stripe().billing
    billing.reset(
        SECRET, (f"http://127.0.0.1:{port}/_billing/stripe/webhook", f"acme.localhost:{port}")
    )
    billing.prices = {"price_starter": 1000, "price_pro": 3000}

    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US").new_page()
    page.goto(shop_url("acme", port, "/login"))
    page.fill("input[name=email]", "owner@acme.example.com")
    page.fill("input[name=password]", "demo-password")
    page.click("form.form [type=submit]")
    page.wait_for_load_state()

    invite = "form[action$='/admin/staff/invite']"
    page.goto(shop_url("acme", port, "/admin/staff/"))
    page.fill(f"{invite} input[name=invite-email]", "helper@example.com")
    page.click(f"{invite} [type=submit]")
    page.wait_for_load_state()
    assert "Plan limit reached" in page.locator("main").inner_text()  # Starter: the owner only

    page.goto(shop_url("acme", port, "/admin/plan/"))
    assert "Plan: Starter" in page.locator("h1").inner_text()
    page.click("#choose-pro")
    page.wait_for_url(re.compile(r".*/_config/billing/checkout/cs_test_.*"))
    page.screenshot(path=screenshots / "billing-checkout.png", full_page=True)
    page.click("#pay")  # Stripe's signed events reach the platform before the browser returns
    page.wait_for_url(re.compile(r".*/admin/plan/$"))
    assert "Plan: Pro" in page.locator("h1").inner_text()
    assert "Paid and up to date" in page.locator("#billing-state").inner_text()
    assert "INV-" in page.locator("#invoices").inner_text()
    page.screenshot(path=screenshots / "billing-plan.png", full_page=True)
    assert [status for _, status in billing.sent] == [200, 200]

    page.goto(shop_url("acme", port, "/admin/staff/"))
    page.fill(f"{invite} input[name=invite-email]", "helper@example.com")
    page.click(f"{invite} [type=submit]")
    page.wait_for_load_state()
    text = page.locator("main").inner_text()
    assert "Plan limit reached" not in text and "helper@example.com" in text
