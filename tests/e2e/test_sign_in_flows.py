"""Signing in with a second factor and with passkeys, in Chromium.

TOTP: the owner sets up an authenticator app (codes computed here with pyotp from the
key the page shows, as a phone app would), signs in with a code, and with a recovery
code, which works once. Passkeys: Chromium's virtual authenticator (DevTools protocol
``WebAuthn.addVirtualAuthenticator``) stands in for a phone or a security key: the owner
adds a passkey from the passkeys page (the page's script, under the shop's CSP), signs in
with it alone, and the same device has nothing to offer at the other shop. Each page on
the way is checked with axe (tests/e2e/test_accessibility.py's audit).
"""

from __future__ import annotations

import re

import pyotp
import pytest

from tests.e2e.test_accessibility import RULES, _audit, axe_source  # noqa: F401  (a fixture)

pytestmark = pytest.mark.e2e

OWNER, PASSWORD = "owner@acme.example.com", "demo-password"


def url(slug: str, port: str, path: str) -> str:
    return f"http://{slug}.localhost:{port}{path}"


def log_in(page, port, slug="acme", email=OWNER):
    page.goto(url(slug, port, "/login"))
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.form [type=submit]")
    page.wait_for_load_state()


def audit_here(page, axe: str) -> list[str]:
    """axe on the page as it stands (a state a fresh load would not show)."""
    page.evaluate(axe)
    found = page.evaluate(
        """async (rules) => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values: rules}});
            return r.violations.filter(v => ['serious', 'critical'].includes(v.impact))
                .map(v => `${v.id} (${v.impact}): ${v.nodes[0].target.join(' ')}`);
        }""",
        RULES,
    )
    return [f"{page.url}: {problem}" for problem in found]


def fresh_page(browser):
    context = browser.new_context()
    return context, context.new_page()


def test_an_owner_turns_on_codes_and_signs_in_with_one_and_with_a_recovery_code(
    browser,
    live_server,
    axe_source,  # noqa: F811
):
    port = live_server.port
    problems: list[str] = []
    context, page = fresh_page(browser)
    log_in(page, port)
    assert page.url.endswith("/account"), page.url
    page.goto(url("acme", port, "/tf-setup"))
    page.click("form.form button[type=submit]")  # "Set up an authenticator app"
    page.wait_for_selector("code.secret-key")
    problems += audit_here(page, axe_source)  # the QR code and the key
    # The page shows the key in groups ("OUXK-LVD2-…"), as people type it into an app.
    key = re.sub(r"[\s-]", "", page.locator("code.secret-key").inner_text()).upper()
    page.fill("input[name=code]", pyotp.TOTP(key).now())
    page.click("ol.steps form button[type=submit]")
    page.wait_for_url(re.compile(r".*/account$"))
    assert "Two-step sign-in is on." in page.content()
    page.goto(url("acme", port, "/mf-recovery-codes"))
    page.click("input[name=generate_new_codes] ~ .form-actions button")
    page.wait_for_selector("ul.recovery-codes code")
    codes = page.locator("ul.recovery-codes code").all_inner_texts()
    assert len(codes) == 8
    problems += _audit(page, url("acme", port, "/tf-setup"), axe_source, "desktop")
    context.close()

    # Another browser: the password, then a code from the app.
    context, page = fresh_page(browser)
    log_in(page, port)
    assert "/tf-validate" in page.url, page.url
    problems += _audit(page, page.url, axe_source, "desktop")
    page.fill("input[name=code]", "000000")
    page.click("form.form button[type=submit]")
    page.wait_for_load_state()
    assert "That code is not right" in page.content()
    page.fill("input[name=code]", pyotp.TOTP(key).now())
    page.click("form.form button[type=submit]")
    page.wait_for_url(re.compile(r".*/account$"))
    page.goto(url("acme", port, "/admin/"))
    assert page.url.endswith("/admin/")
    context.close()

    # A lost phone: a recovery code signs in once.
    for expected_in in (True, False):
        context, page = fresh_page(browser)
        log_in(page, port)
        page.click("text=Lost your phone? Use a recovery code")
        page.wait_for_url(re.compile(r".*/mf-recovery$"))
        if expected_in:
            problems += _audit(page, page.url, axe_source, "desktop")
        page.fill("input[name=code]", codes[0])
        page.click("form.form button[type=submit]")
        page.wait_for_load_state()
        if expected_in:
            assert page.url.endswith("/account"), page.url
        else:
            assert "That recovery code is not valid, or was used." in page.content()
            page.goto(url("acme", port, "/account"))
            assert "/login" in page.url
        context.close()
    assert not problems, "\n".join(problems)


