"""axe-core (from the npm registry, installed by this test's setup) on every page type of
both demo themes and the dashboard, on a desktop and a 390×844 phone: no serious or
critical violation, and no page wider than the phone's screen."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.fixtures.app import REPO

pytestmark = pytest.mark.e2e

AXE_DIR = REPO / "test-artifacts" / "axe"
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
SHOP_PAGES = {
    "acme": ["/", "/products", "/search?q=anvl", "/search?q=zzzz", "/p/classic-anvil-50-lb",
             "/p/rocket-skates", "/cart/", "/login", "/register", "/reset", "/pages/shipping",
             "/nope", "/fr/", "/privacy", "/wan-signin"],
    "globex": ["/", "/products", "/p/sturmjacke", "/cart/", "/login", "/pages/versand", "/en/"],
}  # fmt: skip
DASHBOARD = ["/admin/", "/admin/products", "/admin/products/new", "/admin/orders",
             "/admin/customers", "/admin/categories", "/admin/discounts/", "/admin/gift-cards/",
             "/admin/pages/",
             "/admin/pages/new", "/admin/settings", "/admin/shipping-payment/",
             "/admin/domains/", "/admin/api-keys/", "/admin/webhooks/", "/admin/staff/",
             "/account", "/account/privacy", "/tf-setup", "/wan-register"]  # fmt: skip
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(scope="session")
def axe_source() -> str:
    script = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        AXE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(AXE_DIR),
             "axe-core@4"],
            check=True,
            timeout=300,
        )  # fmt: skip
    return Path(script).read_text()


def _audit(page, url: str, axe: str, viewport: str) -> list[str]:
    answer = page.goto(url)
    page.wait_for_load_state()
    if answer is not None and answer.status >= 500:  # an error page is axe-clean too
        return [f"{viewport} {url}: answered {answer.status}"]
    page.evaluate(axe)
    found = page.evaluate(
        """async (rules) => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values: rules}});
            return r.violations.filter(v => ['serious', 'critical'].includes(v.impact))
                .map(v => `${v.id} (${v.impact}): ${v.nodes[0].target.join(' ')}`);
        }""",
        RULES,
    )
    wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    if viewport == "phone" and wide > 1:
        culprits = page.evaluate(
            """() => [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
                .slice(-3).map(e => e.tagName.toLowerCase() + '.' + e.className)"""
        )
        found.append(f"{wide}px wider than the phone's screen: {culprits}")
    return [f"{viewport} {url}: {problem}" for problem in found]


def _product_id(live_server, slug: str, sku: str) -> int:
    from storefront.catalog.services import product_by_sku
    from storefront.tenancy import tenant_context
    from storefront.tenancy.registry import context_for

    with live_server.app.app_context(), tenant_context(context_for(slug)):
        return product_by_sku(sku).id


def _failing(live_server, slug: str) -> None:
    """Give the shop's health panel something to show: orders paid today, a mail that gave
    up, a webhook delivery waiting for its next attempt (a day away: the sweeper leaves it)."""
    from datetime import timedelta

    from storefront.extensions import db
    from storefront.orders.aggregates import SalesDay, shop_day
    from storefront.outbox.services import MAX_ATTEMPTS, enqueue, enqueue_mail
    from storefront.tenancy import tenant_context
    from storefront.tenancy.models import utcnow
    from storefront.tenancy.registry import context_for

    with live_server.app.app_context(), tenant_context(context_for(slug)):
        db.session.add(SalesDay(day=shop_day(utcnow()), currency="EUR", orders=4, revenue=9900))
        mail = enqueue_mail("a-very-long-address.for-a-phone@example.com", "Your order", "Thanks")
        hook = enqueue("webhook", {"endpoint_id": 0, "body": {"type": "order.paid", "id": "e1"}})
        db.session.flush()
        mail.status, mail.attempts = "dead", MAX_ATTEMPTS
        mail.last_error = "SMTPRecipientsRefused: {}"
        hook.attempts, hook.last_error = 2, "RuntimeError: answered 503"
        hook.next_attempt_at = utcnow() + timedelta(days=1)
        db.session.info.pop("storefront.outbox.new", None)  # not delivered on commit
        db.session.commit()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_every_page_type_is_accessible(browser, live_server, axe_source, viewport, screenshots):
    port = live_server.port
    context = browser.new_context(viewport=VIEWPORTS[viewport], bypass_csp=True)
    page = context.new_page()
    problems: list[str] = []
    for slug, paths in SHOP_PAGES.items():
        for path in paths:
            problems += _audit(page, f"http://{slug}.localhost:{port}{path}", axe_source, viewport)
    base = f"http://acme.localhost:{port}"
    if viewport == "phone":  # a compact header: the links behind a Menu button
        page.goto(base + "/products")
        assert not page.locator(".site-nav").is_visible()
        page.click(".nav-toggle")
        assert page.locator(".site-nav a[href*='/login']").first.is_visible()
        columns = page.evaluate(
            "getComputedStyle(document.querySelector('.product-grid')).gridTemplateColumns"
        )
        assert len(columns.split()) == 2, columns  # two products per row
    page.goto(base + "/login")
    page.fill("input[name=email]", "owner@acme.example.com")
    page.fill("input[name=password]", "demo-password")
    page.click("form.form [type=submit]")
    page.wait_for_load_state()
    skates = _product_id(live_server, "acme", "ACME-RKT-SKATES")  # pictures and variants
    for path in [*DASHBOARD, f"/admin/products/{skates}"]:
        problems += _audit(page, base + path, axe_source, viewport)
        if path == "/admin/" and viewport == "desktop":
            page.screenshot(path=screenshots / "acme-dashboard.png", full_page=True)
    # The other theme's dashboard, its health panel showing failures (acme's: all good).
    _failing(live_server, "globex")
    globex = f"http://globex.localhost:{port}"
    page.goto(globex + "/login")
    page.fill("input[name=email]", "owner@globex.example.com")
    page.fill("input[name=password]", "demo-password")
    page.click("form.form [type=submit]")
    page.wait_for_load_state()
    problems += _audit(page, globex + "/admin/", axe_source, viewport)
    assert page.locator("#health .health-problem").count() == 2
    if viewport == "desktop":
        page.locator("#health").screenshot(path=screenshots / "globex-dashboard-health.png")
    problems += _audit(page, f"http://127.0.0.1:{port}/", axe_source, viewport)
    context.close()
    assert not problems, "\n".join(problems)


def _security_fixtures(live_server) -> dict[str, str]:
    """What the sign-in, staff and privacy pages of issue 32 need to show themselves: an
    invitation for a new person and one for an account that exists (each page asks
    something else), a support account with an authenticator app (its sign-in stops at
    the code), and a shopper with an order history to erase."""
    from storefront.accounts import services as accounts
    from storefront.accounts import staff
    from storefront.extensions import db, security
    from storefront.tenancy import tenant_context
    from storefront.tenancy.registry import context_for

    with live_server.app.app_context(), tenant_context(context_for("acme")):
        fresh = staff.invite("new-hire@example.com", "fulfilment", None)
        shopper = accounts.create_user("shopper@example.com", "demo-password")
        known = staff.invite("shopper@example.com", "support", None)
        coded = accounts.create_user("support@example.com", "demo-password", roles=["support"])
        coded.tf_primary_method = "authenticator"
        coded.tf_totp_secret = security._totp_factory.generate_totp_secret()
        db.session.commit()
        return {
            "new": f"/staff-invitation/{staff.token_for(fresh)}",
            "known": f"/staff-invitation/{staff.token_for(known)}",
            "erase": f"/admin/customers/{shopper.id}/erase",
        }


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_sign_in_staff_audit_and_privacy_pages_are_accessible(
    browser, live_server, axe_source, viewport
):
    """Issue 32's pages on a desktop and a phone: accepting a staff invitation (as a new
    person, as an account that must sign in, with a dead link), the code and recovery
    code steps of a sign-in, and the owner's activity trail (filtered too), staff,
    customer erasure, recovery codes and privacy pages."""
    port = live_server.port
    paths = _security_fixtures(live_server)
    base = f"http://acme.localhost:{port}"
    context = browser.new_context(viewport=VIEWPORTS[viewport], bypass_csp=True)
    page = context.new_page()
    problems: list[str] = []
    for path in (paths["new"], paths["known"], "/staff-invitation/not-a-token"):
        problems += _audit(page, base + path, axe_source, viewport)
    # The invitation form refusing what was typed: the errors must read well too.
    page.goto(base + paths["new"])
    page.fill("input[name=name]", "Nell")
    page.fill("input[name=password]", "a long enough password")
    page.fill("input[name=password_confirm]", "another long password")
    page.click("form.form [type=submit]")
    page.wait_for_load_state()
    assert "The passwords differ." in page.content()
    problems += _audit_here(page, axe_source, viewport)

    page.goto(base + "/login")
    page.fill("input[name=email]", "support@example.com")
    page.fill("input[name=password]", "demo-password")
    page.click("form.form [type=submit]")
    page.wait_for_load_state()
    assert "/tf-validate" in page.url, page.url
    problems += _audit(page, page.url, axe_source, viewport)
    problems += _audit(page, base + "/mf-recovery", axe_source, viewport)
    context.close()

    context = browser.new_context(viewport=VIEWPORTS[viewport], bypass_csp=True)
    page = context.new_page()
    page.goto(base + "/login")
    page.fill("input[name=email]", "owner@acme.example.com")
    page.fill("input[name=password]", "demo-password")
    page.click("form.form [type=submit]")
    page.wait_for_load_state()
    for path in ("/admin/activity/", "/admin/activity/?actor=user&resource=products",
                 "/admin/staff/", paths["erase"], "/admin/settings", "/mf-recovery-codes",
                 "/tf-setup", "/wan-register", "/account/privacy"):  # fmt: skip
        problems += _audit(page, base + path, axe_source, viewport)
    context.close()
    assert not problems, "\n".join(problems)


def _audit_here(page, axe: str, viewport: str) -> list[str]:
    """axe on the page as it stands (an answer to a form, which a fresh load would not show)."""
    page.evaluate(axe)
    found = page.evaluate(
        """async (rules) => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values: rules}});
            return r.violations.filter(v => ['serious', 'critical'].includes(v.impact))
                .map(v => `${v.id} (${v.impact}): ${v.nodes[0].target.join(' ')}`);
        }""",
        RULES,
    )
    return [f"{viewport} {page.url}: {problem}" for problem in found]
