"""An owner shapes the home page (issue 35): adds a section, writes it in two languages
while the preview follows, moves it up, hides it; shoppers see each step. Every page on
the way is axe-clean on a desktop and a phone, in both shipped themes."""

from __future__ import annotations

import pytest

from tests.e2e import test_accessibility as accessibility

pytestmark = pytest.mark.e2e
axe_source = accessibility.axe_source  # the fixture: axe-core, installed once
VIEWPORTS, _audit = accessibility.VIEWPORTS, accessibility._audit


def _login(page, base: str, email: str, password: str) -> None:
    page.goto(base + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("form.form [type=submit]")
    page.wait_for_load_state()


def _home_text(browser, viewport: str, url: str) -> str:
    context = browser.new_context(viewport=VIEWPORTS[viewport])
    page = context.new_page()
    page.goto(url)
    text = page.inner_text("main")
    context.close()
    return text


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_an_owner_shapes_the_home_page_and_shoppers_see_it(
    browser, live_server, axe_source, viewport, screenshots
):
    base = f"http://acme.localhost:{live_server.port}"
    problems: list[str] = []
    # The demo shops arrive arranged, in both themes.
    shop_page = _home_text(browser, viewport, base + "/")
    assert "Rocket season is here" in shop_page and "Beep beep!" in shop_page
    globex = f"http://globex.localhost:{live_server.port}/"
    assert "At home outdoors" in _home_text(browser, viewport, globex)  # its English

    owner = browser.new_context(viewport=VIEWPORTS[viewport])
    page = owner.new_page()
    _login(page, base, "owner@acme.example.com", "demo-password")
    problems += _audit(page, base + "/admin/home/", axe_source, viewport)
    preview = page.frame_locator("iframe[name=home-preview]")
    preview.locator("text=Rocket season is here").first.wait_for()

    page.select_option("#home-kind", "rich_text")
    page.click("form.home-add [type=submit]")
    page.wait_for_load_state()
    assert "Section added" in page.content()
    edit_url = page.url
    # The preview follows the form before anything is saved.
    page.fill("input[name=heading]", "Anvil week")
    page.fill("textarea[name=body]", "Every anvil **20 % off** <script>alert(1)</script>")
    preview.locator("h2", has_text="Anvil week").wait_for()
    assert preview.locator("strong", has_text="20 % off").count() == 1
    assert "Anvil week" not in _home_text(browser, viewport, base + "/")  # not saved yet
    problems += _audit(page, edit_url, axe_source, viewport)
    page.fill("input[name=heading]", "Anvil week")
    page.fill("textarea[name=body]", "Every anvil **20 % off** <script>alert(1)</script>")
    page.click("form.home-section-form [name=submit]")
    page.wait_for_load_state()
    assert "Section saved." in page.content()
    # The same section in French.
    page.click(".home-languages a[href*='lang=fr_FR']")
    page.wait_for_load_state()
    page.fill("input[name=heading]", "Semaine de l’enclume")
    page.click("form.home-section-form [name=submit]")
    page.wait_for_load_state()
    assert "Section saved." in page.content()
    if viewport == "desktop":
        page.screenshot(path=screenshots / "acme-home-editor.png", full_page=True)

    # Shoppers see it at the end of the page, in their language.
    text = _home_text(browser, viewport, base + "/")
    assert text.index("Beep beep!") < text.index("Anvil week")
    assert "<script>" in text  # shown as the owner typed it, never run
    assert "Semaine de l’enclume" in _home_text(browser, viewport, base + "/fr/")

    # Moved up above the newsletter, then hidden.
    page.goto(base + "/admin/home/")
    page.locator(".home-section-item").last.locator("button:has-text('Move up')").click()
    page.wait_for_load_state()
    assert "Section moved." in page.content()
    text = _home_text(browser, viewport, base + "/")
    assert text.index("Anvil week") < text.index("Beep beep!")
    item = page.locator(".home-section-item", has_text="Anvil week")
    item.locator("button:has-text('Hide')").click()
    page.wait_for_load_state()
    assert "Section hidden." in page.content()
    assert "Anvil week" not in _home_text(browser, viewport, base + "/")
    problems += _audit(page, base + "/admin/home/", axe_source, viewport)
    owner.close()

    visitor = browser.new_context(viewport=VIEWPORTS[viewport])
    page = visitor.new_page()
    problems += _audit(page, base + "/", axe_source, viewport)
    problems += _audit(page, base + "/fr/", axe_source, viewport)
    problems += _audit(page, globex, axe_source, viewport)
    page.goto(base + "/")
    page.fill(
        "#home-newsletter-form-email, .home-newsletter-form input[name=email]", "ada@example.com"
    )
    page.click(".home-newsletter-form [type=submit]")
    page.wait_for_load_state()
    assert "you are on the newsletter list" in page.content()
    if viewport == "desktop":
        page.goto(base + "/")
        page.screenshot(path=screenshots / "acme-home.png", full_page=True)
    visitor.close()
    assert not problems, "\n".join(problems)
