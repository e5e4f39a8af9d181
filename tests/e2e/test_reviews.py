"""A shopper reviews what they bought, the owner publishes it, the product page shows it;
each page on the way is axe-clean on a desktop and a phone."""

from __future__ import annotations

import pytest

from tests.e2e import test_accessibility as accessibility

pytestmark = pytest.mark.e2e
axe_source = accessibility.axe_source  # the fixture: axe-core, installed once
VIEWPORTS, _audit = accessibility.VIEWPORTS, accessibility._audit

EMAIL = "reviewer@example.com"
PASSWORD = "a-long-reviewer-password"
WORDS = "Dropped it twice <b>and</b> it still works."


def _bought(live_server, slug: str, sku: str) -> str:
    """A shopper of ``slug`` with a paid order of ``sku``: the product's slug."""
    from storefront.accounts.services import create_user
    from storefront.catalog.services import product_by_sku
    from storefront.extensions import db
    from storefront.orders.models import Order, OrderLine
    from storefront.tenancy import tenant_context
    from storefront.tenancy.registry import context_for

    with live_server.app.app_context(), tenant_context(context_for(slug)):
        user = create_user(EMAIL, PASSWORD, roles=["customer"], name="Road Runner")
        product = product_by_sku(sku)
        order = Order(
            number="E2E-1", user_id=user.id, email=EMAIL, name="Road Runner",
            address="1 Desert Road", postal_code="99362", city="Walla Walla", country="US",
            shipping_label="Standard", shipping=0, subtotal=product.price,
            total=product.price, currency="USD", payment_method="bank_transfer", status="paid",
        )  # fmt: skip
        db.session.add(order)
        db.session.flush()
        db.session.add(
            OrderLine(
                order_id=order.id, product_id=product.id, sku=product.sku,
                title=product.title, unit_price=product.price, quantity=1,
                line_total=product.price,
            )
        )  # fmt: skip
        db.session.commit()
        return str(product.slug)


def _login(page, base: str, email: str, password: str) -> None:
    page.goto(base + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("form.form [type=submit]")
    page.wait_for_load_state()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_shopper_reviews_the_owner_publishes_the_page_shows_it(
    browser,
    live_server,
    axe_source,
    viewport,
    screenshots,
):
    base = f"http://acme.localhost:{live_server.port}"
    slug = _bought(live_server, "acme", "ACME-GAD-MAGNET")
    problems: list[str] = []

    shopper = browser.new_context(viewport=VIEWPORTS[viewport], bypass_csp=True)
    page = shopper.new_page()
    _login(page, base, EMAIL, PASSWORD)
    problems += _audit(page, base + "/account/reviews", axe_source, viewport)
    page.click("a:has-text('Write a review')")
    page.wait_for_load_state()
    problems += _audit(page, page.url, axe_source, viewport)
    page.check("input[name=rating][value='4']")
    page.fill("input[name=title]", "Attracts everything")
    page.fill("textarea[name=body]", WORDS)
    page.click("form.review-form [type=submit]")
    page.wait_for_load_state()
    assert "once the shop has checked it" in page.content()
    page.goto(f"{base}/p/{slug}")
    assert WORDS not in page.inner_text("body")  # waiting for the owner
    shopper.close()

    owner = browser.new_context(viewport=VIEWPORTS[viewport], bypass_csp=True)
    page = owner.new_page()
    _login(page, base, "owner@acme.example.com", "demo-password")
    problems += _audit(page, base + "/admin/reviews/?state=pending", axe_source, viewport)
    # The overview tells the owner reviews wait (the demo's own one and this one).
    problems += _audit(page, base + "/admin/", axe_source, viewport)
    assert "2 reviews waiting for your approval" in page.inner_text("main")
    # The mail after a delivery: turned on, with its days, in the same settings form.
    page.goto(base + "/admin/reviews/?state=pending")
    page.check("input[name=settings-invite]")
    page.fill("input[name=settings-invite_days]", "5")
    page.click("form.stacked-form [type=submit]")
    page.wait_for_load_state()
    assert "Review settings saved." in page.content()
    assert page.input_value("input[name=settings-invite_days]") == "5"
    # What search engines show, per language: the category's form has French fields.
    problems += _audit(page, base + "/admin/categories/anvils", axe_source, viewport)
    assert "Title for search engines in French" in page.inner_text("main")
    page.goto(base + "/admin/reviews/?state=pending")
    waiting = page.locator("section.review-moderation", has_text="Attracts everything")
    waiting.locator("button:has-text('Publish')").click()
    page.wait_for_load_state()
    assert "Review published." in page.content()
    if viewport == "desktop":
        page.screenshot(path=screenshots / "acme-reviews-dashboard.png", full_page=True)
    owner.close()

    visitor = browser.new_context(viewport=VIEWPORTS[viewport], bypass_csp=True)
    page = visitor.new_page()
    page.goto(f"{base}/p/{slug}")
    reviews = page.locator("#reviews")
    assert WORDS in reviews.inner_text()  # as written: the <b> is text, not bold
    assert reviews.locator("b").count() == 0
    assert "Road R." in reviews.inner_text()
    assert "1 review" in page.locator(".rating-summary").first.inner_text()
    problems += _audit(page, f"{base}/p/{slug}", axe_source, viewport)
    problems += _audit(page, f"{base}/p/classic-anvil-50-lb/reviews", axe_source, viewport)
    if viewport == "desktop":
        page.goto(f"{base}/p/classic-anvil-50-lb")
        page.locator("#reviews").screenshot(path=screenshots / "acme-product-reviews.png")
    # The invitation's unsubscribe link: a page with one button, then a plain answer.
    page.goto(f"{base}/reviews/unsubscribe/{_unsubscribe_token(live_server)}")
    problems += _audit(page, page.url, axe_source, viewport)
    page.click("main form [type=submit]")
    page.wait_for_load_state()
    assert "no more mails from" in page.inner_text("main")
    problems += _audit(page, page.url, axe_source, viewport)
    visitor.close()
    assert not problems, "\n".join(problems)


def _unsubscribe_token(live_server) -> str:
    from sqlalchemy import select

    from storefront.accounts.models import User
    from storefront.extensions import db
    from storefront.reviews import invitations
    from storefront.tenancy import tenant_context
    from storefront.tenancy.registry import context_for

    with live_server.app.app_context(), tenant_context(context_for("acme")):
        user = db.session.scalar(select(User).where(User.email == EMAIL))
        return invitations.unsubscribe_token(user)
