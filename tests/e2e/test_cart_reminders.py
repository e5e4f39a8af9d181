"""A cart left at checkout comes back: the shopper ticks "remind me" (the script sends it
under the page's CSP), the reminder's link opens the cart in another browser."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from storefront.db import unit_of_work
from storefront.outbox import deliver_committed
from storefront.reminders import sending
from storefront.reminders import services as reminders
from storefront.tenancy import tenant_context
from storefront.tenancy.models import utcnow
from storefront.tenancy.registry import context_for
from tests.e2e.test_accessibility import axe_source  # noqa: F401 - the fixture
from tests.e2e.test_shopping import add_product, shop_url, wait_for

pytestmark = pytest.mark.e2e
EMAIL = "comeback@example.com"


def test_the_reminders_link_opens_the_cart_in_another_browser(browser, live_server, screenshots):
    port, app = live_server.port, live_server.app
    with app.app_context(), tenant_context(context_for("acme")):
        unit_of_work(lambda: reminders.save_settings(True, 1))
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    title = add_product(page, "acme", port, 0)
    page.goto(shop_url("acme", port, "/checkout"))
    page.fill("input[name=email]", EMAIL)
    with page.expect_response(re.compile(r".*/cart/reminder$")) as answer:
        page.check("input[name=cart_reminder]")
    assert answer.value.status == 204
    page.screenshot(path=screenshots / "acme-checkout-reminder.png", full_page=True)
    page.context.close()  # the shopper leaves

    with app.app_context(), tenant_context(context_for("acme")):
        later = utcnow() + timedelta(hours=2)
        assert unit_of_work(lambda: sending.send_due(later)) == 1
        deliver_committed()
    mail = wait_for(lambda: [m for m in live_server.mails() if EMAIL in m.to])[0]
    link = re.search(r"https?://\S+/cart/back/\S+", mail.body).group(0)

    phone = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    phone.goto(link)
    phone.wait_for_url(re.compile(r".*/cart/$"))
    assert title in phone.locator("main").inner_text()
    phone.screenshot(path=screenshots / "acme-cart-restored-phone.png", full_page=True)
    phone.context.close()


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_the_reminders_pages_are_accessible(browser, live_server, axe_source, viewport):  # noqa: F811
    """axe on the checkout with its "remind me" box, the unsubscribe page and the owner's
    Cart reminders page, on a desktop and a phone."""
    from storefront.reminders.models import CartReminder
    from tests.e2e.test_accessibility import VIEWPORTS, _audit

    port, app = live_server.port, live_server.app
    with app.app_context(), tenant_context(context_for("acme")):
        unit_of_work(lambda: reminders.save_settings(True, 24))
        token = reminders.unsubscribe_token(CartReminder(id=1, cart_id=1, email=EMAIL))
    page = browser.new_context(viewport=VIEWPORTS[viewport], bypass_csp=True).new_page()
    add_product(page, "acme", port, 0)
    problems = _audit(page, shop_url("acme", port, "/checkout"), axe_source, viewport)
    problems += _audit(
        page, shop_url("acme", port, f"/cart/unsubscribe/{token}"), axe_source, viewport
    )
    page.goto(shop_url("acme", port, "/login"))
    page.fill("input[name=email]", "owner@acme.example.com")
    page.fill("input[name=password]", "demo-password")
    page.click("form.form [type=submit]")
    page.wait_for_load_state()
    problems += _audit(page, shop_url("acme", port, "/admin/cart-reminders/"), axe_source, viewport)
    assert problems == []
