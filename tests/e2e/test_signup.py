"""A merchant opens a shop from the platform's sign-up page, confirms the address from the
mail, signs in and works through the onboarding checklist until it is done; every page on
the way is axe-clean on a desktop and on a phone.

Built to be extended: ``open_shop`` leaves the owner signed in on the new shop's
dashboard and returns its base URL, so a later step (the plan upgrade through the fake
Stripe) starts from there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.e2e import test_accessibility as accessibility

pytestmark = [
    pytest.mark.e2e,
    # The live server's shops are <slug>.localhost: sign-up lives on localhost itself.
    pytest.mark.settings(SIGNUP_ENABLED=True, PLATFORM_DOMAIN="localhost"),
]
axe_source = accessibility.axe_source  # the fixture: axe-core, installed once
VIEWPORTS = accessibility.VIEWPORTS

SHOP_NAME, SLUG = "Bolt & Nut", "bolt-nut"
EMAIL, PASSWORD = "merchant@example.com", "a-long-merchant-password"
STEPS = ("product", "payment", "shipping", "domain", "branding")


@dataclass
class Walk:
    """The browser page, the server, and the accessibility problems seen so far."""

    page: Any
    live_server: Any
    axe: str
    problems: list[str] = field(default_factory=list)

    @property
    def platform(self) -> str:
        return f"http://localhost:{self.live_server.port}"

    def audit(self) -> None:
        """axe on the page as it stands, at a desktop's width and at a phone's (no reload:
        pages reached by a form are audited as they were answered)."""
        for name, size in VIEWPORTS.items():
            self.page.set_viewport_size(size)
            self.page.evaluate(self.axe)
            found = self.page.evaluate(
                """async (rules) => {
                    const r = await axe.run(document, {runOnly: {type: 'tag', values: rules}});
                    return r.violations.filter(v => ['serious', 'critical'].includes(v.impact))
                        .map(v => `${v.id} (${v.impact}): ${v.nodes[0].target.join(' ')}`);
                }""",
                accessibility.RULES,
            )
            wide = self.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            if name == "phone" and wide > 1:
                found.append(f"{wide}px wider than the phone's screen")
            self.problems += [f"{name} {self.page.url}: {problem}" for problem in found]
        self.page.set_viewport_size(VIEWPORTS["desktop"])


def open_shop(walk: Walk) -> str:
    """Sign up, confirm from the mail, sign in: the owner ends on the new dashboard."""
    page = walk.page
    page.goto(walk.platform + "/signup")
    walk.audit()
    # As the name is typed the address is suggested and checked (the JSON endpoint).
    page.fill("#shop_name", SHOP_NAME)
    page.wait_for_selector("#slug-status.is-free")
    assert page.input_value("#slug") == SLUG
    assert f"{SLUG}.localhost" in page.inner_text("#slug-status")
    page.fill("#slug", "acme")  # a demo shop's name: taken
    page.wait_for_selector("#slug-status.is-not-free")
    page.fill("#slug", "www")  # the platform's own: reserved
    page.wait_for_selector("#slug-status.is-not-free:has-text('reserved')")
    walk.audit()  # with the check's answer showing
    page.fill("#slug", SLUG)
    page.wait_for_selector("#slug-status.is-free")
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.select_option("#locale", "en_US")
    page.select_option("#currency", "EUR")
    page.click("#signup-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/signup/sent$"))
    walk.audit()
    # Until the address is confirmed, the shop does not exist.
    base = f"http://{SLUG}.localhost:{walk.live_server.port}"
    missing = page.goto(base + "/")
    assert missing is not None and missing.status == 404

    mails = [m for m in walk.live_server.mails() if m.to == [EMAIL]]
    assert len(mails) == 1, mails
    link = re.search(r"https?://\S+/signup/confirm/\S+", mails[0].body)
    assert link, mails[0].body
    page.goto(link.group(0))
    walk.audit()
    page.click("main form button[type=submit]")
    page.wait_for_selector("text=Your shop is open")
    walk.audit()
    page.click("main a.button-primary")  # "Sign in to your dashboard"
    page.wait_for_url(re.compile(rf"^{re.escape(base)}/login"))
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.form [type=submit]")
    page.wait_for_url(re.compile(rf"^{re.escape(base)}/admin/?$"))
    return base


def steps_done(page: Any) -> dict[str, bool]:
    items = page.locator("section.onboarding li[data-step]")
    return {
        items.nth(i).get_attribute("data-step"): items.nth(i).get_attribute("data-done") == "yes"
        for i in range(items.count())
    }


def complete_checklist(walk: Walk, base: str) -> None:
    """Each step through the dashboard's own pages; the overview ticks it off."""
    page = walk.page
    assert steps_done(page) == dict.fromkeys(STEPS, False)
    walk.audit()

    page.click("section.onboarding li[data-step=product] a")
    page.fill("input[name=sku]", "BOLT-1")
    page.fill("input[name=title]", "Hex bolt M8")
    page.fill("input[name=price]", "1.20")
    page.fill("input[name=stock]", "100")
    page.click("form.form [type=submit]")
    page.wait_for_load_state()

    page.goto(base + "/admin/shipping-payment/")
    page.check("input[name='pay-methods'][value=bank_transfer]")
    page.click("form[action$='/shipping-payment/payment'] [type=submit]")
    page.wait_for_load_state()
    page.fill("input[name='zone-name']", "Europe")
    page.fill("input[name='zone-countries']", "DE, FR, NL")
    page.fill("input[name='zone-rate']", "4.50")
    page.click("form[action$='/shipping-payment/zones'] [type=submit]")
    page.wait_for_load_state()

    page.goto(base + "/admin/settings")
    page.fill("form[action$='/settings/branding'] input[name$=primary_color]", "#0b5d1e")
    page.click("form[action$='/settings/branding'] [type=submit]")
    page.wait_for_load_state()

    page.goto(base + "/admin/domains/")
    page.fill("input[name=hostname]", "www.bolt-nut.example")
    page.click("main form [type=submit]")
    page.wait_for_load_state()
    # The DNS proof a browser cannot give: the operator vouches for the domain.
    from storefront.tenancy.services import verify_domain

    with walk.live_server.app.app_context():
        verify_domain(SLUG, "www.bolt-nut.example", trust=True)

    page.goto(base + "/admin/")
    assert steps_done(page) == dict.fromkeys(STEPS, True), page.inner_text("section.onboarding")
    walk.audit()
    page.click("section.onboarding button[type=submit]")  # "Hide this checklist"
    page.wait_for_load_state()
    assert page.locator("section.onboarding").count() == 0


def test_a_merchant_opens_a_shop_and_completes_the_checklist(browser, live_server, axe_source):
    context = browser.new_context(viewport=VIEWPORTS["desktop"])
    walk = Walk(context.new_page(), live_server, axe_source)
    try:
        base = open_shop(walk)
        complete_checklist(walk, base)
    finally:
        context.close()
    assert walk.problems == []


def test_the_sign_up_page_speaks_the_browser_language(browser, live_server, axe_source):
    context = browser.new_context(locale="de-DE", viewport=VIEWPORTS["phone"])
    walk = Walk(context.new_page(), live_server, axe_source)
    try:
        walk.page.goto(walk.platform + "/signup")
        assert walk.page.get_attribute("html", "lang") == "de-DE"
        walk.page.click("nav a[lang=fr]")
        assert walk.page.get_attribute("html", "lang") == "fr-FR"
        walk.audit()
    finally:
        context.close()
    assert walk.problems == []