def virtual_authenticator(context, page, verifies: bool = True):
    """Chromium's software authenticator, like a laptop's with a fingerprint reader."""
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    found = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": verifies,
                "isUserVerified": verifies,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, found["authenticatorId"]


def test_an_owner_adds_a_passkey_and_signs_in_with_it_alone_at_that_shop_only(
    browser,
    live_server,
    axe_source,  # noqa: F811
    screenshots,
):
    port = live_server.port
    problems: list[str] = []
    context = browser.new_context()
    page = context.new_page()
    cdp, authenticator = virtual_authenticator(context, page)
    log_in(page, port)
    page.click("main a:has-text('Passkeys')")
    page.wait_for_url(re.compile(r".*/wan-register$"))
    problems += _audit(page, page.url, axe_source, "desktop")
    page.fill("input[name=name]", "Laptop")
    page.check("input[name=usage][value=first]")
    page.click("form.form button[type=submit]")
    # The page's script asks the authenticator, then sends the passkey back by itself.
    page.wait_for_url(re.compile(r".*/wan-register$"))
    page.wait_for_selector("td.passkey-name")
    assert "The passkey Laptop is added." in page.content()
    assert page.locator("td.passkey-name").all_inner_texts() == ["Laptop"]
    held = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert [c["rpId"] for c in held] == ["acme.localhost"]  # made for this shop's host
    problems += _audit(page, page.url, axe_source, "desktop")
    page.screenshot(path=screenshots / "acme-passkeys.png", full_page=True)

    # Signed out: the passkey alone signs in (no password, no code).
    context.clear_cookies()
    page.goto(url("acme", port, "/login"))
    page.click("text=Sign in with a passkey")
    page.wait_for_url(re.compile(r".*/wan-signin"))
    problems += _audit(page, page.url, axe_source, "desktop")
    page.click("form.form button[type=submit]")
    page.wait_for_url(re.compile(r".*/account$"))
    page.goto(url("acme", port, "/admin/"))
    assert page.url.endswith("/admin/"), page.url

    # At the other shop the device has nothing to offer: the page says so, nobody is in.
    page.goto(url("globex", port, "/wan-signin"))
    page.click("form.form button[type=submit]")
    status = page.locator("[data-passkey-status]")
    # Chromium answers "not allowed" when no authenticator holds a passkey for the host
    # (at the latest when the ceremony's 60 seconds are up).
    status.filter(has_text="The passkey was not used").wait_for(timeout=90_000)
    assert page.locator("[data-passkey-retry]").is_visible()
    problems += audit_here(page, axe_source)  # the refusal, and the button to try again
    page.goto(url("globex", port, "/account"))
    assert "/login" in page.url

    # Deleted, it signs in no more.
    page.goto(url("acme", port, "/wan-register"))
    page.once("dialog", lambda dialog: dialog.accept())  # "Delete this passkey?"
    page.click("td form button")
    page.wait_for_selector("text=The passkey Laptop is deleted.")
    assert page.locator("td.passkey-name").count() == 0
    context.clear_cookies()
    page.goto(url("acme", port, "/wan-signin"))
    page.click("form.form button[type=submit]")
    page.wait_for_selector("text=This shop knows no such passkey.")
    page.goto(url("acme", port, "/account"))
    assert "/login" in page.url
    context.close()
    assert not problems, "\n".join(problems)


def test_a_passkey_as_the_second_step_after_the_password(browser, live_server):
    port = live_server.port
    context = browser.new_context()
    page = context.new_page()
    virtual_authenticator(context, page, verifies=False)  # a plain security key
    log_in(page, port)
    page.goto(url("acme", port, "/wan-register"))
    page.fill("input[name=name]", "Key")
    page.check("input[name=usage][value=secondary]")
    page.click("form.form button[type=submit]")
    page.wait_for_selector("td.passkey-name")
    context.clear_cookies()
    log_in(page, port)
    assert "/wan-signin" in page.url, page.url
    assert "Confirm with your passkey" in page.content()
    page.click("form.form button[type=submit]")
    page.wait_for_url(re.compile(r".*/account$"))
    context.close()
